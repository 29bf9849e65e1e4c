#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install xlt-harness into it.
#   EXTRAS   pip extras to install (default: none; the test set-up passes "dev,report,ray,slurm,bench,browser")
#   VENV     where the environment lives (default: .venv in the repo)
#   PYTHON   interpreter used to create it (default: python3)
#   TORCH_SPEC  the torch requirement installed first (default: torch==2.13.0; set e.g. "torch" for the newest)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
EXTRAS=${EXTRAS:-}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" -U pip
# torch first and pinned: an open range could pull a multi-GB CUDA build where a CPU wheel is at hand.
"$VENV/bin/python" -c "import torch" 2>/dev/null || "${PIP[@]}" "$TORCH_SPEC"
if [ -n "$EXTRAS" ]; then
  "${PIP[@]}" -e ".[${EXTRAS}]"
else
  "${PIP[@]}" -e .
fi
echo "environment ready: $VENV ($("$VENV/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "· transformers", transformers.__version__)'))"
echo "put \`harness\` on your PATH with:  source $VENV/bin/activate   (or call $VENV/bin/harness)"
