#!/usr/bin/env bash
# Set up a virtual environment with taimatsu and the demo extras (tqdm, matplotlib) and run the
# tutorial demo: seven PyTorch tutorial programs, their losses, times and a PNG of the curves.
# Extra arguments go to the demo (e.g. --device cuda, --steps 200).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[demo]' 2>&1 \
    | grep -v "^WARNING: Location" || true
exec .venv/bin/python -m taimatsu.examples.tutorial "$@"
