"""`python -m knowledge_base.parse_child json|yaml|csv`: an import file on stdin, parse_bytes'
answer (the checked articles, or the ImportError_) pickled on stdout. The editor's API parses in
this process of its own (knowledge_base.editor_api.parse_apart); only that trusted parent reads
the pickle."""
from __future__ import annotations

import pickle
import sys

from knowledge_base.importer import ImportError_, parse_bytes


def main() -> None:
    try:
        result: object = parse_bytes(sys.stdin.buffer.read(), sys.argv[1])
    except ImportError_ as exc:
        result = exc
    pickle.dump(result, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
