#!/usr/bin/env bash
# Create the Rasa venv (.venv-rasa/, Python 3.10) and install bot/requirements.txt.
# Idempotent: a stamp holding the hash of bot/requirements.txt (and the interpreter version)
# makes a second run a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-rasa"
REQ="$ROOT/bot/requirements.txt"
STAMP="$VENV/.requirements.sha256"

log() { echo "[setup_rasa] $*"; }

find_python310() {
    local cand
    # 1. python3.10 on PATH (a pyenv shim may be on PATH but refuse to run: test it)
    if cand="$(command -v python3.10 2>/dev/null)" && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
        echo "$cand"; return 0
    fi
    # 2. a pyenv-installed 3.10.x
    local proot=""
    if command -v pyenv >/dev/null 2>&1; then proot="$(pyenv root 2>/dev/null || true)"; fi
    [ -n "$proot" ] || proot="${PYENV_ROOT:-$HOME/.pyenv}"
    for cand in $(ls -d "$proot"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
        if "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
            echo "$cand"; return 0
        fi
    done
    return 1
}

req_hash="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$req_hash" ]; then
    log "up to date ($VENV)"
    exit 0
fi

if ! PY="$(find_python310)"; then
    cat >&2 <<'MSG'
[setup_rasa] Python 3.10 not found. Rasa 3.6 runs only on Python 3.8-3.10. Provide it with ONE of:
    pyenv install 3.10.13                                   # then re-run this script
    apt-get install python3.10 python3.10-venv              # Debian/Ubuntu with 3.10 packages
MSG
    exit 1
fi
log "using $PY ($("$PY" --version 2>&1))"

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
log "installing bot/requirements.txt (a fresh venv takes ~1.5 min and ~2.7 GB)"
# pip warns about every package missing from the extra local indexes: drop that noise only.
quiet_pip() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
quiet_pip install --quiet --upgrade "pip<25" >/dev/null
quiet_pip install --quiet -r "$REQ"

log "checking the install"
RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    "$VENV/bin/rasa" --version >/dev/null

echo "$req_hash" > "$STAMP"
log "done in $(( $(date +%s) - start )) s; venv size $(du -sh "$VENV" | cut -f1)"
