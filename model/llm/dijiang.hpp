// DiJiang attention ("DiJiang: Efficient Large Language Models through Compact Kernelization", arXiv
// 2403.19928; docs/dijiang.md): softmax attention over a growing KV cache replaced by linear attention
// through a frequency-domain feature map, phi(x) = softmax(x P) with P = C diag(w) (C the orthonormal
// DCT-II matrix, w the sampling weights), a decay gamma per head, a group norm and a gate. Computed in the
// recurrent form: per head a d x d state S <- gamma S + phi(k)^T v, read out as o = phi(q) S. Plugged into
// the forward pass through Llama's AttentionMixer (llm/llama.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "llm/llama.hpp"

namespace ws {

// The feature map's projection: DiJiang's DCT with weights, or the random-feature baseline (a Gaussian
// matrix, Performer-style: softmax(x W) is Performer's positive features exp(x w_j - |x|^2/2), normalised).
enum class FeatureMap { Dct, Random };
const char* feature_map_name(FeatureMap f);  // "dct", "random"

// C[i][j] = s_i cos(pi (2j + 1) i / (2 d)), s_0 = sqrt(1/d), s_i = sqrt(2/d): the orthonormal DCT-II
// matrix (scipy's dct(eye(d), axis=0, norm='ortho'), as the public code builds it), computed in double,
// rounded to float. [d][d] row-major; x C is the inverse DCT (DCT-III) of x.
std::vector<float> dct_matrix(int d);

// gamma_h = 1 - exp(log(1/32) + h (log(1/512) - log(1/32)) / (H - 1)), from 1 - 1/32 (head 0) to
// 1 - 1/512 (head H-1), computed in double, rounded to float; one head: 1 - 1/32.
std::vector<float> dijiang_decays(int n_heads);

// The side file (safetensors, docs/dijiang.md): metadata format = "weightstream-dijiang", version,
// feature_map (dct | random), n_layers, dim, n_heads, head_size; tensors
//   dijiang.weight     F32 [L][d]       (dct: w, the sampling weights)
//   dijiang.projection F32 [L][d][d]    (random: the matrix P itself)
//   dijiang.gate       F32 [L][dim][dim] (W_G as [out][in]: g = silu(W_G x))
//   dijiang.norm_weight, dijiang.norm_bias F32 [L][dim] (the group norm's affine)
struct DiJiangSide {
  FeatureMap feature_map = FeatureMap::Dct;
  int n_layers = 0, dim = 0, n_heads = 0, head_size = 0;
  std::vector<float> weight;       // [L][d], dct
  std::vector<float> projection;   // [L][d][d], random
  std::vector<float> gate;         // [L][dim][dim]
  std::vector<float> norm_weight;  // [L][dim]
  std::vector<float> norm_bias;    // [L][dim]
  std::map<std::string, std::string> metadata;  // records beyond the fields above (seed, training, ...)

  int norm_groups() const { return head_size; }  // the public code's GroupNorm(head_size, dim)
  // P of layer l, [d][d]: dct: P[i][j] = C[i][j] * w[l][j] (float product); random: the stored matrix.
  std::vector<float> layer_projection(int layer) const;
  // Throws FormatError: sizes, dim not n_heads x head_size, a non-finite value.
  void validate() const;
  // Throws FormatError if the side file is not for a model of this config.
  void check_model(const LlamaConfig& c) const;
};

// An untrained side file for w's shape: w ~ N(0, 1) (dct) or P ~ N(0, 1) (random) drawn with run.c's
// xorshift and Box-Muller (the public code draws Phi^-1(u), the same distribution), W_G uniform in
// +-gain sqrt(6 / (2 dim)) with gain 2^-2.5 (its xavier_uniform), group norm weight 1 and bias 0.
DiJiangSide dijiang_init(const LlamaConfig& c, FeatureMap f, uint64_t seed);

DiJiangSide load_dijiang(const std::string& path);  // throws FormatError (IoError for an unreadable file)
void save_dijiang(const DiJiangSide& side, const std::string& path);

// DiJiang in the recurrent form, with its state for every layer and head: [L][H][d][d] floats, whatever
// the context. Per token, layer and head h (reading kv head h / (H / kv heads)), in float, in this order:
//   f = k P (sum over i ascending), phi(k) = run.c's softmax(f); the same for q;
//   S[i][j] = gamma_h * S[i][j] + phi(k)[i] * v[j];  o[j] = sum over i ascending of phi(q)[i] * S[i][j];
// then over the dim outputs of all heads the group norm (groups of dim / head_size consecutive channels:
// mean, then the biased variance of x - mean, (x - mean) / sqrt(var + 1e-5) * weight + bias), and
// out = silu(W_G x) * norm (W_G x: matvec, x the attention input after RMSNorm). Position 0 clears the
// layer's state (Llama's contract: positions 0, 1, 2, ...).
class DiJiangAttention : public AttentionMixer {
 public:
  // Keeps a reference to side, which must outlive this. Throws FormatError if it does not fit c.
  DiJiangAttention(const DiJiangSide& side, const LlamaConfig& c);
  void attend(int layer, int pos, const float* x, const float* q, const float* k, const float* v,
              float* out) override;
  size_t state_floats() const { return state_.size(); }
  // The feature map of layer l on one head's vector (d values) into phi (d values).
  void features(int layer, const float* x, float* phi) const;

 private:
  const DiJiangSide& side_;
  int kv_heads_ = 0;
  std::vector<float> gamma_;               // [H]
  std::vector<std::vector<float>> proj_;   // [L] of [d][d]
  std::vector<float> state_;               // [L][H][d][d]
  std::vector<float> phi_q_, phi_k_, o_, g_;
};

}  // namespace ws
