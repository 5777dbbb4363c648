"""The LTE side file (docs/lte.md, model/llm/lte.hpp): safetensors with lte.order I32 [L][hidden] (position
k of layer l's expert order holds the model's neuron order[l][k]), and with routers lte.router F32
[L][experts][dim] and lte.threshold F32 [L]; __metadata__ format = weightstream-lte, version 1, dim,
hidden_dim, n_layers, expert_size, and records of how it was made."""
import numpy as np

import llama_file

FORMAT, VERSION = "weightstream-lte", "1"


def expert_bounds(hidden, size):
    """hidden // size experts of `size` neurons, then one of hidden % size when that is not 0."""
    b = list(range(0, hidden + 1, size))
    if b[-1] != hidden:
        b.append(hidden)
    return b


def load(path):
    from safetensors.numpy import load_file
    md = llama_file.safetensors_metadata(path)
    if md.get("format") != FORMAT or md.get("version") != VERSION:
        raise ValueError(f"{path}: not an LTE side file of version {VERSION}")
    t = load_file(path)
    side = {k: int(md[k]) for k in ("n_layers", "dim", "hidden_dim", "expert_size")}
    side["metadata"] = {k: v for k, v in md.items() if k not in side and k not in ("format", "version")}
    side["order"] = t["lte.order"].astype(np.int64)
    side["router"] = t.get("lte.router")
    side["threshold"] = t.get("lte.threshold")
    side["bounds"] = expert_bounds(side["hidden_dim"], side["expert_size"])
    return side


def save(side, path):
    from safetensors.numpy import save_file
    md = {k: str(side[k]) for k in ("n_layers", "dim", "hidden_dim", "expert_size")}
    md.update({k: str(v) for k, v in side["metadata"].items()})
    md["format"], md["version"] = FORMAT, VERSION
    t = {"lte.order": np.ascontiguousarray(side["order"], dtype=np.int32)}
    if side.get("router") is not None:
        t["lte.router"] = np.ascontiguousarray(side["router"], dtype=np.float32)
        t["lte.threshold"] = np.ascontiguousarray(side["threshold"], dtype=np.float32)
    save_file(t, path, metadata=md)


def to_expert_order(params, order):
    """w1/w3 rows and w2 columns in expert order (what the C++ expert_ordered does)."""
    p = dict(params)
    L = order.shape[0]
    p["w1"] = np.stack([params["w1"][l][order[l]] for l in range(L)])
    p["w3"] = np.stack([params["w3"][l][order[l]] for l in range(L)])
    p["w2"] = np.stack([params["w2"][l][:, order[l]] for l in range(L)])
    return p


def from_expert_order(params, order):
    """The inverse: back to the model file's neuron order."""
    inv = np.argsort(order, axis=1)
    return to_expert_order(params, inv)
