// The MAC arrays' bit-level arithmetic (hw/mac_arith.hpp) against an independent reference: the host
// FPU, which on x86-64/ARM64 without fast-math is IEEE binary32 with round-to-nearest-even and gradual
// underflow, exactly the semantics documented in docs/mac_array.md. Only NaN payloads differ by
// design (the model always returns the canonical quiet NaN).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "core/bf16.hpp"
#include "hw/mac_arith.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using ws::fp32_from_bits;
using ws::fp32_bits;



// Host reference; volatile keeps the compiler from folding with other semantics.
uint32_t host_add(uint32_t a, uint32_t b) {
  volatile float x = fp32_from_bits(a), y = fp32_from_bits(b);
  volatile float r = x + y;
  const float rr = r;
  return std::isnan(rr) ? ws::kFp32CanonicalNaN : fp32_bits(rr);
}
uint32_t host_bf16_mul(uint16_t a, uint16_t b) {
  volatile float x = fp32_from_bits(uint32_t(a) << 16), y = fp32_from_bits(uint32_t(b) << 16);
  volatile float r = x * y;  // the exact product has 16 significant bits: one rounding, as in the model
  const float rr = r;
  return std::isnan(rr) ? ws::kFp32CanonicalNaN : fp32_bits(rr);
}

// fp32 operands biased toward the hard cases: equal and near exponents, subnormals, zeros, infinities,
// NaNs, the largest finite values, and near-cancellation pairs.
struct Fp32Gen {
  std::mt19937_64 rng;
  explicit Fp32Gen(uint64_t s) : rng(s) {}
  uint32_t any() { return uint32_t(rng()); }
  uint32_t with_exp(uint32_t e) { return (uint32_t(rng()) & 0x807FFFFFu) | (e << 23); }
  uint32_t special() {
    static const uint32_t v[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00001u,
                                 0x7F800001u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x00000001u, 0x80000001u, 0x007FFFFFu,
                                 0x00800000u, 0x80800000u, 0x3F800000u, 0xBF800000u};
    return v[rng() % (sizeof v / sizeof v[0])];
  }
  std::pair<uint32_t, uint32_t> pair() {
    uint32_t a, b;
    switch (rng() % 8) {
      case 0: a = any(); b = any(); break;
      case 1: {  // exponents 0 .. 30 apart
        const uint32_t e = uint32_t(rng() % 256);
        a = with_exp(e);
        b = with_exp(uint32_t(std::max<int64_t>(0, int64_t(e) - int64_t(rng() % 31))));
        break;
      }
      case 2: a = with_exp(uint32_t(rng() % 3)); b = with_exp(uint32_t(rng() % 3)); break;  // subnormal range
      case 3: a = special(); b = rng() % 2 ? special() : any(); break;
      case 4: {  // near cancellation: b = -(a + small delta)
        a = any() & 0x7FFFFFFFu;
        if (a >= 0x7F800000u) a = 0x3F800000u;
        b = (a + uint32_t(rng() % 9) - 4) | 0x80000000u;
        if ((b & 0x7FFFFFFFu) >= 0x7F800000u) b = 0xBF800000u;
        break;
      }
      case 5: a = with_exp(253 + uint32_t(rng() % 2)); b = with_exp(250 + uint32_t(rng() % 5)); break;  // overflow
      case 6: a = with_exp(uint32_t(rng() % 256)); b = with_exp(uint32_t(rng() % 256)); break;
      default: {  // same exponent, opposite signs (massive cancellation)
        const uint32_t e = uint32_t(rng() % 255);
        a = with_exp(e) & 0x7FFFFFFFu;
        b = with_exp(e) | 0x80000000u;
        break;
      }
    }
    if (rng() % 2) std::swap(a, b);
    return {a, b};
  }
};

TEST(MacArith, HostIsIeeeWithGradualUnderflow) {
  // The reference is only a reference if the host keeps subnormals and rounds to nearest even.
  volatile float tiny = FLT_MIN;
  volatile float half = tiny / 2.0f;
  EXPECT_NE(fp32_bits(half), 0u) << "host flushes subnormals to zero (FTZ/DAZ): no IEEE reference";
  EXPECT_EQ(host_add(0x3F800000u, 0x33800000u), 0x3F800000u) << "1 + 2^-24 must tie to even";
}

TEST(MacArith, Fp32AddDirected) {
  struct Case { uint32_t a, b, sum; const char* what; };
  const Case cases[] = {
      {0x7F800000u, 0xFF800000u, ws::kFp32CanonicalNaN, "inf - inf = NaN"},
      {0x7F800000u, 0x7F800000u, 0x7F800000u, "inf + inf"},
      {0xFF800000u, 0x3F800000u, 0xFF800000u, "-inf + 1"},
      {0x7FC00001u, 0x3F800000u, ws::kFp32CanonicalNaN, "NaN payload is not kept"},
      {0xFF800001u, 0x7F800000u, ws::kFp32CanonicalNaN, "signalling NaN + inf"},
      {0x80000000u, 0x80000000u, 0x80000000u, "-0 + -0 = -0"},
      {0x80000000u, 0x00000000u, 0x00000000u, "-0 + +0 = +0"},
      {0x40490FDBu, 0xC0490FDBu, 0x00000000u, "x + -x = +0"},
      {0x7F7FFFFFu, 0x7F7FFFFFu, 0x7F800000u, "max finite overflows to inf"},
      {0x7F7FFFFFu, 0x73000000u, 0x7F800000u, "max + half ulp ties to even: odd, so up to inf"},
      {0x7F7FFFFEu, 0x73000000u, 0x7F7FFFFEu, "even + half ulp ties to even: stays"},
      {0x7F7FFFFFu, 0x73800000u, 0x7F800000u, "max + 1 ulp = inf"},
      {0x00000001u, 0x00000001u, 0x00000002u, "subnormal + subnormal"},
      {0x007FFFFFu, 0x00000001u, 0x00800000u, "subnormal carries into the normal range"},
      {0x00800000u, 0x80000001u, 0x007FFFFFu, "normal - subnormal goes subnormal"},
      {0x3F800000u, 0x33800000u, 0x3F800000u, "1 + 2^-24: tie to even, down"},
      {0x3F800001u, 0x33800000u, 0x3F800002u, "tie to even, up"},
      {0x3F800000u, 0xB3800000u, 0x3F7FFFFFu, "1 - 2^-24 is exact"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ws::fp32_add(c.a, c.b), c.sum) << c.what;
    EXPECT_EQ(ws::fp32_add(c.b, c.a), c.sum) << c.what << " (swapped)";
    EXPECT_EQ(host_add(c.a, c.b), c.sum) << "host disagrees: " << c.what;
  }
}

TEST(MacArith, Fp32AddMatchesHostRandom) {
  const uint64_t s = seed();
  const uint64_t n = long_run() ? 200000000ull : 4000000ull;
  Fp32Gen gen(s);
  uint64_t mismatches = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const auto [a, b] = gen.pair();
    const uint32_t got = ws::fp32_add(a, b), want = host_add(a, b);
    if (got != want && ++mismatches <= 10)
      ADD_FAILURE() << std::hex << "fp32_add(0x" << a << ", 0x" << b << ") = 0x" << got << ", host 0x" << want;
  }
  std::printf("fp32_add vs host FPU: TB_SEED=%llu, %llu pairs, %llu mismatches\n", (unsigned long long)s,
              (unsigned long long)n, (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u) << "TB_SEED=" << s;
}

TEST(MacArith, Fp32AddExhaustiveSmallExponents) {
  // Every pair of 9-bit-significand values in the subnormal / smallest normal range and around 1.0:
  // all alignments, carries and cancellations there, both signs.
  uint64_t mismatches = 0, n = 0;
  for (uint32_t ea : {0u, 1u, 2u, 127u})
    for (uint32_t eb : {0u, 1u, 2u, 126u, 127u})
      for (uint32_t ma = 0; ma < 512; ma += 3)
        for (uint32_t mb = 0; mb < 512; mb += 5)
          for (uint32_t sg = 0; sg < 4; ++sg) {
            const uint32_t a = (sg & 1u) << 31 | ea << 23 | ma << 14 | (ma & 7u);
            const uint32_t b = (sg >> 1) << 31 | eb << 23 | mb << 14 | (mb & 3u);
            ++n;
            if (ws::fp32_add(a, b) != host_add(a, b) && ++mismatches <= 10)
              ADD_FAILURE() << std::hex << "fp32_add(0x" << a << ", 0x" << b << ")";
          }
  std::printf("fp32_add structured sweep: %llu pairs, %llu mismatches\n", (unsigned long long)n,
              (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(MacArith, Bf16MulDirected) {
  EXPECT_EQ(ws::bf16_mul(0x3F80, 0x3F80), 0x3F800000u);                  // 1 * 1
  EXPECT_EQ(ws::bf16_mul(0x7F80, 0x0000), ws::kFp32CanonicalNaN);        // inf * 0
  EXPECT_EQ(ws::bf16_mul(0x8000, 0xFF80), ws::kFp32CanonicalNaN);        // -0 * -inf
  EXPECT_EQ(ws::bf16_mul(0xFF80, 0x3F80), 0xFF800000u);                  // -inf * 1
  EXPECT_EQ(ws::bf16_mul(0x8000, 0x3F80), 0x80000000u);                  // -0 * 1 = -0
  EXPECT_EQ(ws::bf16_mul(0x7FC1, 0x3F80), ws::kFp32CanonicalNaN);        // NaN
  EXPECT_EQ(ws::bf16_mul(0x7F7F, 0x7F7F), 0x7F800000u);                  // max * max overflows
  EXPECT_EQ(ws::bf16_mul(0x0001, 0x3F80), 0x00010000u);                  // subnormal * 1 exact
  EXPECT_EQ(ws::bf16_mul(0x0001, 0x0001), 0x00000000u);                  // underflows to +0
  EXPECT_EQ(ws::bf16_mul(0x3F7F, 0x3F7F) & 0xFFFFu, 0x0100u & 0xFFFFu);  // 0x7F*0x7F mantissas, exact
  // Exact in fp32 in the normal range: compare with the exact double product.
  EXPECT_EQ(double(fp32_from_bits(ws::bf16_mul(0x3FFF, 0x4055))),
            double(fp32_from_bits(0x3FFF0000u)) * double(fp32_from_bits(0x40550000u)));
}

TEST(MacArith, Bf16MulMatchesHost) {
  // Every bf16 a against random b (64 per a at smoke depth, 2048 when long), plus every pair of the
  // exponent-edge set: subnormals, the smallest normals, around 1, the largest finite, inf/NaN.
  const uint64_t s = seed();
  std::mt19937_64 rng(s ^ 0xBF16);
  const int per_a = long_run() ? 2048 : 64;
  uint64_t mismatches = 0, n = 0;
  auto check = [&](uint16_t a, uint16_t b) {
    ++n;
    const uint32_t got = ws::bf16_mul(a, b), want = host_bf16_mul(a, b);
    if (got != want && ++mismatches <= 10)
      ADD_FAILURE() << std::hex << "bf16_mul(0x" << a << ", 0x" << b << ") = 0x" << got << ", host 0x" << want;
  };
  for (uint32_t a = 0; a < 65536; ++a)
    for (int k = 0; k < per_a; ++k) check(uint16_t(a), uint16_t(rng()));
  std::vector<uint16_t> edge;
  for (uint32_t e : {0u, 1u, 2u, 60u, 61u, 62u, 63u, 64u, 126u, 127u, 128u, 190u, 191u, 192u, 253u, 254u, 255u})
    for (uint32_t m = 0; m < 128; ++m)
      for (uint32_t sg = 0; sg < 2; ++sg) edge.push_back(uint16_t(sg << 15 | e << 7 | m));
  for (uint16_t a : edge)
    for (uint16_t b : edge) check(a, b);
  std::printf("bf16_mul vs host FPU: TB_SEED=%llu, %llu pairs, %llu mismatches\n", (unsigned long long)s,
              (unsigned long long)n, (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u) << "TB_SEED=" << s;
}

TEST(MacArith, Int8Lanes) {
  using ws::MacMode;
  EXPECT_EQ(int32_t(ws::mac_mul(MacMode::Int8, 0x0080, 0x0080)), 16384);  // -128 * -128
  EXPECT_EQ(int32_t(ws::mac_mul(MacMode::Int8, 0x0080, 0x007F)), -16256);  // -128 * 127
  EXPECT_EQ(int32_t(ws::mac_mul(MacMode::Int8, 0xFF02, 0xAAFD)), -6);      // bits 15:8 ignored
  EXPECT_EQ(ws::mac_add(MacMode::Int8, 0x7FFFFFFFu, 1u), 0x80000000u);     // wraps
  for (int a = -128; a < 128; ++a)
    for (int b = -128; b < 128; ++b)
      ASSERT_EQ(int32_t(ws::mac_mul(MacMode::Int8, uint16_t(a & 0xFF), uint16_t(b & 0xFF))), a * b);
}

TEST(MacArith, TreeOrderIsPairwise) {
  // 1, 2^24, 1, 1: the pairwise tree gives (1 + 2^24) + (1 + 1) = 2^24 + 2; a running sum would
  // give 2^24. The order is part of the specification.
  uint32_t p[4] = {0x3F800000u, 0x4B800000u, 0x3F800000u, 0x3F800000u};
  EXPECT_EQ(ws::mac_tree(ws::MacMode::Bf16, p, 4), 0x4B800001u);
  uint32_t q[2] = {5u, uint32_t(-7)};
  EXPECT_EQ(int32_t(ws::mac_tree(ws::MacMode::Int8, q, 2)), -2);
  uint32_t r[3] = {1, 2, 3};
  EXPECT_THROW(ws::mac_tree(ws::MacMode::Int8, r, 3), std::invalid_argument);
}

}  // namespace
