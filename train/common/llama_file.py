"""llama models as the C++ tool reads them (model/llm/llama_io): llama2.c .bin files, the safetensors
that save_llama writes (llama2.c names, [L][out][in] stacks, the header's fields in __metadata__) and
the safetensors that `weightstream convert --to fp32` writes from a GGUF file (GGUF's tensor names and
metadata keys: SmolLM2). Shared by every training script (train/lte, train/dijiang)."""
import json
import struct

import numpy as np

FIELDS = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]


def layout(c):
    """The llama2.c arrays in file order with their shapes (model/files/llama2c.cpp)."""
    L, d, h, kv = c["n_layers"], c["dim"], c["hidden_dim"], c["dim"] * c["n_kv_heads"] // c["n_heads"]
    half = d // c["n_heads"] // 2
    a = [("token_embedding_table", (c["vocab_size"], d)), ("rms_att_weight", (L, d)), ("wq", (L, d, d)),
         ("wk", (L, kv, d)), ("wv", (L, kv, d)), ("wo", (L, d, d)), ("rms_ffn_weight", (L, d)),
         ("w1", (L, h, d)), ("w2", (L, d, h)), ("w3", (L, h, d)), ("rms_final_weight", (d,)),
         ("freq_cis_real", (c["seq_len"], half)), ("freq_cis_imag", (c["seq_len"], half))]
    if not c["shared_classifier"]:
        a.append(("wcls", (c["vocab_size"], d)))
    return a


def load(path):
    """(config dict, {name: float32 array}); config has the header fields, shared_classifier, rope_theta, rms_eps."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    if 8 + n <= len(raw) and raw[8:9] == b"{":
        return _load_safetensors(path)
    hdr = struct.unpack("<7i", raw[:28])
    c = dict(zip(FIELDS, hdr))
    c["shared_classifier"] = c["vocab_size"] > 0
    c["vocab_size"] = abs(c["vocab_size"])
    c["rope_theta"], c["rms_eps"] = 10000.0, 1e-5
    vals = np.frombuffer(raw, dtype="<f4", offset=28)
    p, at = {}, 0
    for name, shape in layout(c):
        size = int(np.prod(shape))
        p[name] = vals[at:at + size].reshape(shape).copy()
        at += size
    if at != vals.size:
        raise ValueError(f"{path}: {vals.size} floats, the header's layout needs {at}")
    return c, p


def safetensors_metadata(path):
    """The __metadata__ of a safetensors file (its header read alone), {} if it has none."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def _load_safetensors(path):
    from safetensors.numpy import load_file
    md = safetensors_metadata(path)
    if md.get("format") == "gguf":
        return _load_gguf_named(path, md)
    if md.get("format") != "llama2.c":
        raise ValueError(f"{path}: neither llama2.c- nor GGUF-named safetensors (format {md.get('format')!r})")
    c = {k: int(md[k]) for k in FIELDS}
    c["shared_classifier"] = md.get("shared_classifier", "true") != "false"
    c["rope_theta"] = float(md.get("rope_theta", 10000.0))
    c["rms_eps"] = float(md.get("rms_eps", 1e-5))
    t = load_file(path)
    return c, {k: v.astype(np.float32) for k, v in t.items()}


# GGUF's names of the llama2.c arrays (model/llm/llama_io.cpp kGgufNames): per layer "blk.<l>." + name.
GGUF_LAYER = {"rms_att_weight": "attn_norm.weight", "wq": "attn_q.weight", "wk": "attn_k.weight",
              "wv": "attn_v.weight", "wo": "attn_output.weight", "rms_ffn_weight": "ffn_norm.weight",
              "w1": "ffn_gate.weight", "w2": "ffn_down.weight", "w3": "ffn_up.weight"}


def _load_gguf_named(path, md):
    """`convert --to fp32` of a GGUF llama file: GGUF's metadata keys (as strings) and tensor names, shapes
    [out][in] (GGUF's ne reversed), q/k rows already in adjacent-pair RoPE order as the C++ model reads them."""
    from safetensors.numpy import load_file
    if md.get("general.architecture") != "llama":
        raise ValueError(f"{path}: architecture {md.get('general.architecture')!r} is not llama")
    t = load_file(path)
    c = {"dim": int(md["llama.embedding_length"]), "hidden_dim": int(md["llama.feed_forward_length"]),
         "n_layers": int(md["llama.block_count"]), "n_heads": int(md["llama.attention.head_count"]),
         "vocab_size": t["token_embd.weight"].shape[0], "seq_len": int(md["llama.context_length"]),
         "rope_theta": float(md.get("llama.rope.freq_base", 10000.0)),
         "rms_eps": float(md["llama.attention.layer_norm_rms_epsilon"]),
         "shared_classifier": "output.weight" not in t}
    c["n_kv_heads"] = int(md.get("llama.attention.head_count_kv", c["n_heads"]))
    p = {"token_embedding_table": t["token_embd.weight"], "rms_final_weight": t["output_norm.weight"]}
    if not c["shared_classifier"]:
        p["wcls"] = t["output.weight"]
    for name, gguf in GGUF_LAYER.items():
        p[name] = np.stack([t[f"blk.{l}.{gguf}"] for l in range(c["n_layers"])])
    return c, {k: np.asarray(v, dtype=np.float32) for k, v in p.items()}


def save(c, params, path, extra=None):
    """save_llama's layout: llama2.c names and shapes, F32, the header's fields in __metadata__."""
    from safetensors.numpy import save_file
    md = {k: str(c[k]) for k in FIELDS}
    md["format"] = "llama2.c"
    md["shared_classifier"] = "true" if c["shared_classifier"] else "false"
    if c["rope_theta"] != 10000.0:
        md["rope_theta"] = repr(float(c["rope_theta"]))
    if c["rms_eps"] != 1e-5:
        md["rms_eps"] = repr(float(c["rms_eps"]))
    md.update(extra or {})
    out = {}
    for name, shape in layout(c):
        if name.startswith("freq_cis"):
            continue  # unused by the forward pass; the C++ loader does without
        out[name] = np.ascontiguousarray(np.asarray(params[name], dtype=np.float32).reshape(shape))
    save_file(out, path, metadata=md)
