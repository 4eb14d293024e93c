"""`rasa` with one fix, run by the Rasa venv's Python (bot/server.py starts it; never imported by
the app). Rasa 3.6.21 validates every custom-action answer with `jsonschema.validate`, which first
re-checks the schema itself: about 19 ms of CPU per visitor question, most of Rasa's time under
load (docs/benchmarks.md). Here the validator is built once; the answers are checked the same way."""
import sys

from jsonschema import validators
from rasa.core.actions.action import RemoteAction

_validator = None


def _validate_action_result(self, result):
    global _validator
    if _validator is None:
        spec = RemoteAction.action_response_format_spec()
        cls = validators.validator_for(spec)
        cls.check_schema(spec)
        _validator = cls(spec)
    _validator.validate(result)  # raises jsonschema.ValidationError, as the original does
    return True


RemoteAction._validate_action_result = _validate_action_result

if __name__ == "__main__":
    from rasa.__main__ import main

    sys.exit(main())
