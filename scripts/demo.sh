#!/usr/bin/env bash
# Set up, then run the demo on bundled sample data; the scene and previews go to demo-output/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/slicer-keypoints demo --output demo-output "$@"
