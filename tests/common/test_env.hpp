// What every unit and end-to-end test shares: the environment (tb/common/ws_env.hpp, through the
// CMake target ws_env: TB_SEED, WS_DEPTH, data and MiniLM paths) and the message of an expected
// ws::FormatError. (fp32 bit casts: ws::fp32_bits / ws::fp32_from_bits, core/bf16.hpp.)
#pragma once

#include <string>

#include "core/error.hpp"
#include "ws_env.hpp"

namespace wstest {

using wsenv::data_path;
using wsenv::long_run;
using wsenv::minilm_path;
using wsenv::seed;
using wsenv::stories_path;

// The message of the ws::FormatError that f throws, or "" if it throws nothing.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ws::FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace wstest
