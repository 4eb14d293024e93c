#!/usr/bin/env bash
# Train the Rasa model if bot/ changed. Idempotent: the model is named after a hash of
# bot/config.yml, bot/domain.yml, bot/data/** and the installed Rasa version, so a second run
# does nothing. Progress goes to stderr; the LAST stdout line is the model's absolute path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-rasa"
OUT="$ROOT/.run/models"

log() { echo "[train_bot] $*" >&2; }

# Quiet, offline Rasa/TensorFlow.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=3
export TF_ENABLE_ONEDNN_OPTS=0
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONWARNINGS=ignore
export TQDM_DISABLE=1
export RASA_CACHE_DIRECTORY="$ROOT/.run/rasa-cache"

# Import-time DeprecationWarnings of Rasa's dependency tree (pkg_resources, jax, pyparsing) and
# git's complaint in a repo without commits: noise, not findings. Everything else is shown.
denoise() {
    grep -v -E "DeprecationWarning|declare_namespace|import pkg_resources|Implementing implicit namespace|from jax import|self\._parser\.|setParseAction|enablePackrat|setName\(|oneOf\(|leaveWhitespace|QuotedString\(|parseString\(|resetCache\(|fatal: bad revision|^\s*$" >&2 || true
}

# The venv (a no-op in < 1 s when it is up to date).
bash "$ROOT/scripts/setup_rasa.sh" >&2

rasa_version="$(basename "$(ls -d "$VENV"/lib/python3.10/site-packages/rasa-*.dist-info | head -n1)" .dist-info)"
hash="$(
    {
        echo "$rasa_version"
        for f in bot/config.yml bot/domain.yml $(find bot/data -type f | LC_ALL=C sort); do
            echo "== $f"
            cat "$f"
        done
    } | sha256sum | cut -c1-16
)"
name="bot-$hash"
model="$OUT/$name.tar.gz"

if [ -f "$model" ]; then
    log "up to date ($rasa_version)"
else
    mkdir -p "$OUT"
    log "training $name with $rasa_version"
    start=$(date +%s)
    "$VENV/bin/rasa" train --quiet \
        --config bot/config.yml --domain bot/domain.yml --data bot/data \
        --out "$OUT" --fixed-model-name "$name" 2> >(denoise) >&2
    [ -f "$model" ] || { log "training produced no $model"; exit 1; }
    # keep only the current model
    find "$OUT" -maxdepth 1 -name 'bot-*.tar.gz' ! -name "$name.tar.gz" -delete
    log "trained in $(( $(date +%s) - start )) s ($(du -h "$model" | cut -f1))"
fi

echo "$model"
