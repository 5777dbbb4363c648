#include "ops/lte_experts.hpp"

#include <numeric>

#include "core/error.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "ops/convert.hpp"
#include "ops/report.hpp"
#include "files/plan_source.hpp"

namespace ws {

std::string lte_experts_file(const LteExpertsOptions& o) {
  LlamaWeights w;
  try {
    w = load_llama(o.in);
  } catch (const FormatError& e) {
    throw FileError(o.in, e.what());
  }
  if (o.expert_size < 1 || o.expert_size > w.config.hidden_dim)
    throw FileError("", strprintf("--expert-size %d: must be 1 .. hidden_dim (%d)", o.expert_size, w.config.hidden_dim));
  const LteSide side = lte_experts(w, o.expert_size, o.seed);
  save_lte(side, o.out);
  const std::vector<int> b = side.bounds();
  const int E = side.experts();
  std::string out = strprintf("%s -> %s: %d layers x %d experts of %d neurons", o.in.c_str(), o.out.c_str(),
                              side.n_layers, E, o.expert_size);
  if (b[size_t(E)] - b[size_t(E) - 1] != o.expert_size)
    out += strprintf(" (the last %d: %d = %d x %d + %d)", b[size_t(E)] - b[size_t(E) - 1], side.hidden_dim, E - 1,
                     o.expert_size, b[size_t(E)] - b[size_t(E) - 1]);
  out += strprintf(", balanced k-means seed %llu\n", static_cast<unsigned long long>(o.seed));
  out += "layer  k-means cost  file-order cost\n";
  std::vector<int32_t> identity(size_t(side.hidden_dim));
  std::iota(identity.begin(), identity.end(), 0);
  const size_t per_layer = size_t(side.hidden_dim) * size_t(side.dim);
  for (int l = 0; l < side.n_layers; ++l) {
    const float* rows = w.linear[int(LinearKind::w1)].data() + size_t(l) * per_layer;
    const std::vector<int32_t> ord(side.order.begin() + std::ptrdiff_t(size_t(l) * size_t(side.hidden_dim)),
                                   side.order.begin() + std::ptrdiff_t(size_t(l + 1) * size_t(side.hidden_dim)));
    out += strprintf("%5d %13.4f %16.4f\n", l, grouping_cost(rows, side.dim, ord, b), grouping_cost(rows, side.dim, identity, b));
  }
  return out;
}

LteSource lte_source(const std::string& in, const std::string& side_path) {
  LlamaWeights w;
  bool bf16 = false;  // keep the input's dtype: bf16 values permute exactly
  try {
    w = load_llama(in);
    const FileSource src(in);
    for (const PlannedSegment& s : plan_source(src).segments)
      if (s.tensor && s.name == "w1") bf16 = s.format.dtype() == DType::BF16;
  } catch (const FormatError& e) {
    throw FileError(in, e.what());
  }
  LteSource out;
  try {
    out.side = load_lte(side_path);
    w = expert_ordered(w, out.side);
  } catch (const FormatError& e) {
    throw FileError(side_path, e.what());
  }
  out.bytes = llama_safetensors(w);
  if (bf16) {
    const MemorySource f32(out.bytes.data(), out.bytes.size());
    VectorSink sink;
    convert_to_bf16(f32, sink);
    out.bytes = std::move(sink.bytes);
  }
  const std::vector<int> bounds = out.side.bounds();
  out.experts["w1"] = {false, bounds};
  out.experts["w3"] = {false, bounds};
  out.experts["w2"] = {true, bounds};
  for (int l = 0; l < out.side.n_layers; ++l)
    for (int k = 0; k < out.side.hidden_dim; ++k) out.side.order[size_t(l) * size_t(out.side.hidden_dim) + size_t(k)] = k;
  out.side.metadata["expert_ordered_from"] = side_path;
  return out;
}

std::string lte_side_path(const std::string& container) { return container + ".lte.safetensors"; }

}  // namespace ws
