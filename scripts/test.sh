#!/usr/bin/env bash
# Set up, then run the whole test suite: ruff (lint, including undefined names in the Slicer-only module files), pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
