#!/usr/bin/env bash
# The clang build (run as `bash .ci/clang.sh` from anywhere in the checkout):
#  1. installs clang and its runtimes (libFuzzer, sanitizers) if missing, then the build and test
#     dependencies (scripts/install-deps.sh);
#  2. configures build-clang with clang and -Werror (the build must stay warning-free), builds,
#     checks that the direct kernel is dispatched per ISA and that the shared library exports
#     nothing but conv1dt_* (the kernel tables stay hidden);
#  3. runs the whole test suite;
#  4. the README's fuzzing recipe: build-fuzz with -DCONV1DT_FUZZ=ON, each libFuzzer target run
#     once over its committed corpus.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for p in clang libclang-rt-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "clang.sh: run as root (need: ${missing[*]})" >&2; exit 1; }
    sudo=sudo
  fi
  echo "clang.sh: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
bash scripts/install-deps.sh

# A build directory configured with another compiler keeps it: start that one afresh.
fresh() {
  if [ -f "$1/CMakeCache.txt" ] && ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$1/CMakeCache.txt"; then
    rm -rf "$1"
  fi
}

echo "== clang build (build-clang, -Werror)"
fresh build-clang
cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_C_FLAGS=-Werror
cmake --build build-clang -j2
isa=$(build-clang/tools/conv1dt info | grep '^direct kernel:')
echo "$isa"
if [ "$(uname -m)" = x86_64 ] && echo "$isa" | grep -q 'portable C'; then
  echo "clang.sh: the direct kernel is not dispatched per ISA in the clang build" >&2
  exit 1
fi
extra=$(nm -D --defined-only build-clang/libconv1dt.so | awk '$3 !~ /^conv1dt_/')
if [ -n "$extra" ]; then
  printf 'clang.sh: libconv1dt.so exports more than conv1dt_*:\n%s\n' "$extra" >&2
  exit 1
fi

echo "== whole test suite (clang)"
ctest --test-dir build-clang --output-on-failure -j2
grep -hE '^[0-9]+%: Checks: ' build-clang/Testing/Temporary/LastTest.log || true

echo "== README fuzzing recipe (build-fuzz, -DCONV1DT_FUZZ=ON)"
fresh build-fuzz
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCONV1DT_FUZZ=ON
cmake --build build-fuzz -j2 --target fuzz_npy
# Files (not a directory) as arguments: each input runs once and the corpus is not written to.
out=$(build-fuzz/tests/fuzz_npy tests/fuzz/corpus/npy/* 2>&1) || {
  echo "$out" | tail -n 30 >&2
  exit 1
}
echo "fuzz_npy: $(grep -c '^Executed ' <<<"$out") corpus inputs, each run once"
# The other targets the same way; the HDF5 reader's with the sanitizer settings its replay test
# uses (tests/fuzz.cmake: libhdf5's own allocations and leaks on damaged files).
cmake --build build-fuzz -j2 --target fuzz_keras_json fuzz_keras_h5 fuzz_keras_zip fuzz_cli_args
for t in keras_json keras_h5 keras_zip cli_args; do
  out=$(ASAN_OPTIONS=allocator_may_return_null=1:fast_unwind_on_malloc=0 \
    LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp \
    build-fuzz/tests/fuzz_$t -close_fd_mask=3 tests/fuzz/corpus/$t/* 2>&1) || {
    echo "$out" | tail -n 30 >&2
    exit 1
  }
  echo "fuzz_$t: $(grep -c '^Executed ' <<<"$out") corpus inputs, each run once"
done
