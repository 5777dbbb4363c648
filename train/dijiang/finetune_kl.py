#!/usr/bin/env python3
"""The end-to-end phase after distill_layers.py (docs/dijiang.md, "SmolLM2"), JAX on CPU, reproducible by
--seed: every layer's DiJiang mixer at once trained on KL(dense || DiJiang) of the next-token distributions
at every position of the training windows (the calibration part of the real text), starting from a side
file. Trained: the same parts as distill_layers.py (the gate, the group norm's affine, per-feature scales
s of the feature map: P = P_side diag(s), s starting at 1); the model's weights stay as they are. The last
--val windows are held back and their KL printed before and after."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="fp32 safetensors (weightstream convert --to fp32)")
    ap.add_argument("--tokens", required=True, help="training windows from weightstream sample --text")
    ap.add_argument("--side", required=True, help="side file to start from (distill_layers.py)")
    ap.add_argument("--out", required=True, help="side file written")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=2, help="windows a step")
    ap.add_argument("--val", type=int, default=4, help="windows held back (the last ones)")
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()

    wall0, cpu0 = time.time(), time.process_time()
    c, p0 = llama_file.load(a.model)
    side = side_file.load(a.side)
    if any(side[k] != v for k, v in (("n_layers", c["n_layers"]), ("dim", c["dim"]), ("n_heads", c["n_heads"]))):
        sys.exit(f"error: {a.side}: a side file for another model shape than {a.model}")
    toks = stnp.load_file(a.tokens)["tokens"].astype(np.int32)[:, :-1]
    if len(toks) <= a.val + a.batch:
        sys.exit(f"error: {a.tokens}: {len(toks)} windows, need more than --val + --batch")
    train, val = toks[:-a.val], jnp.asarray(toks[-a.val:])
    dense = jax_llama.device_params(p0)
    base = jnp.asarray(dijiang_jax.projections(side))
    tr = {"s": jnp.ones(base.shape[::2], dtype=jnp.float32), "gate": jnp.asarray(side["gate"]),
          "norm_weight": jnp.asarray(side["norm_weight"]), "norm_bias": jnp.asarray(side["norm_bias"])}
    # The weights go in as arguments: closed over, XLA would fold them into the program as constants.
    teacher = jax.jit(lambda pp, b: jax_llama.forward(pp, c, b))

    def student(pp, t, b):
        attn = dijiang_jax.attention(base * t["s"][:, None, :], t["gate"], t["norm_weight"], t["norm_bias"],
                                     c["n_heads"])
        return jax_llama.forward(pp, c, b, attn=attn)

    opt = optax.adam(optax.cosine_decay_schedule(a.lr, a.steps))
    state = opt.init(tr)

    @jax.jit
    def step(pp, t, state, b, tlog):
        loss, g = jax.value_and_grad(lambda t: jax_llama.kl(tlog, student(pp, t, b)))(t)
        upd, state = opt.update(g, state, t)
        return optax.apply_updates(t, upd), state, loss

    val_kl = jax.jit(lambda pp, t: jax_llama.kl(teacher(pp, val), student(pp, t, val)))
    before = float(val_kl(dense, tr))
    print(f"{a.side}: held-back KL {before:.4f} nats/token ({a.val} windows x {val.shape[1]} tokens)", flush=True)
    rng = np.random.default_rng(a.seed)
    s = 0
    while s < a.steps:
        for idx in rng.permutation(len(train))[:len(train) // a.batch * a.batch].reshape(-1, a.batch):
            if s == a.steps:
                break
            b = jnp.asarray(train[idx])
            tr, state, loss = step(dense, tr, state, b, teacher(dense, b))
            if s % 10 == 0 or s == a.steps - 1:
                print(f"step {s:3d}: KL {float(loss):.4f} ({time.time() - wall0:.0f} s)", flush=True)
            s += 1
    after = float(val_kl(dense, tr))
    scale = np.asarray(tr["s"])
    if side["feature_map"] == "dct":
        side["weight"] = np.asarray(side["weight"]) * scale
    else:
        side["projection"] = np.asarray(side["projection"]) * scale[:, None, :]
    side.update({k: np.asarray(tr[k]) for k in ("gate", "norm_weight", "norm_bias")})
    wall, cpu = time.time() - wall0, time.process_time() - cpu0
    side["metadata"].update({"dijiang_kl_steps": a.steps, "dijiang_kl_batch": a.batch, "dijiang_kl_lr": a.lr,
                             "dijiang_kl_seed": a.seed, "dijiang_kl_seconds": f"{wall:.1f} wall, {cpu:.1f} CPU"})
    side_file.save(side, a.out)
    print(f"{a.out}: held-back KL {before:.4f} -> {after:.4f} nats/token after {a.steps} steps of {a.batch} windows, "
          f"{wall:.0f} s wall, {cpu:.0f} CPU-s", flush=True)


if __name__ == "__main__":
    main()
