#!/usr/bin/env bash
# Create .venv (once) and install SlicerKeypoints with the standalone, training, test and benchmark extras into it.
# torch is pinned here, not in pyproject.toml: an open range would pull a multi-GB CUDA build on CPU-only machines.
# Set KEYPOINT_TORCH to choose another torch (e.g. "torch==2.13.0" from a CUDA index you configured).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "${KEYPOINT_TORCH:-torch==2.13.0}"
.venv/bin/python -m pip install --quiet -e ".[standalone,train,test,bench]"
