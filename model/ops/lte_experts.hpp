// `lte-experts`: the LTE expert grouping of a llama model (balanced k-means on each FFN's w1 rows) into
// a grouping-only side file, docs/lte.md.
#pragma once

#include <cstdint>
#include <string>

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

}  // namespace ws
