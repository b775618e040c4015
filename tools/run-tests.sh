#!/usr/bin/env bash
# Every test tier, as CI runs them: unit and functional tests in .venv,
# then the integration tier against the real Glance in .cache/glance-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
.venv/bin/python -m pytest tests/unit tests/functional
bash tools/glance-venv.sh
.cache/glance-venv/bin/python -m pytest tests/integration
