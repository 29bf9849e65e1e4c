#!/usr/bin/env bash
# The real study (docs/real-offline.md), from the repository root with ../shared beside it:
#   bash scripts/real-offline.sh
# 1. cuts the BUCC zh-en sample (scripts/bucc_sample.py), 2. runs examples/real-offline.yaml (rows:
# leaderboards/real-offline.jsonl), 3. prints the gain table and writes the page leaderboards/real-offline-report/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HARNESS=${HARNESS:-.venv/bin/harness}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$PY" scripts/bucc_sample.py ../shared/data/bucc2018 runs/real-offline/data/bucc2018 --lines 1500
"$HARNESS" matrix run examples/real-offline.yaml
"$HARNESS" leaderboard report leaderboards/real-offline.jsonl --split all --metric bucc2018=bucc_f1_margin_oracle
"$HARNESS" leaderboard html leaderboards/real-offline.jsonl --split all --metric bucc2018=bucc_f1_margin_oracle --out leaderboards/real-offline-report \
  --config-file examples/real-offline.yaml \
  --title "Real study: intermediate training x depth of multilingual-e5-small (CPU, real samples)"
