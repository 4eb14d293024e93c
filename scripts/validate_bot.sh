#!/usr/bin/env bash
# Validate the bot's training data: `rasa data validate` (domain, NLU, stories; any warning
# fails) plus a dialogue-only training run that catches contradicting rules; exit non-zero on
# any problem. With --nlu-test, also cross-validate the NLU pipeline (`rasa test nlu
# --cross-validation`, 5 folds by default) into .run/nlu-report/ and print the figures.
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
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
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
    grep -v -E "DeprecationWarning|declare_namespace|import pkg_resources|Implementing implicit namespace|from jax import|self\._parser\.|setParseAction|enablePackrat|setName\(|oneOf\(|leaveWhitespace|QuotedString\(|parseString\(|resetCache\(|fatal: bad revision|^\s*$" >&2 || true
}

bash "$ROOT/scripts/setup_rasa.sh"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# 1. Domain, NLU, stories: `--fail-on-warnings` fails on the validator's own findings (unused or
#    undeclared intents, responses, actions; story conflicts), but NOT on warnings raised while
#    reading the files (e.g. a blank line inside an `examples: |` block silently drops an
#    example), so any UserWarning in the output fails too.
log "rasa data validate"
rc=0
"$VENV/bin/rasa" data validate --quiet --fail-on-warnings \
    --config bot/config.yml --domain bot/domain.yml --data bot/data 2>"$TMP/validate.err" || rc=$?
denoise <"$TMP/validate.err"
if [ "$rc" != 0 ] || grep -q -E "UserWarning|Issue found|ERROR" "$TMP/validate.err"; then
    log "FAILED: rasa data validate reported problems (exit $rc)"
    exit 1
fi

# 2. Rules: contradicting rules are only detected when RulePolicy trains, so train the
#    dialogue part alone (a few seconds) into a throw-away folder.
log "rules and stories (rasa train core)"
mkdir -p "$TMP/stories"
cp bot/data/rules.yml bot/data/stories.yml "$TMP/stories/"
rc=0
"$VENV/bin/rasa" train core --quiet --config bot/config.yml --domain bot/domain.yml \
    --stories "$TMP/stories" --out "$TMP/model" >"$TMP/core.err" 2>&1 || rc=$?
denoise <"$TMP/core.err"
if [ "$rc" != 0 ] || grep -q -E "UserWarning|InvalidRule|Contradicting|ERROR" "$TMP/core.err"; then
    log "FAILED: rules/stories do not train cleanly (exit $rc)"
    exit 1
fi
log "data valid"

if [ "$nlu_test" = 1 ]; then
    rm -rf "$REPORT"
    mkdir -p "$REPORT"
    log "rasa test nlu --cross-validation --folds $folds (writes $REPORT)"
    start=$(date +%s)
    "$VENV/bin/rasa" test nlu --quiet --cross-validation --folds "$folds" \
        --config bot/config.yml --domain bot/domain.yml --nlu bot/data/nlu.yml \
        --out "$REPORT" --successes 2> >(denoise) >/dev/null
    log "cross-validation took $(( $(date +%s) - start )) s"
    "$VENV/bin/python" - "$REPORT" bot/config.yml <<'PY'
import json, sys
import yaml
report_dir, config = sys.argv[1], sys.argv[2]
r = json.load(open(f"{report_dir}/intent_report.json"))
print(f"accuracy {r['accuracy']:.4f}   macro F1 {r['macro avg']['f1-score']:.4f}   "
      f"weighted F1 {r['weighted avg']['f1-score']:.4f}")
print(f"{'intent':<16} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
for k, v in sorted(r.items()):
    if isinstance(v, dict) and "precision" in v and k not in ("macro avg", "weighted avg", "micro avg"):
        print(f"{k:<16} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1-score']:6.3f} {v['support']:5d}")
for k, v in sorted(r.items()):
    if isinstance(v, dict) and v.get("confused_with"):
        print(f"  {k} confused with {v['confused_with']}")
# `rasa test nlu` undoes FallbackClassifier's nlu_fallback before scoring; show its effect
# (confidence threshold only: the reports do not keep the runner-up's confidence).
cfg = yaml.safe_load(open(config))
th = next(c["threshold"] for c in cfg["pipeline"] if c["name"] == "FallbackClassifier")
preds = json.load(open(f"{report_dir}/intent_successes.json")) + json.load(open(f"{report_dir}/intent_errors.json"))
ho = [p for p in preds if p["intent"] == "human_handoff"]
handed = sum(p["intent_prediction"]["name"] == "human_handoff" and p["intent_prediction"]["confidence"] >= th for p in ho)
offered = sum(p["intent_prediction"]["name"] in ("human_handoff", "bot_challenge", "deny")
              and p["intent_prediction"]["confidence"] >= th for p in ho)
below = sum(p["intent_prediction"]["confidence"] < th for p in preds)
print(f"nlu_fallback (top confidence < {th}): {below}/{len(preds)} messages")
print(f"human_handoff examples handed over (predicted human_handoff >= {th}): {handed}/{len(ho)} = {handed/len(ho):.3f}")
print(f"human_handoff examples whose reply hands over or offers the 'Talk to a person' button: "
      f"{offered}/{len(ho)} = {offered/len(ho):.3f}")
PY
fi
