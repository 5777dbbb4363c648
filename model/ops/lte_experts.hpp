// `lte-experts`: the LTE expert grouping of a llama model (balanced k-means on each FFN's w1 rows) into
// a grouping-only side file, docs/lte.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "llm/lte.hpp"
#include "ops/compress.hpp"

namespace ws {

struct LteExpertsOptions {
  std::string in, out;
  int expert_size = 32;
  uint64_t seed = 1;
};

// Loads `in`, groups every layer's neurons, saves `out`, returns the report: experts and their sizes,
// and per layer the k-means cost (squared distances of w1 rows to their expert's mean) beside the cost of
// experts cut from the file's neuron order. Throws ws::FileError naming the file at fault.
std::string lte_experts_file(const LteExpertsOptions& o);

// `compress --lte SIDE` (docs/lte.md, docs/format.md section 4.3): what the container restores and how
// it is cut. `bytes` is the model `in` (llama2.c .bin or a safetensors llama model) in the side file's
// expert order as save_llama's safetensors (F32; bf16 when the input's w1 is bf16, as `convert --to
// bf16` writes it); `experts` cuts w1 and w3 into one chunk per expert of rows and w2 into one per
// expert column block, in every layer; `side` is the side file for that model: the input side file's
// routers and thresholds with an identity order (the neurons already are in expert order).
struct LteSource {
  std::vector<uint8_t> bytes;
  std::map<std::string, ExpertCut> experts;
  LteSide side;
};
// Throws ws::FileError naming the file at fault.
LteSource lte_source(const std::string& in, const std::string& side_path);

// Where the side file travels: beside the container, "<container>.lte.safetensors".
std::string lte_side_path(const std::string& container);

}  // namespace ws
