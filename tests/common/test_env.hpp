// What every unit and end-to-end test shares: the seed and depth of randomized tests and the message
// of an expected ws::FormatError. (fp32 bit casts: ws::fp32_bits / ws::fp32_from_bits, core/bf16.hpp.)
//   TB_SEED   the seed of every random choice (default 1); seed() prints it, so any failure replays.
//   WS_DEPTH  unset: smoke depth; "long": the deep run (make test-long).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace wstest {

inline uint64_t seed() {
  const char* s = std::getenv("TB_SEED");
  const uint64_t v = s && *s ? std::strtoull(s, nullptr, 0) : 1;
  std::printf("TB_SEED=%llu\n", static_cast<unsigned long long>(v));
  return v;
}

inline bool deep() {
  const char* d = std::getenv("WS_DEPTH");
  return d && std::string(d) == "long";
}

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
