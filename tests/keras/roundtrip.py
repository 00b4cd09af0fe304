#!/usr/bin/env python3
"""Round trip through real Keras: `conv1dt save` writes a .keras file, keras.saving.load_model
loads it, and Keras's output on a random input must be the CLI's (`conv1dt run` with the same
weights and flags) for layers with every argument varied, float32 and float64.

usage: roundtrip.py --cli PATH

Exits 77 (CTest's skip code) with "SKIP: ..." when Keras (with JAX) cannot be imported.
"""
import argparse
import os
import subprocess
import sys
import tempfile

SKIP = 77
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
try:
    import numpy as np
    import keras
except Exception as e:  # noqa: BLE001 - any import failure means "no Keras here"
    print(f"SKIP: keras not importable ({e})")
    sys.exit(SKIP)

# (filters, kernel, strides, padding, output_padding, data_format, dilation, activation, bias,
#  in_channels, steps, dtype)
CASES = [
    (4, 3, 2, "same", 1, "channels_last", 1, "relu", True, 3, 7, "float32"),
    (2, 5, 3, "valid", None, "channels_first", 1, "tanh", False, 4, 6, "float64"),
    (6, 2, 1, "valid", 0, "channels_last", 3, "gelu", True, 2, 9, "float32"),
    (3, 4, 4, "same", 3, "channels_first", 1, "softmax", True, 5, 5, "float64"),
    (4, 1, 1, "same", None, "channels_last", 1, None, True, 1, 3, "float32"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(20)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (f, k, s, pad, op, fmt, d, act, bias, c, steps, dt) in enumerate(CASES):
            p = lambda n: os.path.join(tmp, f"{i}_{n}")  # noqa: E731
            np.save(p("k.npy"), rng.normal(size=(k, f, c)).astype(dt))
            np.save(p("b.npy"), rng.normal(size=(f,)).astype(dt))
            x = rng.normal(size=(2, steps, c) if fmt == "channels_last" else (2, c, steps)).astype(dt)
            np.save(p("x.npy"), x)
            flags = ["--kernel", p("k.npy"), "--strides", str(s), "--padding", pad,
                     "--data-format", fmt, "--dilation-rate", str(d)]
            flags += ["--bias", p("b.npy")] if bias else []
            flags += ["--output-padding", str(op)] if op is not None else []
            flags += ["--activation", act] if act else []
            subprocess.run([args.cli, "save", *flags, "--name", f"ct{i}", "--output",
                            p("m.keras")], check=True)
            subprocess.run([args.cli, "run", *flags, "--input", p("x.npy"), "--output",
                            p("y.npy")], check=True)
            model = keras.saving.load_model(p("m.keras"))
            layer = model.get_layer(f"ct{i}")
            want = np.load(p("y.npy"))
            got = np.asarray(model(x))
            # Keras 3.15 with JAX returns float32 from tanh on a float64 channels_first layer
            # (case 1): judge by the precision Keras computed in, and say so.
            tol = 2e-5 if got.dtype == np.float32 else 1e-12
            if got.dtype != want.dtype:
                print(f"case {i}: note: Keras returned {got.dtype} for a {dt} layer")
            err = float(np.max(np.abs(got - want) / (1 + np.abs(want)))) if want.size else 0.0
            ok = got.shape == want.shape and err <= tol
            ok = ok and layer.padding == pad and layer.data_format == fmt
            print(f"case {i}: {'ok' if ok else 'FAILED'} (max rel err {err:.3g}, {dt})")
            failed += not ok
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
