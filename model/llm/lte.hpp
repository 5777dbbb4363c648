// LTE ("Learn To be Efficient", arXiv 2402.06126; docs/lte.md): each FFN's hidden neurons grouped into
// experts by balanced k-means on the rows of w1, a router per FFN (score = sigmoid(x W_g) per expert)
// that switches experts off below a threshold, and the side file that carries grouping, routers and
// thresholds. The forward pass skips what is off through Llama's FfnGate (llm/llama.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "llm/llama.hpp"

namespace ws {

constexpr int kLteExpertSize = 32;  // neurons per expert (the paper's and the choice)

// Expert e is positions bounds[e] .. bounds[e+1]-1 of the hidden dimension in expert order: hidden / size
// experts of `size` neurons, then one of hidden % size neurons when that is not 0 (stories260K: 172 =
// 5 x 32 + 12). Throws std::invalid_argument for a size < 1.
std::vector<int> expert_bounds(int hidden, int size);

// Balanced k-means of n rows (n x d, row-major) into the clusters of expert_bounds(n, size), cluster e
// holding exactly its size: k-means++ seeding from `seed` (run.c's xorshift), then up to `iters` rounds of
// a capacity-respecting assignment (all neuron-centroid pairs by ascending squared distance, ties by
// neuron then cluster, each taken while the neuron is free and the cluster has room) and centroid means,
// until the assignment repeats. Returns the order: position k -> row, experts in cluster order, rows
// ascending within an expert. Deterministic for a seed on every platform.
std::vector<int32_t> balanced_kmeans(const float* rows, int n, int d, int size, uint64_t seed, int iters = 50);

// Sum over experts of the squared distances of their rows to the expert's mean row.
double grouping_cost(const float* rows, int d, const std::vector<int32_t>& order, const std::vector<int>& bounds);

// The side file (safetensors, docs/lte.md): tensors lte.order I32 [L][hidden], and with routers
// lte.router F32 [L][experts][dim] and lte.threshold F32 [L]; metadata format = "weightstream-lte",
// version, dim, hidden_dim, n_layers, expert_size, and free-form records of how it was made.
struct LteSide {
  int n_layers = 0, dim = 0, hidden_dim = 0, expert_size = kLteExpertSize;
  std::vector<int32_t> order;    // [L][hidden]: position k of layer l's expert order holds the model's neuron order[l][k]
  std::vector<float> router;     // [L][experts][dim]; empty in a grouping-only file
  std::vector<float> threshold;  // [L], with router: expert active iff its score > threshold
  std::map<std::string, std::string> metadata;  // records beyond the fields above (seed, training, ...)

  std::vector<int> bounds() const { return expert_bounds(hidden_dim, expert_size); }
  int experts() const { return int(bounds().size()) - 1; }
  bool has_router() const { return !router.empty(); }
  // Throws FormatError: sizes, a layer's order not a permutation, a non-finite router or threshold.
  void validate() const;
  // Throws FormatError if the side file is not for a model of this config.
  void check_model(const LlamaConfig& c) const;
};

// Balanced k-means on every layer's w1 rows (the file's order; w1's own input permutation, if any, is the
// same for all rows and so does not change distances). A grouping-only side file.
LteSide lte_experts(const LlamaWeights& w, int expert_size, uint64_t seed);

LteSide load_lte(const std::string& path);  // throws FormatError (IoError for an unreadable file)
void save_lte(const LteSide& side, const std::string& path);

// The model with every layer's hidden neurons in the side file's expert order: w1 and w3 rows and w2
// columns permuted (the function is the same; w2's fp32 sum runs in the new order). A pruned model's
// w2 with a channel shuffle keeps its stored columns when the shuffle keeps each expert's neurons in
// that expert's block of columns (`prune --lte`), its perm then expert-local. Throws FormatError for a
// shuffle that crosses expert boundaries, or a model whose shape the side file does not fit.
LlamaWeights expert_ordered(const LlamaWeights& w, const LteSide& side);

// Experts and FFN neurons that a gate has switched off, over all tokens and layers it routed.
struct GateCounts {
  uint64_t experts = 0, experts_off = 0, neurons = 0, neurons_off = 0;
  double experts_off_fraction() const { return experts ? double(experts_off) / double(experts) : 0.0; }
  double neurons_off_fraction() const { return neurons ? double(neurons_off) / double(neurons) : 0.0; }
};

// A gate that counts what it switches off.
class CountingGate : public FfnGate {
 public:
  explicit CountingGate(std::vector<int> bounds) : bounds_(std::move(bounds)) {}
  const std::vector<int>& bounds() const override { return bounds_; }
  const GateCounts& counts() const { return counts_; }
  // The decisions of the last route() (one per expert; all 0 before the first).
  const std::vector<uint8_t>& last_active() const { return last_; }

 protected:
  void count(const uint8_t* active);  // and keeps them as last_active()
  std::vector<int> bounds_;
  GateCounts counts_;
  std::vector<uint8_t> last_ = std::vector<uint8_t>(bounds_.empty() ? 0 : bounds_.size() - 1, 0);
};

// LTE's inference rule: expert e of layer l runs iff sigmoid(router[l][e] . xb) > threshold[l], the dot
// product accumulated in float in order j = 0..dim-1, sigmoid as 1 / (1 + exp(-z)).
class RouterGate : public CountingGate {
 public:
  explicit RouterGate(const LteSide& side);  // throws FormatError without routers
  void route(int layer, const float* xb, uint8_t* active) override;
  const std::vector<float>& scores() const { return scores_; }  // of the last route()

 private:
  const LteSide& side_;
  std::vector<float> scores_;
};

// The no-training baseline (DejaVu-style oracle): the layer's dense activation h = silu(w1 x) * (w3 x) is
// computed, experts are ranked per token by the RMS of h over their neurons, and the k_l lowest are
// switched off, k_l = round(f E (l+1)) - round(f E l) (so f E L experts off per token over the L layers
// when f E is fractional). `w` must be in expert order and outlive the gate.
class NormGate : public CountingGate {
 public:
  NormGate(const LlamaWeights& w, std::vector<int> bounds, double off_fraction);
  void route(int layer, const float* xb, uint8_t* active) override;

 private:
  const LlamaWeights& w_;
  double fraction_;
  std::vector<float> h1_, h3_;
};

// w2 of one gated FFN as the hardware takes it: one product per active expert, block b being expert
// experts[b]'s column block (views[b]: dim rows, its neurons as columns, row stride = its count) times
// that expert's SwiGLU activations h[b].
struct W2Blocks {
  int layer = 0;
  std::vector<int> experts;
  std::vector<LinearView> views;
  std::vector<std::vector<float>> h;
};
// Returns one partial output (dim values) per block.
using W2BlockProduct = std::function<std::vector<std::vector<float>>(const W2Blocks&)>;

// The hook of the gated FFN as the pipeline computes it (docs/lte.md, "The RTL skip"), for a Llama whose
// gate is `gate`: Llama::gated_ffn hands over w1/w3 per run of active experts (their rows) and w2 as one
// view of the active neurons' columns; this hook splits that w2 view at the experts of
// gate.last_active() into one product per active expert (w2_blocks; empty: `product` on each block) and
// adds their outputs in expert order, y = ((+0 + y_e0) + y_e1) + ..., in fp32. Every other product goes
// to `product` unchanged. With the host's matvec as `product` this equals the gated forward pass bit for
// bit when at most one expert is active, and within fp32 rounding otherwise: gated_ffn sums the active
// columns in one sequential chain, this in one chain per expert and then across experts.
LinearHook expert_block_hook(const CountingGate& gate, LinearHook product, W2BlockProduct w2_blocks = {});

// The gate's decisions on token sequences, for the token factory (docs/token_factory.md section 7): w
// (in expert order) runs each sequence from position 0 under the gate, and every (token, layer) gives a
// record of ceil(experts / 8) bytes, bit e % 8 of byte e / 8 set when expert e runs; records in order
// (sequence, position, layer).
std::vector<uint8_t> gate_decisions(const LlamaWeights& w, FfnGate& gate, const std::vector<std::vector<int>>& seqs);

}  // namespace ws
