#!/usr/bin/env bash
# Run the test suite (offline-safe: no hub look-ups).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONHASHSEED=0
exec .venv/bin/python -m pytest -q --durations=12 tests "$@"
