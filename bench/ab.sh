#!/usr/bin/env bash
# A/B timing of two builds of conv1dt-bench (e.g. the last release against a refactor).
#
# Runs the suite ROUNDS times with each build, alternating, and swapping which goes first every
# round, so that drifts of the machine (clock, heat, other processes) fall on both alike. Each
# case/dtype/format gets the median over rounds of conv1dt's time (the bench's "ms", itself a
# median of many runs); the table flags ratios new/old outside [0.97, 1.03].
#
# usage: bench/ab.sh OLD_BENCH NEW_BENCH [ROUNDS] [-- conv1dt-bench args...]
#   ROUNDS defaults to 5. The bench args default to --no-onednn, which is also added to any
#   given unless they include --with-onednn (ours, not the bench's): oneDNN's timing doubles
#   the run and says nothing about conv1dt. Example:
#     bench/ab.sh ../old/build/bench/conv1dt-bench build/bench/conv1dt-bench 3 -- --only A,D \
#       --dtype f32
#   env AB_WORK=DIR keeps every run's JSON and log there.
set -euo pipefail

usage() { sed -n 's/^# \{0,1\}//; 9,15p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
old=$1 new=$2
shift 2
rounds=5
if [ $# -gt 0 ] && [ "$1" != -- ]; then rounds=$1; shift; fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage
if [ $# -gt 0 ]; then [ "$1" = -- ] || usage; shift; fi
args=() onednn=0
for a in "$@"; do
  case $a in
    --with-onednn) onednn=1 ;;
    --json | --json=* | --csv | --csv=*)
      echo "ab.sh: --json and --csv are ab.sh's own" >&2
      exit 2
      ;;
    *) args+=("$a") ;;
  esac
done
((onednn)) || args+=(--no-onednn)
command -v jq >/dev/null || { echo "ab.sh: needs jq" >&2; exit 1; }
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "ab.sh: $b is not an executable" >&2; exit 1; }
done

work=${AB_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/conv1dt-ab.XXXXXX")}
[ -n "${AB_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

echo "ab.sh: $rounds rounds of conv1dt-bench ${args[*]}"
start=$SECONDS
run() { # TAG BENCH ROUND
  local log=$work/$1-$3.log
  if ! "$2" "${args[@]}" --json "$work/$1-$3.json" </dev/null >"$log" 2>&1; then
    echo "ab.sh: $1 ($2) failed in round $3:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
}
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2)); then run old "$old" "$i"; run new "$new" "$i"; order="old, new"
  else run new "$new" "$i"; run old "$old" "$i"; order="new, old"; fi
  echo "ab.sh: round $i/$rounds done ($order), $((SECONDS - start)) s"
done

# One TSV line per measurement: tag, case, shape, dtype, format, ms (failed cases left out).
for f in "$work"/old-*.json "$work"/new-*.json; do
  tag=$(basename "$f" | cut -d- -f1)
  jq -r --arg tag "$tag" '.results[] | select(.ok) |
    [$tag, .case, "\(.B),\(.L),\(.C),\(.F),\(.K),\(.s),\(.d),\(.padding)" +
      (if .kind == "scaling" then " x\(.batch_mult)b x\(.steps_mult)L" else "" end),
     .dtype, .format, .ms] | @tsv' "$f"
done >"$work/times.tsv"
others=$(jq -s 'map(.machine.others_cpu_fraction // 0) | max * 100 | floor' "$work"/*.json)

awk -F'\t' -v others="$others" '
function median(s,   n, a, i, j, t) { # s: numbers, space-separated; also sets lo and hi
  n = split(s, a, " ")
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  lo = a[1]; hi = a[n]
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
  key = $2 "\t" $3 "\t" $4 "\t" $5
  if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
  t[$1, key] = t[$1, key] " " $6
  cnt[$1, key]++
}
END {
  row = "%-4s %-34s %-3s %-2s "
  printf "\n" row "%12s %12s %7s %6s %s\n", "case", "B,L,C,F,K,s,d,padding", "dt", "fm",
    "old ms", "new ms", "new/old", "spread", "rounds"
  flagged = 0
  for (i = 1; i <= nkeys; i++) {
    k = order[i]
    split(k, p, "\t")
    if (!cnt["old", k] || !cnt["new", k]) {
      printf row " only in %s\n", p[1], p[2], p[3], p[4], cnt["old", k] ? "old" : "new"
      continue
    }
    mo = median(t["old", k]); so = (hi - lo) / mo
    mn = median(t["new", k]); sn = (hi - lo) / mn
    r = mn / mo
    ratios = ratios " " r
    flag = r > 1.03 ? "  << SLOWER" : r < 0.97 ? "  >> faster" : ""
    flagged += flag != ""
    printf row "%12.5f %12.5f %7.3f %5.1f%% %d/%d%s\n", p[1], p[2], p[3], p[4], mo, mn, r,
      100 * (so > sn ? so : sn), cnt["new", k], cnt["old", k], flag
  }
  if (ratios == "") { print "ab.sh: no case ran in both builds"; exit 1 }
  printf "\nmedian new/old ratio: %.3f over %d rows; %d outside [0.97, 1.03]\n", median(ratios),
    split(ratios, tmp, " "), flagged
  print "spread: (slowest - fastest) / median over the rounds of a build, the larger of the two;"
  print "        a ratio off 1 by less than the spread may well be noise: add rounds"
  if (others >= 5) printf "note: other processes took up to %d%% of the CPUs during a run\n", others
}' "$work/times.tsv"
echo "ab.sh: took $((SECONDS - start)) s"
