"""Writes tests/fixtures/keras-files/: files saved by real Keras, each holding Conv1DTranspose
layers among other layers, and what Keras computes for them.

    Keras 3 (keras + jax, tests/keras/requirements.txt, venv .venv/):
        KERAS_BACKEND=jax .venv/bin/python tests/keras/gen_keras_files.py keras3
    Keras 2 (tf-keras, tests/keras/requirements-keras2.txt, venv .venv-tf/):
        TF_USE_LEGACY_KERAS=1 .venv-tf/bin/python tests/keras/gen_keras_files.py keras2

Each run rewrites its own cases and merges them into cases.json: per case, the file(s), the
layer's name, an input to that layer and the layer's output on it as Keras computes it
(layer(x), the layer called on its own), and the dtype. The C tests (test_keras_files, the CLI
tests) load the files through conv1dt and compare.
"""
import json
import os
import sys

import numpy as np

# float64 layers compute in float64 only with JAX's x64 mode.
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("KERAS_BACKEND", "jax")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "keras-files")


def save_case(cases, name, layer, x, files, **extra):
    y = np.asarray(layer(x))
    assert y.dtype == x.dtype, (name, y.dtype, x.dtype)
    np.save(os.path.join(OUT, f"{name}_x.npy"), x)
    np.save(os.path.join(OUT, f"{name}_y.npy"), y)
    cases.append(dict(name=name, layer=layer.name, input=f"{name}_x.npy",
                      expected=f"{name}_y.npy", dtype=str(x.dtype), **files, **extra))


def keras3(cases):
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    assert keras.__version__.startswith("3."), keras.__version__

    # Sequential: the layer between others, every argument away from its default.
    seq = keras.Sequential([
        keras.Input((9, 3)),
        layers.Dense(4, name="dense_in"),
        layers.Conv1DTranspose(5, 3, strides=2, padding="same", output_padding=1,
                               activation="gelu", name="up",
                               kernel_initializer=keras.initializers.RandomNormal(0.0, 0.3, seed=7),
                               bias_initializer="ones",
                               kernel_regularizer=keras.regularizers.L1L2(1e-3, 2e-3),
                               activity_regularizer="l2",
                               kernel_constraint=keras.constraints.MaxNorm(3.0, axis=[0, 1]),
                               bias_constraint="non_neg"),
        layers.Conv1DTranspose(2, 4, strides=3, padding="valid", activation="tanh", name="up2"),
        layers.Flatten(),
        layers.Dense(1),
    ], name="seq_model")
    seq.layers[1].bias.assign(rng.normal(size=5).astype("float32"))
    seq.save(os.path.join(OUT, "k3_seq.keras"))
    save_case(cases, "k3_seq_up", seq.get_layer("up"),
              rng.normal(size=(2, 9, 4)).astype("float32"), dict(model="k3_seq.keras"))
    save_case(cases, "k3_seq_up2", seq.get_layer("up2"),
              rng.normal(size=(3, 18, 5)).astype("float32"), dict(model="k3_seq.keras"))

    # Functional, with a nested Sequential; float64 and channels_first layers, no bias.
    inner = keras.Sequential([
        keras.Input((6, 7)),
        layers.Conv1DTranspose(4, 2, dilation_rate=3, data_format="channels_first",
                               use_bias=False, activation="relu6", dtype="float64",
                               name="inner_ct"),
    ], name="inner")
    x_in = keras.Input((6, 7))
    h = inner(x_in)
    h = layers.Activation("relu")(h)
    h = layers.Conv1DTranspose(3, 5, strides=4, output_padding=3, padding="valid",
                               activation=keras.activations.silu, dtype="float64",
                               name="outer_ct")(h)
    model = keras.Model(x_in, h, name="func_model")
    model.save(os.path.join(OUT, "k3_func.keras"))
    model.save_weights(os.path.join(OUT, "k3_func.weights.h5"))
    with open(os.path.join(OUT, "k3_func.json"), "w") as f:
        f.write(model.to_json())
    save_case(cases, "k3_func_inner", inner.get_layer("inner_ct"),
              rng.normal(size=(2, 6, 7)), dict(model="k3_func.keras"))
    save_case(cases, "k3_func_outer", model.get_layer("outer_ct"),
              rng.normal(size=(2, 4, 10)), dict(model="k3_func.keras"))
    # Keras 3's legacy whole-model HDF5 (model.save("x.h5")): weights under model_weights/,
    # the config in the root's model_config attribute.
    model.save(os.path.join(OUT, "k3_func_legacy.h5"))
    save_case(cases, "k3_func_legacy_outer", model.get_layer("outer_ct"),
              rng.normal(size=(1, 3, 10)), dict(model="k3_func_legacy.h5"))
    save_case(cases, "k3_func_outer_files", model.get_layer("outer_ct"),
              rng.normal(size=(1, 5, 10)),
              dict(config="k3_func.json", weights="k3_func.weights.h5"))

    # A layer's own get_config() dict beside a model's weights file.
    lone = keras.Sequential([keras.Input((5, 2)),
                             layers.Conv1DTranspose(3, 2, strides=2, activation="softmax",
                                                    name="lone")], name="lone_model")
    lone.save_weights(os.path.join(OUT, "k3_lone.weights.h5"))
    with open(os.path.join(OUT, "k3_lone_layer.json"), "w") as f:
        json.dump(lone.get_layer("lone").get_config(), f)
    save_case(cases, "k3_lone", lone.get_layer("lone"),
              rng.normal(size=(2, 5, 2)).astype("float32"),
              dict(config="k3_lone_layer.json", weights="k3_lone.weights.h5"))


def keras2(cases):
    import tf_keras as keras
    from tf_keras import layers

    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    seq = keras.Sequential([
        keras.Input((8, 3)),
        layers.Conv1D(4, 2, padding="same", name="conv_in"),
        layers.Conv1DTranspose(6, 3, strides=2, padding="same", output_padding=1,
                               activation="elu", name="k2_up",
                               bias_initializer=keras.initializers.RandomUniform(-1, 1)),
        layers.Conv1DTranspose(2, 2, dilation_rate=2, activation="sigmoid", use_bias=False,
                               name="k2_dil"),
        layers.GlobalAveragePooling1D(),
    ], name="k2_seq")
    seq.save(os.path.join(OUT, "k2_seq.h5"))               # whole model, HDF5
    seq.save_weights(os.path.join(OUT, "k2_seq.weights.h5"))  # tf-keras's saving_lib layout
    seq.save_weights(os.path.join(OUT, "k2_seq_legacy_weights.h5"))  # Keras 2's h5 layout
    with open(os.path.join(OUT, "k2_seq.json"), "w") as f:
        f.write(seq.to_json())
    # tf.keras also wrote HDF5 under a .keras name when asked for save_format="h5".
    seq.save(os.path.join(OUT, "k2_seq_h5_named.keras"), save_format="h5")
    save_case(cases, "k2_seq_up", seq.get_layer("k2_up"),
              rng.normal(size=(2, 8, 4)).astype("float32"), dict(model="k2_seq.h5"))
    save_case(cases, "k2_seq_dil", seq.get_layer("k2_dil"),
              rng.normal(size=(2, 16, 6)).astype("float32"), dict(model="k2_seq_h5_named.keras"))
    save_case(cases, "k2_seq_up_files", seq.get_layer("k2_up"),
              rng.normal(size=(1, 3, 4)).astype("float32"),
              dict(config="k2_seq.json", weights="k2_seq.weights.h5"))
    save_case(cases, "k2_seq_dil_legacy_files", seq.get_layer("k2_dil"),
              rng.normal(size=(1, 4, 6)).astype("float32"),
              dict(config="k2_seq.json", weights="k2_seq_legacy_weights.h5"))

    # Functional, float64: the Conv1DTranspose between float64 layers, saved every Keras 2 way.
    x_in = keras.Input((5, 3), dtype="float64")
    h = layers.Dense(4, activation="relu", dtype="float64", name="k2_f64_dense")(x_in)
    h = layers.Conv1DTranspose(3, 4, strides=3, padding="valid", output_padding=2,
                               activation="softplus", dtype="float64", name="k2_f64_up",
                               bias_initializer=keras.initializers.RandomNormal(0.0, 0.5))(h)
    h = layers.Flatten(dtype="float64")(h)
    f64 = keras.Model(x_in, h, name="k2_f64")
    f64.save(os.path.join(OUT, "k2_f64.h5"))                               # whole model
    f64.save_weights(os.path.join(OUT, "k2_f64_legacy_weights.h5"))        # Keras 2's h5 layout
    f64.save_weights(os.path.join(OUT, "k2_f64.weights.h5"))               # saving_lib layout
    with open(os.path.join(OUT, "k2_f64.json"), "w") as f:
        f.write(f64.to_json())
    save_case(cases, "k2_f64_up", f64.get_layer("k2_f64_up"), rng.normal(size=(2, 5, 4)),
              dict(model="k2_f64.h5"))
    save_case(cases, "k2_f64_up_legacy_files", f64.get_layer("k2_f64_up"),
              rng.normal(size=(1, 7, 4)),
              dict(config="k2_f64.json", weights="k2_f64_legacy_weights.h5"))
    save_case(cases, "k2_f64_up_files", f64.get_layer("k2_f64_up"), rng.normal(size=(3, 2, 4)),
              dict(config="k2_f64.json", weights="k2_f64.weights.h5"))


def main():
    which = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "cases.json")
    old = json.load(open(path)) if os.path.exists(path) else []
    prefix = "k3_" if which == "keras3" else "k2_"
    cases = [c for c in old if not c["name"].startswith(prefix)]
    {"keras3": keras3, "keras2": keras2}[which](cases)
    cases.sort(key=lambda c: c["name"])
    with open(path, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
