#!/usr/bin/env bash
# Install xlt-harness and run the embedded default matrix offline on CPU (about 25 s once installed; 65 s from a fresh clone):
# two tiny XLM-R sizes × {none, MNLI, SST-2} × XNLI on SYNTHETIC smoke data with a planted effect (MNLI carries
# the skill XNLI needs, SST-2 is the control) → leaderboards/quickstart.jsonl, then the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/harness matrix run configs/quickstart.yaml
.venv/bin/harness leaderboard report leaderboards/quickstart.jsonl
echo
echo "next: source .venv/bin/activate   # puts \`harness\` on your PATH; then try the README's \"Using it\" commands"
