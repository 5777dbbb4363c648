#!/usr/bin/env python3
"""The JAX forward pass on a model, with or without an LTE side file, for tests/unit/test_lte.cpp: the
logits of every position of every sequence (each from position 0) and, with a side file, every router
score, so the C++ model's logits and expert choices can be checked against it. Installs the training
framework on first use (train/common/pyenv.py).

  reference.py --model M [--side S] --ids "1 2 3,4 5" --out-logits L.f32 [--out-scores S.f32]

L.f32: float32 [positions][vocab], S.f32: float32 [positions][layers][experts], positions of all
sequences in order. With a side file the model runs in its expert order with hard routing: expert e of
layer l on iff its score > threshold[l]."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

np, jax, optax, stnp = pyenv.require()
import jax.numpy as jnp  # noqa: E402

import jax_llama  # noqa: E402
import llama_file  # noqa: E402
import lte_jax  # noqa: E402
import reference_cli  # noqa: E402
import side_file  # noqa: E402


def main():
    ap = reference_cli.parser(__doc__, side_required=False)
    ap.add_argument("--out-scores")
    a = ap.parse_args()
    c, p = llama_file.load(a.model)
    side = side_file.load(a.side) if a.side else None
    if side is not None:
        if side["router"] is None:
            sys.exit("reference.py: error: the side file has no routers")
        p = side_file.to_expert_order(p, side["order"])
        member = lte_jax.membership(side["bounds"])
        router, th = jnp.asarray(side["router"]), jnp.asarray(side["threshold"])
    p = jax_llama.device_params(p)
    logits, scores = [], []
    for toks in reference_cli.sequences(a.ids):
        if side is None:
            logits.append(np.asarray(jax_llama.forward(p, c, toks))[0])
            continue
        rec = []
        out = jax_llama.forward(p, c, toks, lte_jax.gated_ffn(router, member, lte_jax.hard(th), rec))
        logits.append(np.asarray(out)[0])
        scores.append(np.stack([np.asarray(s)[0] for s in rec], axis=1))  # [T][L][E]
    reference_cli.write_f32(a.out_logits, logits)
    if a.out_scores and scores:
        reference_cli.write_f32(a.out_scores, scores)


if __name__ == "__main__":
    main()
