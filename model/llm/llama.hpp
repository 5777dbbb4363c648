// The fp32 forward pass of the llama family, computed exactly as llama2.c's run.c does it (RMSNorm,
// RoPE computed from position and head dim on adjacent pairs, grouped-query attention, SwiGLU, shared
// classifier), with the RoPE base and RMS epsilon of the config (run.c's constants for llama2.c files),
// a KV cache, run.c's seeded sampler, and a hook through which every linear layer's matrix-vector
// product passes (to observe it for calibration, or to compute it elsewhere).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "files/llama2c.hpp"

namespace ws {

// The dimensions of the .bin header (shared with the .bin reader), plus the two constants llama2.c
// fixes and other files state (GGUF: llama.rope.freq_base, llama.attention.layer_norm_rms_epsilon).
// The head dimension is dim / n_heads (head_size()); the loaders refuse files that say otherwise.
struct LlamaConfig : Llama2cConfig {
  float rope_theta = 10000.0f;  // RoPE base; run.c's 10000
  float rms_eps = 1e-5f;        // RMSNorm epsilon; run.c's 1e-5
  LlamaConfig() = default;
  LlamaConfig(const Llama2cConfig& c) : Llama2cConfig(c) {}  // a llama2.c model: run.c's constants
};

// Throws ws::FormatError for a non-positive or absurdly large dimension, heads that do not divide dim
// into even heads, a RoPE base or RMS epsilon out of range: before anything is sized from c.
void validate_config(const LlamaConfig& c);

// Same dimensions (dim, hidden_dim, layers, heads, kv heads, vocab, seq_len) and constants.
bool same_config(const LlamaConfig& a, const LlamaConfig& b);

// The linear layers of a transformer layer in .bin order, then the classifier.
enum class LinearKind : int { wq = 0, wk, wv, wo, w1, w2, w3, cls };
constexpr int kLayerLinears = 7;  // wq .. w3: the ones stacked over layers, and the ones pruned
const char* linear_name(LinearKind k);  // "wq", ..., "wcls"
int linear_out(const LlamaConfig& c, LinearKind k);
int linear_in(const LlamaConfig& c, LinearKind k);

struct LlamaWeights {
  LlamaConfig config;
  std::vector<float> token_embedding_table;  // [vocab][dim]
  std::vector<float> rms_att_weight;         // [L][dim]
  std::vector<float> rms_ffn_weight;         // [L][dim]
  std::vector<float> rms_final_weight;       // [dim]
  std::vector<float> freq_cis_real;          // [seq_len][head_size/2]; carried along, unused:
  std::vector<float> freq_cis_imag;          //   the forward pass computes RoPE as run.c does
  std::vector<float> wcls;                   // [vocab][dim], only when !shared_classifier
  std::array<std::vector<float>, kLayerLinears> linear;  // [L][out][in], indexed by LinearKind
  // Per linear kind, empty (identity) or [L][in]: column j of the stored matrix multiplies x[perm[j]].
  std::array<std::vector<int32_t>, kLayerLinears> perm;

  // Throws ws::FormatError when a size or a permutation is inconsistent with the config.
  void validate() const;
};

// One product y = W x handed to the hook.
struct LinearView {
  LinearKind kind = LinearKind::wq;
  int layer = -1;                 // -1 for the classifier
  int out = 0;
  int in = 0;
  const float* w = nullptr;       // [out][in] row-major, columns in stored (permuted) order
  const int32_t* perm = nullptr;  // nullptr = identity; else column j reads x[perm[j]]
};

// run.c's matmul: y[i] = sum over j = 0..in-1 of w[i][j] * x[perm[j]], accumulated in float in order j.
void matvec(const LinearView& lv, const float* x, float* y);

// Must write lv.out values to y. To observe, record x and call matvec.
using LinearHook = std::function<void(const LinearView& lv, const float* x, float* y)>;

// Decides per token and layer which experts of the FFN run (LTE, docs/lte.md). The hidden neurons must be
// in expert order (llm/lte.hpp, expert_ordered): expert e is the neurons bounds()[e] .. bounds()[e+1]-1.
// An expert switched off is neither read nor multiplied: the hook sees w1/w3 views of the active experts'
// rows only (one view per run of consecutive active experts, `out` its rows, `w` its first row) and one
// w2 view whose `in` is the active neurons (columns gathered in their order; with a pruned model's
// expert-local w2 shuffle, `perm` over the gathered columns), so the w2 sum is the dense one with the
// inactive products (exact zeros) left out, bit for bit.
class FfnGate {
 public:
  virtual ~FfnGate() = default;
  virtual const std::vector<int>& bounds() const = 0;  // experts + 1 entries, 0 .. hidden_dim
  // Sets active[e] (1 = runs) for layer `layer` from the FFN input xb (after RMSNorm, dim values).
  virtual void route(int layer, const float* xb, uint8_t* active) = 0;
};

// Replaces softmax attention over the KV cache (DiJiang, llm/dijiang.hpp). Per token and layer it gets
// the attention input x (after RMSNorm, dim values), q after RoPE (n_heads x head_size), this position's
// k after RoPE and v (kv_dim each), and writes the dim values that wo multiplies. The model then keeps no
// KV cache (Llama::set_attention frees it); the mixer keeps whatever state it needs.
class AttentionMixer {
 public:
  virtual ~AttentionMixer() = default;
  virtual void attend(int layer, int pos, const float* x, const float* q, const float* k, const float* v,
                      float* out) = 0;
};

// run.c's softmax (max, exp(x - max) summed in order, divided) and silu (x * (1 / (1 + exp(-x)))).
void softmax(float* x, int size);
float silu(float x);

class ThreadPool;
// matvec with its rows split over the pool's threads: each row's sum is run.c's, so y is bit for bit
// matvec's. The pool must outlive the hook.
LinearHook parallel_matvec(ThreadPool& pool, unsigned threads);

class Llama {
 public:
  // Keeps a reference to w, which must outlive the model. Throws ws::FormatError if w is inconsistent.
  // The KV cache holds max_seq positions (0 or above seq_len: seq_len); a model with a long context
  // (SmolLM2: 8192, 377 MB of cache) need not pay for positions it will not reach.
  explicit Llama(const LlamaWeights& w, int max_seq = 0);
  void set_hook(LinearHook hook) { hook_ = std::move(hook); }  // empty: matvec
  // nullptr: the dense FFN. The gate must outlive the model's use of it and match its hidden_dim; a w2
  // column permutation must keep each expert's columns in its block (std::invalid_argument otherwise).
  void set_ffn_gate(FfnGate* gate);
  // nullptr: softmax attention over the KV cache. The mixer must outlive the model's use of it; while
  // one is set the KV cache holds no memory (call it between sequences: the cache starts empty).
  void set_attention(AttentionMixer* mixer);
  // The logits after token at position pos; the KV cache holds positions 0..pos-1 from earlier calls
  // (run.c's contract: call with pos = 0, 1, 2, ...). Throws std::invalid_argument on a bad token/pos.
  const std::vector<float>& forward(int token, int pos);
  const LlamaConfig& config() const { return w_.config; }
  int max_seq() const { return max_seq_; }

 private:
  LinearView view(LinearKind kind, int layer) const;  // the whole matrix
  void apply(const LinearView& lv, const float* x, float* y);  // through the hook
  void linear(LinearKind kind, int layer, const float* x, float* y);
  void gated_ffn(int layer);  // xb_ -> xb_ with the gate's experts only
  void size_kv_cache();       // max_seq_ positions, or none with a mixer

  const LlamaWeights& w_;
  int max_seq_;
  LinearHook hook_;
  FfnGate* gate_ = nullptr;
  AttentionMixer* mixer_ = nullptr;
  std::vector<float> k_, v_, mixed_;  // with a mixer: this position's k and v, and the mixer's output
  std::vector<uint8_t> active_;    // [experts] of the gated layer
  std::vector<float> w2_active_;   // [dim][active neurons]: w2's active columns, gathered
  std::vector<float> h_active_;    // [active neurons]
  std::vector<int32_t> perm_active_;  // w2's expert-local column permutation over the gathered columns
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, att_, logits_;
  std::vector<float> key_cache_, value_cache_;  // [L][seq_len][kv_dim]
};

// run.c's sampler (xorshift64*; multinomial over softmax(logits / temperature); argmax at 0).
class Sampler {
 public:
  explicit Sampler(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}  // 0 would stick
  uint32_t random_u32();
  float random_f32();  // in [0, 1)
  int sample(const std::vector<float>& logits, float temperature);

 private:
  uint64_t state_;
};

constexpr int kBosToken = 1;  // llama2.c's BOS: every llama2.c sequence starts with it

// n sequences sampled from the model, each [start, t1 .. t_len] (len + 1 tokens, len <= seq_len). start
// is the model file's BOS (llama2.c: kBosToken; a GGUF file: tokenizer.ggml.bos_token_id).
std::vector<std::vector<int>> sample_sequences(const LlamaWeights& w, int n, int len, uint64_t seed,
                                               float temperature = 1.0f, int start = kBosToken);

}  // namespace ws
