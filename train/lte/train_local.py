#!/usr/bin/env python3
"""Layer-local LTE stage 1 with the model frozen (docs/lte.md, "SmolLM2-135M"), JAX on CPU, reproducible by
--seed: the affordable stage 1 for a model where train.py's (which back-propagates the KL through every layer
above each router) does not fit the time budget.

  1. one dense pass over the training windows records each layer's FFN input xb (after RMSNorm);
  2. per layer, independently: the router is trained on those inputs with LTE's soft gating (expert e's output
     scaled by its score s_e = sigmoid(xb W_g[e])) on
        |sum_e s_e y_e - y|^2 / |y|^2  +  eta * mean score  +  lam * mean 1 / ((s - 0.5)^2 + sep_eps)
     where y_e is expert e's part of the dense FFN output y = sum_e y_e; eta by dual ascent towards each
     --off fraction (as train.py), lam ramped from 0. The squared error is a quadratic form in the scores,
     s^T G s - 2 s^T b + |y|^2 with G = Y Y^T, b = Y y per token (Y: the experts' outputs, [experts][dim]),
     so G and b are computed once per layer and a step costs the router's product, not the FFN's;
  3. calibration (as train.py): a pass over the first --calib-windows windows per level with each layer's
     threshold set, layer by layer, to the --off quantile of its scores there (halfway between two distinct
     scores), the layers before it already routed hard at theirs (the inference rule).

With --routers-from SIDE only step 3 runs, on that side file's routers (e.g. the 50% routers at 25%).
--time-full-step N only measures what this script avoids: N steps of train.py's stage 1 on SmolLM2.

Writes one side file per --off level (train/lte/side_file.py; the model is unchanged, so no model file).
  train_local.py --model M.safetensors --experts E --tokens T --off 0.25,0.5,0.75 --out OUTDIR/lte
  -> OUTDIR/lte25.safetensors, lte50..., lte75...
Prints per layer the soft loss and the hard-gated relative error, and CPU seconds and wall time."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyenv  # noqa: E402

np, jax, optax, stnp = pyenv.require()
import jax.numpy as jnp  # noqa: E402

import jax_llama  # noqa: E402
import llama_file  # noqa: E402
import lte_jax  # noqa: E402
import side_file  # noqa: E402


def cut(s_sorted, off):
    """train.py's threshold rule in jnp: the lowest round(off * n) scores at or below it, halfway to the next
    distinct score (so no calibration score lies on it)."""
    n = s_sorted.shape[0]
    k = min(max(int(round(off * n)), 1), n - 1)
    lo = s_sorted[k - 1]
    above = jnp.min(jnp.where(s_sorted > lo, s_sorted, jnp.inf))
    return jnp.where(jnp.isfinite(above), (lo + above) / 2, lo + 1e-3)


def time_full_stage1(p, c, member, toks, seed, n):
    """What this script avoids, measured: n steps (after one that compiles) of train.py's stage 1 with the model
    frozen (soft routing in every layer, the KL to the dense teacher back-propagated through every layer above
    each router) on one window; prints wall and CPU seconds per step."""
    L, E, d = c["n_layers"], member.shape[0], c["dim"]
    router = 0.02 * jax.random.normal(jax.random.PRNGKey(seed), (L, E, d), dtype=jnp.float32)
    b = jnp.asarray(toks[:1])
    opt = optax.adam(1e-3)
    teacher = jax.jit(lambda p, b: jax_llama.forward(p, c, b))

    @jax.jit
    def step(p, router, state, tlog):
        def f(r):
            rec = []
            logits = jax_llama.forward(p, c, b, lte_jax.gated_ffn(r, member, lte_jax.soft, rec))
            s = jnp.stack(rec)
            return jax_llama.kl(tlog, logits) + 0.1 * jnp.mean(s) + 0.01 * jnp.mean(1.0 / ((s - 0.5) ** 2 + 0.01))
        loss, g = jax.value_and_grad(f)(router)
        upd, state = opt.update(g, state, router)
        return optax.apply_updates(router, upd), state, loss

    state = opt.init(router)
    t, cpu = time.time(), time.process_time()
    router, state, loss = step(p, router, state, teacher(p, b))
    loss.block_until_ready()
    print(f"full stage 1 (train.py's, model frozen), 1 window x {b.shape[1]} tokens: first step with compilation "
          f"{time.time() - t:.1f} s wall, {time.process_time() - cpu:.1f} s CPU", flush=True)
    t, cpu = time.time(), time.process_time()
    for _ in range(n):
        router, state, loss = step(p, router, state, teacher(p, b))
    loss.block_until_ready()
    w, u = (time.time() - t) / n, (time.process_time() - cpu) / n
    print(f"full stage 1: {w:.2f} s wall, {u:.2f} s CPU per step of {b.shape[1]} tokens ({n} steps timed); "
          f"train.py's 150 steps x 8 x 128 tokens would take about "
          f"{150 * 8 * 128 / b.shape[1] * u / 60:.0f} CPU minutes",
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="llama2.c .bin, save_llama or convert --to fp32 safetensors")
    ap.add_argument("--experts", required=True, help="grouping-only side file from weightstream lte-experts")
    ap.add_argument("--tokens", required=True,
                    help="training windows from weightstream sample (--text: the calibration part)")
    ap.add_argument("--off", default="0.25,0.5,0.75", help="target fractions of experts off, comma-separated")
    ap.add_argument("--out", required=True, help="output prefix: PREFIX25.safetensors etc. (percent of --off)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--windows", type=int, default=0, help="use the first N windows for training (0: all)")
    ap.add_argument("--calib-windows", type=int, default=16, help="windows for the threshold calibration")
    ap.add_argument("--steps", type=int, default=400, help="router steps per layer and level")
    ap.add_argument("--batch", type=int, default=1024, help="tokens per router step")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--lam", type=float, default=1e-2, help="separability loss weight (reached at the last step)")
    ap.add_argument("--sep-eps", type=float, default=1e-2)
    ap.add_argument("--eta-rate", type=float, default=0.05, help="dual ascent step of eta per unit of sparsity error")
    ap.add_argument("--routers-from", metavar="SIDE",
                    help="no training: take this side file's routers for every --off level, only calibrate thresholds")
    ap.add_argument("--time-full-step", type=int, default=0, metavar="N",
                    help="only time N steps of train.py's full stage 1 on one window (the cost this script avoids)")
    a = ap.parse_args()
    offs = [float(v) for v in a.off.split(",")]
    if not offs or any(not 0.0 < f < 1.0 for f in offs):
        sys.exit("train_local.py: error: every --off must be between 0 and 1")
    if a.steps < 1 or a.batch < 1 or a.calib_windows < 1:
        sys.exit("train_local.py: error: --steps, --batch and --calib-windows must be positive")

    t0, c0 = time.time(), time.process_time()
    c, p0 = llama_file.load(a.model)
    side = side_file.load(a.experts)
    if (side["n_layers"], side["dim"], side["hidden_dim"]) != (c["n_layers"], c["dim"], c["hidden_dim"]):
        sys.exit(f"train_local.py: error: {a.experts} does not fit {a.model}")
    toks = stnp.load_file(a.tokens)["tokens"].astype(np.int32)
    if a.windows:
        toks = toks[:a.windows]
    if toks.ndim != 2 or toks.shape[0] < 1 or toks.min() < 0 or toks.max() >= c["vocab_size"]:
        sys.exit(f"train_local.py: error: {a.tokens}: tokens must be [windows][len] ids below {c['vocab_size']}")
    order, bounds = side["order"], side["bounds"]
    E, L, d = len(bounds) - 1, c["n_layers"], c["dim"]
    H = c["hidden_dim"]
    if any(bounds[e + 1] - bounds[e] != H // E for e in range(E)):
        sys.exit("train_local.py: error: needs experts of equal size (hidden_dim a multiple of the expert size)")
    member = lte_jax.membership(bounds)
    p = jax_llama.device_params(side_file.to_expert_order(p0, order))
    del p0
    if a.time_full_step:
        return time_full_stage1(p, c, member, toks, a.seed, a.time_full_step)
    W, T = toks.shape
    N = W * T
    t_dense = t_train = 0.0
    if a.routers_from:
        given = side_file.load(a.routers_from)
        if given["router"] is None or not np.array_equal(given["order"], order):
            sys.exit(f"train_local.py: error: {a.routers_from}: no routers, or another grouping than {a.experts}")
        routers, etas = {f: given["router"] for f in offs}, {f: [float("nan")] for f in offs}
    else:
        routers, etas, t_dense, t_train = train_routers(a, c, p, toks, offs, E, L, d, H, t0)
    calibrate_and_save(a, c, p, side, member, toks, offs, routers, etas, N, t0)
    print(f"train_local.py: dense pass {t_dense:.0f} s, routers {t_train:.0f} s; "
          f"total {time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU", flush=True)


def train_routers(a, c, p, toks, offs, E, L, d, H, t0):
    """Steps 1 and 2: the dense pass, then every layer's router at every level."""
    W, T = toks.shape
    N = W * T
    print(f"{a.model}: {L} layers x {E} experts; {W} windows x {T} tokens = {N} training tokens; "
          f"seed {a.seed}, {a.steps} steps x {a.batch} tokens per layer and level", flush=True)

    # 1. The dense teacher's FFN inputs, every layer (the classifier is not needed: logits are dropped).
    xbs = []

    def recording_ffn(pp, l, xb):
        xbs.append(xb.reshape(-1, d))
        return jax_llama.dense_ffn(pp, l, xb)

    for w0 in range(0, W, 8):  # 8 windows at a time bounds the attention's memory
        jax_llama.forward(p, c, jnp.asarray(toks[w0:w0 + 8]), recording_ffn)
    xb_all = [jnp.concatenate(xbs[l::L]) for l in range(L)]  # [N, dim] per layer, window order
    del xbs
    t_dense = time.time() - t0
    print(f"dense pass: {t_dense:.0f} s wall", flush=True)

    @jax.jit
    def gram(w1, w2, w3, xb):
        """Per token G = Y Y^T [E][E], b = Y y [E], |y|^2, with Y[e] expert e's output (its neurons' part of w2 h)."""
        h = jax.nn.silu(xb @ w1.T) * (xb @ w3.T)                        # [n, H]
        Y = jnp.einsum("nek,dek->ned", h.reshape(-1, E, H // E), w2.reshape(d, E, H // E))  # [n, E, dim]
        y = Y.sum(axis=1)
        return jnp.einsum("ned,nfd->nef", Y, Y), jnp.einsum("ned,nd->ne", Y, y), jnp.sum(y * y, axis=-1)

    opt = optax.adam(a.lr)

    def soft_err(r, G, b, yy):
        """Relative squared error of the soft-gated FFN output: sum over tokens / sum of |y|^2."""
        q = jnp.einsum("ne,nef,nf->n", r, G, r) - 2 * jnp.einsum("ne,ne->n", r, b) + yy
        return jnp.sum(q) / jnp.sum(yy)

    @jax.jit
    def train_layer(router0, xb, G, b, yy, idx, off):
        """Router steps over the minibatches idx [steps][batch]; eta by dual ascent, lam ramped."""
        steps = idx.shape[0]

        def loss(router, i, eta, lam):
            s = jax.nn.sigmoid(xb[i] @ router.T)
            task = soft_err(s, G[i], b[i], yy[i])
            sep = jnp.mean(1.0 / ((s - 0.5) ** 2 + a.sep_eps))
            return task + eta * jnp.mean(s) + lam * sep, (task, jnp.mean(s <= 0.5))

        def step(carry, t):
            router, state, eta = carry
            lam = a.lam * t / max(1, steps - 1)
            (_, (task, frac)), g = jax.value_and_grad(loss, has_aux=True)(router, idx[t], eta, lam)
            upd, state = opt.update(g, state, router)
            # Dual ascent: below the target fraction off, weigh efficiency more; above, less.
            eta = jnp.maximum(0.0, eta + a.eta_rate * (off - frac))
            return (optax.apply_updates(router, upd), state, eta), (task, frac)

        (router, _, eta), (task, frac) = jax.lax.scan(step, (router0, opt.init(router0), jnp.float32(0.0)),
                                                     jnp.arange(steps))
        return router, eta, task[-1], frac[-1]

    @jax.jit
    def hard_err(router, xb, G, b, yy, off):
        """The hard-gated relative error on the training tokens with the layer's --off quantile of scores off."""
        s = jax.nn.sigmoid(xb @ router.T)
        return soft_err((s > jnp.quantile(s.ravel(), off)).astype(jnp.float32), G, b, yy)

    # 2. Routers, layer by layer, every level.
    t1 = time.time()
    routers = {f: np.zeros((L, E, d), np.float32) for f in offs}
    etas = {f: [] for f in offs}
    rng = np.random.default_rng(a.seed)
    nb = min(a.batch, N)
    for l in range(L):
        xb = xb_all[l]
        parts = [gram(p["w1"][l], p["w2"][l], p["w3"][l], xb[i:i + 512]) for i in range(0, N, 512)]
        G, b, yy = (jnp.concatenate([q[j] for q in parts]) for j in range(3))
        idx = jnp.asarray(np.stack([rng.choice(N, nb, replace=False) for _ in range(a.steps)]))
        router0 = 0.02 * jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(a.seed), l), (E, d), jnp.float32)
        line = []
        for f in offs:
            r, eta, task, frac = train_layer(router0, xb, G, b, yy, idx, jnp.float32(f))
            routers[f][l] = np.asarray(r)
            etas[f].append(float(eta))
            he = float(hard_err(r, xb, G, b, yy, jnp.float32(f)))
            line.append(f"{f:.0%}: soft {float(task):.4f} off@0.5 {float(frac):.3f} hard {he:.4f}")
        print(f"layer {l:2d}  " + "  ".join(line), flush=True)
        xb_all[l] = None
    return routers, etas, t_dense, time.time() - t1


def calibrate_and_save(a, c, p, side, member, toks, offs, routers, etas, N, t0):
    """Step 3, and the side files."""
    L = c["n_layers"]
    # 3. Thresholds: per level, layer by layer on the routed model (the layers before already hard).
    t2 = time.time()
    cal = jnp.asarray(toks[:a.calib_windows])
    for f in offs:
        router = jnp.asarray(routers[f])
        th = []

        def calibrating_ffn(pp, l, xb):
            s = lte_jax.scores(router, l, xb)
            t = cut(jnp.sort(s.ravel()), f)
            th.append(t)
            g = (s > t).astype(jnp.float32) @ member
            return (jax.nn.silu(xb @ pp["w1"][l].T) * (xb @ pp["w3"][l].T) * g) @ pp["w2"][l].T

        jax_llama.forward(p, c, cal, calibrating_ffn)
        out = dict(side)
        out["router"] = routers[f]
        out["threshold"] = np.asarray(jnp.stack(th), dtype=np.float32)
        out["metadata"] = dict(side["metadata"], lte_off_target=f, lte_seed=a.seed,
                               lte_stage1="layer-local, model frozen (train_local.py)",
                               lte_steps="0" if a.routers_from else f"{a.steps}+0",
                               lte_batch=min(a.batch, N), lte_lr=a.lr, lte_lambda=a.lam, lte_sep_eps=a.sep_eps,
                               lte_eta_rate=a.eta_rate, lte_train_tokens=N,
                               lte_routers_from=os.path.basename(a.routers_from or ""), lte_calib_tokens=int(cal.size),
                               lte_tokens=os.path.basename(a.tokens), lte_model=os.path.basename(a.model),
                               lte_train_seconds=f"{time.time() - t0:.1f}")
        path = f"{a.out}{round(f * 100)}.safetensors"
        side_file.save(out, path)
        print(f"{path}: thresholds " + " ".join(f"{float(t):.3f}" for t in th) +
              f"; final eta mean {np.mean(etas[f]):.4f}", flush=True)
    print(f"calibration {time.time() - t2:.0f} s", flush=True)


if __name__ == "__main__":
    main()
