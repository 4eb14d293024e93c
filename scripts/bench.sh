#!/usr/bin/env bash
# The benchmarks (docs/benchmarks.md), from a clean clone: install everything, train the bot if
# needed, then start a fresh SQLite + Rasa + app on 127.0.0.1, measure, stop them and print the table
# (also in bench/out/results.md, with bench/out/roundtrip.png). About 10 minutes on 2 cores.
# Arguments go to `python -m bench.run` (e.g. --quick for a short smoke run, --help);
# `./scripts/bench.sh long-conversation [options]` runs `python -m bench.long_conversation` instead
# (one conversation of 100 turns, 50 visitors at 8 and 40 questions; about 12 minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
# The optional `bench` extra (matplotlib, for the plot); a no-op once installed.
if ! .venv/bin/python -c "import matplotlib" >/dev/null 2>&1; then
    echo "[bench] installing the bench extra (matplotlib) into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]' \
        2> >(grep -v -e "is ignored: it is neither a file nor a directory" -e "does not provide the extra" >&2)
fi
model="$(bash scripts/train_bot.sh | tail -n1)"
if [ "${1:-}" = "long-conversation" ]; then
    shift
    exec .venv/bin/python -m bench.long_conversation --model "$model" "$@"
fi
exec .venv/bin/python -m bench.run --model "$model" "$@"
