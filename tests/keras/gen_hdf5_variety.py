"""Writes tests/fixtures/keras-files/hdf5_variety.weights.h5: k3_lone.weights.h5's layer among
HDF5 structures Keras does not write but a valid file may hold, so that the reader's checks of
damaged metadata are seen to let valid files through: a soft link in a symbol-table group, a
group whose links sit in its object header (creation order tracked), a group of 300 links (a
B-tree of two levels) all to one dataset, chunked-compressed and compact datasets, attributes of
many types (variable-length sequences, compound, enum, array, opaque, fixed strings, empty), a
committed datatype that a dataset and an attribute share.

    .venv-tf/bin/python tests/keras/gen_hdf5_variety.py     (h5py only)
"""
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "fixtures", "keras-files")


def main():
    with h5py.File(os.path.join(DIR, "k3_lone.weights.h5"), "r") as src:
        kernel = src["layers/conv1d_transpose/vars/0"][()]
        bias = src["layers/conv1d_transpose/vars/1"][()]
    with h5py.File(os.path.join(DIR, "hdf5_variety.weights.h5"), "w", libver="earliest") as f:
        v = f.create_group("layers/conv1d_transpose/vars")
        v.attrs["name"] = "lone"
        v["0"], v["1"] = kernel, bias
        f["vars"] = h5py.SoftLink("/layers/conv1d_transpose/vars")  # not the layer's group
        many = f.create_group("many")
        for i in range(300):
            many[f"link{i:03d}"] = v["1"]
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        h5py.h5g.create(f.id, b"ordered", gcpl=gcpl)
        f["ordered/kernel_again"] = v["0"]
        f["ordered/soft"] = h5py.SoftLink("/many")
        f.create_dataset("chunked", data=np.arange(400.0).reshape(20, 20), chunks=(5, 5),
                         compression="gzip")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((4,))
        h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
        f["committed"] = np.dtype("<f8")  # a named datatype, shared by what uses it
        f.create_dataset("typed", data=np.ones(3), dtype=f["committed"])
        f["typed"].attrs.create("typed", np.ones(2), dtype=f["committed"])
        a = f["ordered"].attrs
        a.create("sequences", [np.arange(3), np.arange(5)], dtype=h5py.vlen_dtype("i4"))
        a["compound"] = np.zeros(2, np.dtype([("x", "<f4"), ("y", "<i8", (2, 3)), ("s", "S5")]))
        a.create("enum", [1, 42], dtype=h5py.enum_dtype({"A": 1, "B": 42}, basetype="i1"))
        a["array"] = np.zeros(2, np.dtype(("<f8", (3,))))
        a["opaque"] = np.void(b"abcd")
        a["fixed"] = np.bytes_("fixed length")
        a["empty"] = h5py.Empty("f4")
        a["strings"] = ["one", "two", ""]


if __name__ == "__main__":
    main()
