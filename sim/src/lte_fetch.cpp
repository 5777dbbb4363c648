#include "lte_fetch.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"

namespace wsim {

bool LteDecisions::active(int token, int layer, int expert) const {
  const size_t per = size_t(experts + 7) / 8;
  const size_t at = (size_t(token) * size_t(layers) + size_t(layer)) * per + size_t(expert) / 8;
  return (bits.at(at) >> (expert % 8)) & 1;
}

LteDecisions load_lte_decisions(const std::string& path) {
  try {
    const ws::SafetensorsFile f = ws::read_safetensors(path);
    const ws::FileSource src(path);
    const auto md = [&](const std::string& k) {
      const auto it = f.metadata.find(k);
      if (it == f.metadata.end()) throw std::runtime_error(path + ": no " + k + " in __metadata__");
      return it->second;
    };
    if (md("format") != "weightstream-lte-decisions" || md("version") != "1")
      throw std::runtime_error(path + ": not LTE decisions of version 1 (`weightstream eval --lte-dump`)");
    const ws::SafetensorsTensor* t = f.find("lte.decisions");
    LteDecisions d;
    d.experts = std::stoi(md("experts"));
    if (!t || t->dtype != "U8" || t->shape.size() != 3 || d.experts < 1 ||
        t->shape[2] != uint64_t(d.experts + 7) / 8 || t->shape[0] == 0 || t->shape[1] == 0)
      throw std::runtime_error(path + ": lte.decisions must be U8 [tokens][layers][ceil(experts / 8)]");
    d.tokens = int(t->shape[0]);
    d.layers = int(t->shape[1]);
    d.bits = src.read(t->offset, size_t(t->size));
    return d;
  } catch (const ws::FileError& e) {
    throw std::runtime_error(path + ": " + e.what());
  } catch (const ws::FormatError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::vector<std::vector<uint8_t>> pass_union(const LteDecisions& d, int pass, int n) {
  std::vector<std::vector<uint8_t>> u(size_t(d.layers), std::vector<uint8_t>(size_t(d.experts), 0));
  for (int i = 0; i < n; ++i) {
    const int token = int((int64_t(pass) * n + i) % d.tokens);
    for (int l = 0; l < d.layers; ++l)
      for (int e = 0; e < d.experts; ++e) u[size_t(l)][size_t(e)] |= uint8_t(d.active(token, l, e));
  }
  return u;
}

std::vector<std::vector<uint32_t>> lte_passes(const Workload& w, const LteDecisions& d, int n, int passes) {
  bool any = false;
  for (const StreamChunk& c : w.chunks) {
    if (c.expert < 0) continue;
    any = true;
    if (c.layer < 0 || c.layer >= d.layers || c.expert >= d.experts)
      throw std::runtime_error(w.source + ": expert chunk of layer " + std::to_string(c.layer) + " expert " +
                               std::to_string(c.expert) + " is outside the decisions' " + std::to_string(d.layers) +
                               " layers x " + std::to_string(d.experts) + " experts");
  }
  if (!any) throw std::runtime_error(w.source + ": no expert chunks (compress it with `weightstream compress --lte`)");
  std::vector<std::vector<uint32_t>> out;
  for (int p = 0; p < passes; ++p) {
    const std::vector<std::vector<uint8_t>> u = pass_union(d, p, n);
    std::vector<uint32_t> list;
    for (uint32_t i = 0; i < w.chunks.size(); ++i) {
      const StreamChunk& c = w.chunks[i];
      if (c.expert < 0 || u[size_t(c.layer)][size_t(c.expert)]) list.push_back(i);
    }
    out.push_back(std::move(list));
  }
  return out;
}

}  // namespace wsim
