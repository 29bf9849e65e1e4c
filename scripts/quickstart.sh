#!/usr/bin/env bash
# Install xlt-harness and run the embedded default matrix offline on CPU (about a minute):
# two tiny XLM-R sizes × {none, MNLI} × XNLI on SYNTHETIC smoke data → leaderboards/quickstart.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/harness matrix run configs/quickstart.yaml
.venv/bin/harness leaderboard report leaderboards/quickstart.jsonl
