#!/usr/bin/env python3
"""LTE router training (docs/lte.md), JAX on CPU, reproducible by --seed.

  stage 1: the routers (with --joint also the model, as the paper does) trained on
           KL(dense || model with soft routing) + eta * mean score + lam * mean 1 / ((score - 0.5)^2 + sep_eps)
           with eta moved every step by dual ascent (eta += eta_rate * (off - fraction of scores <= 0.5),
           eta >= 0) towards --off, and lam ramped from 0 to --lam over the stage (a barrier at 0.5 from the
           start would freeze the experts on the side where the first steps left them);
  calibration: each layer's threshold puts the --off fraction of its router scores on training tokens at
           or below it (halfway between two distinct scores), layer by layer with the layers before it
           routed hard at their thresholds;
  stage 2: hard routing (expert on iff score > threshold), routers frozen, the model fine-tuned on the KL,
           the thresholds re-calibrated every 50 steps and at the end (the model's change moves the
           router inputs, and with them the fraction off). Skipped with --no-finetune: the side file
           then applies to the unchanged model.

Inputs: the model (llama2.c .bin or save_llama safetensors), the grouping from `weightstream lte-experts`,
the training tokens from `weightstream sample`. Outputs: the side file (--out-side) and, unless --no-finetune,
the fine-tuned model in the model file's neuron order (--out-model, safetensors with llama2.c names)."""
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

TRAINED = ["token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight", "w1", "w2", "w3",
           "rms_final_weight", "wcls"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--experts", required=True, help="grouping-only side file from weightstream lte-experts")
    ap.add_argument("--tokens", required=True, help="training tokens from weightstream sample")
    ap.add_argument("--off", type=float, required=True, help="target fraction of experts off, 0 < off < 1")
    ap.add_argument("--out-side", required=True)
    ap.add_argument("--out-model", help="the fine-tuned model (required with stage 2)")
    ap.add_argument("--joint", action="store_true",
                    help="stage 1 trains the model with the routers (the paper); default: the routers only")
    ap.add_argument("--no-finetune", action="store_true", help="no stage 2: the side file is for the unchanged model")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps1", type=int, default=150)
    ap.add_argument("--steps2", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lam", type=float, default=1e-2, help="separability loss weight (reached at the end of stage 1)")
    ap.add_argument("--sep-eps", type=float, default=1e-2)
    ap.add_argument("--eta-rate", type=float, default=0.05, help="dual ascent step of eta per unit of sparsity error")
    a = ap.parse_args()
    if not 0.0 < a.off < 1.0:
        sys.exit("train.py: error: --off must be between 0 and 1")
    if not a.no_finetune and not a.out_model:
        sys.exit("train.py: error: --out-model is required unless --no-finetune")
    frozen = not a.joint

    t0 = time.time()
    c, p0 = llama_file.load(a.model)
    side = side_file.load(a.experts)
    if (side["n_layers"], side["dim"], side["hidden_dim"]) != (c["n_layers"], c["dim"], c["hidden_dim"]):
        sys.exit(f"train.py: error: {a.experts} does not fit {a.model}")
    order, bounds = side["order"], side["bounds"]
    E, L = len(bounds) - 1, c["n_layers"]
    member = lte_jax.membership(bounds)
    p_exp = side_file.to_expert_order(p0, order)
    params = {k: jnp.asarray(v) for k, v in p_exp.items() if k in TRAINED}
    dense = dict(params)
    toks = stnp.load_file(a.tokens)["tokens"].astype(np.int32)[:, :-1]  # inputs; every position is scored
    rng = np.random.default_rng(a.seed)
    router = 0.02 * jax.random.normal(jax.random.PRNGKey(a.seed), (L, E, c["dim"]), dtype=jnp.float32)

    teacher = jax.jit(lambda b: jax_llama.forward(dense, c, b))

    def loss1(params, router, batch, tlog, eta, lam):
        rec = []
        logits = jax_llama.forward(params, c, batch, lte_jax.gated_ffn(router, member, lte_jax.soft, rec))
        s = jnp.stack(rec)
        task = jax_llama.kl(tlog, logits)
        eff = jnp.mean(s)
        sep = jnp.mean(1.0 / ((s - 0.5) ** 2 + a.sep_eps))
        return task + eta * eff + lam * sep, (task, jnp.mean(s <= 0.5))

    trainable = (router,) if frozen else (params, router)
    opt = optax.adam(a.lr)
    state = opt.init(trainable)

    @jax.jit
    def step1(trainable, state, batch, tlog, eta, lam):
        def f(tr):
            pr, ro = (params, tr[0]) if frozen else tr
            return loss1(pr, ro, batch, tlog, eta, lam)
        (loss, aux), g = jax.value_and_grad(f, has_aux=True)(trainable)
        upd, state = opt.update(g, state, trainable)
        return optax.apply_updates(trainable, upd), state, loss, aux

    def batches():
        while True:
            for i in rng.permutation(len(toks)).reshape(-1, a.batch) if len(toks) % a.batch == 0 else \
                    rng.permutation(len(toks))[: len(toks) // a.batch * a.batch].reshape(-1, a.batch):
                yield jnp.asarray(toks[i])

    it = batches()
    eta = 0.0
    t1 = time.time()
    for s in range(a.steps1):
        b = next(it)
        lam = a.lam * s / max(1, a.steps1 - 1)
        trainable, state, loss, (task, off) = step1(trainable, state, b, teacher(b), jnp.float32(eta), jnp.float32(lam))
        # Dual ascent: below the target fraction off, weigh efficiency more; above, less.
        eta = max(0.0, eta + a.eta_rate * (a.off - float(off)))
        if s % 50 == 0 or s == a.steps1 - 1:
            print(f"stage 1 step {s:4d}: loss {float(loss):.4f} KL {float(task):.4f} off@0.5 {float(off):.3f} eta {eta:.4f}",
                  flush=True)
    router = trainable[0] if frozen else trainable[1]
    if not frozen:
        params = trainable[0]
    stage1_s = time.time() - t1

    # Calibration: layer by layer, the --off quantile of the layer's scores on 4 training batches with the
    # layers before it already routed hard at their thresholds (the inference rule; the layers after it
    # do not change its input).
    @jax.jit
    def rec_scores(pr, ro, b, th):
        rec = []
        jax_llama.forward(pr, c, b, lte_jax.gated_ffn(ro, member, lte_jax.hard(th), rec))
        return jnp.stack(rec)

    def cut(sc, off):
        """A threshold with the lowest round(off * n) scores at or below it, halfway to the next distinct
        score, so that no training score (the BOS position's, the same in every sequence) lies on it."""
        s = np.sort(sc)
        k = min(max(int(round(off * s.size)), 1), s.size - 1)
        above = s[k:][s[k:] > s[k - 1]]
        return np.float32((s[k - 1] + above[0]) / 2 if above.size else s[k - 1] + 1e-3)

    def calibrate(pr):
        th = np.full(L, -1.0, dtype=np.float32)  # not yet calibrated: every expert on
        batches = [next(it) for _ in range(4)]
        for l in range(L):
            sc = np.concatenate([np.asarray(rec_scores(pr, router, b, jnp.asarray(th)))[l].ravel() for b in batches])
            th[l] = cut(sc, a.off)
        sc = np.stack([np.asarray(rec_scores(pr, router, b, jnp.asarray(th))).reshape(L, -1) for b in batches], axis=1)
        sc = sc.reshape(L, -1)
        return th, float(np.mean(np.abs(sc - th[:, None]) < 0.01))

    threshold, close = calibrate(params)
    print("thresholds " + " ".join(f"{t:.4f}" for t in threshold) + f"; scores within 0.01 of them: {close:.4f}",
          flush=True)
    t2 = time.time()
    if not a.no_finetune:
        opt2 = optax.adam(a.lr * 0.5)
        state2 = opt2.init(params)

        @jax.jit
        def step2(params, state, batch, tlog, th):
            def f(pr):
                rec = []
                logits = jax_llama.forward(pr, c, batch, lte_jax.gated_ffn(router, member, lte_jax.hard(th), rec))
                return jax_llama.kl(tlog, logits), jnp.mean(jnp.stack(rec) <= th[:, None, None, None])
            (loss, off), g = jax.value_and_grad(f, has_aux=True)(params)
            upd, state = opt2.update(g, state, params)
            return optax.apply_updates(params, upd), state, loss, off

        for s in range(a.steps2):
            if s and s % 50 == 0:
                threshold, close = calibrate(params)
            b = next(it)
            params, state2, loss, off = step2(params, state2, b, teacher(b), jnp.asarray(threshold))
            if s % 50 == 0 or s == a.steps2 - 1:
                print(f"stage 2 step {s:4d}: KL {float(loss):.4f} off {float(off):.3f}", flush=True)
        threshold, close = calibrate(params)
        print("final thresholds " + " ".join(f"{t:.4f}" for t in threshold) +
              f"; scores within 0.01 of them: {close:.4f}", flush=True)
    stage2_s = time.time() - t2

    out = dict(side)
    out["router"] = np.asarray(router)
    out["threshold"] = threshold
    out["metadata"] = dict(side["metadata"], lte_off_target=a.off, lte_seed=a.seed, lte_stage1="joint" if a.joint else "routers only",
                           lte_steps=f"{a.steps1}+{0 if a.no_finetune else a.steps2}", lte_batch=a.batch, lte_lr=a.lr,
                           lte_lambda=a.lam, lte_sep_eps=a.sep_eps, lte_eta_rate=a.eta_rate,
                           lte_eta_final=f"{eta:.6g}",
                           lte_tokens=os.path.basename(a.tokens), lte_model=os.path.basename(a.model),
                           lte_train_seconds=f"{time.time() - t0:.1f}")
    side_file.save(out, a.out_side)
    if not a.no_finetune:
        trained = {k: np.asarray(v) for k, v in params.items()}
        full = dict(p0)
        full.update(side_file.from_expert_order(trained, order))
        llama_file.save(c, full, a.out_model, {"lte_side": os.path.basename(a.out_side)})
    print(f"{a.out_side}: {L} layers x {E} experts, target {a.off:.0%} off; stage 1 {stage1_s:.0f} s, "
          f"stage 2 {stage2_s:.0f} s, total {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
