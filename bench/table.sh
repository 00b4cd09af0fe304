#!/usr/bin/env bash
# The whole performance table in one command: PyTorch's forward and autograd backward first
# (bench/pytorch_bench.py, where .venv-torch/ has PyTorch), then conv1dt-bench on the full
# suite with every yardstick: the bare GEMM (and the machine's best one, OpenBLAS's right core
# and MKL from .venv-mkl/ in child processes), the roofline, oneDNN, the layer parked and right
# after a GEMM, and the training calls (--backward).
#   bash bench/table.sh [BUILD_DIR] [-- conv1dt-bench options...]
# BUILD_DIR defaults to build. The options that pick cases and runs (--only, --case, --dtype,
# --format, --reps, --min-reps, --min-time) go to PyTorch's run too. Writes perf.txt (the
# tables), perf.json and torch.json at the top of the checkout; `bench/roofline.sh perf.json
# docs/roofline.png` draws the chart.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n 's/^# \{0,1\}//; 7,11p' "$0" >&2; exit 2; }
build=build
if [ $# -gt 0 ] && [ "$1" != -- ]; then
  case $1 in -*) usage ;; esac
  build=$1
  shift
fi
if [ $# -gt 0 ]; then [ "$1" = -- ] || usage; shift; fi
cmake --build "$build" -j2 --target conv1dt_bench >/dev/null
bench=$build/bench/conv1dt-bench
threads=$(nproc)

# The same cases and runs for PyTorch.
picks=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
  --only | --case | --dtype | --format | --reps | --min-reps | --min-time)
    picks+=("${args[i]}" "${args[i + 1]:-}")
    i=$((i + 1))
    ;;
  esac
done

torch=()
if [ -x .venv-torch/bin/python ]; then
  .venv-torch/bin/python bench/pytorch_bench.py --threads "$threads" --backward "${picks[@]}" \
    --json torch.json
  torch=(--pytorch-json torch.json)
else
  echo "table.sh: no .venv-torch/: no PyTorch columns (docs/PERFORMANCE.md says how)" >&2
fi
[ -e .venv-mkl/lib/libmkl_rt.so.3 ] || [ -e .venv-mkl/lib/libmkl_rt.so.2 ] || [ -n "${CONV1DT_BENCH_MKL:-}" ] ||
  echo "table.sh: no .venv-mkl/: the GEMM yardstick without MKL (docs/PERFORMANCE.md says how)" >&2
"$bench" --threads "$threads" --backward --json perf.json "${torch[@]}" "$@" | tee perf.txt
