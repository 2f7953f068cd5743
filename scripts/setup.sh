#!/usr/bin/env bash
# Create .venv (Python 3.11) with the pinned dependencies and this project installed editable (the `ganrepro`
# command); a no-op when they are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, torchvision, cleanfid, snakemake, datasets, lmdb, skimage, seaborn" 2>/dev/null \
   || ! .venv/bin/pip freeze 2>/dev/null | grep -q '^torch==2.14.1'; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
fi
if [ ! -x .venv/bin/ganrepro ] || [ "$(.venv/bin/python -c 'import ganrepro; print(ganrepro.ROOT)' 2>/dev/null)" != "$(pwd)" ]; then
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
fi
.venv/bin/python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
