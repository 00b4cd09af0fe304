"""Shared code of gen_fixtures.py and parity.py: random Conv1DTranspose cases,
the real Keras layer as the oracle, and an independent numpy reference used
only as a cross-check of what Keras returns.

Keras findings this module works around (checked against keras 3.15.1 with the
JAX backend; see README.md):

* sparsemax: Keras releases up to 3.15 compute tau wrongly (keras issue
  #23425, fixed on main by PR #23469). When the installed Keras fails the probe
  sparsemax([1.0, 0.8]) == [0.6, 0.4], a sparsemax case's expected output is
  Keras's pre-activation output (activation=None, bias included) followed by
  numpy_sparsemax() below (the paper's definition).
* float64 downcast: on every non-TensorFlow backend Keras's
  dtypes.result_type() maps float64 to float32 (BIT64_TO_BIT32_DTYPE), so a
  dtype="float64" layer with activation="tanh" returns a float32 tensor
  (keras.ops.tanh promotes with result_type(x.dtype, float)). Whenever the
  layer's output dtype differs from the layer's dtype, the expected output is
  Keras's float64 pre-activation output followed by the numpy activation in
  float64, and the case carries a note.
* gelu: the "gelu" string resolves to keras.activations.gelu(x,
  approximate=False), i.e. the exact erf form 0.5*x*(1+erf(x/sqrt(2)))
  (keras/src/activations/activations.py, `def gelu(x, approximate=False)`).
  The fixtures are what Keras outputs.
"""
import json
import math
import os
import re
import sys

import numpy as np

# Every activation string Keras accepts for this layer without extra
# arguments (keras.activations.ALL_OBJECTS_DICT minus "threshold", which
# has required arguments), plus None.
ACTIVATIONS = [
    "linear", "relu", "leaky_relu", "relu6", "elu", "selu", "celu", "softplus",
    "softsign", "squareplus", "soft_shrink", "hard_shrink", "sparse_plus",
    "sigmoid", "sparse_sigmoid", "hard_sigmoid", "silu", "swish", "hard_silu",
    "hard_swish", "gelu", "tanh", "tanh_shrink", "hard_tanh", "exponential",
    "mish", "log_sigmoid", "softmax", "log_softmax", "glu", None,
]
AXIS_ACTIVATIONS = {"softmax", "log_softmax", "glu", "sparsemax"}

TOL = {"float64": 1e-10, "float32": 2e-5}

_KERAS = None
SPARSEMAX_BUGGY = None


def setup_keras():
    """Import Keras on the JAX backend with float64 enabled. Raises ImportError
    (or whatever the import raises) when Keras is not usable."""
    global _KERAS, SPARSEMAX_BUGGY
    if _KERAS is not None:
        return _KERAS
    os.environ.setdefault("KERAS_BACKEND", "jax")
    # JAX silently truncates float64 to float32 unless x64 is enabled.
    os.environ["JAX_ENABLE_X64"] = "1"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: E402  (may raise: the caller decides to skip)
    if keras.backend.backend() == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
    probe = np.asarray(keras.activations.sparsemax(
        np.array([1.0, 0.8], dtype="float32")), dtype=np.float64)
    SPARSEMAX_BUGGY = not np.allclose(probe, [0.6, 0.4], atol=1e-6)
    _KERAS = keras
    return keras


def keras_version():
    return setup_keras().__version__


def backend_versions():
    keras = setup_keras()
    out = {"keras": keras.__version__, "backend": keras.backend.backend(),
           "numpy": np.__version__}
    if keras.backend.backend() == "jax":
        import jax
        import jaxlib
        out["jax"] = jax.__version__
        out["jaxlib"] = jaxlib.__version__
    return out


# ----------------------------------------------------------------- geometry
def keff(k, d):
    return (k - 1) * d + 1


def out_len(L, K, s, d, padding, op):
    ke = keff(K, d)
    if padding.lower() == "valid":
        return (L - 1) * s + (max(ke, s) if op is None else ke + op)
    return L * s if op is None else (L - 1) * s + ke % 2 + op


# --------------------------------------------------- numpy (cross-check only)
def numpy_sparsemax(z, axis=-1):
    """Martins & Astudillo (2016): max(z - tau, 0), tau = (sum of the top-k
    sorted values - 1)/k over the support of size k. float64 in, float64 out."""
    z = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
    n = z.shape[-1]
    if z.size == 0 or n == 0:
        return np.moveaxis(z.copy(), -1, axis)
    zs = -np.sort(-z, axis=-1)
    cs = np.cumsum(zs, axis=-1)
    r = np.arange(1, n + 1, dtype=np.float64)
    support = 1.0 + r * zs > cs
    k = np.sum(support, axis=-1, keepdims=True)
    topk = np.take_along_axis(cs, k - 1, axis=-1)
    tau = (topk - 1.0) / k
    return np.moveaxis(np.maximum(z - tau, 0.0), -1, axis)


_SELU_A = 1.6732632423543772848170429916717
_SELU_S = 1.0507009873554804934193349852946


def _sigmoid(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                    np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x


def numpy_activation(name, z):
    """The activation on float64 z along the last axis (the layer's data
    format already applied), written from docs/SEMANTICS.md."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if name in (None, "linear"):
            return z.copy()
        f = {
            "relu": lambda x: np.maximum(x, 0.0),
            "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
            "relu6": lambda x: np.clip(x, 0.0, 6.0),
            "elu": lambda x: np.where(x >= 0, x, np.expm1(np.minimum(x, 0))),
            "selu": lambda x: _SELU_S * np.where(
                x >= 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
            "celu": lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
            "softplus": _softplus,
            "softsign": lambda x: x / (1.0 + np.abs(x)),
            "squareplus": lambda x: (x + np.sqrt(x * x + 4.0)) / 2.0,
            "soft_shrink": lambda x: np.where(
                x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
            "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
            "sparse_plus": lambda x: np.where(
                x <= -1, 0.0, np.where(x < 1, (x + 1) ** 2 / 4.0, x)),
            "sigmoid": _sigmoid,
            "sparse_sigmoid": lambda x: np.where(
                x <= -1, 0.0, np.where(x >= 1, 1.0, (x + 1) / 2.0)),
            "hard_sigmoid": _hard_sigmoid,
            "silu": lambda x: x * _sigmoid(x),
            "swish": lambda x: x * _sigmoid(x),
            "hard_silu": lambda x: x * _hard_sigmoid(x),
            "hard_swish": lambda x: x * _hard_sigmoid(x),
            "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
            "tanh": np.tanh,
            "tanh_shrink": lambda x: x - np.tanh(x),
            "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
            "exponential": np.exp,
            "mish": lambda x: x * np.tanh(_softplus(x)),
            "log_sigmoid": lambda x: -_softplus(-x),
            "sparsemax": numpy_sparsemax,
        }.get(name)
        if f is not None:
            return f(z)
        if name == "softmax":
            if z.shape[-1] == 0:
                return z.copy()
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        if name == "log_softmax":
            if z.shape[-1] == 0:
                return z.copy()
            m = z - z.max(axis=-1, keepdims=True)
            return m - np.log(np.exp(m).sum(axis=-1, keepdims=True))
        if name == "glu":
            h = z.shape[-1] // 2
            return z[..., :h] * _sigmoid(z[..., h:])
    raise KeyError(name)


def numpy_preactivation(meta, x, kernel, bias):
    """docs/SEMANTICS.md's 'full output, then window' model in float64."""
    cf = meta["data_format"].lower() == "channels_first"
    x = np.asarray(x, dtype=np.float64)
    if cf:
        x = np.transpose(x, (0, 2, 1))
    W = np.asarray(kernel, dtype=np.float64)
    B, L, _ = x.shape
    K, F, _ = W.shape
    s, d, op = meta["strides"], meta["dilation_rate"], meta["output_padding"]
    pad = meta["padding"].lower()
    ke = keff(K, d)
    full = np.zeros((B, (L - 1) * s + ke, F))
    for l in range(L):
        for k in range(K):
            full[:, l * s + k * d, :] += x[:, l, :] @ W[k].T
    if pad == "valid":
        left = ke - 1
    else:
        pl = s + ke - 2 if op is None else ke + ke % 2 - 2 + op
        left = min(-(-pl // 2), ke - 1)
    crop = ke - 1 - left
    n_out = out_len(L, K, s, d, pad, op)
    y = np.zeros((B, n_out, F))
    n = max(0, min(n_out, full.shape[1] - crop))
    y[:, :n] = full[:, crop:crop + n]
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    if cf:
        y = np.transpose(y, (0, 2, 1))
    return y


def numpy_forward(meta, x, kernel, bias):
    return numpy_activation(meta["activation"],
                            numpy_preactivation(meta, x, kernel, bias))


# ------------------------------------------------------------ Keras oracle
def _keras_layer_out(meta, x, kernel, bias, activation):
    keras = setup_keras()
    K, F, _ = kernel.shape if kernel.ndim == 3 else (None, None, None)
    layer = keras.layers.Conv1DTranspose(
        filters=F, kernel_size=K, strides=meta["strides"],
        padding=meta["padding"], output_padding=meta["output_padding"],
        data_format=meta["data_format"], dilation_rate=meta["dilation_rate"],
        activation=activation, use_bias=meta["use_bias"], dtype=meta["dtype"])
    layer.build(x.shape)
    layer.set_weights([kernel, bias] if meta["use_bias"] else [kernel])
    return np.asarray(layer(x))


def keras_forward(meta, x, kernel, bias):
    """Run the real layer. Returns (kind, value, note):
    ("ok", expected array in x's dtype, note or None) or
    ("error", "ExceptionType: message", None)."""
    try:
        act = meta["activation"]
        note = None
        if act == "sparsemax" and SPARSEMAX_BUGGY:
            pre = _keras_layer_out(meta, x, kernel, bias, None)
            y = numpy_sparsemax(pre.astype(np.float64), axis=-1)
            note = ("sparsemax per the definition; keras %s differs"
                    % ".".join(keras_version().split(".")[:2]))
        else:
            y = _keras_layer_out(meta, x, kernel, bias, act)
            if y.dtype != np.dtype(meta["dtype"]):
                pre = _keras_layer_out(meta, x, kernel, bias, None)
                if pre.dtype != np.dtype(meta["dtype"]):
                    raise RuntimeError("keras pre-activation output has dtype "
                                       f"{pre.dtype}, layer dtype {meta['dtype']}")
                y = numpy_activation(act, pre)
                note = (f"{act} applied in numpy {meta['dtype']} to keras's "
                        f"pre-activation output: keras {keras_version()} returns "
                        f"{_keras_layer_out(meta, x, kernel, bias, act).dtype}"
                        f" for a {meta['dtype']} layer with activation={act}")
        return "ok", np.asarray(y).astype(meta["dtype"]), note
    except Exception as e:  # noqa: BLE001 - any refusal by keras counts
        return "error", f"{type(e).__name__}: {clean_message(e)}", None


def clean_message(e):
    """Keras's exception text without terminal escapes, the call-context
    wrapper and auto-numbered layer names (so fixtures are reproducible)."""
    msg = str(e).replace("\x1b[1m", "").replace("\x1b[0m", "")
    msg = msg.split("Arguments received by")[0]
    msg = msg.replace("Exception encountered when calling "
                      "Conv1DTranspose.call().", "")
    msg = re.sub(r"(layer )?'?conv1d_transpose(_\d+)?'?", "the layer", msg)
    msg = re.sub(r"Layer the layer", "The layer", msg)
    # printed Python sets have a per-process order: sort them
    msg = re.sub(r"\{('[^'{}]*'(?:, '[^'{}]*')*)\}",
                 lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
                 msg)
    return " ".join(msg.split())[:300]


def compare(got, exp):
    """check-cli's rule. -> None if fine, else a reason string."""
    if got.shape != exp.shape:
        return f"shape {got.shape} != expected {exp.shape}"
    if got.dtype != exp.dtype:
        return f"dtype {got.dtype} != expected {exp.dtype}"
    if exp.size == 0:
        return None
    g = got.astype(np.float64)
    e = exp.astype(np.float64)
    if not np.array_equal(np.isnan(e), np.isnan(g)):
        return "NaN positions differ"
    inf_e = np.isinf(e)
    if not np.array_equal(inf_e, np.isinf(g)) or \
            not np.array_equal(e[inf_e], g[inf_e]):
        return "Inf positions/signs differ"
    fin = np.isfinite(e)
    if not fin.any():
        return None
    tol = TOL[exp.dtype.name] * (1.0 + float(np.max(np.abs(e[fin]))))
    diff = np.abs(g[fin] - e[fin])
    err = float(np.max(diff))
    if not err <= tol:
        idx = tuple(int(i) for i in np.argwhere(fin)[int(np.argmax(diff))])
        return (f"max|err| {err:.3e} > tol {tol:.3e} at {idx} "
                f"(got {g[idx]!r}, expected {e[idx]!r})")
    return None


# ------------------------------------------------------------ random cases
def make_meta(name, *, strides=1, padding="valid", output_padding=None,
              data_format="channels_last", dilation_rate=1, activation=None,
              dtype="float32", use_bias=True, expect="ok", group="keras_live"):
    return {"name": name, "group": group, "strides": strides,
            "padding": padding, "output_padding": output_padding,
            "data_format": data_format, "dilation_rate": dilation_rate,
            "activation": activation, "dtype": dtype, "expect": expect,
            "use_bias": use_bias}


def make_arrays(rng, meta, B, L, C, K, F, xscale=1.0):
    dt = np.dtype(meta["dtype"])
    cf = meta["data_format"].lower() == "channels_first"
    xs = (B, C, L) if cf else (B, L, C)
    x = (rng.standard_normal(xs) * xscale).astype(dt)
    kernel = (rng.standard_normal((K, F, C)) * 0.8).astype(dt)
    bias = (rng.standard_normal(F) * 0.5).astype(dt) if meta["use_bias"] else None
    return x, kernel, bias


def random_geometry(rng, *, strides=None, dilation=None, kernel_size=None,
                    padding=None, op="random", activation=None,
                    data_format="channels_last"):
    """Pick a legal (s, d, K, padding, op, B, L, C, F) honoring fixed parts
    and glu's even-axis requirement."""
    for _ in range(10000):
        s = strides if strides is not None else int(rng.integers(1, 6))
        if dilation is not None:
            d = dilation
        else:
            d = int(rng.integers(1, 4)) if s == 1 and rng.random() < 0.4 else 1
        K = kernel_size if kernel_size is not None else int(rng.integers(1, 8))
        pad = padding if padding is not None else str(rng.choice(["valid", "same"]))
        if op == "random":
            o = None if rng.random() < 0.5 else int(rng.integers(0, s))
        else:
            o = op
        B = int(rng.integers(1, 4))
        L = int(rng.integers(1, 13))
        C = int(rng.integers(1, 7))
        F = int(rng.integers(1, 9))
        n = out_len(L, K, s, d, pad, o)
        if activation == "glu":
            if data_format == "channels_last" and F % 2:
                continue
            if data_format == "channels_first" and (n % 2 or n == 0):
                continue
        if activation in AXIS_ACTIVATIONS and n == 0:
            continue
        return dict(s=s, d=d, K=K, pad=pad, op=o, B=B, L=L, C=C, F=F)
    raise RuntimeError("no geometry found")


def near_discontinuity(meta, pre):
    """hard_shrink jumps by 0.5 at |x| = 0.5: keep fixture values away from it
    so that a rounding difference cannot flip a branch."""
    if meta["activation"] != "hard_shrink":
        return False
    margin = 1e-3 if meta["dtype"] == "float32" else 1e-9
    return bool(np.any(np.abs(np.abs(pre) - 0.5) < margin))


def build_random_case(rng, name, *, activation="random", dtype=None,
                      data_format=None, xscale=None, **geo):
    """A random legal case: (meta, x, kernel, bias). Geometry keywords as in
    random_geometry()."""
    if activation == "random":
        activation = ACTIVATIONS[int(rng.integers(0, len(ACTIVATIONS)))]
    dtype = dtype or str(rng.choice(["float32", "float64"]))
    data_format = data_format or str(rng.choice(["channels_last", "channels_first"]))
    for _ in range(100):
        g = random_geometry(rng, activation=activation, data_format=data_format, **geo)
        meta = make_meta(name, strides=g["s"], padding=g["pad"],
                         output_padding=g["op"], data_format=data_format,
                         dilation_rate=g["d"], activation=activation,
                         dtype=dtype, use_bias=bool(rng.random() < 0.7))
        xs = xscale if xscale is not None else float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        if activation == "exponential":
            xs = min(xs, 1.0)
        x, kernel, bias = make_arrays(rng, meta, g["B"], g["L"], g["C"], g["K"],
                                      g["F"], xscale=xs)
        pre = numpy_preactivation(meta, x, kernel, bias)
        if near_discontinuity(meta, pre):
            continue
        if activation == "exponential" and pre.size and np.max(pre) > 60:
            continue
        return meta, x, kernel, bias
    raise RuntimeError("could not build case " + name)


# ------------------------------------------------------------------ output
def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a), allow_pickle=False)


def write_case(root, meta, x, kernel, bias, expected):
    d = os.path.join(root, meta["name"])
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, "case.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    save_npy(os.path.join(d, "x.npy"), x)
    save_npy(os.path.join(d, "kernel.npy"), kernel)
    if bias is not None:
        save_npy(os.path.join(d, "bias.npy"), bias)
    if expected is not None:
        save_npy(os.path.join(d, "expected.npy"), expected)
    return d


def cli_command(cli, case_dir, meta, out_path):
    def p(n):
        return os.path.join(case_dir, n)
    cmd = [cli, "run", "--input", p("x.npy"), "--kernel", p("kernel.npy")]
    if os.path.exists(p("bias.npy")):
        cmd += ["--bias", p("bias.npy")]
    cmd += ["--output", out_path, "--strides", str(meta["strides"]),
            "--padding", str(meta["padding"])]
    if meta.get("output_padding") is not None:
        cmd += ["--output-padding", str(meta["output_padding"])]
    cmd += ["--data-format", str(meta["data_format"]),
            "--dilation-rate", str(meta["dilation_rate"])]
    if meta.get("activation") is not None:
        cmd += ["--activation", str(meta["activation"])]
    return cmd


def eprint(*a):
    print(*a, file=sys.stderr)
