#!/usr/bin/env bash
# The GPU check (ganrepro/tools/gpucheck.py): proves the full-scale path on this machine's GPU and writes
# benchmarks_<gpu>.json (to $OUT, else benchmarks/results/). Arguments go to `python -m ganrepro gpucheck`
# (--budget SECONDS, --device cpu --tiny, --out DIR, --stages a,b).
#   on a cluster node:    srun --gpus=1 --time=15 bash scripts/gpu_check.sh
#   on a bare GPU machine without network: first `bash scripts/gpu_wheels.sh` where pip works, bring .whl/ along.
# Python: $PYTHON, else .venv/bin/python, else python3 (a stock CUDA PyTorch image's). Packages it lacks of the
# few the check imports beyond torch (jsonschema, clean-fid, POT) are installed from .whl/ into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c "import jsonschema, cleanfid, ot, yaml, torch, torchvision" 2>/dev/null; then
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "gpu_check: $PY lacks jsonschema, clean-fid or POT and there is no .whl/ folder: run" \
         "'bash scripts/gpu_wheels.sh' on a machine with pip access and bring .whl/ here" >&2
    exit 2
  fi
  SITE=${TMPDIR:-/tmp}/ganrepro-gpucheck-site
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
exec "$PY" -m ganrepro gpucheck "$@"
