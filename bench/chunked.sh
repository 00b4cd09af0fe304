#!/usr/bin/env bash
# The chunked run (`conv1dt run --memory-limit`) against the in-memory one on the same data, input
# in the page cache: alternating runs, medians of the wall time per sample, and a byte compare.
#
#   bash bench/chunked.sh BUILD_DIR [ROUNDS] [LIMIT ...]
#
# BUILD_DIR holds tools/conv1dt; ROUNDS (default 5) runs of each; LIMITs (default 256M 64M) are
# the --memory-limit values timed. Work files (about 1.2 GB) go to $CHUNKED_TMP (default: a
# folder under /tmp, removed at the end). Needs python3 (no numpy) to write the inputs.
set -euo pipefail
build=${1:?usage: bench/chunked.sh BUILD_DIR [ROUNDS] [LIMIT ...]}
rounds=${2:-5}
shift $(($# >= 2 ? 2 : 1))
limits=("$@")
((${#limits[@]})) || limits=(256M 64M)
cli=$build/tools/conv1dt
[[ -x $cli ]] || { echo "no $cli" >&2; exit 1; }
tmp=${CHUNKED_TMP:-$(mktemp -d /tmp/conv1dt-chunked.XXXXXX)}
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# A .npy file of the given shape and dtype ('f' or 'd'): values k/1024, a repeated random block.
write_npy() { # path dtype d0 d1 d2
  python3 - "$@" <<'EOF'
import array, random, struct, sys
path, code, d = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3:]]
descr = '<f4' if code == 'f' else '<f8'
dims = ', '.join(str(v) for v in d)
head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
head += ' ' * (64 - (10 + len(head) + 1) % 64) + '\n'
rng = random.Random(1)
block = array.array(code, [rng.randrange(-1024, 1024) / 1024 for _ in range(1 << 16)])
n = d[0] * d[1] * d[2]
with open(path, 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(head)) + head.encode())
    while n > 0:
        k = min(n, len(block))
        block[:k].tofile(f) if k < len(block) else block.tofile(f)
        n -= k
EOF
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

run_case() { # name batch steps channels filters kernel strides algorithm
  local name=$1 B=$2 L=$3 C=$4 F=$5 K=$6 S=$7 alg=$8
  write_npy "$tmp/x.npy" f "$B" "$L" "$C"
  write_npy "$tmp/k.npy" f "$K" "$F" "$C"
  cat "$tmp/x.npy" >/dev/null # into the page cache
  local args=(run --input "$tmp/x.npy" --kernel "$tmp/k.npy" --strides "$S" --algorithm "$alg")
  declare -A times=()
  local variants=(memory "${limits[@]}")
  for ((r = 0; r < rounds; r++)); do
    for v in "${variants[@]}"; do
      local extra=() out=$tmp/y_$v.npy
      [[ $v == memory ]] || extra=(--memory-limit "$v")
      local t0 t1
      t0=$(date +%s%N)
      "$cli" "${args[@]}" --output "$out" "${extra[@]}"
      t1=$(date +%s%N)
      times[$v]+="$(((t1 - t0) / 1000)) "
    done
  done
  local base
  base=$(tr ' ' '\n' <<<"${times[memory]}" | grep . | median)
  printf '%s: batch %d, input %d MB, output %d MB; us per sample (median of %d):\n' "$name" "$B" \
    $(($(stat -c %s "$tmp/x.npy") / 1000000)) $(($(stat -c %s "$tmp/y_memory.npy") / 1000000)) "$rounds"
  for v in "${variants[@]}"; do
    local m
    m=$(tr ' ' '\n' <<<"${times[$v]}" | grep . | median)
    local same=identical
    [[ $v == memory ]] || cmp -s "$tmp/y_memory.npy" "$tmp/y_$v.npy" || same=DIFFERENT
    awk -v v="$v" -v m="$m" -v b="$base" -v n="$B" -v s="$same" \
      'BEGIN {printf "  %-8s %10.1f us  %.3fx  %s\n", v, m / n, m / b, (v == "memory") ? "" : s}'
  done
  rm -f "$tmp"/y_*.npy
}

echo "# $("$cli" --version); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
run_case "direct f32 C=32 F=32 K=4 s=2" 512 2048 32 32 4 2 auto
run_case "gemm_accumulate f32 C=256 F=256 K=4 s=2" 256 512 256 256 4 2 auto
run_case "gemm_accumulate f32 C=512 F=512 K=8 s=2 (compute-bound)" 128 256 512 512 8 2 auto
