// The llama2.c forward pass and sampler; each step mirrors run.c: the same float operations in the
// same order (llama2.c itself is not built here, so bit equality with it is intended, not tested).
#include "llm/llama.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/threads.hpp"

namespace ws {

const char* linear_name(LinearKind k) {
  switch (k) {
    case LinearKind::wq: return "wq";
    case LinearKind::wk: return "wk";
    case LinearKind::wv: return "wv";
    case LinearKind::wo: return "wo";
    case LinearKind::w1: return "w1";
    case LinearKind::w2: return "w2";
    case LinearKind::w3: return "w3";
    case LinearKind::cls: return "wcls";
  }
  return "?";
}

bool same_config(const LlamaConfig& a, const LlamaConfig& b) {
  return a.dim == b.dim && a.hidden_dim == b.hidden_dim && a.n_layers == b.n_layers && a.n_heads == b.n_heads &&
         a.n_kv_heads == b.n_kv_heads && a.vocab_size == b.vocab_size && a.seq_len == b.seq_len &&
         a.rope_theta == b.rope_theta && a.rms_eps == b.rms_eps;
}

int linear_out(const LlamaConfig& c, LinearKind k) {
  switch (k) {
    case LinearKind::wq: case LinearKind::wo: case LinearKind::w2: return c.dim;
    case LinearKind::wk: case LinearKind::wv: return c.kv_dim();
    case LinearKind::w1: case LinearKind::w3: return c.hidden_dim;
    case LinearKind::cls: return c.vocab_size;
  }
  return 0;
}

int linear_in(const LlamaConfig& c, LinearKind k) {
  return k == LinearKind::w2 ? c.hidden_dim : c.dim;
}

namespace {

void expect_size(const std::vector<float>& v, size_t n, const char* name) {
  if (v.size() != n)
    throw FormatError(std::string("tensor ") + name + " has " + std::to_string(v.size()) +
                      " values, expected " + std::to_string(n));
}

// run.c's rmsnorm, in its order of operations.
void rmsnorm(float* o, const float* x, const float* weight, int size, float eps) {
  float ss = 0.0f;
  for (int j = 0; j < size; j++) ss += x[j] * x[j];
  ss /= size;
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < size; j++) o[j] = weight[j] * (ss * x[j]);
}

// SwiGLU of one neuron, run.c's order: silu(w1 x) * (w3 x).
float swiglu(float gate, float up) { return silu(gate) * up; }

}  // namespace

float silu(float x) {
  float val = x;
  val *= (1.0f / (1.0f + std::exp(-val)));
  return val;
}

void softmax(float* x, int size) {
  float max_val = x[0];
  for (int i = 1; i < size; i++)
    if (x[i] > max_val) max_val = x[i];
  float sum = 0.0f;
  for (int i = 0; i < size; i++) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < size; i++) x[i] /= sum;
}

void validate_config(const LlamaConfig& c) {
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
      c.vocab_size <= 0 || c.seq_len <= 0)
    throw FormatError("config has a non-positive dimension");
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || c.head_size() % 2 != 0)
    throw FormatError("config: dim, n_heads and n_kv_heads do not divide into even heads");
  // Keep every size product far from int overflow.
  if (c.dim > (1 << 16) || c.hidden_dim > (1 << 18) || c.n_layers > 4096 || c.vocab_size > (1 << 20) ||
      c.seq_len > (1 << 20))
    throw FormatError("config dimensions too large");
  if (!(c.rope_theta > 0.0f) || !(c.rms_eps >= 0.0f) || !std::isfinite(c.rope_theta) || !std::isfinite(c.rms_eps))
    throw FormatError("config: RoPE base must be positive and RMS epsilon not negative, both finite");
}

void LlamaWeights::validate() const {
  const LlamaConfig& c = config;
  validate_config(c);
  const size_t L = size_t(c.n_layers), dim = size_t(c.dim);
  expect_size(token_embedding_table, size_t(c.vocab_size) * dim, "token_embedding_table");
  expect_size(rms_att_weight, L * dim, "rms_att_weight");
  expect_size(rms_ffn_weight, L * dim, "rms_ffn_weight");
  expect_size(rms_final_weight, dim, "rms_final_weight");
  if (!c.shared_classifier) expect_size(wcls, size_t(c.vocab_size) * dim, "wcls");
  for (int k = 0; k < kLayerLinears; ++k) {
    LinearKind kind = LinearKind(k);
    size_t out = size_t(linear_out(c, kind)), in = size_t(linear_in(c, kind));
    expect_size(linear[k], L * out * in, linear_name(kind));
    const std::vector<int32_t>& p = perm[k];
    if (p.empty()) continue;
    if (p.size() != L * in)
      throw FormatError(std::string(linear_name(kind)) + ".perm has " + std::to_string(p.size()) +
                        " entries, expected " + std::to_string(L * in));
    for (size_t l = 0; l < L; ++l) {
      std::vector<bool> seen(in, false);
      for (size_t j = 0; j < in; ++j) {
        int32_t v = p[l * in + j];
        if (v < 0 || size_t(v) >= in || seen[size_t(v)])
          throw FormatError(std::string(linear_name(kind)) + ".perm of layer " + std::to_string(l) +
                            " is not a permutation");
        seen[size_t(v)] = true;
      }
    }
  }
}

void matvec(const LinearView& lv, const float* x, float* y) {
  for (int i = 0; i < lv.out; i++) {
    const float* row = lv.w + size_t(i) * size_t(lv.in);
    float val = 0.0f;
    if (lv.perm) {
      for (int j = 0; j < lv.in; j++) val += row[j] * x[lv.perm[j]];
    } else {
      for (int j = 0; j < lv.in; j++) val += row[j] * x[j];
    }
    y[i] = val;
  }
}

LinearHook parallel_matvec(ThreadPool& pool, unsigned threads) {
  return [&pool, threads](const LinearView& lv, const float* x, float* y) {
    const int parts = int(std::min<unsigned>(std::max(threads, 1u), unsigned(std::max(lv.out / 64, 1))));
    std::vector<std::future<void>> done;
    for (int p = 1; p < parts; ++p)  // part 0 runs here
      done.push_back(pool.submit<void>([&lv, x, y, p, parts] {
        LinearView part = lv;
        const int begin = int(int64_t(lv.out) * p / parts), end = int(int64_t(lv.out) * (p + 1) / parts);
        part.out = end - begin;
        part.w = lv.w + size_t(begin) * size_t(lv.in);
        matvec(part, x, y + begin);
      }));
    LinearView first = lv;
    first.out = int(int64_t(lv.out) / parts);
    matvec(first, x, y);
    for (auto& f : done) f.get();
  };
}

Llama::Llama(const LlamaWeights& w, int max_seq) : w_(w) {
  w_.validate();
  const LlamaConfig& c = w_.config;
  max_seq_ = max_seq > 0 && max_seq < c.seq_len ? max_seq : c.seq_len;
  x_.resize(size_t(c.dim));
  xb_.resize(size_t(c.dim));
  xb2_.resize(size_t(c.dim));
  hb_.resize(size_t(c.hidden_dim));
  hb2_.resize(size_t(c.hidden_dim));
  q_.resize(size_t(c.dim));
  att_.resize(size_t(max_seq_));
  logits_.resize(size_t(c.vocab_size));
  size_kv_cache();
  k_.resize(size_t(c.kv_dim()));
  v_.resize(size_t(c.kv_dim()));
  mixed_.resize(size_t(c.dim));
}

LinearView Llama::view(LinearKind kind, int layer) const {
  const LlamaConfig& c = w_.config;
  LinearView lv;
  lv.kind = kind;
  lv.layer = layer;
  lv.out = linear_out(c, kind);
  lv.in = linear_in(c, kind);
  if (kind == LinearKind::cls) {
    lv.w = c.shared_classifier ? w_.token_embedding_table.data() : w_.wcls.data();
  } else {
    int k = int(kind);
    lv.w = w_.linear[k].data() + size_t(layer) * size_t(lv.out) * size_t(lv.in);
    if (!w_.perm[k].empty()) lv.perm = w_.perm[k].data() + size_t(layer) * size_t(lv.in);
  }
  return lv;
}

void Llama::apply(const LinearView& lv, const float* x, float* y) {
  if (hook_)
    hook_(lv, x, y);
  else
    matvec(lv, x, y);
}

void Llama::linear(LinearKind kind, int layer, const float* x, float* y) { apply(view(kind, layer), x, y); }

void Llama::size_kv_cache() {
  const LlamaConfig& c = w_.config;
  const size_t n = mixer_ ? 0 : size_t(c.n_layers) * size_t(max_seq_) * size_t(c.kv_dim());
  for (std::vector<float>* cache : {&key_cache_, &value_cache_}) {
    cache->assign(n, 0.0f);
    cache->shrink_to_fit();
  }
}

void Llama::set_attention(AttentionMixer* mixer) {
  const bool cache_changes = (mixer == nullptr) != (mixer_ == nullptr);
  mixer_ = mixer;
  if (cache_changes) size_kv_cache();
}

void Llama::set_ffn_gate(FfnGate* gate) {
  if (gate) {
    const std::vector<int>& b = gate->bounds();
    bool ok = b.size() >= 2 && b.front() == 0 && b.back() == w_.config.hidden_dim;
    for (size_t e = 1; ok && e < b.size(); ++e) ok = b[e] > b[e - 1];
    if (!ok) throw std::invalid_argument("FFN gate: expert bounds do not cover the hidden dimension");
    // A w2 column permutation (channel shuffle) must keep every expert's columns in its own block.
    const std::vector<int32_t>& perm = w_.perm[int(LinearKind::w2)];
    const size_t H = size_t(w_.config.hidden_dim);
    for (size_t l = 0; ok && l < perm.size() / H; ++l)
      for (size_t e = 0; ok && e + 1 < b.size(); ++e)
        for (int j = b[e]; ok && j < b[e + 1]; ++j) ok = perm[l * H + size_t(j)] >= b[e] && perm[l * H + size_t(j)] < b[e + 1];
    if (!ok)
      throw std::invalid_argument("FFN gate: the model's w2 column permutation (channel shuffle) crosses expert "
                                  "boundaries");
    active_.assign(b.size() - 1, 0);
  }
  gate_ = gate;
}

void Llama::gated_ffn(int l) {
  const int dim = w_.config.dim;
  const std::vector<int>& b = gate_->bounds();
  const int experts = int(b.size()) - 1;
  gate_->route(l, xb_.data(), active_.data());
  // w1 and w3 over each run of consecutive active experts: only their rows are read.
  for (int e = 0; e < experts;) {
    if (!active_[size_t(e)]) {
      ++e;
      continue;
    }
    int end = e;
    while (end < experts && active_[size_t(end)]) ++end;
    const int r0 = b[size_t(e)], r1 = b[size_t(end)];
    for (LinearKind kind : {LinearKind::w1, LinearKind::w3}) {
      LinearView lv = view(kind, l);
      lv.w += size_t(r0) * size_t(lv.in);
      lv.out = r1 - r0;
      apply(lv, xb_.data(), (kind == LinearKind::w1 ? hb_ : hb2_).data() + r0);
    }
    e = end;
  }
  // SwiGLU on the active neurons, gathered with w2's columns of them, in neuron order.
  const LinearView w2 = view(LinearKind::w2, l);
  h_active_.clear();
  for (int e = 0; e < experts; ++e)
    if (active_[size_t(e)])
      for (int i = b[size_t(e)]; i < b[size_t(e) + 1]; ++i) h_active_.push_back(swiglu(hb_[size_t(i)], hb2_[size_t(i)]));
  const size_t n = h_active_.size();
  if (n == 0) {  // every expert off: the FFN adds nothing, and nothing is multiplied
    for (int i = 0; i < dim; i++) xb_[size_t(i)] = 0.0f;
    return;
  }
  w2_active_.resize(size_t(dim) * n);
  for (int r = 0; r < dim; ++r) {
    const float* row = w2.w + size_t(r) * size_t(w2.in);
    float* out = w2_active_.data() + size_t(r) * n;
    for (int e = 0; e < experts; ++e)
      if (active_[size_t(e)]) out = std::copy(row + b[size_t(e)], row + b[size_t(e) + 1], out);
  }
  // An expert-local channel shuffle (a pruned model, docs/lte.md): gathered column c of expert e reads
  // the active neuron at e's offset plus its place inside e, so each product is the dense one's.
  perm_active_.clear();
  if (w2.perm)
    for (int e = 0, base = 0; e < experts; ++e)
      if (active_[size_t(e)]) {
        for (int j = b[size_t(e)]; j < b[size_t(e) + 1]; ++j) perm_active_.push_back(base + w2.perm[j] - b[size_t(e)]);
        base += b[size_t(e) + 1] - b[size_t(e)];
      }
  LinearView lv = w2;
  lv.in = int(n);
  lv.w = w2_active_.data();
  lv.perm = w2.perm ? perm_active_.data() : nullptr;
  apply(lv, h_active_.data(), xb_.data());
}

const std::vector<float>& Llama::forward(int token, int pos) {
  const LlamaConfig& p = w_.config;
  if (token < 0 || token >= p.vocab_size) throw std::invalid_argument("token out of range");
  if (pos < 0 || pos >= max_seq_) throw std::invalid_argument("position out of range");
  const int dim = p.dim, kv_dim = p.kv_dim(), kv_mul = p.n_heads / p.n_kv_heads;
  const int hidden_dim = p.hidden_dim, head_size = p.head_size();
  float* x = x_.data();

  const float* content_row = w_.token_embedding_table.data() + size_t(token) * size_t(dim);
  for (int i = 0; i < dim; i++) x[i] = content_row[i];

  for (int l = 0; l < p.n_layers; l++) {
    rmsnorm(xb_.data(), x, w_.rms_att_weight.data() + size_t(l) * size_t(dim), dim, p.rms_eps);

    size_t loff = size_t(l) * size_t(max_seq_) * size_t(kv_dim);
    float* k = mixer_ ? k_.data() : key_cache_.data() + loff + size_t(pos) * size_t(kv_dim);
    float* v = mixer_ ? v_.data() : value_cache_.data() + loff + size_t(pos) * size_t(kv_dim);
    linear(LinearKind::wq, l, xb_.data(), q_.data());
    linear(LinearKind::wk, l, xb_.data(), k);
    linear(LinearKind::wv, l, xb_.data(), v);

    // RoPE: rotate q and (where i < kv_dim) k on adjacent pairs (2i, 2i+1) of each head; run.c computes
    // the angle, not the file's tables. GGUF's q/k rows are in this order (llama.cpp's converter
    // permutes them), and the loader puts HF checkpoints' rotate-half rows into it (llama_io.cpp).
    for (int i = 0; i < dim; i += 2) {
      int head_dim = i % head_size;
      float freq = 1.0f / std::pow(p.rope_theta, head_dim / float(head_size));
      float val = pos * freq;
      float fcr = std::cos(val);
      float fci = std::sin(val);
      int rotn = i < kv_dim ? 2 : 1;
      for (int r = 0; r < rotn; r++) {
        float* vec = r == 0 ? q_.data() : k;
        float v0 = vec[i];
        float v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
      }
    }

    if (mixer_) {
      mixer_->attend(l, pos, xb_.data(), q_.data(), k, v, mixed_.data());
    } else {
      // Grouped-query attention: query head h reads kv head h / kv_mul.
      for (int h = 0; h < p.n_heads; h++) {
        const float* q = q_.data() + h * head_size;
        float* att = att_.data();
        for (int t = 0; t <= pos; t++) {
          const float* kt = key_cache_.data() + loff + size_t(t) * size_t(kv_dim) + size_t((h / kv_mul) * head_size);
          float score = 0.0f;
          for (int i = 0; i < head_size; i++) score += q[i] * kt[i];
          score /= std::sqrt(float(head_size));
          att[t] = score;
        }
        softmax(att, pos + 1);
        float* xb = xb_.data() + h * head_size;
        for (int i = 0; i < head_size; i++) xb[i] = 0.0f;
        for (int t = 0; t <= pos; t++) {
          const float* vt = value_cache_.data() + loff + size_t(t) * size_t(kv_dim) + size_t((h / kv_mul) * head_size);
          float a = att[t];
          for (int i = 0; i < head_size; i++) xb[i] += a * vt[i];
        }
      }
    }

    linear(LinearKind::wo, l, mixer_ ? mixed_.data() : xb_.data(), xb2_.data());
    for (int i = 0; i < dim; i++) x[i] += xb2_[size_t(i)];

    rmsnorm(xb_.data(), x, w_.rms_ffn_weight.data() + size_t(l) * size_t(dim), dim, p.rms_eps);
    if (gate_) {
      gated_ffn(l);
    } else {
      linear(LinearKind::w1, l, xb_.data(), hb_.data());
      linear(LinearKind::w3, l, xb_.data(), hb2_.data());
      for (int i = 0; i < hidden_dim; i++) hb_[size_t(i)] = swiglu(hb_[size_t(i)], hb2_[size_t(i)]);
      linear(LinearKind::w2, l, hb_.data(), xb_.data());
    }
    for (int i = 0; i < dim; i++) x[i] += xb_[size_t(i)];
  }

  rmsnorm(x, x, w_.rms_final_weight.data(), dim, p.rms_eps);
  linear(LinearKind::cls, -1, x, logits_.data());
  return logits_;
}

uint32_t Sampler::random_u32() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return uint32_t((state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

float Sampler::random_f32() { return float(random_u32() >> 8) / 16777216.0f; }

int Sampler::sample(const std::vector<float>& logits, float temperature) {
  const int n = int(logits.size());
  if (n == 0) throw std::invalid_argument("sample: no logits");
  if (temperature == 0.0f) {
    int best = 0;  // first maximum, as run.c's sample_argmax
    for (int i = 1; i < n; i++)
      if (logits[size_t(i)] > logits[size_t(best)]) best = i;
    return best;
  }
  std::vector<float> probs(logits);
  for (float& v : probs) v /= temperature;
  softmax(probs.data(), n);
  float coin = random_f32();
  float cdf = 0.0f;
  for (int i = 0; i < n; i++) {
    cdf += probs[size_t(i)];
    if (coin < cdf) return i;
  }
  return n - 1;  // rounding left the cdf below coin
}

std::vector<std::vector<int>> sample_sequences(const LlamaWeights& w, int n, int len, uint64_t seed,
                                               float temperature, int start) {
  if (n < 0 || len < 1 || len > w.config.seq_len)
    throw std::invalid_argument("sample_sequences: need n >= 0 and 1 <= len <= seq_len (" +
                                std::to_string(w.config.seq_len) + ")");
  if (start < 0 || start >= w.config.vocab_size) throw std::invalid_argument("sample_sequences: start token out of range");
  Llama model(w, len);
  Sampler sampler(seed);
  std::vector<std::vector<int>> seqs;
  for (int s = 0; s < n; ++s) {
    std::vector<int> seq{start};
    for (int pos = 0; pos < len; ++pos) seq.push_back(sampler.sample(model.forward(seq.back(), pos), temperature));
    seqs.push_back(std::move(seq));
  }
  return seqs;
}

}  // namespace ws
