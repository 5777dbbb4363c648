#include "ops/dijiang_init.hpp"

#include "core/error.hpp"
#include "llm/dijiang.hpp"
#include "llm/llama_io.hpp"
#include "ops/report.hpp"

namespace ws {

std::string dijiang_init_file(const DiJiangInitOptions& o) {
  LlamaConfig config;
  try {
    config = load_llama(o.in).config;
  } catch (const FormatError& e) {
    throw FileError(o.in, e.what());
  }
  const FeatureMap map = o.random_features ? FeatureMap::Random : FeatureMap::Dct;
  DiJiangSide side = dijiang_init(config, map, o.seed);
  side.metadata["model"] = o.in;
  save_dijiang(side, o.out);
  return strprintf("%s -> %s: untrained DiJiang side file (%s feature map), %d layers x %d heads of %d, "
                   "seed %llu; state %d x %d x %d x %d floats\n",
                   o.in.c_str(), o.out.c_str(), feature_map_name(map), side.n_layers, side.n_heads, side.head_size,
                   static_cast<unsigned long long>(o.seed), side.n_layers, side.n_heads, side.head_size,
                   side.head_size);
}

}  // namespace ws
