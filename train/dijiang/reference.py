#!/usr/bin/env python3
"""The JAX forward pass of a model with DiJiang attention, for tests/unit/test_dijiang.cpp: the logits of
every position of every sequence (each from position 0), so the C++ model's can be checked against them.

  reference.py --model M --side S --ids "1 2 3,4 5" --out-logits L.f32

L.f32: float32 [positions][vocab], positions of all sequences in order."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

np, jax, optax, stnp = pyenv.require()
import jax.numpy as jnp  # noqa: E402

import dijiang_jax  # noqa: E402
import jax_llama  # noqa: E402
import llama_file  # noqa: E402
import side_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--side", required=True)
    ap.add_argument("--ids", required=True, help="sequences of token ids, comma-separated")
    ap.add_argument("--out-logits", required=True)
    a = ap.parse_args()
    c, p = llama_file.load(a.model)
    side = side_file.load(a.side)
    p = {k: jnp.asarray(v) for k, v in p.items() if not k.startswith("freq_cis")}
    attn = dijiang_jax.attention(jnp.asarray(dijiang_jax.projections(side)), jnp.asarray(side["gate"]),
                                 jnp.asarray(side["norm_weight"]), jnp.asarray(side["norm_bias"]), c["n_heads"])
    logits = []
    for seq in a.ids.split(","):
        toks = jnp.asarray([[int(t) for t in seq.split()]], dtype=jnp.int32)
        logits.append(np.asarray(jax_llama.forward(p, c, toks, attn=attn))[0])
    np.concatenate(logits).astype(np.float32).tofile(a.out_logits)


if __name__ == "__main__":
    main()
