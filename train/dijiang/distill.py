#!/usr/bin/env python3
"""DiJiang conversion by distillation (docs/dijiang.md), JAX on CPU, reproducible by --seed.

Every layer's softmax attention is replaced by DiJiang attention (train/dijiang/dijiang_jax.py) and the
model is trained to match the dense model: loss = KL(dense || DiJiang) over every position of sequences
sampled from the dense model (`weightstream sample`). The feature map stays as drawn (the public code
keeps its projection fixed): w ~ N(0, 1) per feature and layer for --feature-map dct, a Gaussian d x d
matrix for the random-feature baseline; trained are the gate W_G, the group norm's affine and the model's
weights (--train attention: wq, wk, wv, wo; --train all: every weight).

Outputs: the side file (--out-side) and the distilled model (--out-model, safetensors with llama2.c
names), which `weightstream eval` runs together."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

np, jax, optax, stnp = pyenv.require()
import jax.numpy as jnp  # noqa: E402

import dijiang_jax  # noqa: E402
import jax_llama  # noqa: E402
import llama_file  # noqa: E402
import side_file  # noqa: E402

ATTENTION = ["wq", "wk", "wv", "wo"]
ALL = ["token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight", "w1", "w2", "w3",
       "rms_final_weight", "wcls"]


def init_side(c, feature_map, seed):
    L, dim, H = c["n_layers"], c["dim"], c["n_heads"]
    d = dim // H
    rng = np.random.default_rng(seed)
    side = {"n_layers": L, "dim": dim, "n_heads": H, "head_size": d, "feature_map": feature_map, "metadata": {}}
    if feature_map == "dct":
        side["weight"] = rng.standard_normal((L, d)).astype(np.float32)
    else:
        side["projection"] = rng.standard_normal((L, d, d)).astype(np.float32)
    bound = 2.0 ** -2.5 * np.sqrt(6.0 / (2 * dim))  # xavier_uniform with the public code's gain
    side["gate"] = rng.uniform(-bound, bound, (L, dim, dim)).astype(np.float32)
    side["norm_weight"] = np.ones((L, dim), dtype=np.float32)
    side["norm_bias"] = np.zeros((L, dim), dtype=np.float32)
    return side


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True, help="training tokens from weightstream sample")
    ap.add_argument("--feature-map", choices=["dct", "random"], default="dct")
    ap.add_argument("--train", choices=["attention", "all"], default="all",
                    help="the model weights trained beside the gate and norm")
    ap.add_argument("--out-side", required=True)
    ap.add_argument("--out-model", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=2e-3)
    a = ap.parse_args()

    t0 = time.time()
    c, p0 = llama_file.load(a.model)
    side = init_side(c, a.feature_map, a.seed)
    P = jnp.asarray(dijiang_jax.projections(side))
    names = [k for k in (ATTENTION if a.train == "attention" else ALL) if k in p0]
    dense = jax_llama.device_params(p0)
    trainable = {"model": {k: dense[k] for k in names},
                 "gate": jnp.asarray(side["gate"]), "norm_weight": jnp.asarray(side["norm_weight"]),
                 "norm_bias": jnp.asarray(side["norm_bias"])}
    toks = stnp.load_file(a.tokens)["tokens"].astype(np.int32)[:, :-1]
    rng = np.random.default_rng(a.seed)
    teacher = jax.jit(lambda b: jax_llama.forward(dense, c, b))

    def student(tr, batch):
        p = dict(dense)
        p.update(tr["model"])
        attn = dijiang_jax.attention(P, tr["gate"], tr["norm_weight"], tr["norm_bias"], c["n_heads"])
        return jax_llama.forward(p, c, batch, attn=attn)

    opt = optax.adam(optax.cosine_decay_schedule(a.lr, a.steps))
    state = opt.init(trainable)

    @jax.jit
    def step(tr, state, batch, tlog):
        loss, g = jax.value_and_grad(lambda t: jax_llama.kl(tlog, student(t, batch)))(tr)
        upd, state = opt.update(g, state, tr)
        return optax.apply_updates(tr, upd), state, loss

    usable = len(toks) // a.batch * a.batch
    t1 = time.time()
    s = 0
    while s < a.steps:
        for idx in rng.permutation(len(toks))[:usable].reshape(-1, a.batch):
            if s == a.steps:
                break
            b = jnp.asarray(toks[idx])
            trainable, state, loss = step(trainable, state, b, teacher(b))
            if s % 50 == 0 or s == a.steps - 1:
                print(f"step {s:4d}: KL {float(loss):.4f}", flush=True)
            s += 1
    train_s = time.time() - t1

    side.update({k: np.asarray(trainable[k]) for k in ("gate", "norm_weight", "norm_bias")})
    side["metadata"] = {"dijiang_seed": a.seed, "dijiang_train": a.train, "dijiang_steps": a.steps,
                        "dijiang_batch": a.batch, "dijiang_lr": a.lr, "dijiang_tokens": os.path.basename(a.tokens),
                        "dijiang_model": os.path.basename(a.model), "dijiang_train_seconds": f"{train_s:.1f}"}
    side_file.save(side, a.out_side)
    full = dict(p0)
    full.update({k: np.asarray(v) for k, v in trainable["model"].items()})
    llama_file.save(c, full, a.out_model, {"dijiang_side": os.path.basename(a.out_side)})
    print(f"{a.out_side}: {a.feature_map}, {c['n_layers']} layers, trained {a.train} for {a.steps} steps in "
          f"{train_s:.0f} s (total {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
