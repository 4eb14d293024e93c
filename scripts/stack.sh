#!/usr/bin/env bash
# The reference production stack on one machine (docs/deployment.md): nginx in front of two app
# processes and two Rasa servers, on the machine's PostgreSQL and Redis (127.0.0.1:5432 and :6379;
# SHOPCHAT_STACK_PG and SHOPCHAT_STACK_REDIS point elsewhere). Options go to deploy/stack.py
# (--port 8080, --apps 2, --rasas 2, --db-name shopchat_stack). Ctrl-C stops everything it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[stack] installing nginx (Debian package; its system service is not used)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    else
        echo "[stack] nginx is missing: sudo apt-get install nginx (the stack runs its own nginx process, not the system service)" >&2
        exit 1
    fi
fi
model="$(bash scripts/train_bot.sh | tail -n 1)"
exec .venv/bin/python -m deploy.stack --model "$model" "$@"
