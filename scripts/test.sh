#!/usr/bin/env bash
# The whole test suite: installs what it needs (as run.sh does), trains the bot if its data
# changed, then runs pytest (unit, integration with a real Rasa, end-to-end in Chromium).
# PostgreSQL and Redis at their default local ports are used when present; with CI=true they
# and Chromium are required, so nothing is silently skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[test] installing Chromium (Debian package) for the end-to-end tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "[test] /usr/bin/chromium is missing: end-to-end tests will be skipped (sudo apt-get install chromium)"
    fi
fi
export SHOPCHAT_RASA_MODEL="$(bash scripts/train_bot.sh | tail -n 1)"
bash scripts/validate_bot.sh
exec .venv/bin/python -m pytest "$@"
