#!/usr/bin/env bash
# Validate the bot's training data: `rasa data validate` (domain, NLU, rules and stories; any
# warning fails, exit non-zero). With --nlu-test, also cross-validate the NLU pipeline
# (`rasa test nlu --cross-validation`) into .run/nlu-report/ and print the headline figures.
#   scripts/validate_bot.sh [--nlu-test] [--folds N]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-rasa"
REPORT="$ROOT/.run/nlu-report"

nlu_test=0
folds=5
while [ $# -gt 0 ]; do
    case "$1" in
        --nlu-test) nlu_test=1 ;;
        --folds) folds="$2"; shift ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "[validate_bot] $*"; }

export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=3
export TF_ENABLE_ONEDNN_OPTS=0
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export TQDM_DISABLE=1
export RASA_CACHE_DIRECTORY="$ROOT/.run/rasa-cache"

# Import-time DeprecationWarnings of Rasa's dependency tree (pkg_resources, jax, pyparsing):
# noise, not findings. Everything else is shown.
denoise() {
    grep -v -E "DeprecationWarning|declare_namespace|import pkg_resources|Implementing implicit namespace|from jax import|self\._parser\.|^\s*$" >&2 || true
}

bash "$ROOT/scripts/setup_rasa.sh"

log "rasa data validate"
"$VENV/bin/rasa" data validate --fail-on-warnings \
    --config bot/config.yml --domain bot/domain.yml --data bot/data 2> >(denoise)
log "data valid"

if [ "$nlu_test" = 1 ]; then
    rm -rf "$REPORT"
    mkdir -p "$REPORT"
    log "rasa test nlu --cross-validation --folds $folds (writes $REPORT)"
    start=$(date +%s)
    "$VENV/bin/rasa" test nlu --quiet --cross-validation --folds "$folds" \
        --config bot/config.yml --domain bot/domain.yml --nlu bot/data/nlu.yml \
        --out "$REPORT" 2> >(denoise) >/dev/null
    log "cross-validation took $(( $(date +%s) - start )) s"
    "$VENV/bin/python" - "$REPORT/intent_report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"accuracy {r['accuracy']:.4f}   macro F1 {r['macro avg']['f1-score']:.4f}   "
      f"weighted F1 {r['weighted avg']['f1-score']:.4f}")
print(f"{'intent':<16} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
for k, v in sorted(r.items()):
    if isinstance(v, dict) and "precision" in v and k not in ("macro avg", "weighted avg", "micro avg"):
        print(f"{k:<16} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1-score']:6.3f} {v['support']:5d}")
for k, v in sorted(r.items()):
    if isinstance(v, dict) and v.get("confused_with"):
        print(f"  {k} confused with {v['confused_with']}")
PY
fi
