// Number formats (numfmt/numfmt.hpp): every pattern of every built-in of 16 bits or fewer against
// decoders written here from the definitions (or another route: the compiler's _Float16, bf16 as the
// top half of an fp32), the split of docs/format.md section 3, rounding against a brute-force nearest
// search, exactness errors, JSON custom formats and hostile JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "numfmt/numfmt.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using ws::fp32_from_bits;
using ws::fp32_bits;

using ws::numfmt::Code;
using ws::numfmt::Format;



// ---- Independent decoders -------------------------------------------------------------------

// IEEE-style binary interchange format from the definition; `fn`: OCP E4M3 (no infinity, only
// S.1111.111 is NaN).
double ieee_value(uint32_t p, int e, int m, bool fn) {
  const int sign = int(p >> (e + m) & 1), ex = int(p >> m & ((1u << e) - 1));
  const uint32_t man = p & ((1u << m) - 1);
  const int bias = (1 << (e - 1)) - 1, top = (1 << e) - 1;
  const double s = sign ? -1.0 : 1.0;
  if (!fn && ex == top) return man ? std::nan("") : s * std::numeric_limits<double>::infinity();
  if (fn && ex == top && man == (1u << m) - 1) return std::nan("");
  if (ex == 0) return s * double(man) * std::pow(2.0, 1 - bias - m);
  return s * (1.0 + double(man) / double(1u << m)) * std::pow(2.0, ex - bias);
}

// Posit Standard (2022) formula, read straight from the bit string without negating:
// x = ((1 - 3s) + f) * 2^((1 - 2s) * (2^es * r + e + s)).
double posit_value(uint32_t p, int n, int es) {
  if (p == 0) return 0.0;
  if (p == 1u << (n - 1)) return std::nan("");
  const int s = int(p >> (n - 1) & 1);
  int i = n - 2;
  const int r0 = int(p >> i & 1);
  int run = 0;
  while (i >= 0 && int(p >> i & 1) == r0) ++run, --i;
  const int r = r0 ? run - 1 : -run;
  --i;  // the regime's terminating bit (or past the end)
  int e = 0;
  for (int b = 0; b < es; ++b) {
    e <<= 1;
    if (i >= 0) e |= int(p >> i & 1), --i;
  }
  const int fb = i + 1 > 0 ? i + 1 : 0;
  const double f = fb ? double(p & ((1u << fb) - 1)) / double(1u << fb) : 0.0;
  return ((1 - 3 * s) + f) * std::pow(2.0, (1 - 2 * s) * ((1 << es) * r + e + s));
}

double int_value(uint32_t p, int n) { return p >> (n - 1) ? double(int64_t(p) - (int64_t(1) << n)) : double(p); }

double fp16_value(uint32_t p) {  // the compiler's half precision
  const uint16_t h = uint16_t(p);
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return double(float(x));
}

double bf16_value(uint32_t p) { return double(fp32_from_bits(p << 16)); }

struct Spec {
  std::string name;
  int bits;
  bool is_int;
  bool has_inf;
  bool signed_zero;
  std::function<double(uint32_t)> value;
};

std::vector<Spec> small_specs() {
  std::vector<Spec> v = {
      {"bf16", 16, false, true, true, bf16_value},
      {"fp16", 16, false, true, true, fp16_value},
      {"e4m3", 8, false, false, true, [](uint32_t p) { return ieee_value(p, 4, 3, true); }},
      {"e5m2", 8, false, true, true, [](uint32_t p) { return ieee_value(p, 5, 2, false); }},
      {"int8", 8, true, false, false, [](uint32_t p) { return int_value(p, 8); }},
      {"int4", 4, true, false, false, [](uint32_t p) { return int_value(p, 4); }},
  };
  for (int n = 2; n <= 16; ++n)
    for (int es = 0; es <= 3; ++es)
      v.push_back({"posit" + std::to_string(n) + "_" + std::to_string(es), n, false, false, false,
                   [n, es](uint32_t p) { return posit_value(p, n, es); }});
  return v;
}

// ---- Exhaustive decoding --------------------------------------------------------------------

TEST(NumFmt, KnownConstants) {
  EXPECT_EQ(ieee_value(0x7e, 4, 3, true), 448.0);           // E4M3 max
  EXPECT_EQ(ieee_value(0x01, 4, 3, true), std::ldexp(1, -9));
  EXPECT_EQ(ieee_value(0x7b, 5, 2, false), 57344.0);        // E5M2 max
  EXPECT_EQ(posit_value(0x7f, 8, 2), std::ldexp(1, 24));    // posit8 maxpos
  EXPECT_EQ(posit_value(0x01, 8, 2), std::ldexp(1, -24));   // minpos
  EXPECT_EQ(posit_value(0x40, 8, 2), 1.0);
  EXPECT_EQ(posit_value(0xc0, 8, 2), -1.0);
  EXPECT_EQ(posit_value(0x81, 8, 2), -std::ldexp(1, 24));
  EXPECT_EQ(posit_value(0x4000, 16, 1), 1.0);
  EXPECT_EQ(posit_value(0x5000, 16, 1), 2.0);               // 01 0 1 0000...: r=0, e=1
  EXPECT_EQ(fp16_value(0x3c00), 1.0);
  EXPECT_EQ(Format::builtin("e4m3").value({15, 6}), 448.0);
  EXPECT_EQ(Format::builtin("posit16").name(), "posit16_2");
}

TEST(NumFmt, EveryPatternOfEverySmallFormat) {
  uint64_t checked = 0, mismatches = 0;
  for (const Spec& sp : small_specs()) {
    const Format f = Format::builtin(sp.name);
    ASSERT_EQ(f.pattern_bits(), sp.bits) << sp.name;
    for (uint32_t p = 0; p < (1u << sp.bits); ++p) {
      const double want = sp.value(p);
      const Code c = f.split(p);
      const double got = f.value(c);
      const uint32_t out = f.output_bits(c);
      bool ok = f.join(c) == p;
      if (std::isnan(want)) {
        ok = ok && std::isnan(got) && std::isnan(fp32_from_bits(out));
      } else {
        ok = ok && got == want && std::signbit(got) == std::signbit(want);
        if (sp.is_int)
          ok = ok && int32_t(out) == int32_t(want);
        else
          ok = ok && out == fp32_bits(float(want)) && double(float(want)) == want;  // fp32 exactly
        // The exact value encodes back to the same code (-0 is +0 where there is no -0).
        const float wf = float(want);
        ok = ok && f.encode_float(wf) == (sp.signed_zero || want != 0 ? c : f.split(0));
      }
      if (!ok && mismatches++ < 10)
        ADD_FAILURE() << sp.name << " pattern 0x" << std::hex << p << ": want " << want << " got " << got
                      << " out 0x" << out;
      ++checked;
    }
  }
  std::printf("patterns checked: %llu, mismatches: %llu\n", (unsigned long long)checked,
              (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(NumFmt, Bf16OutputIsTheTopHalfOfFp32) {
  const Format f = Format::builtin("bf16");
  uint64_t mismatches = 0;
  for (uint32_t p = 0; p < 0x10000; ++p) mismatches += f.output_bits(f.split(p)) != (p << 16);
  std::printf("bf16 patterns: 65536, mismatches: %llu\n", (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(NumFmt, Fp16NanPayloadsKept) {
  const Format f = Format::builtin("fp16");
  for (uint32_t p = 0; p < 0x10000; ++p)
    if (std::isnan(fp16_value(p))) {
      ASSERT_EQ(f.output_bits(f.split(p)), ws::fp16_to_fp32_bits(uint16_t(p))) << p;
    }
}

// The codec's split (docs/format.md section 3) for bf16 and fp16 on every pattern, fp32 on many.
TEST(NumFmt, SplitMatchesFormatSection3) {
  struct Case {
    const char* name;
    ws::DType t;
    int exp_shift;
    int man_bits;
  };
  std::mt19937_64 rng(seed());
  uint64_t checked = 0, mismatches = 0;
  for (const Case& k : {Case{"bf16", ws::DType::BF16, 7, 7}, Case{"fp16", ws::DType::F16, 10, 10},
                        Case{"fp32", ws::DType::F32, 23, 23}}) {
    const Format f = Format::builtin(k.name);
    const ws::Split sp = ws::split_of(k.t);
    const int top = k.exp_shift + (k.t == ws::DType::F16 ? 5 : 8);
    const uint64_t n = k.t == ws::DType::F32 ? (long_run() ? (uint64_t(1) << 32) : (1u << 22)) : 0x10000;
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t p = k.t == ws::DType::F32 && !long_run() ? uint32_t(rng()) : uint32_t(i);
      const Code c = f.split(p);
      // Written from the table of section 3 ...
      const uint32_t sym = p >> k.exp_shift & ((1u << (top - k.exp_shift)) - 1);
      const uint32_t raw = (p >> top & 1) << k.man_bits | (p & ((1u << k.man_bits) - 1));
      // ... and as the codec computes it.
      const uint32_t csym = p >> sp.exponent_shift & sp.exponent_mask;
      const uint32_t craw = (p >> top & 1) << sp.mantissa_bits | (p & ((1u << sp.mantissa_bits) - 1));
      bool ok = c.symbol == sym && c.raw == raw && c.symbol == csym && c.raw == craw &&
                f.entry(c.symbol).raw_bits == sp.raw_bits() && f.join(c) == p;
      if (k.t == ws::DType::F32) ok = ok && f.output_bits(c) == p;  // fp32 passes through untouched
      if (!ok && mismatches++ < 10) ADD_FAILURE() << k.name << " 0x" << std::hex << p;
      ++checked;
    }
  }
  std::printf("section-3 splits checked: %llu, mismatches: %llu\n", (unsigned long long)checked,
              (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

// ---- Rounding -------------------------------------------------------------------------------

// Brute-force nearest by the values the independent decoders give: ties to the even pattern,
// overflow past max + ulp/2 to infinity where the format has one, else saturation.
struct Nearest {
  std::vector<std::pair<double, uint32_t>> vals;  // sorted finite values
  bool has_inf = false;
  bool signed_zero = false;
  int bits = 0;

  explicit Nearest(const Spec& sp) : has_inf(sp.has_inf), signed_zero(sp.signed_zero), bits(sp.bits) {
    for (uint32_t p = 0; p < (1u << sp.bits); ++p) {
      const double v = sp.value(p);
      if (std::isfinite(v)) vals.push_back({v, p});
    }
    std::sort(vals.begin(), vals.end());
  }
  uint32_t pattern(double x) const {  // x finite
    auto it = std::lower_bound(vals.begin(), vals.end(), std::make_pair(x, 0u),
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it != vals.end() && it->first == x) {  // exact; zeros: the sign of x if the format has both
      if (x == 0 && signed_zero) return std::signbit(x) ? 1u << (bits - 1) : 0u;
      return it->second;
    }
    const long double lx = x;
    if (it == vals.end()) {  // above the largest
      const long double mx = vals.back().first, ulp = mx - vals[vals.size() - 2].first;
      if (has_inf && (lx > mx + ulp / 2 || (lx == mx + ulp / 2 && (vals.back().second & 1))))
        return inf_pattern(false);
      return vals.back().second;
    }
    if (it == vals.begin()) {
      const long double mn = vals.front().first, ulp = vals[1].first - mn;
      if (has_inf && (lx < mn - ulp / 2 || (lx == mn - ulp / 2 && (vals.front().second & 1))))
        return inf_pattern(true);
      return vals.front().second;
    }
    const auto hi = *it, lo = *(it - 1);
    const long double dl = lx - lo.first, dh = (long double)hi.first - lx;
    uint32_t lo_p = lo.second, hi_p = hi.second;
    if (lo.first == 0 && signed_zero) lo_p = std::signbit(x) ? 1u << (bits - 1) : 0u;
    if (hi.first == 0 && signed_zero) hi_p = std::signbit(x) ? 1u << (bits - 1) : 0u;
    if (dl < dh) return lo_p;
    if (dh < dl) return hi_p;
    return (lo_p & 1) == 0 ? lo_p : hi_p;
  }
  uint32_t inf_pattern(bool neg) const;
  std::function<uint32_t(bool)> inf_of;
};

uint32_t Nearest::inf_pattern(bool neg) const { return inf_of(neg); }

uint32_t ieee_inf(int e, int m, bool neg) { return uint32_t(neg) << (e + m) | ((1u << e) - 1) << m; }

TEST(NumFmt, RoundingMatchesBruteForceNearest) {
  std::mt19937 rng(seed());
  const int per_format = long_run() ? 200000 : 3000;
  uint64_t checked = 0, mismatches = 0;
  for (const Spec& sp : small_specs()) {
    if (sp.is_int) continue;  // integers: IntegerRounding below
    const Format f = Format::builtin(sp.name);
    Nearest ref(sp);
    if (sp.name == "bf16") ref.inf_of = [](bool n) { return ieee_inf(8, 7, n); };
    if (sp.name == "fp16") ref.inf_of = [](bool n) { return ieee_inf(5, 10, n); };
    if (sp.name == "e5m2") ref.inf_of = [](bool n) { return ieee_inf(5, 2, n); };
    std::vector<float> xs;
    // Midpoints of neighbours and the floats just beside them: the tie cases and their neighbours.
    for (size_t i = 0; i + 1 < ref.vals.size(); ++i) {
      const double mid = (ref.vals[i].first + ref.vals[i + 1].first) / 2;
      if (float(mid) != mid) continue;  // not an fp32 input
      xs.push_back(float(mid));
      xs.push_back(std::nextafter(float(mid), -INFINITY));
      xs.push_back(std::nextafter(float(mid), INFINITY));
    }
    // Random fp32 values spread over the format's range and beyond.
    const double mx = ref.vals.back().first;
    std::uniform_real_distribution<double> lg(-std::log2(mx) - 8, std::log2(mx) + 3);
    for (int i = 0; i < per_format; ++i) {
      float x = float(std::exp2(lg(rng)) * (rng() & 1 ? -1 : 1));
      xs.push_back(fp32_bits(x) & 1 ? x : fp32_from_bits(fp32_bits(x) ^ uint32_t(rng() & 0xff)));
    }
    for (float x : xs) {
      if (!std::isfinite(x)) continue;
      const uint32_t want = ref.pattern(double(x));
      const uint32_t got = f.join(f.encode_float(x, true));
      if (got != want && mismatches++ < 10)
        ADD_FAILURE() << sp.name << " x=" << x << " (0x" << std::hex << fp32_bits(x) << ") want 0x" << want
                      << " got 0x" << got;
      ++checked;
    }
  }
  std::printf("rounded values checked: %llu, mismatches: %llu\n", (unsigned long long)checked,
              (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

// bf16 and fp16 rounding against two other implementations: the codec's bias trick and the
// compiler's _Float16 conversion, on random fp32 patterns (NaNs aside).
TEST(NumFmt, Bf16AndFp16RoundingMatchOtherRoutes) {
  std::mt19937 rng(seed());
  const Format bf = Format::builtin("bf16"), hf = Format::builtin("fp16");
  const int n = long_run() ? 20000000 : 300000;
  uint64_t mismatches = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t b = rng();
    if ((b & 0x7fffffff) > 0x7f800000) continue;
    mismatches += bf.join(bf.encode(b, true)) != ws::fp32_bits_to_bf16(b);
    const _Float16 h = _Float16(fp32_from_bits(b));
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    mismatches += hf.join(hf.encode(b, true)) != hb;
  }
  std::printf("bf16+fp16 random roundings: %d, mismatches: %llu\n", 2 * n, (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(NumFmt, IntegerRounding) {
  const Format i8 = Format::builtin("int8"), i4 = Format::builtin("int4");
  auto r8 = [&](float x) { return int8_t(i8.join(i8.encode_float(x, true))); };
  EXPECT_EQ(r8(2.5f), 2);
  EXPECT_EQ(r8(3.5f), 4);
  EXPECT_EQ(r8(-2.5f), -2);
  EXPECT_EQ(r8(-3.5f), -4);
  EXPECT_EQ(r8(2.4999998f), 2);
  EXPECT_EQ(r8(126.5f), 126);
  EXPECT_EQ(r8(127.5f), 127);   // saturates
  EXPECT_EQ(r8(300.0f), 127);
  EXPECT_EQ(r8(-128.5f), -128);
  EXPECT_EQ(r8(-1e30f), -128);
  EXPECT_EQ(r8(-0.25f), 0);
  EXPECT_EQ(int32_t(i8.output_bits(i8.split(0x80))), -128);
  EXPECT_EQ(i4.join(i4.encode_float(-7.5f, true)), 0x8u);  // -7.5 -> -8 (even)
  EXPECT_EQ(i4.join(i4.encode_float(6.5f, true)), 0x6u);
}

TEST(NumFmt, OverflowInfinityAndNan) {
  const Format bf = Format::builtin("bf16"), e4 = Format::builtin("e4m3"), p16 = Format::builtin("posit16");
  const Format i8 = Format::builtin("int8");
  const float bf_max = fp32_from_bits(0x7f7f0000);
  const float half_ulp_above = fp32_from_bits(0x7f7f8000);  // max + ulp/2: tie, max is odd -> infinity
  EXPECT_EQ(bf.join(bf.encode_float(half_ulp_above, true)), 0x7f80u);
  EXPECT_EQ(bf.join(bf.encode_float(std::nextafter(half_ulp_above, 0.f), true)), 0x7f7fu);
  EXPECT_EQ(bf.join(bf.encode_float(bf_max)), 0x7f7fu);
  EXPECT_EQ(e4.join(e4.encode_float(1000.f, true)), 0x7eu);  // saturates at 448
  EXPECT_EQ(e4.join(e4.encode_float(-INFINITY, true)), 0xffu);  // infinity -> NaN
  EXPECT_EQ(p16.join(p16.encode_float(INFINITY, true)), 0x8000u);  // NaR
  EXPECT_EQ(p16.join(p16.encode_float(NAN)), 0x8000u);
  EXPECT_EQ(bf.join(bf.encode_float(-INFINITY)), 0xff80u);
  EXPECT_EQ(bf.join(bf.encode(0xffc00000u)), 0xffc0u);           // payload fits
  EXPECT_EQ(bf.join(bf.encode(0x7f800001u, true)), 0x7fc0u);     // quieted, as fp32_bits_to_bf16
  EXPECT_EQ(ws::fp32_bits_to_bf16(0x7f800001u), 0x7fc0u);
  EXPECT_THROW(bf.encode(0x7f800001u), ws::FormatError);         // payload would be lost
  EXPECT_THROW(i8.encode_float(NAN, true), ws::FormatError);
  EXPECT_THROW(i8.encode_float(INFINITY, true), ws::FormatError);
  EXPECT_THROW(e4.encode_float(INFINITY), ws::FormatError);
}

TEST(NumFmt, ExactnessErrors) {
  const char* names[] = {"bf16", "fp16", "e4m3", "e5m2", "int8", "int4", "posit8", "posit16"};
  for (const char* n : names) {
    const Format f = Format::builtin(n);
    EXPECT_THROW(f.encode_float(0.1f), ws::FormatError) << n;
    EXPECT_THROW(f.encode_float(1e30f), ws::FormatError) << n;
    EXPECT_NO_THROW(f.encode_float(0.1f, true)) << n;
    EXPECT_NO_THROW(f.encode_float(1.0f)) << n;
  }
  const Format i8 = Format::builtin("int8");
  EXPECT_THROW(i8.encode_float(0.5f), ws::FormatError);
  EXPECT_THROW(i8.encode_float(128.f), ws::FormatError);
  EXPECT_EQ(i8.join(i8.encode_float(-128.f)), 0x80u);
  EXPECT_THROW(i8.split(0x100), ws::FormatError);
  EXPECT_THROW(i8.join({9, 0}), ws::FormatError);   // no such symbol
  EXPECT_THROW(i8.join({3, 8}), ws::FormatError);   // raw wider than 3 bits
  EXPECT_THROW(Format::builtin("posit17_1"), ws::FormatError);
  EXPECT_THROW(Format::builtin("posit16_4"), ws::FormatError);
  EXPECT_THROW(Format::builtin("e4m4"), ws::FormatError);
  // fp32 holds every fp32 value exactly.
  const Format f32 = Format::builtin("fp32");
  EXPECT_EQ(f32.join(f32.encode(0x00000001u)), 1u);
  EXPECT_EQ(f32.join(f32.encode(0x80000000u)), 0x80000000u);
}

// ---- Entries, JSON --------------------------------------------------------------------------

TEST(NumFmt, EntryPackRoundTrip) {
  using ws::numfmt::Entry;
  for (const char* n : {"bf16", "fp32", "e4m3", "int8", "posit16_3", "posit2_0"}) {
    const Format f = Format::builtin(n);
    const auto words = f.config_words();
    for (int s = 0; s < 256; ++s) {
      ASSERT_LT(words[size_t(s)], 1u << ws::numfmt::kEntryBits);
      ASSERT_EQ(Entry::unpack(words[size_t(s)]), f.entry(unsigned(s))) << n << " " << s;
    }
  }
}

const char* kCustomJson = R"({
  "name": "e3m2_custom",
  "kind": "float",
  "symbols": [
    {"symbol": 0, "class": "finite", "scale": -2, "raw_bits": 3, "implicit_one": false},
    {"symbol": 1, "class": "finite", "scale": -2, "raw_bits": 3},
    {"symbol": 2, "class": "finite", "scale": -1, "raw_bits": 3},
    {"symbol": 3, "class": "finite", "scale": 0, "raw_bits": 3},
    {"symbol": 4, "class": "finite", "scale": 1, "raw_bits": 3},
    {"symbol": 5, "class": "finite", "scale": 2, "raw_bits": 3},
    {"symbol": 6, "class": "finite", "scale": 3, "raw_bits": 3},
    {"symbol": 7, "class": "inf_nan", "raw_bits": 3},
    {"symbol": 9, "class": "finite", "scale": 10, "raw_bits": 0, "sign": "minus"},
    {"symbol": 12, "class": "nan", "raw_bits": 0, "sign": "plus"}
  ]
})";

TEST(NumFmt, JsonCustomFormatRoundTrip) {
  const Format f = Format::from_json(kCustomJson);
  EXPECT_EQ(f.name(), "e3m2_custom");
  EXPECT_EQ(f.layout(), ws::numfmt::Layout::CodeIndex);
  const Format g = Format::from_json(f.to_json());
  EXPECT_EQ(g.table(), f.table());
  // Every code: value by hand, back through encode, through the code index.
  uint32_t codes = 0;
  for (int s = 0; s < 256; ++s) {
    const auto& e = f.entry(unsigned(s));
    if (e.cls == ws::numfmt::Class::None) continue;
    for (uint32_t raw = 0; raw < (1u << e.raw_bits); ++raw, ++codes) {
      const Code c{uint8_t(s), raw};
      const double v = f.value(c);
      if (s <= 6) {  // e3m2 by hand: symbol = exponent field, bias 3
        const double mag = s == 0 ? (raw & 3) / 4.0 * 0.25 : (1 + (raw & 3) / 4.0) * std::ldexp(1, s - 3);
        EXPECT_EQ(v, (raw & 4 ? -mag : mag)) << s << " " << raw;
      }
      if (s == 9) {
        EXPECT_EQ(v, -1024.0);
      }
      if (std::isnan(v)) continue;
      EXPECT_EQ(f.join(c), codes) << s << " " << raw;
      EXPECT_EQ(f.split(codes), c);
      EXPECT_EQ(f.encode_float(float(v)), c) << v;
      EXPECT_EQ(f.output_bits(c), fp32_bits(float(v)));
    }
  }
  EXPECT_EQ(codes, 8u * 8 + 1 + 1);
  EXPECT_EQ(f.pattern_bits(), 7);
  // NaN: the first NaN-capable symbol (7); fp32's quiet bit lands on the top fraction bit.
  EXPECT_EQ(f.encode_float(NAN), (Code{7, 2}));
  // Overflow: past 14 (the largest positive) + 1/2 ulp infinity is nearer; -1024 is symbol 9's
  // only value, so infinity sits at -2048 on the negative side.
  EXPECT_EQ(f.encode_float(14.4f, true), (Code{6, 3}));
  EXPECT_EQ(f.encode_float(15.5f, true), (Code{7, 0}));
  EXPECT_EQ(f.encode_float(-1500.f, true), (Code{9, 0}));
  EXPECT_EQ(f.encode_float(-2000.f, true), (Code{7, 4}));
  EXPECT_EQ(f.encode_float(-20.f, true), (Code{6, 7}));
}

TEST(NumFmt, BuiltinsSurviveJson) {
  for (const char* n : {"bf16", "e4m3", "int4", "posit8"}) {
    const Format f = Format::builtin(n);
    const Format g = Format::from_json(f.to_json());
    EXPECT_EQ(g.table(), f.table()) << n;
    EXPECT_EQ(g.kind(), f.kind()) << n;
    for (uint32_t p = 0; p < (1u << f.pattern_bits()); ++p) {
      const Code c = f.split(p);
      ASSERT_EQ(g.output_bits(c), f.output_bits(c)) << n << " " << p;
    }
  }
}

TEST(NumFmt, HostileJsonIsRejected) {
  const std::string sym = R"({"symbol": 1, "class": "finite", "scale": 0, "raw_bits": 2})";
  auto wrap = [](const std::string& syms) { return R"({"name": "x", "kind": "float", "symbols": [)" + syms + "]}"; };
  std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      "{}",
      R"({"name": "x", "symbols": []})",
      R"({"name": "", "symbols": [)" + sym + "]}",
      R"({"name": "a b", "symbols": [)" + sym + "]}",
      R"({"name": ")" + std::string(65, 'n') + R"(", "symbols": [)" + sym + "]}",
      R"({"name": 5, "symbols": [)" + sym + "]}",
      R"({"name": "x", "kind": "decimal", "symbols": [)" + sym + "]}",
      R"({"name": "x", "extra": 1, "symbols": [)" + sym + "]}",
      R"({"name": "x", "symbols": {"a": 1}})",
      wrap(R"({"symbol": 256, "class": "zero", "raw_bits": 0, "sign": "plus"})"),
      wrap(R"({"symbol": -1, "class": "zero", "raw_bits": 0, "sign": "plus"})"),
      wrap(R"({"symbol": 1.5, "class": "zero", "raw_bits": 0, "sign": "plus"})"),
      wrap(R"({"symbol": "1", "class": "zero", "raw_bits": 0, "sign": "plus"})"),
      wrap(R"({"symbol": 18446744073709551615, "class": "zero", "raw_bits": 0, "sign": "plus"})"),
      wrap(sym + "," + sym),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 0, "raw_bits": 25})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 1099511627776, "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 200, "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": -149, "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 0, "raw_bits": 0})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 30, "raw_bits": 24, "sign": "plus"})"),
      wrap(R"({"symbol": 1, "class": "what", "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "none", "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "finite", "raw_bits": 2, "sign": "both"})"),
      wrap(R"({"symbol": 1, "class": "finite", "raw_bits": 2, "implicit_one": 1})"),
      wrap(R"({"symbol": 1, "class": "zero", "raw_bits": 2})"),
      wrap(R"({"symbol": 1, "class": "inf_nan", "raw_bits": 1})"),
      wrap(R"({"symbol": 1, "class": "finite_nan_max", "raw_bits": 1})"),
      wrap(R"({"symbol": 1, "class": "inf", "raw_bits": 1, "scale": 3})"),
      wrap(R"({"symbol": 1, "class": "finite", "scale": 0, "raw_bits": 2, "color": "red"})"),
      wrap("1"),
      R"({"name": "x", "kind": "int", "symbols": [{"symbol": 1, "class": "inf", "raw_bits": 1}]})",
      R"({"name": "x", "kind": "int", "symbols": [{"symbol": 1, "class": "finite", "scale": 0, "raw_bits": 3}]})",
      R"({"name": "x", "kind": "int", "symbols": [{"symbol": 1, "class": "finite", "scale": 31, "raw_bits": 1}]})",
      std::string(200000, '[') + std::string(200000, ']'),
      std::string((1 << 20) + 1, ' '),
  };
  std::string many = "";
  for (int i = 0; i < 257; ++i) many += (i ? "," : "") + std::string(R"({"symbol": 0, "class": "zero", "raw_bits": 0, "sign": "plus"})");
  bad.push_back(wrap(many));
  size_t rejected = 0;
  for (size_t i = 0; i < bad.size(); ++i) {
    try {
      Format::from_json(bad[i]);
      ADD_FAILURE() << "accepted hostile JSON #" << i << ": " << bad[i].substr(0, 120);
    } catch (const ws::FormatError&) {
      ++rejected;
    }
  }
  std::printf("hostile JSON rejected: %zu of %zu\n", rejected, bad.size());
  // And a minimal good one is accepted.
  EXPECT_NO_THROW(Format::from_json(wrap(sym)));
}

// ---- Tensors --------------------------------------------------------------------------------

std::vector<float> stories_weights() {
  std::ifstream in(std::string(WS_DATA_DIR) + "/stories260K.bin", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 28) return {};
  std::vector<float> w((bytes.size() - 28) / 4);
  std::memcpy(w.data(), bytes.data() + 28, w.size() * 4);
  return w;
}

TEST(NumFmt, RealWeightsRoundTripThroughStreams) {
  const std::vector<float> w = stories_weights();
  ASSERT_EQ(w.size(), 264128u) << "stories260K.bin missing from " << WS_DATA_DIR;
  for (const char* n : {"bf16", "e4m3", "posit16", "fp32"}) {
    const Format f = Format::builtin(n);
    const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, w.data(), w.size(), true);
    ASSERT_EQ(t.symbols.size(), w.size());
    const std::vector<uint32_t> out = ws::numfmt::decode_tensor(f, t.symbols.data(), w.size(), t.raw.data(), t.raw.size());
    uint64_t mismatches = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      // Independently: the rounded value is the nearest-even one, so decode(encode(x)) = value(code).
      const float expect = std::string(n) == "bf16" ? fp32_from_bits(uint32_t(ws::fp32_to_bf16(w[i])) << 16)
                           : std::string(n) == "fp32" ? w[i]
                                                      : float(f.value(f.encode_float(w[i], true)));
      mismatches += out[i] != fp32_bits(expect);
    }
    std::printf("%s: %zu weights, raw bits %llu, mismatches %llu\n", n, w.size(),
                (unsigned long long)t.raw_bit_count, (unsigned long long)mismatches);
    EXPECT_EQ(mismatches, 0u) << n;
    if (std::string(n) == "bf16") {
      EXPECT_EQ(t.raw_bit_count, 8 * w.size());  // format.md: one raw byte per bf16 value
      // The same streams from the stored bf16 patterns.
      std::vector<uint32_t> patterns(w.size());
      for (size_t i = 0; i < w.size(); ++i) patterns[i] = ws::fp32_to_bf16(w[i]);
      const ws::numfmt::SplitTensor sp = ws::numfmt::split_tensor(f, patterns.data(), patterns.size());
      EXPECT_EQ(sp.symbols, t.symbols);
      EXPECT_EQ(sp.raw, t.raw);
      for (size_t i = 0; i < w.size(); ++i) {
        const uint16_t h = ws::fp32_to_bf16(w[i]);
        ASSERT_EQ(t.symbols[i], h >> 7 & 0xff);
        ASSERT_EQ(t.raw[i], uint8_t((h >> 15) << 7 | (h & 0x7f)));
      }
    }
  }
}

TEST(NumFmt, DecodeTensorErrors) {
  const Format f = Format::builtin("int4");
  const uint8_t syms[] = {3, 3};
  const uint8_t raw4[] = {0x1f, 0, 0, 0};  // two 3-bit fields need 6 bits
  EXPECT_NO_THROW(ws::numfmt::decode_tensor(f, syms, 2, raw4, 4));
  auto msg = [&](const uint8_t* s, size_t n, const uint8_t* r, size_t rb) {
    try {
      ws::numfmt::decode_tensor(f, s, n, r, rb);
    } catch (const ws::FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const uint8_t bad_sym[] = {3, 7};
  EXPECT_EQ(msg(bad_sym, 2, raw4, 4), "unknown symbol 7");
  EXPECT_EQ(msg(syms, 2, raw4, 0), "raw stream runs out");
  const uint8_t raw_nz[] = {0x1f, 0x80, 0, 0};
  EXPECT_EQ(msg(syms, 2, raw_nz, 4), "raw bits left over");
  const uint8_t raw8[8] = {0x1f};
  EXPECT_EQ(msg(syms, 2, raw8, 8), "raw bits left over");
}

}  // namespace
