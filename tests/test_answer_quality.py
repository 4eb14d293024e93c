"""The answer-quality floors, English and Greek: the evaluation script (docs/answer-quality.md) on the
committed held-out test sets must not fall below the measured figures. It imports the demo knowledge
base through the product's own import path, so a regression in import, search or the answer
decision shows. Greek is searched as the bot searches a Greek conversation (--language el).
Handoff recall here is the Rasa-down detector's (bot.answers.looks_like_handoff)."""
import subprocess
import sys

import pytest

from app.settings import ROOT

# docs/answer-quality.md "Final figures": each floor sits just under the figure measured on the
# held-out set (top-1 English 0.906: floor 0.88, as before). The targets (Greek top-1 0.85,
# handoff 0.95, fallback 0.90, wrong answers <= 0.03) are listed there with what is met.
FLOORS = {
    # English wrong answers 0.050 -> 0.033 (6/180) with the confidence model (2026-12-03): floor 0.06 -> 0.04.
    "en": {"--min-top1": 0.88, "--max-wrong": 0.04, "--min-handoff": 0.94, "--min-fallback": 0.925},
    # Greek, 2026-12-03 (third pass: graded doubt, phrase glosses): top-1 0.733, wrong 0.027,
    # fallback 1.000 (30/30; the floor allows one miss); the Rasa-down handoff recogniser
    # (bot/answers.py) 30/30 since its second Greek pass (the floor allows one miss).
    "el": {"--min-top1": 0.71, "--max-wrong": 0.04, "--min-handoff": 0.95, "--min-fallback": 0.95},
}


@pytest.mark.parametrize("language", sorted(FLOORS))
def test_answer_quality_does_not_regress(language):
    floors = [str(x) for kv in FLOORS[language].items() for x in kv]
    result = subprocess.run([sys.executable, "-m", "eval.run", "--language", language, "--scale", "0", *floors],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "top-1 accuracy" in result.stdout and "WRONG answer" in result.stdout
