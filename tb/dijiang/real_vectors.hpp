// Real DiJiang inputs for the benches: stories260K's q, k (after RoPE) and v at every layer, recorded
// through the model's forward pass with DiJiang attention (the untrained side file dijiang_init seed
// 1) over a greedy continuation of BOS, 320 positions.
#pragma once

#include <algorithm>
#include <vector>

#include "core/bf16.hpp"
#include "llm/dijiang.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "tb.hpp"

namespace tbdij {

struct RealToken {
  std::vector<float> q, k, v;  // dim, kv_dim, kv_dim
};

struct RealVectors {
  static constexpr int kPositions = 320;
  ws::LlamaConfig config;
  ws::DiJiangSide side;
  std::vector<std::vector<RealToken>> tokens;  // [layer][position]

  // Every head vector of a layer, the feature map's inputs: per position the q heads, then the k heads.
  std::vector<std::vector<float>> head_vectors(int layer) const {
    const int d = config.head_size();
    std::vector<std::vector<float>> out;
    for (const RealToken& t : tokens[size_t(layer)]) {
      for (int h = 0; h < config.n_heads; ++h) out.emplace_back(t.q.begin() + h * d, t.q.begin() + (h + 1) * d);
      for (int h = 0; h < config.n_kv_heads; ++h) out.emplace_back(t.k.begin() + h * d, t.k.begin() + (h + 1) * d);
    }
    return out;
  }
};

class Recorder : public ws::AttentionMixer {
 public:
  Recorder(ws::AttentionMixer& inner, RealVectors& rv) : inner_(inner), rv_(rv) {}
  void attend(int layer, int pos, const float* x, const float* q, const float* k, const float* v, float* out) override {
    const ws::LlamaConfig& c = rv_.config;
    rv_.tokens[size_t(layer)].push_back(
        {std::vector<float>(q, q + c.dim), std::vector<float>(k, k + c.kv_dim()), std::vector<float>(v, v + c.kv_dim())});
    inner_.attend(layer, pos, x, q, k, v, out);
  }

 private:
  ws::AttentionMixer& inner_;
  RealVectors& rv_;
};

inline const RealVectors& real_vectors() {
  static const RealVectors rv = [] {
    static const ws::LlamaWeights w = ws::load_llama(tb::stories_path());
    RealVectors r;
    r.config = w.config;
    r.side = ws::dijiang_init(w.config, ws::FeatureMap::Dct, 1);
    r.tokens.resize(size_t(w.config.n_layers));
    ws::DiJiangAttention att(r.side, w.config);
    Recorder rec(att, r);
    ws::Llama model(w);
    model.set_attention(&rec);
    int tok = 1;  // BOS, then the model's own greedy continuation
    for (int pos = 0; pos < RealVectors::kPositions; ++pos) {
      const std::vector<float>& lg = model.forward(tok, pos);
      tok = int(std::max_element(lg.begin(), lg.end()) - lg.begin());
    }
    return r;
  }();
  return rv;
}

inline std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> x(v.size());
  for (size_t i = 0; i < v.size(); ++i) x[i] = ws::fp32_to_bf16(v[i]);
  return x;
}

}  // namespace tbdij
