#!/usr/bin/env bash
# The product on its embedded default: SQLite file in .run/, a local Rasa server, the app.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
model="$(bash scripts/train_bot.sh | tail -n 1)"
exec .venv/bin/python -m app.cli run --model "$model" "$@"
