// `dijiang-init`: an untrained DiJiang side file for a llama model's shape (docs/dijiang.md "Untrained
// values"), the starting point of distillation and the source of hardware test vectors.
#pragma once

#include <cstdint>
#include <string>

namespace ws {

struct DiJiangInitOptions {
  std::string in, out;
  uint64_t seed = 1;
  bool random_features = false;  // the Performer-style baseline's Gaussian P instead of the DCT's weights
};

// Loads `in` for its config, draws the side file with llm/dijiang's dijiang_init (the same seed gives
// the same bytes), saves `out` and returns a one-line report. Throws ws::FileError naming the file at fault.
std::string dijiang_init_file(const DiJiangInitOptions& o);

}  // namespace ws
