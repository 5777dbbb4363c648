#!/usr/bin/env python3
"""The JAX forward pass of a model with DiJiang attention, for tests/unit/test_dijiang.cpp: the logits of
every position of every sequence (each from position 0), so the C++ model's can be checked against them.

  reference.py --model M --side S --ids "1 2 3,4 5" --out-logits L.f32

L.f32: float32 [positions][vocab], positions of all sequences in order."""
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
import reference_cli  # noqa: E402
import side_file  # noqa: E402


def main():
    a = reference_cli.parser(__doc__, side_required=True).parse_args()
    c, p = llama_file.load(a.model)
    side = side_file.load(a.side)
    p = jax_llama.device_params(p)
    attn = dijiang_jax.attention(jnp.asarray(dijiang_jax.projections(side)), jnp.asarray(side["gate"]),
                                 jnp.asarray(side["norm_weight"]), jnp.asarray(side["norm_bias"]), c["n_heads"])
    logits = []
    for toks in reference_cli.sequences(a.ids):
        logits.append(np.asarray(jax_llama.forward(p, c, toks, attn=attn))[0])
    reference_cli.write_f32(a.out_logits, logits)


if __name__ == "__main__":
    main()
