#!/usr/bin/env bash
# The whole test suite: installs what it needs (as run.sh does), trains the bot if its data
# changed, then runs pytest (unit, integration with a real Rasa, end-to-end in Chromium).
# PostgreSQL and Redis at their default local ports are used when present; with CI=true they
# and Chromium are required, so nothing is silently skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
# A test dependency, never shipped: botfront's rasa-webchat 1.0.1 (tests/e2e/test_rasa_webchat.py),
# from its lock file, without install scripts; again only when the lock file changed.
webchat="tests/e2e/rasa_webchat"
want="$(sha256sum "$webchat/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$webchat/node_modules/.lock.sha256" 2>/dev/null)" != "$want" ]; then
    echo "[test] installing rasa-webchat for the end-to-end tests"
    (cd "$webchat" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" > "$webchat/node_modules/.lock.sha256"
fi
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[test] installing Chromium (Debian package) for the end-to-end tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "[test] /usr/bin/chromium is missing: end-to-end tests will be skipped (sudo apt-get install chromium)"
    fi
fi
# The reference stack's balancer (tests/deploy/); its own process, never the system service.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[test] installing nginx (Debian package) for the reference stack's tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    else
        echo "[test] nginx is missing: the reference stack's tests will be skipped (sudo apt-get install nginx)"
    fi
fi
# A real S3-compatible server for the S3 attachment store's tests: Ceph's RADOS Gateway on a
# one-node in-memory cluster (scripts/s3_server.sh); about 70 MB to download, 260 MB installed.
if ! command -v radosgw >/dev/null 2>&1 || ! command -v ceph-mon >/dev/null 2>&1 || ! command -v ceph-osd >/dev/null 2>&1 \
        || ! command -v uuidgen >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "[test] installing Ceph's RADOS Gateway (Debian packages) for the S3 store's tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl >/dev/null
    else
        echo "[test] radosgw is missing: the S3 store's tests will be skipped (sudo apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)"
    fi
fi
export SHOPCHAT_RASA_MODEL="$(bash scripts/train_bot.sh | tail -n 1)"
bash scripts/validate_bot.sh
exec .venv/bin/python -m pytest "$@"
