#!/usr/bin/env bash
# The GPU figures, one run on one GPU, under 8 minutes (benchmarks/gpu_bench.py says what each one measures):
#   XLM-R large bf16 training tokens/s and MFU against the rated bf16 dense peak (measured matmul peak beside it);
#   XLM-R XL on one GPU with gradient checkpointing (tokens/s, peak memory);
#   me5-small encoding sentences/s and exact two-direction k=4 mining on the device.
# Every line names the device (torch.cuda.get_device_name) and the rated peak it is compared with.
#
#   bash benchmarks/gpu.sh                 # needs a CUDA GPU; exits 2 at once without one
#   bash benchmarks/gpu.sh --dry-run-cpu   # the same Python code on CPU with tiny models (checks it runs)
#   PYTHON=/path/to/python bash benchmarks/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
export TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1} TOKENIZERS_PARALLELISM=false

if [ "${1:-}" = "--dry-run-cpu" ]; then
  exec "$PY" benchmarks/gpu_bench.py "$@"
fi
if ! command -v nvidia-smi >/dev/null && [ ! -e /dev/nvidia0 ]; then
  echo "gpu.sh: no NVIDIA GPU here (no nvidia-smi, no /dev/nvidia0); nothing measured." \
       "Run it on a GPU machine, or 'bash benchmarks/gpu.sh --dry-run-cpu' to check the code." >&2
  exit 2
fi
if ! torch_says=$("$PY" -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>&1) \
    || [ "${torch_says##* }" != "True" ]; then
  echo "gpu.sh: torch sees no CUDA GPU (${torch_says##*$'\n'}); nothing measured." >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

status=0
# one process per figure, each with its own time limit (they add up to 7 min 50 s)
for part in large:150 xl:200 retrieval:120; do
  name=${part%%:*} limit=${part##*:}
  timeout --signal=TERM --kill-after=10 "$limit" "$PY" benchmarks/gpu_bench.py --only "$name" "$@"
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "gpu.sh: figure '$name' ran past its ${limit} s limit (nothing more printed for it)" >&2
    status=1
  elif [ "$rc" -ne 0 ]; then
    echo "gpu.sh: figure '$name' failed (exit $rc)" >&2
    status=1
  fi
done
exit "$status"
