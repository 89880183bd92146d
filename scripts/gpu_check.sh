#!/usr/bin/env bash
# GPU check for a lent GPU machine (no network; NumPy, CuPy, PyTorch, pytest and hypothesis are
# already installed there). Runs from a copy of the checkout: the test suite on CUDA, then the
# tutorial programs on CUDA, and prints a short summary last.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TAIMATSU_TEST_DEVICE=cuda
python - <<'PY'
import cupy, numpy, taimatsu
print("numpy", numpy.__version__, "cupy", cupy.__version__,
      "gpus", cupy.cuda.runtime.getDeviceCount(), "taimatsu cuda:", taimatsu.cuda.is_available())
PY
python -m pytest -q -p no:cacheprovider --maxfail=20 tests 2>&1 | tee /tmp/gpu_pytest.txt | tail -40
tests_rc=${PIPESTATUS[0]}
python -m taimatsu.examples.tutorial --device cuda --plot "${OUT:-/tmp}/tutorial_losses_cuda.png" \
    2>/dev/null | tee /tmp/gpu_demo.txt
demo_rc=${PIPESTATUS[0]}
echo "=== GPU check summary ==="
echo "tests: $(tail -1 /tmp/gpu_pytest.txt) (exit $tests_rc)"
echo "tutorial on cuda: exit $demo_rc"
[ "$tests_rc" -eq 0 ] && [ "$demo_rc" -eq 0 ]
