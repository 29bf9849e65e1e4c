#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install xlt-harness into it.
#   EXTRAS   pip extras to install (default: none; the test set-up passes "dev,report,ray,slurm,bench,browser")
#   VENV     where the environment lives (default: .venv in the repo)
#   PYTHON   interpreter used to create it (default: python3)
#   TORCH_SPEC  the torch requirement installed first (default: torch==2.13.0; set e.g. "torch" for the newest)
#   FORCE_SETUP=1  reinstall even when nothing changed
# A rerun with nothing changed takes well under a second: the stamp $VENV/.xlt-setup-stamp holds a hash of what
# this script installs from (pyproject.toml, EXTRAS, TORCH_SPEC, the interpreter);
# pip runs only when it differs. The package itself is an editable install, so code edits never need a rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
EXTRAS=${EXTRAS:-}

STAMP="$VENV/.xlt-setup-stamp"
stamp() {
  {
    echo "extras=$EXTRAS torch=$TORCH_SPEC python=$("$PYTHON" -c 'import sys; print(sys.version)' 2>/dev/null)"
    sha256sum pyproject.toml
  } | sha256sum | cut -d' ' -f1
}
WANT=$(stamp)
if [ -z "${FORCE_SETUP:-}" ] && [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/harness" ] && [ -f "$STAMP" ] \
   && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "environment up to date: $VENV (nothing to install; FORCE_SETUP=1 reinstalls)"
  exit 0
fi
rm -f "$STAMP"
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
echo "$WANT" > "$STAMP"
echo "environment ready: $VENV ($("$VENV/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "· transformers", transformers.__version__)'))"
echo "put \`harness\` on your PATH with:  source $VENV/bin/activate   (or call $VENV/bin/harness)"
