"""DiJiang attention in JAX (docs/dijiang.md, model/llm/dijiang.hpp), the parallel form for whole
sequences: per head o_n = sum over m <= n of gamma^(n-m) (phi(q_n) . phi(k_m)) v_m with phi(x) =
softmax(x P), the decay applied as exp((n - m) log gamma) on the causal triangle only (the public code's
gamma^-m factor overflows float), then the group norm (head_size groups over dim channels) and the gate
silu(x W_G^T) * norm. tests/unit/test_dijiang.cpp checks the forward pass against the C++ model's."""
import jax
import jax.numpy as jnp
import numpy as np

NORM_EPS = 1e-5


def dct_matrix(d):
    """C[i][j] = s_i cos(pi (2j + 1) i / 2d), orthonormal DCT-II, computed in double, rounded to float32."""
    i, j = np.arange(d)[:, None], np.arange(d)[None, :]
    s = np.where(i == 0, np.sqrt(1.0 / d), np.sqrt(2.0 / d))
    return (s * np.cos(np.pi * (2 * j + 1) * i / (2.0 * d))).astype(np.float32)


def decays(H):
    """gamma_h from 1 - 1/32 to 1 - 1/512, log-spaced in 1 - gamma (the public code's D1/D2)."""
    a, b = np.log(1 / 32), np.log(1 / 512)
    h = np.arange(H, dtype=np.float64)
    return (1.0 - np.exp(a + h * (b - a) / max(H - 1, 1))).astype(np.float32)


def projections(side):
    """P per layer, [L][d][d]: dct: C[i][j] * w[l][j] (float32 product); random: the stored matrices."""
    if side["feature_map"] == "dct":
        C = dct_matrix(side["head_size"])
        return np.stack([C * w[None, :] for w in np.asarray(side["weight"], dtype=np.float32)])
    return np.asarray(side["projection"], dtype=np.float32)


def attention(P, gate, norm_weight, norm_bias, H):
    """attn(l, xb, q, k, v) for jax_llama.forward; P [L][d][d] fixed, gate [L][dim][dim], norm [L][dim]."""
    gamma = jnp.asarray(decays(H))

    def attn(l, xb, q, k, v):
        B, T, _, hs = q.shape
        dim = H * hs
        pq = jax.nn.softmax(q @ P[l], axis=-1)
        pk = jax.nn.softmax(k @ P[l], axis=-1)
        n = jnp.arange(T)
        gap = (n[:, None] - n[None, :]).astype(jnp.float32)  # n - m
        causal = n[:, None] >= n[None, :]
        decay = jnp.where(causal[None], jnp.exp(gap[None] * jnp.log(gamma)[:, None, None]), 0.0)  # [H, T, T]
        a = jnp.einsum("bqhd,bkhd->bhqk", pq, pk) * decay[None]
        o = jnp.einsum("bhqk,bkhd->bqhd", a, v).reshape(B, T, dim)
        g = o.reshape(B, T, hs, dim // hs)  # head_size groups of dim / head_size consecutive channels
        mean = jnp.mean(g, axis=-1, keepdims=True)
        var = jnp.mean((g - mean) ** 2, axis=-1, keepdims=True)
        normed = ((g - mean) * jax.lax.rsqrt(var + NORM_EPS)).reshape(B, T, dim) * norm_weight[l] + norm_bias[l]
        return jax.nn.silu(xb @ gate[l].T) * normed

    return attn
