#!/usr/bin/env python3
"""Times PyTorch's conv_transpose1d + relu on conv1dt-bench's suite; writes JSON that
`conv1dt-bench --pytorch-json FILE` merges as a column (and, with --backward, the autograd
backward that `conv1dt-bench --backward` compares with).

Run by hand from the top of the checkout, in a virtual environment with PyTorch (CPU) and
NumPy installed, e.g.

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy
    .venv-torch/bin/python bench/pytorch_bench.py --threads 2 --backward --json torch.json
    ./build/bench/conv1dt-bench --backward --json perf.json --pytorch-json torch.json

Same shapes, data formats, activation (relu) and bias as the C benchmark, each in float32 and
float64. Keras's padding is mapped onto PyTorch's symmetric `padding` / `output_padding` plus
a slice of the output (a view); channels_last means a permuted view of a (B, L, C) array in and
a permuted view out, since PyTorch's 1-D convolutions work on (N, C, L). Before timing, each case
is checked against a NumPy implementation of Keras's definition on the first sample.

--backward also times training: the same forward with requires_grad on the input, the weight
and the bias ("forward_train_ms"), then `y.backward(dy)` alone ("backward_ms": dx, dweight and
dbias, overwritten each time as conv1dt_backward does), one of each per run, medians.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as tf

# (name, label, B, L, C, F, K, s, d, padding): the C benchmark's suite.
SUITE = [
    ("A", "seed", 4, 10, 128, 32, 3, 2, 1, "valid"),
    ("B", "audio-up", 8, 512, 512, 256, 16, 8, 1, "same"),
    ("C", "mid", 32, 1024, 64, 64, 5, 2, 1, "same"),
    ("D", "small-ch", 64, 8192, 8, 8, 7, 1, 2, "same"),
    ("E", "big-kernel", 16, 4096, 16, 16, 32, 4, 1, "valid"),
    ("F", "wide", 16, 256, 1024, 1024, 4, 2, 1, "valid"),
    ("G", "batch1", 1, 2048, 256, 128, 8, 4, 1, "same"),
    ("H", "many-short", 256, 32, 256, 256, 4, 2, 1, "same"),
]


def cpu_sample():
    """(CPU seconds the whole machine was busy, CPU seconds of this process, wall time)."""
    busy = float("nan")
    try:
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:9]]
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    t = os.times()
    return busy, t.user + t.system, time.perf_counter()


def others_share(a, b):
    """Share of all CPUs that other processes used between two samples."""
    wall = b[2] - a[2]
    if not wall >= 0.2:  # /proc/stat counts in clock ticks: too coarse for a shorter window
        return None
    share = ((b[0] - a[0]) - (b[1] - a[1])) / (wall * (os.cpu_count() or 1))
    return min(max(share, 0.0), 1.0) if share == share else None


def geometry(L, K, s, d, padding):
    """Keras's output length and left crop for output_padding=None (docs/SEMANTICS.md)."""
    keff = (K - 1) * d + 1
    if padding == "valid":
        return (L - 1) * s + max(keff, s), 0
    return L * s, max(keff - s, 0) // 2


def reference_sample(x0, kernel, bias, s, d, out_len, crop_left):
    """Keras's definition on one sample: x0 (L, C), kernel (K, F, C) -> relu output (out, F)."""
    L = x0.shape[0]
    K, F, _ = kernel.shape
    full = np.zeros(((L - 1) * s + (K - 1) * d + 1 + out_len, F))
    for k in range(K):
        full[k * d : k * d + (L - 1) * s + 1 : s] += x0 @ kernel[k].T
    return np.maximum(full[crop_left : crop_left + out_len] + bias, 0.0)


def timed_runs(fn, args):
    """Wall times of fn() (returning a list of times, or a float to record instead of the
    call's own), as many runs as --reps, or adaptive: at least --min-reps and --min-time."""
    times = []
    elapsed = 0.0
    while (len(times) < args.reps) if args.reps else (
        len(times) < args.min_reps or elapsed < args.min_time
    ):
        t0 = time.perf_counter()
        got = fn()
        t = time.perf_counter() - t0
        times.append(got if isinstance(got, float) else t)
        elapsed += t
    return times


def time_backward(forward, x, weight, bias, yshape, tdt, gen, args):
    """Medians of the forward with autograd on (input, weight and bias require grad) and of
    the backward of dy alone, one of each per run."""
    xg, wg, bg = (t.detach().clone().requires_grad_(True) for t in (x, weight, bias))
    dy = torch.rand(tuple(yshape), generator=gen, dtype=tdt) * 2 - 1
    fwd = []

    def step():
        xg.grad = wg.grad = bg.grad = None  # overwritten, not accumulated, as in conv1dt
        t0 = time.perf_counter()
        y = forward(xg, wg, bg)
        t1 = time.perf_counter()
        y.backward(dy)
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        return t2 - t1

    step()  # warm-up
    fwd.clear()
    bwd = timed_runs(step, args)
    return {
        "forward_train_ms": 1e3 * statistics.median(fwd),
        "backward_ms": 1e3 * statistics.median(bwd),
        "backward_reps": len(bwd),
    }


def run_case(case, dtype, fmt, args):
    name, label, B, L, C, F, K, s, d, padding = case
    tdt = torch.float32 if dtype == "f32" else torch.float64
    gen = torch.Generator().manual_seed(1)
    x = torch.rand((B, L, C) if fmt == "cl" else (B, C, L), generator=gen, dtype=tdt) * 2 - 1
    kernel = (torch.rand((K, F, C), generator=gen, dtype=tdt) * 2 - 1) / math.sqrt(C * K)
    bias = (torch.rand((F,), generator=gen, dtype=tdt) * 2 - 1) * 0.1
    weight = kernel.permute(2, 1, 0).contiguous()  # PyTorch's (in, out, K)

    out_len, crop_left = geometry(L, K, s, d, padding)
    full = (L - 1) * s + (K - 1) * d + 1
    crop_right = full - crop_left - out_len  # negative: zeros appended (valid, s > Keff)
    pad = min(crop_left, max(crop_right, 0))
    out_pad = max(0, -crop_right)
    start = crop_left - pad
    torch_len = full - 2 * pad + out_pad
    sliced = start != 0 or torch_len != out_len

    def forward(xv=x, w=weight, b=bias):
        xin = xv.permute(0, 2, 1) if fmt == "cl" else xv
        y = tf.conv_transpose1d(
            xin, w, b, stride=s, padding=pad, output_padding=out_pad, dilation=d
        )
        if sliced:
            y = y[:, :, start : start + out_len]
        y = torch.relu(y)
        return y.permute(0, 2, 1) if fmt == "cl" else y

    rec = {
        "case": name, "label": label, "dtype": dtype, "format": fmt,
        "B": B, "L": L, "C": C, "F": F, "K": K, "s": s, "d": d, "padding": padding,
    }
    with torch.inference_mode():
        y = forward()  # also the warm-up
        y0 = y[0] if fmt == "cl" else y[0].T  # (out, F)
        x0 = x[0] if fmt == "cl" else x[0].T  # (L, C)
        ref = reference_sample(
            x0.double().numpy(), kernel.double().numpy(), bias.double().numpy(), s, d, out_len,
            crop_left,
        )
        got = y0.double().numpy()
        err = float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))
        tol = 1e-4 if dtype == "f32" else 1e-10
        rec["max_rel_err"] = err
        rec["agrees"] = bool(got.shape == ref.shape and err < tol)
        if not rec["agrees"]:
            print(f"{name} {dtype} {fmt}: PyTorch disagrees with Keras's definition "
                  f"(max rel error {err:.3g}); not timed", file=sys.stderr)
            return rec
        sample = cpu_sample()
        times = timed_runs(forward, args)
    if args.backward:
        rec.update(time_backward(forward, x, weight, bias, y.shape, tdt, gen, args))
    rec["others_cpu_fraction"] = others_share(sample, cpu_sample())
    rec["ms"] = 1e3 * statistics.median(times)
    rec["reps"] = len(times)
    return rec


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="output file (default: stdout)")
    p.add_argument("--only", help="suite cases, e.g. C,D")
    p.add_argument("--case", action="append", default=[], help="B,L,C,F,K,s,d,padding")
    p.add_argument("--dtype", choices=["f32", "f64", "all"], default="all")
    p.add_argument("--format", choices=["cl", "cf", "all"], default="all")
    p.add_argument("--reps", type=int, default=0, help="exactly N runs (default: adaptive)")
    p.add_argument("--min-reps", type=int, default=5)
    p.add_argument("--min-time", type=float, default=0.5)
    p.add_argument("--backward", action="store_true",
                   help="also time the autograd backward (dx, dweight, dbias)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    cases = list(SUITE)
    if args.only:
        wanted = {w.strip().upper() for w in args.only.split(",")}
        cases = [c for c in SUITE if c[0] in wanted]
    if args.case:
        cases = []
        for i, text in enumerate(args.case):
            *nums, padding = text.split(",")
            B, L, C, F, K, s, d = (int(v) for v in nums)
            cases.append((f"X{i + 1}", "custom", B, L, C, F, K, s, d, padding.lower()))
    dtypes = ["f32", "f64"] if args.dtype == "all" else [args.dtype]
    formats = ["cl", "cf"] if args.format == "all" else [args.format]

    results = []
    for case in cases:
        for dtype in dtypes:
            for fmt in formats:
                rec = run_case(case, dtype, fmt, args)
                results.append(rec)
                busy = rec.get("others_cpu_fraction") or 0.0
                print(f"{rec['case']} {dtype} {fmt}: "
                      + (f"{rec['ms']:.4g} ms" if "ms" in rec else "not timed")
                      + (f", backward {rec['backward_ms']:.4g} ms" if "backward_ms" in rec else "")
                      + (f" (others took {100 * busy:.0f}% of the CPUs)" if busy > 0.05 else ""),
                      file=sys.stderr)

    lines = [
        "{",
        f'"tool": "pytorch_bench", "torch_version": {json.dumps(torch.__version__)}, '
        f'"threads": {torch.get_num_threads()}, "date": '
        f'{json.dumps(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))},',
        '"results": [',
        ",\n".join(json.dumps(r) for r in results),
        "]",
        "}",
    ]
    text = "\n".join(lines) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
