// LTE in the token factory (docs/token_factory.md section 7): the routers' decisions per token and
// layer (`weightstream eval --lte-dump`), and what a pass fetches from them. With N processors, pass p
// runs tokens p N .. p N + N - 1 of the decisions (wrapping around), and a layer's expert chunks are
// fetched for the union of the experts any of those N tokens runs; every other chunk in every pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workload.hpp"

namespace wsim {

struct LteDecisions {
  int tokens = 0, layers = 0, experts = 0;
  std::vector<uint8_t> bits;  // [tokens][layers][ceil(experts / 8)], bit e % 8 of byte e / 8: expert e runs
  bool active(int token, int layer, int expert) const;
};

// Reads the safetensors file of `eval --lte-dump`; throws std::runtime_error naming the problem.
LteDecisions load_lte_decisions(const std::string& path);

// Per layer, which experts the N tokens of pass `pass` run between them (1 = any of them runs it).
std::vector<std::vector<uint8_t>> pass_union(const LteDecisions& d, int pass, int n);

// The chunks each of `passes` passes streams: every chunk that is no expert chunk, and of the expert
// chunks those in the pass's union. Throws std::runtime_error when the workload has no expert chunks or
// its layers and experts are not the decisions'.
std::vector<std::vector<uint32_t>> lte_passes(const Workload& w, const LteDecisions& d, int n, int passes);

}  // namespace wsim
