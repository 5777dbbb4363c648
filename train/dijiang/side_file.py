"""The DiJiang side file (docs/dijiang.md, model/llm/dijiang.hpp): safetensors, __metadata__ format =
weightstream-dijiang, version 1, feature_map (dct | random), n_layers, dim, n_heads, head_size, records of
how it was made; F32 tensors dijiang.weight [L][d] (dct) or dijiang.projection [L][d][d] (random),
dijiang.gate [L][dim][dim], dijiang.norm_weight and dijiang.norm_bias [L][dim]."""
import numpy as np

import llama_file

FORMAT, VERSION = "weightstream-dijiang", "1"
FIELDS = ("n_layers", "dim", "n_heads", "head_size")


def load(path):
    from safetensors.numpy import load_file
    md = llama_file.safetensors_metadata(path)
    if md.get("format") != FORMAT or md.get("version") != VERSION:
        raise ValueError(f"{path}: not a DiJiang side file of version {VERSION}")
    t = load_file(path)
    side = {k: int(md[k]) for k in FIELDS}
    side["feature_map"] = md["feature_map"]
    side["metadata"] = {k: v for k, v in md.items() if k not in FIELDS and k not in ("format", "version", "feature_map")}
    for k in ("weight", "projection", "gate", "norm_weight", "norm_bias"):
        side[k] = t.get("dijiang." + k)
    return side


def save(side, path):
    from safetensors.numpy import save_file
    md = {k: str(side[k]) for k in FIELDS}
    md.update({k: str(v) for k, v in side["metadata"].items()})
    md["format"], md["version"], md["feature_map"] = FORMAT, VERSION, side["feature_map"]
    names = ["weight" if side["feature_map"] == "dct" else "projection", "gate", "norm_weight", "norm_bias"]
    save_file({"dijiang." + k: np.ascontiguousarray(side[k], dtype=np.float32) for k in names}, path, metadata=md)
