#!/usr/bin/env bash
# The whole pipeline at smoke scale on this machine: every paper table -> report/smoke/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec .venv/bin/snakemake --profile local all "$@"
