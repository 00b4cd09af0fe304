#!/usr/bin/env bash
# conv1dt-bench on each BLAS vendor, swapped in at run time under one -DCONV1DT_BLAS=Generic
# build, as one markdown table: per vendor and suite case, the method AUTO picks, its time, and
# that time over the vendor's own bare GEMM of the same size (timed in the same run) and over
# the DIRECT method (a second run, right after, of the cases where AUTO picked another).
#   bash bench/vendors.sh [BUILD_DIR] [conv1dt-bench options...]
# BUILD_DIR (default build-bench-generic) is configured and built here. The default options
# time float32 channels_last with at least 5 runs a case and the quick roofline; the reference
# BLAS and ATLAS at least 3 (their GEMMs take seconds). CONV1DT_BENCH_VENDORS="BLIS MKL" runs
# only those. Vendors that are not installed
# are skipped (`bash scripts/install-deps.sh --vendors`; MKL: CONV1DT_MKL_VENV, as in
# .ci/vendors.sh). The machine's other load moves the times; the ratios come from one run each.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench-generic}
shift || true
opts=("$@")
[ ${#opts[@]} -gt 0 ] || opts=(--dtype f32 --format cl --min-reps 5 --min-time 0.2)

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCONV1DT_BLAS=Generic -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 --target conv1dt_bench >/dev/null
bench=$build/bench/conv1dt-bench

deb=/usr/lib/$(gcc -print-multiarch)
venv=${CONV1DT_MKL_VENV:-$PWD/.venv-mkl}
vendors=("OpenBLAS|$deb/openblas-pthread" "BLIS|$deb/blis-openmp" "MKL|$venv/blas:$venv/lib"
  "ATLAS|$deb/atlas" "reference|$deb/blas")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

only=${CONV1DT_BENCH_VENDORS:-}
echo "| vendor | case | AUTO | AUTO ms | / GEMM | / DIRECT |"
echo "|---|---|---|---:|---:|---:|"
for row in "${vendors[@]}"; do
  name=${row%%|*} path=${row#*|}
  [ -z "$only" ] || [[ " $only " == *" $name "* ]] || continue
  [ -e "${path%%:*}/libblas.so.3" ] || { echo "(skipped $name: no ${path%%:*}/libblas.so.3)" >&2; continue; }
  extra=() env=()
  case $name in
  ATLAS | reference) extra=(--min-reps 3 --min-time 0) ;;
  # Debian's BLIS hides its thread call from the bench too: all cores, as for the others.
  BLIS) env=(BLIS_NUM_THREADS="$(nproc)") ;;
  esac
  # Each vendor's own GEMM is the yardstick here (--own-gemm: no MKL or OpenBLAS core children).
  run() { env "${env[@]}" LD_LIBRARY_PATH="$path" "$bench" "${opts[@]}" "${extra[@]}" --no-onednn \
    --own-gemm --no-after-gemm --quick-roofline "$@" 2>/dev/null; }
  run --algorithm auto >"$out/$name.auto"
  echo "$(grep '^# BLAS:' "$out/$name.auto")" >&2
  # DIRECT again only for the cases where AUTO picked another method.
  others=$(awk '/^[A-H] / && $5 != "direct" { print $1 }' "$out/$name.auto" | sort -u | paste -sd, -)
  : >"$out/$name.direct"
  if [ -n "$others" ]; then run --only "$others" --algorithm direct >"$out/$name.direct"; fi
  # Rows: case dt fm shape method ms GFLOP/s GEMM-ms xGEMM ...; '*' marks a disturbed time.
  awk -v name="$name" '
    FNR == 1 { file++ }
    /^[A-H] / { key = $1 " " $2 " " $3; ms = $6; sub(/\*/, "", ms)
                if (file == 1) { method[key] = $5; t[key] = ms; x[key] = $9; order[++n] = key }
                else d[key] = ms }
    END { for (i = 1; i <= n; i++) { k = order[i]
            r = method[k] == "direct" ? "(is DIRECT)" : sprintf("%.2f", t[k] / d[k])
            printf "| %s | %s | %s | %s | %s | %s |\n", name, k, method[k], t[k], x[k], r } }' \
    "$out/$name.auto" "$out/$name.direct"
done
