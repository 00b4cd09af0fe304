#!/usr/bin/env python3
"""Regenerate tests/fixtures/keras/: Conv1DTranspose cases whose expected
outputs come from the real Keras layer (JAX backend, CPU).

usage: KERAS_BACKEND=jax python gen_fixtures.py [--out DIR] [--seed N]

Deterministic: a fixed numpy seed; rerunning with the same Keras/JAX/numpy
versions (requirements.txt) rewrites identical files. Every case is also
cross-checked against an independent numpy implementation of
docs/SEMANTICS.md (kcases.numpy_forward); disagreements are
printed as 'XCHECK' lines (the fixture keeps Keras's value).
"""
import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcases as kc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "keras"))

ELEMENTWISE = [a for a in kc.ACTIVATIONS if a not in kc.AXIS_ACTIVATIONS]


def short(meta):
    df = "cf" if meta["data_format"].lower() == "channels_first" else "cl"
    return df + "_" + ("f64" if meta["dtype"] == "float64" else "f32")


class Gen:
    def __init__(self, out, seed):
        self.out = out
        self.rng = np.random.default_rng(seed)
        self.version = kc.keras_version()
        self.counts = {}
        self.xcheck_bad = []
        self.names = set()
        self.notes = []

    def _stamp(self, meta, note=None):
        meta["keras_version"] = self.version
        if note:
            meta["note"] = note
        if meta["name"] in self.names:
            raise SystemExit("duplicate case name " + meta["name"])
        self.names.add(meta["name"])

    def ok(self, category, meta, x, kernel, bias, extra_note=None):
        kind, y, note = kc.keras_forward(meta, x, kernel, bias)
        if kind != "ok":
            raise SystemExit(f"{meta['name']}: keras refused a case meant to be "
                             f"valid: {y}")
        ref = kc.numpy_forward(meta, x, kernel, bias).astype(y.dtype)
        why = kc.compare(ref, y)
        if why:
            self.xcheck_bad.append(meta["name"])
            print(f"XCHECK {meta['name']}: numpy reference vs keras: {why}")
        if meta["activation"] == "sparsemax" and kc.SPARSEMAX_BUGGY:
            raw = kc._keras_layer_out(meta, x, kernel, bias, "sparsemax")
            dev = float(np.max(np.abs(raw.astype(np.float64) - y))) if y.size else 0.0
            self.notes.append(f"{meta['name']}: keras's own sparsemax deviates "
                              f"from the definition by up to {dev:.3g}")
        notes = [n for n in (extra_note, note) if n]
        self._stamp(meta, "; ".join(notes) if notes else None)
        kc.write_case(self.out, meta, x, kernel, bias, y)
        self.counts[category] = self.counts.get(category, 0) + 1

    def random_ok(self, category, name, **kw):
        meta, x, kernel, bias = kc.build_random_case(self.rng, name, **kw)
        self.ok(category, meta, x, kernel, bias)
        return meta

    def error(self, name, x, kernel, bias, **metakw):
        meta = kc.make_meta(name, expect="error", use_bias=bias is not None,
                            dtype=x.dtype.name, **metakw)
        kind, msg, _ = kc.keras_forward(meta, x, kernel, bias)
        if kind != "error":
            print(f"NOT-AN-ERROR {name}: keras accepted it (output shape "
                  f"{msg.shape}); not recorded")
            return
        self._stamp(meta, "keras raises " + msg)
        kc.write_case(self.out, meta, x, kernel, bias, None)
        self.counts["errors"] = self.counts.get("errors", 0) + 1


def arrays(rng, B, L, C, K, F, dtype="float32", cf=False, bias=True):
    dt = np.dtype(dtype)
    x = rng.standard_normal((B, C, L) if cf else (B, L, C)).astype(dt)
    kernel = (rng.standard_normal((K, F, C)) * 0.8).astype(dt)
    b = (rng.standard_normal(F) * 0.5).astype(dt) if bias else None
    return x, kernel, b


def generate(g):
    rng = g.rng

    # 1. every activation, both data formats and both dtypes across its pair
    for i, act in enumerate(kc.ACTIVATIONS):
        combos = [("channels_last", "float32"), ("channels_first", "float64")]
        if i % 2:
            combos = [("channels_last", "float64"), ("channels_first", "float32")]
        for df, dt in combos:
            meta, x, kernel, bias = kc.build_random_case(
                rng, "tmp", activation=act, dtype=dt, data_format=df)
            meta["name"] = f"k_act_{act or 'None'}_{short(meta)}"
            g.ok("activations", meta, x, kernel, bias)

    # 2. geometry: strides 1-5 x padding x every output_padding (None, 0..s-1)
    k_cycle = 0
    for s in range(1, 6):
        for pad in ("valid", "same"):
            for op in [None] + list(range(s)):
                K = k_cycle % 7 + 1
                k_cycle += 1
                act = ELEMENTWISE[int(rng.integers(0, len(ELEMENTWISE)))] \
                    if rng.random() < 0.5 else None
                meta, x, kernel, bias = kc.build_random_case(
                    rng, "tmp", activation=act, strides=s, dilation=1,
                    kernel_size=K, padding=pad, op=op)
                meta["name"] = (f"k_geo_s{s}_{pad}_op{'None' if op is None else op}"
                                f"_k{K}_{short(meta)}")
                g.ok("geometry", meta, x, kernel, bias)

    # 3. dilation 2-3 (stride 1)
    for d in (2, 3):
        for pad in ("valid", "same"):
            for op in (None, 0):
                K = int(rng.integers(2, 6))
                meta, x, kernel, bias = kc.build_random_case(
                    rng, "tmp", activation=None if rng.random() < 0.5 else "relu",
                    strides=1, dilation=d, kernel_size=K, padding=pad, op=op)
                meta["name"] = (f"k_dil_d{d}_{pad}_op{'None' if op is None else op}"
                                f"_k{K}_{short(meta)}")
                g.ok("dilation", meta, x, kernel, bias)

    # 4. padding given in other letter cases (recorded as given)
    for text, s, op, K in (("SAME", 2, None, 3), ("Valid", 3, 1, 4),
                           ("Same", 3, 2, 5), ("VALID", 1, None, 2)):
        meta, x, kernel, bias = kc.build_random_case(
            rng, "tmp", activation="random", strides=s, dilation=1,
            kernel_size=K, padding=text, op=op)
        meta["name"] = f"k_padtext_{text}_s{s}_{short(meta)}"
        g.ok("padding_text", meta, x, kernel, bias)

    # 5. empty outputs: same, op=0, even effective kernel, stride 1, one step
    for K, d, df, dt, act in ((2, 1, "channels_last", "float32", None),
                              (4, 1, "channels_first", "float64", "relu"),
                              (2, 3, "channels_last", "float64", "sigmoid")):
        meta = kc.make_meta("tmp", strides=1, padding="same", output_padding=0,
                            data_format=df, dilation_rate=d, activation=act,
                            dtype=dt, use_bias=True)
        x, kernel, bias = kc.make_arrays(rng, meta, 2, 1, 3, K, 4)
        meta["name"] = f"k_empty_k{K}_d{d}_{short(meta)}"
        g.ok("empty_output", meta, x, kernel, bias,
             extra_note="empty output: keras returns 0 steps")

    # 6. large magnitudes: saturating / overflow-prone activations
    for act in ("sigmoid", "softplus", "log_sigmoid", "mish", "gelu", "elu",
                "selu", "celu", "softmax", "log_softmax", "tanh", "silu",
                "softsign", "hard_silu", "glu", "tanh_shrink"):
        meta, x, kernel, bias = kc.build_random_case(
            rng, "tmp", activation=act, xscale=15.0)
        meta["name"] = f"k_big_{act}_{short(meta)}"
        g.ok("large_magnitude", meta, x, kernel, bias)

    # 7. data_format in other letter cases (Keras lower-cases it)
    meta, x, kernel, bias = kc.build_random_case(
        rng, "tmp", activation="relu", data_format="Channels_First")
    meta["name"] = "k_dftext_Channels_First"
    g.ok("data_format_text", meta, x, kernel, bias,
         extra_note="keras lower-cases data_format (standardize_data_format)")

    # 8. sparsemax (the definition when the installed keras is wrong)
    for i, (df, dt, xs, kw) in enumerate((
            ("channels_last", "float32", 1.0, {}),
            ("channels_last", "float64", 2.0, {}),
            ("channels_first", "float32", 1.0, {}),
            ("channels_first", "float64", 0.5, {}),
            ("channels_last", "float64", 8.0, {"strides": 2}),
            ("channels_first", "float32", 3.0, {"strides": 1, "dilation": 2}))):
        for _ in range(100):
            meta, x, kernel, bias = kc.build_random_case(
                rng, "tmp", activation="sparsemax", dtype=dt, data_format=df,
                xscale=xs, **kw)
            if not kc.SPARSEMAX_BUGGY:
                break
            # keep cases whose support has more than one element somewhere,
            # i.e. where keras's release and the definition disagree
            pre = kc.numpy_preactivation(meta, x, kernel, bias)
            if np.max(np.sum(kc.numpy_sparsemax(pre) > 0, axis=-1)) > 1:
                break
        meta["name"] = f"k_sparsemax_{i}_{short(meta)}"
        g.ok("sparsemax", meta, x, kernel, bias)

    # 9. errors (each verified against keras before it is recorded)
    def e(name, B=1, L=4, C=2, K=3, F=2, dtype="float32", cf=False, bias=True,
          **metakw):
        x, kernel, b = arrays(rng, B, L, C, K, F, dtype=dtype, cf=cf, bias=bias)
        if cf:
            metakw.setdefault("data_format", "channels_first")
        g.error(name, x, kernel, b, **metakw)

    e("k_err_op_eq_strides", strides=2, output_padding=2)
    e("k_err_op_gt_strides", strides=3, output_padding=4, padding="same")
    e("k_err_op1_strides1", strides=1, output_padding=1)
    e("k_err_op_negative", strides=2, output_padding=-1, dtype="float64")
    e("k_err_strides2_dilation2", strides=2, dilation_rate=2)
    e("k_err_strides3_dilation3_same", strides=3, dilation_rate=3,
      padding="same", cf=True, dtype="float64")
    e("k_err_strides0", strides=0)
    e("k_err_dilation0", dilation_rate=0)
    e("k_err_filters0", F=0, bias=False)
    e("k_err_kernel_size0", K=0)
    e("k_err_padding_causal", padding="causal")
    e("k_err_padding_full", padding="full")
    e("k_err_data_format_bad", data_format="channels_middle")
    e("k_err_activation_unknown", activation="not_an_activation")
    e("k_err_activation_ReLU_case", activation="ReLU")
    e("k_err_activation_threshold", activation="threshold")
    e("k_err_glu_odd_filters_cl", F=3, activation="glu")
    # channels_first: glu halves the steps axis; valid K=2 s=1 L=4 -> 5 steps
    e("k_err_glu_odd_steps_cf", L=4, K=2, F=2, cf=True, activation="glu")
    # input channels differ from the kernel's
    x, kernel, b = arrays(rng, 1, 4, 3, 3, 2)
    g.error("k_err_channel_mismatch", x, kernel[:, :, :2].copy(), b)
    x, kernel, b = arrays(rng, 1, 4, 2, 3, 2)
    g.error("k_err_bias_mismatch", x, kernel, np.concatenate([b, b[:1]]))
    x, kernel, b = arrays(rng, 1, 4, 2, 3, 2)
    g.error("k_err_x_rank2", x[0].copy(), kernel, b)
    x, kernel, b = arrays(rng, 1, 4, 2, 3, 2)
    g.error("k_err_x_rank4", x[None].copy(), kernel, b)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=20250611)
    a = ap.parse_args()

    kc.setup_keras()
    print("versions:", kc.backend_versions())
    print("keras sparsemax buggy:", kc.SPARSEMAX_BUGGY)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    for d in os.listdir(out):  # drop stale case folders only
        p = os.path.join(out, d)
        if os.path.isfile(os.path.join(p, "case.json")):
            shutil.rmtree(p)
    g = Gen(out, a.seed)
    generate(g)
    for n in g.notes:
        print("NOTE", n)
    total = sum(g.counts.values())
    print("cases per category:", g.counts, "total", total)
    size = sum(os.path.getsize(os.path.join(r, f))
               for r, _, fs in os.walk(out) for f in fs)
    print(f"bytes on disk (file sizes): {size}")
    if g.xcheck_bad:
        print(f"{len(g.xcheck_bad)} case(s) where keras and the numpy reference "
              "disagree:", " ".join(g.xcheck_bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
