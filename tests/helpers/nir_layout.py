"""Loads a .nir file with NIR's own Python reader (the vendored tests/vendor/nir, NIR commit 7232ada)
and prints, as JSON, what the TypeScript tests compare against: every node's type as nir.read()
built it, the graph's edges, and every HDF5 dataset (dtype, shape, sha256 of its little-endian
bytes, or its strings), read with h5py. Usage: nir_layout.py FILE [--no-type-check]"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vendor"))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import nir  # noqa: E402

path = sys.argv[1]
graph = nir.read(path, type_check="--no-type-check" not in sys.argv)


def describe(g):
    return {
        "edges": sorted([list(e) for e in g.edges]),
        "nodes": {
            k: {"type": type(n).__name__, **({"graph": describe(n)} if isinstance(n, nir.NIRGraph) else {})}
            for k, n in g.nodes.items()
        },
    }


datasets = {}


def visit(name, obj):
    if not isinstance(obj, h5py.Dataset):
        return
    v = obj[()]
    if obj.dtype.kind in "OSU":
        flat = np.array(v, dtype=object).reshape(-1).tolist() if obj.shape != () else [v]
        datasets[name] = {"strings": [s.decode("utf8") if isinstance(s, bytes) else str(s) for s in flat], "shape": list(obj.shape)}
    else:
        a = np.ascontiguousarray(np.asarray(v).astype(obj.dtype.newbyteorder("<")))
        datasets[name] = {"dtype": a.dtype.name, "shape": list(obj.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}


with h5py.File(path, "r") as f:
    f.visititems(visit)
print(json.dumps({"version": nir.serialization.read_version(path), "graph": describe(graph), "datasets": datasets}))
