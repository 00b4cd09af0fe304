#!/usr/bin/env bash
# Draws conv1dt-bench's JSON as a roofline chart (PNG): x = arithmetic intensity (the layer's
# FLOPs over the bytes of x, y, kernel and bias), y = GFLOP/s, both logarithmic. The roof is the
# peak and the bandwidth measured in the same run; each case is one point for conv1dt and,
# at the same intensity, one each for the bare GEMM (the fastest the bench timed: gemm_best_ms),
# oneDNN and PyTorch where the JSON has them
# (the layer's FLOPs over each one's median time). One panel per dtype and data format.
#
#   ./build/bench/conv1dt-bench --json perf.json     # (--pytorch-json torch.json for PyTorch)
#   bench/roofline.sh perf.json docs/roofline.png
#
# Needs jq (Debian: jq) and gnuplot with its pngcairo terminal (Debian: gnuplot-nox). No Python.
set -euo pipefail

die() {
  echo "roofline.sh: $*" >&2
  exit 1
}

case "${1:-}" in
-h | --help)
  sed -n '2,11s/^# \{0,1\}//p' "$0"
  exit 0
  ;;
esac
[ $# -le 2 ] || die "usage: bench/roofline.sh [perf.json [out.png]] (defaults: perf.json roofline.png)"
in=${1:-perf.json}
out=${2:-roofline.png}
case $out in *\'*) die "the output path must not contain a single quote" ;; esac

command -v jq >/dev/null || die "jq not found (Debian: apt-get install jq)"
command -v gnuplot >/dev/null || die "gnuplot not found (Debian: apt-get install gnuplot-nox)"
gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo ||
  die "this gnuplot has no pngcairo terminal (Debian: apt-get install gnuplot-nox)"
[ -r "$in" ] || die "cannot read $in (make it with: ./build/bench/conv1dt-bench --json $in)"
jq -e '.tool == "conv1dt-bench"' "$in" >/dev/null 2>&1 ||
  die "$in is not conv1dt-bench's JSON output"
jq -e '(.roofline.bandwidth_gbs // 0) > 0' "$in" >/dev/null ||
  die "$in has no measured bandwidth"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One line per result (scaling runs left out): dtype, format, case, intensity, then GFLOP/s of
# conv1dt, the bare GEMM, oneDNN and PyTorch (NaN where absent), then which side of the point
# its label goes: the side with more room to the next case along the intensity axis in the
# same panel, so that neighbours (A and D, C and E in the suite) do not write over each other.
jq -r '
  def gf(ms): if (ms // 0) > 0 then .flops / ms / 1e6 else "NaN" end;
  [.results[] | select(.kind != "scaling" and .ok and .flops > 0 and .bytes > 0 and .ms > 0)]
  | group_by([.dtype, .format])[]
  | sort_by(.flops / .bytes) | map(. + {lx: (.flops / .bytes | log10)}) | . as $p
  | range(0; length) as $i | $p[$i]
  | (if $i > 0 then .lx - $p[$i - 1].lx else 1e9 end) as $room_left
  | (if $i + 1 < ($p | length) then $p[$i + 1].lx - .lx else 1e9 end) as $room_right
  | [.dtype, .format, .case, .flops / .bytes, .flops / .ms / 1e6, gf(.gemm_best_ms // .gemm_ms),
     (if .onednn.status == "ok" then gf(.onednn.ms) else "NaN" end), gf(.pytorch_ms),
     (if $room_left >= $room_right then "l" else "r" end)]
  | map(tostring) | join(" ")' "$in" >"$tmp/points.dat"
[ -s "$tmp/points.dat" ] || die "$in has no results to draw"

# Shell assignments from the header: the machine, the roof, and axis ranges that fit every
# point and both ridges (the peak over the bandwidth) with some room.
version='' date='' cpu='' cores='' threads='' blas='' onednn='' torch='' isa=''
peak32=0 peak64=0 bw=0 xmin=1 xmax=1000 ymin=1 ymax=1000 have_gemm=0 have_dnn=0 have_torch=0
header=$(jq -r '
  def q: tostring | @sh;
  def decade_down: if . > 0 then pow(10; log10 | floor) else 1 end;
  def decade_up: pow(10; log10 | ceil);
  .roofline as $r
  | [.results[] | select(.kind != "scaling" and .ok and .flops > 0 and .bytes > 0 and .ms > 0)]
    as $rs
  | ($rs | map(.flops / .bytes)) as $ai
  | ([$rs[] | .flops / .ms, (if (.gemm_ms // 0) > 0 then .flops / .gemm_ms else empty end),
      (if .onednn.status == "ok" and (.onednn.ms // 0) > 0 then .flops / .onednn.ms
       else empty end),
      (if (.pytorch_ms // 0) > 0 then .flops / .pytorch_ms else empty end)] | map(. / 1e6))
    as $gf
  | ([$r.peak_gflops_f32, $r.peak_gflops_f64] | map(select(. != null and . > 0))) as $peaks
  | ($peaks | map(. / $r.bandwidth_gbs)) as $ridges
  | (.machine.blas // "" | split("; ")) as $blas
  | "version=\(.conv1dt_version | q)",
    "date=\(.date | q)",
    "cpu=\(.machine.cpu | q)",
    "cores=\(.machine.cores | q)",
    "threads=\(.machine.threads | q)",
    "blas=\(([($blas[0] // "" | split(" ")[0:2] | join(" "))]
             + [$blas[] | select(startswith("core "))]) | join(", ") | q)",
    "onednn=\(.machine.onednn // "" | q)",
    "torch=\(.machine.pytorch // "" | q)",
    "peak32=\($r.peak_gflops_f32 // 0 | q)",
    "peak64=\($r.peak_gflops_f64 // 0 | q)",
    "isa=\($r.fma_loop_isa // "" | q)",
    "bw=\($r.bandwidth_gbs | q)",
    "xmin=\(($ai + $ridges | min) / 1.5 | decade_down | q)",
    "xmax=\(($ai + $ridges | max) * 1.5 | decade_up | q)",
    "ymin=\([($gf | min) / 1.5 | decade_down, ($peaks | max | decade_down) / 100] | max | q)",
    "ymax=\(($gf + $peaks | max) * 1.5 | decade_up | q)",
    "have_gemm=\([$rs[] | select((.gemm_ms // 0) > 0)] | length | q)",
    "have_dnn=\([$rs[] | select(.onednn.status == "ok")] | length | q)",
    "have_torch=\([$rs[] | select((.pytorch_ms // 0) > 0)] | length | q)"
' "$in") || die "cannot read the machine and roofline of $in"
eval "$header"
# Text from the JSON goes into gnuplot's double-quoted strings: no quotes or backslashes.
for v in version date cpu blas onednn torch isa; do
  printf -v "$v" '%s' "${!v//[\"\\]/}"
done

# The panels present, in a fixed order: rows f32, f64; columns channels_last, channels_first.
dtypes=() formats=()
for dt in f32 f64; do grep -q "^$dt " "$tmp/points.dat" && dtypes+=("$dt"); done
for fm in cl cf; do grep -q "^[^ ]* $fm " "$tmp/points.dat" && formats+=("$fm"); done
rows=${#dtypes[@]} cols=${#formats[@]}
# Pixels: each panel 640 x 460, 90 to the left of each for the y axis, 100 between rows for
# the x axis and the next title, 120 on top for the title, 110 below for the x axis and key.
pw=640 ph=460 left=90 gap=100 top=120 bottom=110
width=$((cols * (pw + left) + 20))
[ "$width" -ge 1000 ] || width=1000
height=$((top + rows * ph + (rows - 1) * gap + bottom))
frac() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
# The bandwidth's label runs along its line: the slope's angle on screen, from the pixels a
# decade takes on each axis; it sits near the left edge, above the line.
angle=$(awk -v w="$width" -v c="$cols" -v l="$left" -v h="$ph" -v x0="$xmin" -v x1="$xmax" \
  -v y0="$ymin" -v y1="$ymax" 'BEGIN {
    dx = ((w - 20) / c - l) / (log(x1 / x0) / log(10)); dy = h / (log(y1 / y0) / log(10))
    printf "%.1f", atan2(dy, dx) * 45 / atan2(1, 1) }')
bwx=$(awk -v x0="$xmin" -v y0="$ymin" -v bw="$bw" \
  'BEGIN { x = 1.6 * x0; if (bw * x < 3 * y0) x = 3 * y0 / bw; printf "%g", x }')
below=$(awk -v y0="$ymin" '{ for (i = 5; i <= 8; i++) if ($i != "NaN" && $i < y0) n++ }
  END { print n + 0 }' "$tmp/points.dat")
[ "$below" -eq 0 ] || echo "roofline.sh: $below point(s) under ${ymin} GFLOP/s left out" >&2

others=""
[ "$have_dnn" -gt 0 ] && others="${onednn%% (*}"
[ "$have_torch" -gt 0 ] && others="${others:+$others, }${torch%%+*}"
peak_from="the large GEMM"
[ -n "$isa" ] && peak_from="the better of a multiply-add loop ($isa) and a large GEMM"
title="conv1dt ${version}, conv1dt-bench, ${date/T/ }"
title="${title}\\n${cpu}, ${cores} cores, ${threads} threads; ${blas}${others:+; $others}"
title="${title}\\npeak: ${peak_from}; bandwidth $(printf '%.1f' "$bw") GB/s (copy)"

{
  cat <<EOF
set terminal pngcairo size ${width},${height} font "sans,11" noenhanced
set output '${out}'
set datafile missing "NaN"
set logscale xy 10
set xrange [${xmin}:${xmax}]
set yrange [${ymin}:${ymax}]
set format x "%g"
set format y "%g"
set xlabel "arithmetic intensity (FLOP/byte: x, y, kernel, bias)"
set ylabel "GFLOP/s"
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 1
set mxtics 10
set mytics 10
bw = ${bw}
roof(x, p) = (bw * x < p ? bw * x : p)
set style line 1 lc rgb "#000000" lw 2
set multiplot layout ${rows},${cols} title "${title}" font "sans,12" \\
  margins $(frac $left $width),$(frac $((width - 20)) $width),$(frac $bottom $height),$(frac $((height - top)) $height) \\
  spacing $(frac $left $width),$(frac $gap $height)
EOF
  first=1
  for dt in "${dtypes[@]}"; do
    peak=$peak32 dtname=float32
    [ "$dt" = f64 ] && peak=$peak64 dtname=float64
    for fm in "${formats[@]}"; do
      fmname=channels_last
      [ "$fm" = cf ] && fmname=channels_first
      sel="strcol(1) eq \"$dt\" && strcol(2) eq \"$fm\""
      echo "set title \"${dtname}, ${fmname}\" font \"sans,12\""
      echo "unset label"
      echo "set label 1 sprintf(\"peak %.0f GFLOP/s\", ${peak}) at graph 0.98, first ${peak}*1.25 right tc rgb \"#000000\""
      echo "set label 2 sprintf(\"%.1f GB/s\", bw) at first ${bwx}, first bw*${bwx}*1.25 left rotate by ${angle} tc rgb \"#000000\""
      if [ $first = 1 ]; then
        echo "set key at screen 0.5, screen 0.015 center bottom horizontal width 1 samplen 2 box opaque"
      else
        echo "unset key"
      fi
      plot="plot roof(x, ${peak}) ls 1 title \"roofline\""
      plot="$plot, '$tmp/points.dat' using ($sel ? \$4 : NaN):5 with points pt 7 ps 1.6 lc rgb \"#1f4e9e\" title \"conv1dt\""
      [ "$have_gemm" -gt 0 ] &&
        plot="$plot, '' using ($sel ? \$4 : NaN):6 with points pt 4 ps 1.4 lw 1.5 lc rgb \"#606060\" title \"bare GEMM\""
      [ "$have_dnn" -gt 0 ] &&
        plot="$plot, '' using ($sel ? \$4 : NaN):7 with points pt 9 ps 1.5 lc rgb \"#e07000\" title \"oneDNN\""
      [ "$have_torch" -gt 0 ] &&
        plot="$plot, '' using ($sel ? \$4 : NaN):8 with points pt 12 ps 1.5 lw 1.5 lc rgb \"#c00000\" title \"PyTorch\""
      plot="$plot, '' using ($sel && strcol(9) eq \"r\" ? \$4 : NaN):5:3 with labels left offset 1.2,0 font \"sans,11\" notitle"
      plot="$plot, '' using ($sel && strcol(9) eq \"l\" ? \$4 : NaN):5:3 with labels right offset -1.2,0 font \"sans,11\" notitle"
      echo "$plot"
      first=0
    done
  done
  echo "unset multiplot"
} >"$tmp/roofline.gp"

gnuplot "$tmp/roofline.gp" 2>"$tmp/gnuplot.err" || {
  cat "$tmp/gnuplot.err" >&2
  die "gnuplot failed"
}
# Warnings about panels without a series (f64 has no oneDNN) are expected; others are shown.
grep -v -e 'no valid points' -e '^ *$' -e '^ *\^' -e '^ *"' "$tmp/gnuplot.err" >&2 || true
echo "roofline.sh: wrote $out"
