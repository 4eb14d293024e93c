"""What a turn costs as the Rasa session grows, cause by cause (docs/bot.md "Sessions"):

    .venv/bin/python -m bench.session_cost [--model PATH] [TURNS ...]

Runs bench/rasa_session_cost.py in Rasa's venv (policy prediction, the body Rasa POSTs to the app,
SQL and in-memory tracker stores, on sessions of 10-100 questions and on 100 questions cut into
sessions of 10), then times the app's side on the very bodies Rasa built: parsing the JSON and the
handler's walks over the events (validate_handoff_form, user_texts, roll_session). Prints a table."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from app.settings import ROOT
from bot.actions import roll_session, user_texts, validate_form


def app_ms(body: bytes, n: int = 21) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        tracker = json.loads(body)["tracker"]
        validate_form(tracker)
        user_texts(tracker)
        roll_session(tracker, max_events=0)
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2] * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path)
    ap.add_argument("turns", nargs="*", type=int, default=[10, 25, 50, 100])
    args = ap.parse_args(argv)
    if args.model is None:
        from bench.run import train_model

        args.model = train_model()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "LOG_LEVEL": "ERROR"}
    out = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), str(ROOT / "bench" / "rasa_session_cost.py"),
                          str(args.model), *map(str, args.turns)], env=env, cwd=ROOT, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores, shared); medians")
    print("| session | events Rasa loads | body to the app | one prediction | body built | SQL store read | "
          "in-memory read + save | app: parse + walk |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        body = Path(r["body_path"]).read_bytes()
        name = (f"{r['turns']} questions" if not r["session_every"]
                else f"{r['turns']} questions, a new session every {r['session_every']}")
        print(f"| {name} | {r['events_loaded']} of {r['events_stored']} | {r['body_kb']:.0f} KB | "
              f"{r['predict_ms']:.1f} ms | {r['body_ms']:.1f} ms | {r['sql_retrieve_ms']:.1f} ms | "
              f"{r['memory_retrieve_save_ms']:.1f} ms | {app_ms(body):.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
