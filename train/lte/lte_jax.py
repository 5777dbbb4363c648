"""LTE's FFN in JAX (docs/lte.md): the hidden neurons in expert order, a router per layer with
score = sigmoid(xb W_g^T) per expert; stage 1 scales each expert's output by its score (soft), stage 2 and
inference keep the experts whose score is above the layer's threshold (hard, 0 or 1)."""
import jax
import jax.numpy as jnp
import numpy as np


def membership(bounds):
    """[experts][hidden] 0/1: row e marks expert e's neurons."""
    m = np.zeros((len(bounds) - 1, bounds[-1]), dtype=np.float32)
    for e in range(len(bounds) - 1):
        m[e, bounds[e]:bounds[e + 1]] = 1.0
    return jnp.asarray(m)


def scores(router, l, xb):
    return jax.nn.sigmoid(xb @ router[l].T)  # [B, T, experts]


def gated_ffn(router, member, gate_of_scores, record=None):
    """An ffn(p, l, xb) for jax_llama.forward: expert e's neurons multiplied by gate_of_scores(l, s)[..., e].
    With `record` (a list), appends each layer's scores."""
    def ffn(p, l, xb):
        s = scores(router, l, xb)
        if record is not None:
            record.append(s)
        g = gate_of_scores(l, s) @ member  # [B, T, hidden]
        h = jax.nn.silu(xb @ p["w1"][l].T) * (xb @ p["w3"][l].T) * g
        return h @ p["w2"][l].T
    return ffn


def soft(l, s):
    return s


def hard(threshold):
    return lambda l, s: (s > threshold[l]).astype(jnp.float32)
