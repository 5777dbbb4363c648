#!/usr/bin/env python3
"""DiJiang by layer-by-layer distillation (docs/dijiang.md, "SmolLM2"), JAX on CPU, reproducible by --seed.

One dense pass over the training windows (the calibration part of the real text, `weightstream sample
--text`) records what every layer's attention receives (xb, q and k after RoPE, v). Then, layer by layer,
the DiJiang mixer (train/dijiang/dijiang_jax.py) is fitted to that layer's softmax attention on the same
inputs: loss = |DiJiang(xb, q, k, v) wo^T - softmax(q, k, v) wo^T|^2 / |softmax(q, k, v) wo^T|^2 over the
batch, i.e. the relative squared error of the attention's contribution to the residual stream (after the
layer's own wo, so directions weigh as the model uses them). Adam with a cosine decay, --steps a layer.
Every layer sees the dense model's inputs (the teacher's residual stream), so the layers train
independently of each other; finetune_kl.py is the end-to-end phase that may follow.

Trained per layer: the gate W_G, the group norm's affine and the feature map's per-feature scales w
(P = B diag(w), B fixed: the DCT for --out-dct, w drawn N(0, 1) as distill.py draws it; a Gaussian matrix
for the Performer-style baseline --out-random, w starting at 1), so both maps get the same recipe and the
same d features; the model's own weights stay as they are (the side file runs with the original model).
The last --val windows are held back from training; each layer's fit on them is printed."""
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
import distill  # noqa: E402
import jax_llama  # noqa: E402
import llama_file  # noqa: E402
import side_file  # noqa: E402


def record(dense, c, toks, batch):
    """Per layer the attention's inputs over all windows: xb [L][N][T][dim], q [L][N][T][H][d], k and v
    [L][N][T][KV][d] (the KV heads, before forward() repeats them to the query heads)."""
    rep = c["n_heads"] // c["n_kv_heads"]

    @jax.jit
    def inputs(b):
        rec = []

        def attn(l, xb, q, k, v):
            rec.append((xb, q, k[:, :, ::rep], v[:, :, ::rep]))
            return jax_llama.softmax_attention(l, xb, q, k, v)

        jax_llama.forward(dense, c, b, attn=attn)
        return [jnp.stack(a) for a in zip(*rec)]

    batch = max(b for b in range(1, batch + 1) if len(toks) % b == 0)  # one shape: one compilation
    parts = [inputs(jnp.asarray(toks[i:i + batch])) for i in range(0, len(toks), batch)]
    return [np.concatenate([np.asarray(p[j]) for p in parts], axis=1) for j in range(4)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="fp32 safetensors (weightstream convert --to fp32)")
    ap.add_argument("--tokens", required=True, help="training windows from weightstream sample --text")
    ap.add_argument("--out-dct", help="side file of the DCT feature map (DiJiang)")
    ap.add_argument("--out-random", help="side file of the random-feature baseline")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="Adam steps a layer")
    ap.add_argument("--batch", type=int, default=4, help="windows a step")
    ap.add_argument("--len", type=int, default=256, help="tokens of each window used")
    ap.add_argument("--windows", type=int, default=0, help="windows used (0: all)")
    ap.add_argument("--val", type=int, default=4, help="windows held back to measure each layer's fit")
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()
    maps = [(fm, out) for fm, out in (("dct", a.out_dct), ("random", a.out_random)) if out]
    if not maps:
        ap.error("nothing to do: give --out-dct and/or --out-random")

    wall0, cpu0 = time.time(), time.process_time()
    c, p0 = llama_file.load(a.model)
    toks = stnp.load_file(a.tokens)["tokens"].astype(np.int32)
    if a.windows:
        toks = toks[:a.windows]
    if toks.ndim != 2 or toks.shape[1] < a.len or len(toks) <= a.val:
        sys.exit(f"error: {a.tokens}: {toks.shape} tokens, need more than {a.val} windows of {a.len}")
    toks = toks[:, :a.len]
    dense = jax_llama.device_params(p0)
    xb, q, k, v = record(dense, c, toks, a.batch)
    n_train = len(toks) - a.val
    L, H, KV, dim = c["n_layers"], c["n_heads"], c["n_kv_heads"], c["dim"]
    d, rep = dim // H, H // KV
    print(f"teacher: {len(toks)} windows x {a.len} tokens ({n_train} training, {a.val} held back), {L} layers "
          f"recorded in {time.time() - wall0:.0f} s wall", flush=True)

    def losses(tr, base, wo, xb, q, k, v):
        """Relative squared error of the attention's contribution (after wo) against softmax attention."""
        k, v = jnp.repeat(k, rep, axis=2), jnp.repeat(v, rep, axis=2)
        target = jax.lax.stop_gradient(jax_llama.softmax_attention(0, xb, q, k, v) @ wo.T)
        P = (base * tr["w"][None, :])[None]
        attn = dijiang_jax.attention(P, tr["gate"][None], tr["norm_weight"][None], tr["norm_bias"][None], H)
        out = attn(0, xb, q, k, v) @ wo.T
        return jnp.sum((out - target) ** 2) / jnp.sum(target ** 2)

    opt = optax.adam(optax.cosine_decay_schedule(a.lr, a.steps))

    @jax.jit
    def step(tr, state, base, wo, xb, q, k, v):
        loss, g = jax.value_and_grad(losses)(tr, base, wo, xb, q, k, v)
        upd, state = opt.update(g, state, tr)
        return optax.apply_updates(tr, upd), state, loss

    val_loss = jax.jit(losses)
    for fm, out in maps:
        t_wall, t_cpu = time.time(), time.process_time()
        side = distill.init_side(c, fm, a.seed)
        base = dijiang_jax.dct_matrix(d) if fm == "dct" else None
        scales = side["weight"] if fm == "dct" else np.ones((L, d), dtype=np.float32)
        rng = np.random.default_rng(a.seed)
        report = []
        for l in range(L):
            b_l = jnp.asarray(base if fm == "dct" else side["projection"][l])
            wo = dense["wo"][l]
            tr = {"w": jnp.asarray(scales[l]), "gate": jnp.asarray(side["gate"][l]),
                  "norm_weight": jnp.asarray(side["norm_weight"][l]), "norm_bias": jnp.asarray(side["norm_bias"][l])}
            t_layer = time.time()
            val = [jnp.asarray(x[l, n_train:]) for x in (xb, q, k, v)]
            before = float(val_loss(tr, b_l, wo, *val))
            state = opt.init(tr)
            s = 0
            while s < a.steps:
                for idx in rng.permutation(n_train)[:n_train // a.batch * a.batch].reshape(-1, a.batch):
                    if s == a.steps:
                        break
                    tr, state, loss = step(tr, state, b_l, wo, *(jnp.asarray(x[l, idx]) for x in (xb, q, k, v)))
                    s += 1
            after = float(val_loss(tr, b_l, wo, *val))
            report.append(after)
            print(f"{fm} layer {l:2d}: held-back relative error {before:.4f} -> {after:.4f} (last training batch "
                  f"{float(loss):.4f}), {time.time() - t_layer:.1f} s", flush=True)
            if fm == "dct":
                side["weight"][l] = np.asarray(tr["w"])
            else:
                side["projection"][l] = side["projection"][l] * np.asarray(tr["w"])[None, :]
            for name in ("gate", "norm_weight", "norm_bias"):
                side[name][l] = np.asarray(tr[name])
        wall, cpu = time.time() - t_wall, time.process_time() - t_cpu
        side["metadata"] = {"dijiang_recipe": "layer-by-layer, relative squared error after wo",
                            "dijiang_trained": "w (per-feature scales), gate, norm affine", "dijiang_seed": a.seed,
                            "dijiang_steps_per_layer": a.steps, "dijiang_batch": a.batch, "dijiang_len": a.len,
                            "dijiang_lr": a.lr, "dijiang_windows": f"{n_train} training, {a.val} held back",
                            "dijiang_tokens": os.path.basename(a.tokens), "dijiang_model": os.path.basename(a.model),
                            "dijiang_train_seconds": f"{wall:.1f} wall, {cpu:.1f} CPU"}
        side_file.save(side, out)
        print(f"{out}: {fm}, {L} layers x {a.steps} steps of {a.batch} x {a.len} tokens, mean held-back relative "
              f"error {np.mean(report):.4f}, {wall:.0f} s wall, {cpu:.0f} CPU-s", flush=True)
    print(f"total: {time.time() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} CPU-s", flush=True)


if __name__ == "__main__":
    main()
