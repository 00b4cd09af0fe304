#!/usr/bin/env bash
# The aarch64 (arm64) build on a Debian 12 x86-64 host (run as `bash .ci/aarch64.sh` from
# anywhere in the checkout):
#  1. installs what is missing, and nothing when all is there: the cross compiler and qemu-user,
#     the arm64 architecture (dpkg multiarch) and the arm64 build and test dependencies;
#  2. configures build-aarch64 with cmake/toolchains/aarch64-linux-gnu.cmake and builds;
#  3. checks the direct kernel is NEON code: `conv1dt info` (under qemu) names it, and its
#     objects hold vector multiply-adds (fmla on v registers, 4s for float32 and 2d for float64);
#  4. runs the test suite under qemu-aarch64 (the toolchain's CMAKE_CROSSCOMPILING_EMULATOR,
#     with OPENBLAS_NUM_THREADS=1: OpenBLAS's threads were seen to hang under qemu-user). All
#     of it but:
#       install_package (label install): install_test.sh builds examples/ against the installed
#         package with the host's pkg-config, runs the programs directly and reads them with ldd,
#         none of which knows the cross build;
#       test_cli_chunked, test_cli_jobs (label native): they spawn the CLI to signal it and read
#         its peak RSS, which the emulator does not give them;
#       keras_parity (label keras): Python runs the CLI itself, and without binfmt_misc the host
#         cannot start an arm64 program (the C suites start it through qemu; cli_harness.c).
# About 4 minutes of tests on 2 cores (test_forward is 3.5 of them). Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi

host_pkgs=(build-essential cmake pkg-config gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  binutils-aarch64-linux-gnu qemu-user)
arm64_pkgs=(libopenblas-dev:arm64 check:arm64 libjson-c-dev:arm64)
missing=()
for p in "${host_pkgs[@]}" "${arm64_pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "aarch64.sh: run as root (need: ${missing[*]})" >&2
    exit 1
  fi
  echo "aarch64.sh: installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "== aarch64 cross build (build-aarch64)"
# A build directory configured without the toolchain keeps the host's compiler: start afresh.
if [ -f build-aarch64/CMakeCache.txt ] &&
  ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*aarch64-linux-gnu-gcc' build-aarch64/CMakeCache.txt; then
  rm -rf build-aarch64
fi
# Debian 12's libhdf5-dev is not multi-arch: its arm64 package cannot sit beside the host's, so
# this build leaves Keras files out (the Keras calls return CONV1DT_ERROR_UNSUPPORTED).
cmake -S . -B build-aarch64 --toolchain cmake/toolchains/aarch64-linux-gnu.cmake -DCONV1DT_KERAS=OFF
cmake --build build-aarch64 -j2

echo "== the direct kernel is NEON code"
export OPENBLAS_NUM_THREADS=1
prefix=$(sed -n 's/^CONV1DT_QEMU_LD_PREFIX:[A-Z]*=//p' build-aarch64/CMakeCache.txt)
info=$(qemu-aarch64 -L "${prefix:-/}" build-aarch64/tools/conv1dt info)
echo "$info"
grep -qx 'direct kernel: aarch64 NEON (128-bit vector extensions)' <<<"$info" ||
  { echo "aarch64.sh: conv1dt info does not name the NEON kernel" >&2; exit 1; }
for p in 32 64; do
  lanes=$([ $p = 32 ] && echo 4s || echo 2d)
  obj=build-aarch64/CMakeFiles/conv1dt_kernels_generic$p.dir/src/kernels/generic/kernels.c.o
  n=$(aarch64-linux-gnu-objdump -d "$obj" | grep -cE "fmla[[:space:]]+v[0-9]+\.$lanes" || true)
  echo "generic kernel table float$p: $n fmla on v registers (.$lanes)"
  [ "$n" -gt 0 ] || { echo "aarch64.sh: no NEON multiply-adds in $obj" >&2; exit 1; }
done

echo "== test suite under qemu-aarch64 (all but labels install and keras: see above)"
ctest --test-dir build-aarch64 --output-on-failure -j2 -LE 'install|keras|native'
grep -hE '^[0-9]+%: Checks: ' build-aarch64/Testing/Temporary/LastTest.log || true
