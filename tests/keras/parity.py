#!/usr/bin/env python3
"""Live parity test: fresh random Conv1DTranspose cases, Keras vs the conv1dt CLI.

usage: parity.py [--cli PATH | CONV1DT_CLI=PATH] [--count N] [--seed S]
                 [--save-failures DIR] [--verbose]

Exits 77 (CTest's skip code here) with "SKIP: keras not importable" when
Keras (with its backend) cannot be imported, e.g. under Debian's python3.
Each run draws a new seed unless --seed is given; the seed is printed so a
failing run can be replayed. About one case in eight is deliberately invalid
(output_padding >= strides, strides > 1 with dilation > 1, glu on an odd
axis): Keras must refuse it and so must the CLI (non-zero exit, a message on
stderr, no output file).

Judgement as tests/fixtures: same shape and dtype, NaN/Inf at the same places,
finite values within 1e-10*(1+max|expected|) (float64) or 2e-5*(1+max|expected|)
(float32). sparsemax follows the paper's definition when the installed Keras
is one of the releases that compute it wrongly (see README.md).
Prints one line per failure and finally 'N passed, M failed'.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import kcases as kc
except ImportError as _e:  # no numpy: no keras either
    print(f"SKIP: keras not importable ({_e})")
    sys.exit(SKIP)


def invalid_case(rng, name):
    """A configuration Keras rejects; returns (meta, x, kernel, bias)."""
    kind = int(rng.integers(0, 3))
    dt = str(rng.choice(["float32", "float64"]))
    df = str(rng.choice(["channels_last", "channels_first"]))
    B, L, C, K = (int(rng.integers(1, 4)), int(rng.integers(1, 9)),
                  int(rng.integers(1, 5)), int(rng.integers(1, 6)))
    F = int(rng.integers(1, 7))
    s, d, op, act = int(rng.integers(1, 6)), 1, None, None
    if kind == 0:                      # output_padding >= strides
        op = s + int(rng.integers(0, 2))
    elif kind == 1:                    # strides > 1 with dilation > 1
        s = int(rng.integers(2, 6))
        d = int(rng.integers(2, 4))
    else:                              # glu on an odd axis
        act = "glu"
        df = "channels_last"
        F = 2 * int(rng.integers(0, 3)) + 1
    meta = kc.make_meta(name, strides=s, padding=str(rng.choice(["valid", "same"])),
                        output_padding=op, data_format=df, dilation_rate=d,
                        activation=act, dtype=dt, use_bias=bool(rng.random() < 0.7),
                        expect="error")
    x, kernel, bias = kc.make_arrays(rng, meta, B, L, C, K, F)
    return meta, x, kernel, bias


def random_case(rng, i):
    name = f"parity_{i:03d}"
    if rng.random() < 0.125:
        return invalid_case(rng, name)
    act = "random"
    if rng.random() < 0.06:
        act = "sparsemax"
    pad_text = None
    if rng.random() < 0.1:
        pad_text = str(rng.choice(["SAME", "Valid", "Same", "VALID"]))
    meta, x, kernel, bias = kc.build_random_case(
        rng, name, activation=act,
        xscale=15.0 if rng.random() < 0.15 else None,
        **({"padding": pad_text} if pad_text else {}))
    return meta, x, kernel, bias


def run_cli(cli, case_dir, meta, timeout=60):
    out_path = os.path.join(case_dir, "OUT.npy")
    cmd = kc.cli_command(cli, case_dir, meta, out_path)
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", b"timeout", out_path, cmd
    return p.returncode, p.stdout, p.stderr, out_path, cmd


def describe(meta, x, kernel):
    return (f"x{tuple(x.shape)} kernel{tuple(kernel.shape)} s={meta['strides']} "
            f"pad={meta['padding']} op={meta['output_padding']} "
            f"d={meta['dilation_rate']} {meta['data_format']} "
            f"act={meta['activation']} {meta['dtype']} bias={meta['use_bias']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cli", default=os.environ.get("CONV1DT_CLI"),
                    help="path to the conv1dt program (default: $CONV1DT_CLI)")
    ap.add_argument("cli_pos", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--save-failures", metavar="DIR",
                    help="write each failing case there as a fixture folder")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    cli = a.cli or a.cli_pos

    try:
        kc.setup_keras()
    except Exception as e:  # noqa: BLE001 - any import failure means skip
        print(f"SKIP: keras not importable ({type(e).__name__}: {e})")
        return SKIP
    if not cli:
        print("error: no CLI given (--cli PATH or CONV1DT_CLI)", file=sys.stderr)
        return 2
    cli = os.path.abspath(cli)
    if not os.access(cli, os.X_OK):
        print(f"error: {cli} is not an executable", file=sys.stderr)
        return 2

    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"keras parity: seed {seed} (replay with --seed {seed}); versions "
          f"{kc.backend_versions()}; keras sparsemax "
          f"{'wrong, using the definition' if kc.SPARSEMAX_BUGGY else 'ok'}")
    sys.stdout.flush()
    rng = np.random.default_rng(seed)
    passed = failed = 0
    tmp_root = tempfile.mkdtemp(prefix="conv1dt_parity_")
    try:
        for i in range(a.count):
            meta, x, kernel, bias = random_case(rng, i)
            kind, exp, note = kc.keras_forward(meta, x, kernel, bias)
            meta["expect"] = kind
            meta["keras_version"] = kc.keras_version()
            if note:
                meta["note"] = note
            elif kind == "error":
                meta["note"] = "keras raises " + exp
            case_dir = kc.write_case(tmp_root, meta, x, kernel, bias,
                                     exp if kind == "ok" else None)
            rc, _, err, out_path, cmd = run_cli(cli, case_dir, meta)
            why = None
            if rc is None:
                why = "timed out"
            elif kind == "error":
                probs = []
                if rc == 0:
                    probs.append("exit 0 where keras refuses (" + exp + ")")
                elif rc < 0:
                    probs.append(f"killed by signal {-rc}")
                if not err.strip():
                    probs.append("empty stderr")
                if os.path.exists(out_path):
                    probs.append("output file left behind")
                why = "; ".join(probs) or None
            elif rc != 0:
                why = (f"exit {rc}; stderr: "
                       + err.decode("utf-8", "replace").strip()[:300])
            elif not os.path.exists(out_path):
                why = "exit 0 but no output file"
            else:
                try:
                    got = np.load(out_path, allow_pickle=False)
                    why = kc.compare(got, exp)
                except Exception as e:  # noqa: BLE001
                    why = f"unreadable output: {e}"
            if why is None:
                passed += 1
                if a.verbose:
                    print(f"ok   {meta['name']}: {describe(meta, x, kernel)}")
            else:
                failed += 1
                print(f"FAIL {meta['name']}: {describe(meta, x, kernel)}: {why}")
                if a.verbose:
                    print("     " + " ".join(cmd))
                if a.save_failures:
                    os.makedirs(a.save_failures, exist_ok=True)
                    dst = os.path.join(a.save_failures, f"s{seed}_{meta['name']}")
                    shutil.rmtree(dst, ignore_errors=True)
                    shutil.copytree(case_dir, dst,
                                    ignore=shutil.ignore_patterns("OUT.npy"))
                    with open(os.path.join(dst, "failure.txt"), "w") as fh:
                        fh.write(why + "\n" + json.dumps(cmd) + "\n")
            sys.stdout.flush()
            shutil.rmtree(case_dir, ignore_errors=True)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
