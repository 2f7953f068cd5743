#!/usr/bin/env bash
# Build .whl/ (git-ignored): the wheels scripts/gpu_check.sh installs on a GPU machine without network whose
# Python is a stock CUDA PyTorch image's (torch, torchvision, numpy, scipy, pyyaml, pillow, requests, attrs and
# typing-extensions already there): jsonschema with its three dependencies, clean-fid, POT. Run where pip reaches
# PyPI. Versions: this checkout's .venv where it has them (the pins of requirements.txt), else requirements.txt.
# Target: GPU_PYTHON (default 3.12), x86-64 manylinux.
set -euo pipefail
cd "$(dirname "$0")/.."
PYV=${GPU_PYTHON:-3.12}
PIP=${PIP:-python3 -m pip}
PKGS="jsonschema jsonschema-specifications referencing rpds-py clean-fid POT"
spec() {  # NAME -> NAME==VERSION from .venv's freeze or requirements.txt, else NAME
  local v=""
  if [ -x .venv/bin/pip ]; then v=$(.venv/bin/pip freeze 2>/dev/null | grep -i "^$1==" | head -1 || true); fi
  [ -n "$v" ] || v=$(grep -i "^$1==" requirements.txt | sed 's/[[:space:]].*//' | head -1 || true)
  echo "${v:-$1}"
}
rm -rf .whl && mkdir -p .whl
SPECS=$(for p in $PKGS; do spec "$p"; done)
# shellcheck disable=SC2086
$PIP download -q --no-deps --only-binary=:all: --python-version "$PYV" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl $SPECS
ls -1 .whl
du -sh .whl
