#!/usr/bin/env bash
# CI's BLAS vendor matrix. One -DCONV1DT_BLAS=Generic build (it links libblas.so.3) runs the
# suite (CLI end to end included) and `conv1dt selftest` on each vendor, swapped in with
# LD_LIBRARY_PATH as a user would (or through update-alternatives):
#   OpenBLAS pthreads, OpenBLAS OpenMP, BLIS, Netlib's reference BLAS, ATLAS (Debian packages),
#   Intel MKL (PyPI's `mkl` wheel, its libmkl_rt.so.3 as libblas.so.3);
# OpenBLAS's serial build and a plain-loop CBLAS of no vendor (.ci/fake_cblas.c) get `info`
# and `selftest`. Each run asserts that `conv1dt info`, and
# the suite's own test (CONV1DT_TEST_BLAS_VENDOR / _DIR), name the vendor swapped in. Last, a
# build-time MKL build (-DCONV1DT_BLAS=Intel10_64_dyn, CMake's FindBLAS name for mkl_rt) runs
# the suite.
# The MKL wheel goes into a venv inside the checkout (.venv-mkl/, ignored by git), or where
# CONV1DT_MKL_VENV says (CI keeps one between runs); Python is needed for this only.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
summaries() { # Check's own summary lines, one per suite, from CTest's log
  grep -hE '^[0-9]+%: Checks: ' "$1/Testing/Temporary/LastTest.log" || true
}

bash scripts/install-deps.sh --vendors

venv=${CONV1DT_MKL_VENV:-$PWD/.venv-mkl}
if [ ! -e "$venv/lib/libmkl_rt.so.3" ]; then
  echo "-- installing PyPI's mkl wheel into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check mkl==2026.2.1
fi
mkl=$venv/lib
[ -e "$mkl/libmkl_rt.so.3" ] || { echo "vendors: no libmkl_rt.so.3 in $mkl" >&2; exit 1; }
# libblas.so.3 for the swap, and libmkl_rt.so for the build-time link (the wheel ships only
# the versioned name); both point at the wheel's own file.
mkdir -p "$venv/blas"
ln -sf "$mkl/libmkl_rt.so.3" "$venv/blas/libblas.so.3"
ln -sf libmkl_rt.so.3 "$mkl/libmkl_rt.so"

cmake -S . -B build-generic -DCMAKE_BUILD_TYPE=Release -DCONV1DT_BLAS=Generic \
  -DCONV1DT_BUILD_BENCH=OFF
cmake --build build-generic -j2
cli=build-generic/tools/conv1dt

multiarch=$(gcc -print-multiarch)
deb=/usr/lib/$multiarch
# name | LD_LIBRARY_PATH | what `conv1dt info` must start with | words it must hold | the
# directory the providing file must be in | suite: all or info (info + selftest only)
matrix=(
  "openblas-pthread|$deb/openblas-pthread|OpenBLAS|pthreads build|$deb/openblas-pthread/|all"
  "openblas-openmp|$deb/openblas-openmp|OpenBLAS|OpenMP build|$deb/openblas-openmp/|all"
  "openblas-serial|$deb/openblas-serial|OpenBLAS|serial build|$deb/openblas-serial/|info"
  "blis|$deb/blis-openmp|BLIS|OpenMP build|$deb/blis-openmp/|all"
  "reference|$deb/blas|Netlib reference BLAS|serial|$deb/blas/|all"
  "atlas|$deb/atlas|ATLAS|serial build|$deb/atlas/|all"
  "mkl|$venv/blas:$mkl|Intel(R) oneAPI Math Kernel Library|threading layer|$mkl/|all"
)
for row in "${matrix[@]}"; do
  IFS='|' read -r name path vendor words dir suite <<<"$row"
  t0=$(date +%s)
  info=$(LD_LIBRARY_PATH=$path $cli info)
  blas=$(grep '^BLAS: ' <<<"$info")
  echo "-- $name: $blas"
  # The swap must have happened and be named truthfully: the vendor, its threading build and
  # the file from that vendor's directory.
  [[ $blas == "BLAS: $vendor"* && $blas == *"$words"* && $blas == *"$dir"* ]] ||
    { echo "vendors: $name: expected '$vendor' ... '$words' ... '$dir'" >&2; exit 1; }
  LD_LIBRARY_PATH=$path $cli selftest | tail -5
  if [ "$suite" = all ]; then
    LD_LIBRARY_PATH=$path CONV1DT_TEST_BLAS_VENDOR=$vendor CONV1DT_TEST_BLAS_DIR=$dir \
      ctest --test-dir build-generic --output-on-failure -j2 -LE 'install|keras'
    summaries build-generic
  fi
  echo "-- $name: $(($(date +%s) - t0)) s"
done

# A CBLAS no vendor's symbols name (.ci/fake_cblas.c): reported as unknown, with its file.
fake=$PWD/build-generic/fake-blas
mkdir -p "$fake"
gcc -O2 -shared -fPIC -Wl,-soname,libblas.so.3 -o "$fake/libblas.so.3" .ci/fake_cblas.c
blas=$(LD_LIBRARY_PATH=$fake $cli info | grep '^BLAS: ')
echo "-- unknown CBLAS: $blas"
[ "$blas" = "BLAS: unknown CBLAS in $fake/libblas.so.3" ] ||
  { echo "vendors: the plain-loop CBLAS is not reported as unknown" >&2; exit 1; }
LD_LIBRARY_PATH=$fake $cli selftest | tail -1

echo "-- MKL at build time (-DCONV1DT_BLAS=Intel10_64_dyn)"
cmake -S . -B build-mkl -DCMAKE_BUILD_TYPE=Release -DCONV1DT_BLAS=Intel10_64_dyn \
  -DCMAKE_LIBRARY_PATH="$mkl" -DCONV1DT_BUILD_BENCH=OFF
cmake --build build-mkl -j2
build-mkl/tools/conv1dt info | grep -q "^BLAS: Intel(R) oneAPI Math Kernel Library.*$mkl/" ||
  { echo "vendors: the MKL build does not run MKL" >&2; exit 1; }
build-mkl/tools/conv1dt selftest | tail -1
CONV1DT_TEST_BLAS_VENDOR="Intel(R) oneAPI Math Kernel Library" CONV1DT_TEST_BLAS_DIR=$mkl/ \
  ctest --test-dir build-mkl --output-on-failure -j2 -LE 'install|keras'
summaries build-mkl

echo "-- vendor matrix: $(($(date +%s) - start)) s"
