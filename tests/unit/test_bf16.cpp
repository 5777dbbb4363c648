// fp32 -> bf16 round-to-nearest-even against an independent reference (exact arithmetic in double on
// the two neighbouring bf16 values), on every upper half with the tie and edge lower halves (smoke), or
// on all 2^32 fp32 patterns (WS_DEPTH=long). Also bf16 -> fp32 and fp16 -> fp32 exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "core/bf16.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using ws::fp32_from_bits;



bool is_nan32(uint32_t b) { return (b & 0x7fffffffu) > 0x7f800000u; }
bool is_nan16(uint16_t h) { return (h & 0x7fffu) > 0x7f80u; }

// The value of a non-negative bf16 magnitude pattern, where 0x7f80 counts as 2^128 (the next step of
// the exponent, as IEEE rounding treats the overflow threshold) rather than as infinity.
double bf16_magnitude_value(uint32_t m) {
  if (m == 0x7f80u) return std::ldexp(1.0, 128);
  return double(fp32_from_bits(m << 16));
}

// Reference: pick the nearer of the two bf16 neighbours of |x| by exact subtraction in double (both
// differences are exact: at most 24 significant bits), ties to the even pattern, then apply the sign.
uint16_t reference_bf16(uint32_t bits) {
  const uint32_t sign = bits & 0x80000000u;
  const uint32_t mag = bits & 0x7fffffffu;
  if (mag == 0x7f800000u) return uint16_t((sign >> 16) | 0x7f80u);  // infinity stays infinity
  const uint32_t lo = mag >> 16;                                   // truncation, toward zero
  const uint32_t hi = lo + 1;
  const double x = double(fp32_from_bits(mag));
  const double below = x - bf16_magnitude_value(lo);
  const double above = bf16_magnitude_value(hi) - x;
  uint32_t pick;
  if (below < above)
    pick = lo;
  else if (above < below)
    pick = hi;
  else
    pick = (lo & 1u) == 0 ? lo : hi;
  return uint16_t((sign >> 16) | pick);
}

// 0 if ws::fp32_bits_to_bf16 agrees with the reference on `bits`, else 1 (and a message for the first few).
int check(uint32_t bits, int& reported) {
  const uint16_t got = ws::fp32_bits_to_bf16(bits);
  bool ok;
  if (is_nan32(bits)) {
    // NaN stays NaN, keeps its sign, and is quiet.
    ok = is_nan16(got) && (got & 0x8000u) == ((bits >> 16) & 0x8000u) && (got & 0x0040u) != 0;
  } else {
    ok = got == reference_bf16(bits);
  }
  if (!ok && reported++ < 10)
    ADD_FAILURE() << std::hex << "fp32 0x" << bits << " -> 0x" << got << ", reference 0x" << reference_bf16(bits);
  return ok ? 0 : 1;
}

TEST(Bf16, DirectedCases) {
  struct Case {
    uint32_t in;
    uint16_t out;
    const char* what;
  };
  const Case cases[] = {
      {0x3f800000u, 0x3f80u, "1.0 exact"},
      {0x3f808000u, 0x3f80u, "1 + half ulp: tie, keeps even 0x3f80"},
      {0x3f818000u, 0x3f82u, "tie with odd lsb rounds up to even"},
      {0x3f808001u, 0x3f81u, "just above the tie rounds up"},
      {0x3f807fffu, 0x3f80u, "just below the tie rounds down"},
      {0x3fff8000u, 0x4000u, "tie that carries into the exponent"},
      {0x7f7f0000u, 0x7f7fu, "max finite bf16 exact"},
      {0x7f7f7fffu, 0x7f7fu, "below the overflow threshold stays finite"},
      {0x7f7f8000u, 0x7f80u, "overflow threshold (a tie with odd lsb) goes to infinity"},
      {0x7f7fffffu, 0x7f80u, "max finite fp32 overflows to infinity"},
      {0xff7fffffu, 0xff80u, "negative overflow to -infinity"},
      {0x7f800000u, 0x7f80u, "+infinity"},
      {0xff800000u, 0xff80u, "-infinity"},
      {0x00000000u, 0x0000u, "+0"},
      {0x80000000u, 0x8000u, "-0 keeps its sign"},
      {0x00000001u, 0x0000u, "smallest subnormal rounds to +0"},
      {0x80000001u, 0x8000u, "smallest negative subnormal rounds to -0"},
      {0x00008000u, 0x0000u, "subnormal tie to even 0"},
      {0x00018000u, 0x0002u, "subnormal tie to even 2"},
      {0x007fffffu, 0x0080u, "largest subnormal rounds up to the smallest normal"},
      {0x7fc00000u, 0x7fc0u, "quiet NaN"},
      {0x7f800001u, 0x7fc0u, "signalling NaN with a low payload stays NaN (quieted)"},
      {0xff800001u, 0xffc0u, "negative signalling NaN"},
      {0x7fbfffffu, 0x7fffu, "NaN whose rounding would carry stays NaN"},
  };
  for (const Case& c : cases) EXPECT_EQ(ws::fp32_bits_to_bf16(c.in), c.out) << c.what;
  EXPECT_EQ(ws::fp32_to_bf16(1.0f), 0x3f80u);
  EXPECT_EQ(ws::fp32_to_bf16(-2.5f), 0xc020u);
}

// Every upper half (so every sign, exponent and kept mantissa, NaNs and infinities included) with the
// lower halves where rounding decides: 0, just above 0, just below / at / just above the tie, all ones,
// plus random ones. WS_DEPTH=long checks every fp32 pattern.
TEST(Bf16, AgainstReference) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  long mismatches = 0, checked = 0;
  int reported = 0;
  if (long_run()) {
    for (uint64_t b = 0; b <= 0xffffffffu; ++b) mismatches += check(uint32_t(b), reported), ++checked;
  } else {
    const uint32_t lows[] = {0x0000u, 0x0001u, 0x7ffeu, 0x7fffu, 0x8000u, 0x8001u, 0xfffeu, 0xffffu};
    for (uint32_t hi = 0; hi <= 0xffffu; ++hi) {
      for (uint32_t lo : lows) mismatches += check(hi << 16 | lo, reported), ++checked;
      for (int k = 0; k < 4; ++k) mismatches += check(hi << 16 | (rng() & 0xffffu), reported), ++checked;
    }
  }
  std::printf("checked %ld fp32 patterns, %ld mismatches\n", checked, mismatches);
  EXPECT_EQ(mismatches, 0);
}

TEST(Bf16, WideningIsExact) {
  long mismatches = 0;
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    const uint32_t bits = ws::bf16_to_fp32_bits(uint16_t(h));
    const float f = ws::bf16_to_fp32(uint16_t(h));
    uint32_t fbits;
    std::memcpy(&fbits, &f, 4);
    if (bits != h << 16 || fbits != h << 16) ++mismatches;
    // Narrowing a widened value gives it back (NaNs come back quiet).
    const uint16_t back = ws::fp32_bits_to_bf16(bits);
    if (is_nan16(uint16_t(h)) ? !is_nan16(back) : back != h) ++mismatches;
  }
  std::printf("bf16 -> fp32 -> bf16: %ld mismatches\n", mismatches);
  EXPECT_EQ(mismatches, 0);
}

// fp16 -> fp32 against the value computed from the definition with ldexp.
TEST(Bf16, Fp16Widening) {
  long mismatches = 0;
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    const uint32_t got = ws::fp16_to_fp32_bits(uint16_t(h));
    const int exp = int(h >> 10) & 0x1f;
    const int mant = int(h & 0x3ff);
    const bool neg = (h & 0x8000u) != 0;
    bool ok;
    if (exp == 0x1f && mant != 0) {
      ok = is_nan32(got) && ((got >> 31) != 0) == neg && ((got >> 13) & 0x3ff) == uint32_t(mant);
    } else {
      double v = exp == 0x1f ? HUGE_VAL : exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
      float f = float(neg ? -v : v);
      uint32_t want;
      std::memcpy(&want, &f, 4);
      ok = got == want;
    }
    if (!ok) ++mismatches;
  }
  std::printf("fp16 -> fp32: %ld mismatches\n", mismatches);
  EXPECT_EQ(mismatches, 0);
}

TEST(Bf16, BulkLittleEndian) {
  const uint8_t f32[] = {0x00, 0x80, 0x80, 0x3f,   // 0x3f808000: tie -> 0x3f80
                         0x00, 0x80, 0x81, 0x3f};  // 0x3f818000: tie -> 0x3f82
  uint8_t out[4] = {};
  ws::fp32_to_bf16_le(f32, 2, out);
  EXPECT_EQ(out[0], 0x80);
  EXPECT_EQ(out[1], 0x3f);
  EXPECT_EQ(out[2], 0x82);
  EXPECT_EQ(out[3], 0x3f);
  const uint8_t f16[] = {0x00, 0x3c, 0x01, 0x00};  // 1.0, smallest subnormal 2^-24
  ws::fp16_to_bf16_le(f16, 2, out);
  EXPECT_EQ(out[0] | out[1] << 8, 0x3f80);
  EXPECT_EQ(out[2] | out[3] << 8, 0x3380);  // 2^-24 = 0x33800000
}

}  // namespace
