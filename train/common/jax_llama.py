"""The llama forward pass in JAX, in run.c's form (model/llm/llama.cpp): RMSNorm weight * (x / rms),
RoPE on adjacent pairs (2i, 2i+1) of each head with the angle computed from position and head dim,
grouped-query attention with a causal mask, SwiGLU, the shared or separate classifier. Whole sequences
at once (teacher forcing), float32. The FFN and the attention are parameters so that training scripts
can replace them (train/lte, train/dijiang).
tests/unit/test_lte.cpp checks its logits against the C++ model's on the same weights and tokens."""
import jax
import jax.numpy as jnp


def rmsnorm(x, w, eps):
    ss = jnp.mean(x * x, axis=-1, keepdims=True) + eps
    return w * (x * jax.lax.rsqrt(ss))


def rope(v, theta, head_size):
    """v: [B, T, heads, head_size]; rotates pairs (2i, 2i+1) by pos * theta^(-2i / head_size)."""
    T = v.shape[1]
    i = jnp.arange(0, head_size, 2, dtype=jnp.float32)
    freq = 1.0 / jnp.power(jnp.float32(theta), i / head_size)
    ang = jnp.arange(T, dtype=jnp.float32)[:, None] * freq[None, :]   # [T, head_size/2]
    c, s = jnp.cos(ang)[None, :, None, :], jnp.sin(ang)[None, :, None, :]
    v0, v1 = v[..., 0::2], v[..., 1::2]
    return jnp.stack([v0 * c - v1 * s, v0 * s + v1 * c], axis=-1).reshape(v.shape)


def dense_ffn(p, l, xb):
    h = jax.nn.silu(xb @ p["w1"][l].T) * (xb @ p["w3"][l].T)
    return h @ p["w2"][l].T


def softmax_attention(l, xb, q, k, v):
    """Causal softmax attention: q, k, v [B, T, heads, head_size] -> [B, T, dim]."""
    B, T, H, hs = q.shape
    mask = jnp.tril(jnp.ones((T, T), dtype=bool))
    att = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(jnp.float32(hs))
    att = jax.nn.softmax(jnp.where(mask, att, -jnp.inf), axis=-1)
    return jnp.einsum("bhqk,bkhd->bqhd", att, v).reshape(B, T, H * hs)


def device_params(p):
    """The arrays forward() reads, as JAX arrays: every one but the RoPE tables, which it computes itself."""
    return {k: jnp.asarray(v) for k, v in p.items() if not k.startswith("freq_cis")}


def forward(p, c, tokens, ffn=dense_ffn, attn=softmax_attention):
    """tokens: int [B, T] at positions 0..T-1 -> logits [B, T, vocab]. ffn(p, l, xb) -> [B, T, dim];
    attn(l, xb, q, k, v) -> [B, T, dim], q and k after RoPE, k and v repeated to the query heads."""
    B, T = tokens.shape
    d, H, KV = c["dim"], c["n_heads"], c["n_kv_heads"]
    hs = d // H
    x = p["token_embedding_table"][tokens]
    for l in range(c["n_layers"]):
        xb = rmsnorm(x, p["rms_att_weight"][l], c["rms_eps"])
        q = rope((xb @ p["wq"][l].T).reshape(B, T, H, hs), c["rope_theta"], hs)
        k = rope((xb @ p["wk"][l].T).reshape(B, T, KV, hs), c["rope_theta"], hs)
        v = (xb @ p["wv"][l].T).reshape(B, T, KV, hs)
        k = jnp.repeat(k, H // KV, axis=2)  # query head h reads kv head h / (H / KV)
        v = jnp.repeat(v, H // KV, axis=2)
        x = x + attn(l, xb, q, k, v) @ p["wo"][l].T
        x = x + ffn(p, l, rmsnorm(x, p["rms_ffn_weight"][l], c["rms_eps"]))
    x = rmsnorm(x, p["rms_final_weight"], c["rms_eps"])
    cls = p["token_embedding_table"] if c["shared_classifier"] else p["wcls"]
    return x @ cls.T


def kl(teacher_logits, logits):
    """Mean KL(teacher || model) per position, in nats: the distillation loss of train/lte and train/dijiang."""
    lt = jax.nn.log_softmax(teacher_logits, axis=-1)
    ls = jax.nn.log_softmax(logits, axis=-1)
    return jnp.mean(jnp.sum(jnp.exp(lt) * (lt - ls), axis=-1))
