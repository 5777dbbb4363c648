#!/usr/bin/env python3
"""An independent reference for the llama forward pass, the tokenizer and the chat template, for the
tests of docs/llm.md. Nothing here shares code with model/: the weights come from the gguf PyPI package
(gguf-py, llama.cpp's own Python reader, `dequantize`), the forward pass is written in numpy in float64
in transformers' form (q/k rows put back in HF order, rotate-half RoPE), the tokenizer is HF `tokenizers`
built from the file's vocabulary and merges, the chat template is rendered by jinja2.
Installs numpy, gguf, tokenizers and jinja2 with pip when missing (small wheels; no PyTorch).

  logits   --gguf F --ids "1 2 3,4 5" --out L.f32   logits of every position of every prompt, float32
  greedy   --gguf F --prompt TEXT --n N [--chat]    greedy decode of N tokens; prints ids and text (JSON)
  tokenize --gguf F --strings S.json --out I.json   ids of each string (special tokens matched)
  chat     --gguf F --prompt TEXT                   the template rendered for one user message
  hf       --gguf F --out DIR                       an HF-style checkpoint: model.safetensors + config.json
"""
import argparse
import json
import os
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import pyrequire  # noqa: E402  (the one on-first-use pip installer)


def require(*modules):
    """Imports the modules, installing their PyPI packages first if any is missing."""
    return pyrequire.require(modules, ["numpy", "gguf", "tokenizers", "jinja2"], "smollm2_reference")


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: BLAS threads fighting on 2 cores are slower
np, gguf = require("numpy", "gguf")


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


class Model:
    """SmolLM2 (llama) from a GGUF file, in transformers' LlamaForCausalLM form."""

    def __init__(self, path):
        from gguf.quants import dequantize
        r = gguf.GGUFReader(path)
        self.reader = r
        a = "llama."
        self.n_layers = field(r, a + "block_count")
        self.dim = field(r, a + "embedding_length")
        self.n_heads = field(r, a + "attention.head_count")
        self.n_kv = field(r, a + "attention.head_count_kv")
        self.theta = float(field(r, a + "rope.freq_base"))
        self.eps = float(field(r, a + "attention.layer_norm_rms_epsilon"))
        self.hd = self.dim // self.n_heads
        self.t = {}
        for t in r.tensors:
            w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
            self.t[t.name] = w.reshape([int(d) for d in reversed(t.shape)])
        for l in range(self.n_layers):  # llama.cpp's converter permuted these rows; undo it
            for name, heads in (("attn_q", self.n_heads), ("attn_k", self.n_kv)):
                key = f"blk.{l}.{name}.weight"
                self.t[key] = self.unpermute(self.t[key], heads)

    @staticmethod
    def unpermute(w, heads):
        """The inverse of convert_hf_to_gguf.py's permute: GGUF row 2i+j of a head is HF row j*hd/2 + i."""
        out, inp = w.shape
        return w.reshape(heads, out // heads // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)

    def w(self, name):
        return self.t[name].astype(np.float64)

    def forward(self, ids):
        """Logits [len(ids)][vocab] of a whole sequence, causal attention, float64."""
        T, hd, H, KV = len(ids), self.hd, self.n_heads, self.n_kv
        emb = self.t["token_embd.weight"]
        x = emb[ids].astype(np.float64)
        pos = np.arange(T, dtype=np.float64)
        inv = 1.0 / self.theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
        ang = np.outer(pos, inv)
        cos = np.concatenate([np.cos(ang)] * 2, axis=1)[:, None, :]
        sin = np.concatenate([np.sin(ang)] * 2, axis=1)[:, None, :]

        def rope(v):  # transformers' apply_rotary_pos_emb: rotate_half pairs i with i + hd/2
            v1, v2 = v[..., :hd // 2], v[..., hd // 2:]
            return v * cos + np.concatenate([-v2, v1], axis=-1) * sin

        def norm(v, g):
            return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + self.eps) * g.astype(np.float64)

        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(self.n_layers):
            b = f"blk.{l}."
            h = norm(x, self.t[b + "attn_norm.weight"])
            q = rope((h @ self.w(b + "attn_q.weight").T).reshape(T, H, hd))
            k = rope((h @ self.w(b + "attn_k.weight").T).reshape(T, KV, hd))
            v = (h @ self.w(b + "attn_v.weight").T).reshape(T, KV, hd)
            k = np.repeat(k, H // KV, axis=1)
            v = np.repeat(v, H // KV, axis=1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            o = np.einsum("hts,shd->thd", s, v).reshape(T, H * hd)
            x = x + o @ self.w(b + "attn_output.weight").T
            h = norm(x, self.t[b + "ffn_norm.weight"])
            g = h @ self.w(b + "ffn_gate.weight").T
            u = h @ self.w(b + "ffn_up.weight").T
            x = x + (g / (1.0 + np.exp(-g)) * u) @ self.w(b + "ffn_down.weight").T
        x = norm(x, self.t["output_norm.weight"])
        out = self.t.get("output.weight", emb)  # tied embeddings
        return x @ out.astype(np.float64).T


def tokenizer(reader):
    """HF tokenizers' byte-level BPE from the file's vocabulary and merges, with SmolLM2's pre-tokenizer
    (tokenizer.json: Digits(individual_digits) then ByteLevel(add_prefix_space=False)) and its control
    tokens as special tokens."""
    (tk,) = require("tokenizers")
    pre = field(reader, "tokenizer.ggml.pre")
    if field(reader, "tokenizer.ggml.model") != "gpt2" or pre not in ("smollm", "gpt2"):
        sys.exit(f"smollm2_reference: tokenizer {field(reader, 'tokenizer.ggml.model')}/{pre} not handled")
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    t = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=merges))
    steps = [tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    if pre == "smollm":
        steps.insert(0, tk.pre_tokenizers.Digits(individual_digits=True))
    t.pre_tokenizer = tk.pre_tokenizers.Sequence(steps)
    t.decoder = tk.decoders.ByteLevel()
    t.add_special_tokens([tk.AddedToken(tokens[i], special=True, normalized=False)
                          for i in range(len(tokens)) if types[i] == 3])
    return t


def chat_text(reader, prompt):
    (jinja2,) = require("jinja2")
    template = jinja2.Environment().from_string(field(reader, "tokenizer.chat_template"))
    return template.render(messages=[{"role": "user", "content": prompt}], add_generation_prompt=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["logits", "greedy", "tokenize", "chat", "hf"])
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--ids")
    ap.add_argument("--prompt")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--chat", action="store_true")
    ap.add_argument("--strings")
    ap.add_argument("--out")
    args = ap.parse_args()
    if not args.gguf or not Path(args.gguf).is_file():
        sys.exit(f"smollm2_reference: GGUF file '{args.gguf}' not found (run make deps, then reconfigure)")
    start = time.time()

    if args.mode in ("tokenize", "chat"):
        reader = gguf.GGUFReader(args.gguf)
        if args.mode == "chat":
            sys.stdout.write(chat_text(reader, args.prompt))
            return
        tok = tokenizer(reader)
        strings = json.loads(Path(args.strings).read_text(encoding="utf-8"))
        ids = [e.ids for e in tok.encode_batch(strings, add_special_tokens=False)]
        Path(args.out).write_text(json.dumps(ids))
        return

    m = Model(args.gguf)
    if args.mode == "logits":
        with open(args.out, "wb") as f:
            for prompt in args.ids.split(","):
                f.write(m.forward([int(i) for i in prompt.split()]).astype("<f4").tobytes())
    elif args.mode == "greedy":
        tok = tokenizer(m.reader)
        text = chat_text(m.reader, args.prompt) if args.chat else args.prompt
        ids = tok.encode(text, add_special_tokens=False).ids
        out = []
        for _ in range(args.n):  # the whole sequence again each step: slow but plainly right
            nxt = int(np.argmax(m.forward(ids + out)[-1]))
            out.append(nxt)
            if nxt == field(m.reader, "tokenizer.ggml.eos_token_id"):
                break
        print(json.dumps({"prompt_ids": ids, "ids": out, "text": tok.decode(out, skip_special_tokens=True)}))
    elif args.mode == "hf":
        write_hf(m, Path(args.out))
    print(f"smollm2_reference: {args.mode} in {time.time() - start:.1f} s", file=sys.stderr)


def write_hf(m, out):
    """transformers' names, HF row order of q/k, F32, config.json beside: what a HF checkpoint holds."""
    out.mkdir(parents=True, exist_ok=True)
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                 "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                 "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_down": "mlp.down_proj",
                 "ffn_up": "mlp.up_proj"}
    for l in range(m.n_layers):
        for g, h in per_layer.items():
            names[f"blk.{l}.{g}.weight"] = f"model.layers.{l}.{h}.weight"
    header, blobs, offset = {}, [], 0
    for name, hf in names.items():
        if name not in m.t:
            continue
        a = np.ascontiguousarray(m.t[name], dtype="<f4")
        header[hf] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a)
        offset += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(out / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for a in blobs:
            f.write(a.tobytes())
    r = m.reader
    config = {"model_type": "llama", "hidden_size": m.dim, "num_hidden_layers": m.n_layers,
              "intermediate_size": field(r, "llama.feed_forward_length"), "num_attention_heads": m.n_heads,
              "num_key_value_heads": m.n_kv, "rope_theta": m.theta, "rms_norm_eps": m.eps,
              "max_position_embeddings": field(r, "llama.context_length"), "vocab_size": len(m.t["token_embd.weight"]),
              "tie_word_embeddings": "output.weight" not in m.t}
    (out / "config.json").write_text(json.dumps(config, indent=1))


if __name__ == "__main__":
    main()
