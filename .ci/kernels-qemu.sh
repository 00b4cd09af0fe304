#!/usr/bin/env bash
# The direct method's dispatch on x86-64 CPUs that the CI machine is not (run as
# `bash .ci/kernels-qemu.sh [BUILD_DIR]`, default build/, after the README's test command
# built it): under qemu-x86_64's user-mode emulation as a CPU without AVX2 (Westmere: the
# generic table) and as one with AVX2 but no AVX-512 (Haswell: the x86-64-v3 table), it checks
# that `conv1dt info` names that table, then runs test_kernels, the forward suite's sweeps
# (its "sweeps" case: every direct-method path, against the naive reference) and
# `conv1dt selftest`, so those CPUs' tables run through the driver whatever CPU CI has. The
# rest of the forward suite (workspaces, threads) does not depend on the table and runs
# natively; emulated, it took most of half an hour.
# (QEMU emulates no AVX-512: the x86-64-v4 table is tested natively where CI has it.)
# OpenBLAS runs one thread: its threads were seen to hang under qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

if [ "$(uname -m)" != x86_64 ]; then
  echo "kernels-qemu: not an x86-64 host; nothing to emulate"
  exit 0
fi
if ! command -v qemu-x86_64 >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends qemu-user
fi
for f in "$build/tools/conv1dt" "$build/tests/test_kernels" "$build/tests/test_forward"; do
  [ -x "$f" ] || { echo "kernels-qemu: $f is missing (build $build first)" >&2; exit 1; }
done

export OPENBLAS_NUM_THREADS=1
export CK_TIMEOUT_MULTIPLIER=10 # emulated code runs several times slower; the limits catch hangs
rc=0
for cpu_isa in "Westmere:x86-64 baseline" "Haswell-noTSX:x86-64-v3 "; do
  cpu=${cpu_isa%%:*} want=${cpu_isa#*:}
  run() { qemu-x86_64 -cpu "$cpu" "$@"; }
  got=$(run "$build/tools/conv1dt" info | sed -n 's/^direct kernel: //p')
  echo "== qemu-x86_64 -cpu $cpu: direct kernel: $got"
  if [[ $got != "$want"* ]]; then
    echo "kernels-qemu: expected the table \"$want...\" on $cpu" >&2
    rc=1
    continue
  fi
  for t in test_kernels test_forward; do
    start=$SECONDS
    case_env=()
    [ "$t" = test_forward ] && case_env=(CK_RUN_CASE=sweeps)
    if env "${case_env[@]}" qemu-x86_64 -cpu "$cpu" "$build/tests/$t" \
      >"$build/qemu-$cpu-$t.log" 2>&1; then
      echo "$t: passed ($((SECONDS - start)) s)"
    else
      tail -30 "$build/qemu-$cpu-$t.log" >&2
      echo "kernels-qemu: $t failed on $cpu" >&2
      rc=1
    fi
  done
  if run "$build/tools/conv1dt" selftest >"$build/qemu-$cpu-selftest.log" 2>&1; then
    echo "selftest: $(tail -1 "$build/qemu-$cpu-selftest.log")"
  else
    cat "$build/qemu-$cpu-selftest.log" >&2
    rc=1
  fi
done
exit $rc
