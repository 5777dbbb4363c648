// Bit-exact arithmetic of the MAC arrays (docs/mac_array.md section 2). Every function works on bit
// patterns with integer operations only, so the result never depends on the host FPU's modes.
#pragma once

#include <array>
#include <cstdint>

#include "codec/sparse24.hpp"  // MacMode, the lane type
#include "core/ws_pkg.hpp"

namespace ws {

constexpr uint32_t kFp32CanonicalNaN = 0x7FC00000u;  // every NaN result, whatever the inputs

// fp32 a + b: IEEE 754 binary32, round to nearest even, gradual underflow (subnormal inputs and
// outputs), overflow to +-inf, inf + -inf = NaN, exact cancellation gives +0, -0 + -0 = -0.
uint32_t fp32_add(uint32_t a, uint32_t b);

// bf16 a * bf16 b as fp32: the exact product (8 x 8 significand bits), rounded to nearest even only
// where it leaves fp32's range (overflow to inf, or below the normal range: gradual underflow).
// 0 * inf = NaN; the sign of a zero or infinite product is sign(a) ^ sign(b).
uint32_t bf16_mul(uint16_t a, uint16_t b);

// INT8 lanes: a 16-bit lane carries the int8 in bits 7:0 (bits 15:8 are ignored).
inline int32_t int8_lane(uint16_t lane) { return int32_t(int8_t(uint8_t(lane & 0xFFu))); }

// The array's two lane operations, selected by mode. Products and sums are 32-bit patterns: an fp32
// in BF16 mode, a two's-complement int32 in INT8 mode (sums wrap modulo 2^32).
uint32_t mac_mul(MacMode mode, uint16_t w, uint16_t x);
uint32_t mac_add(MacMode mode, uint32_t a, uint32_t b);

// The fixed per-beat reduction: a balanced pairwise tree over n = 2^k products, level by level,
// t[i] = mac_add(t[2i], t[2i+1]). Overwrites p[0 .. n-1]; returns the root.
uint32_t mac_tree(MacMode mode, uint32_t* p, int n);

// One row's sum in the arrays' order (docs/mac_array.md section 2): P = pkg::MAC_ACC_PARTIALS
// partial sums start at +0; beat b of the row adds its tree result into s[b mod P]; the row's
// result is the pairwise tree over s[0 .. P-1] (mac_tree). The accumulator of the arrays is
// pipelined over P cycles per partial sum, so the order is part of the arithmetic.
class MacRowSum {
 public:
  static constexpr int kPartials = pkg::MAC_ACC_PARTIALS;
  explicit MacRowSum(MacMode mode = MacMode::Int8) : mode_(mode) {}
  void add_beat(uint32_t beat_sum);
  uint32_t result() const;  // the row's value after the beats added so far
  int beats() const { return beats_; }

 private:
  MacMode mode_;
  std::array<uint32_t, kPartials> s_{};  // +0.0f and int 0 share the pattern
  int beats_ = 0;
};

}  // namespace ws
