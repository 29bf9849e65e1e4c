#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it (about 9 minutes on 2 cores once installed).
#   - the project with all extras (scripts/setup.sh) and the example plugin (examples/plugin-template)
#   - Debian's chromium for the headless-browser test (root only; skipped otherwise, the test then skips)
#   - the me5-small encoder built from ../shared/tools when that folder exists (the test skips without it)
#   - a single-node SLURM cluster for the slurm executor tests: apt's slurm-wlm + munge and their daemons, which
#     keep running afterwards (stop them: bash scripts/slurm/cluster.sh stop)
# Extra pytest arguments pass through, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=dev,report,ray,slurm,bench,browser bash scripts/setup.sh
# The example third-party plugin, installed like any other package (tests prove it is discovered); only here,
# not in a quickstart user's environment (`pip uninstall xlt-harness-example-task` removes it).
.venv/bin/python -m pip install --disable-pip-version-check -q ./examples/plugin-template

if [ "$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: chromium not installed; the browser test will skip"
fi
ME5_OUT=${XDG_CACHE_HOME:-$HOME/.cache}/xlt-harness/me5-small
if [ -f ../shared/tools/me5-small/build.sh ] && [ ! -f "$ME5_OUT/config.json" ]; then
  bash ../shared/tools/me5-small/build.sh "$ME5_OUT" .venv/bin/python || echo "note: me5-small not built; its tests will skip"
fi
# A single-node SLURM cluster (Debian's slurm-wlm + munge, root only); it exits 0 with a note when it cannot run.
bash scripts/slurm/cluster.sh start || echo "note: SLURM not started; the slurm executor tests will skip"

export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q -ra --durations=15 "$@"
