// Number formats as symbol tables (docs/numfmt.md): built-ins, stored pattern <-> code, values, the
// RTL's output words and encoding with exact nearest-even rounding.
#include "numfmt/numfmt.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/bf16.hpp"
#include "core/bitstream.hpp"
#include "core/error.hpp"

namespace ws::numfmt {
namespace {

using detail::Candidate;
using detail::Grid;

int bit_length(uint64_t v) {
  int n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

uint32_t low_mask(int bits) { return bits >= 32 ? 0xffffffffu : (1u << bits) - 1; }

bool has_fraction_value(Class c) { return c == Class::Finite || c == Class::FiniteNanMax; }

std::string symbol_text(unsigned s) { return "symbol " + std::to_string(s); }

// An exact non-negative dyadic magnitude in units of 2^-149, below 2^279: every fp32 value, every
// value of a valid format, and sums of two of them fit. Used only to break near-ties exactly.
using Wide = std::array<uint64_t, 5>;

Wide wide(uint64_t s, int x) {  // s * 2^x, x >= -149
  Wide w{};
  if (s == 0) return w;
  const int shift = x + 149;
  const int limb = shift / 64, bit = shift % 64;
  w[size_t(limb)] = s << bit;
  if (bit != 0 && limb + 1 < 5) w[size_t(limb) + 1] = s >> (64 - bit);
  return w;
}

void add(Wide& a, const Wide& b) {
  uint64_t carry = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const uint64_t s = a[i] + b[i];
    const uint64_t c1 = s < a[i];
    a[i] = s + carry;
    carry = c1 | (a[i] < s);
  }
}

int compare(const Wide& a, const Wide& b) {
  for (size_t i = a.size(); i-- > 0;)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}


}  // namespace

uint32_t Entry::pack() const {
  using W = pkg::unp_entry_t;
  return uint32_t(W::cls.put(uint64_t(cls)) | W::raw_bits.put(uint64_t(raw_bits)) | W::sign.put(uint64_t(sign)) |
                  W::implicit_one.put(implicit_one) | W::scale.put(uint64_t(uint32_t(scale))));
}

Entry Entry::unpack(uint32_t w) {
  using W = pkg::unp_entry_t;
  Entry e;
  e.cls = Class(W::cls.get(w));
  e.raw_bits = int(W::raw_bits.get(w));
  e.sign = Sign(W::sign.get(w));
  e.implicit_one = W::implicit_one.get(w) != 0;
  const int s = int(W::scale.get(w)), half = 1 << (W::scale.bits - 1);  // two's complement
  e.scale = s >= half ? s - 2 * half : s;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Construction and validation

void Format::finish() {
  if (name_.empty()) throw FormatError("number format: empty name");
  uint64_t codes = 0;
  int defined = 0;
  for (int s = 0; s < kSymbols; ++s) {
    const Entry& e = table_[size_t(s)];
    const std::string where = "number format " + name_ + ": " + symbol_text(unsigned(s)) + ": ";
    base_[size_t(s)] = codes;
    if (uint8_t(e.cls) > uint8_t(Class::InfNaN)) throw FormatError(where + "bad class");
    if (e.cls == Class::None) continue;
    ++defined;
    if (uint8_t(e.sign) > uint8_t(Sign::Minus)) throw FormatError(where + "bad sign");
    if (e.raw_bits < 0 || e.raw_bits > kMaxRawBits) throw FormatError(where + "raw bits out of 0..24");
    const int fb = e.frac_bits();
    if (fb < 0) throw FormatError(where + "a raw sign needs a raw bit");
    if (fb > 23) throw FormatError(where + "more than 23 fraction bits");
    if (has_fraction_value(e.cls)) {
      if (e.cls == Class::FiniteNanMax && fb < 1) throw FormatError(where + "NaN-at-max needs a fraction bit");
      if (kind_ == Kind::Float) {
        // Every value must be an fp32 value exactly: lsb weight >= 2^-149, top weight <= 2^127.
        if (e.scale > 127 || e.scale - fb < -149)
          throw FormatError(where + "scale " + std::to_string(e.scale) + " does not fit fp32 exactly");
      } else {
        if (e.cls != Class::Finite) throw FormatError(where + "integer formats have no NaN");
        if (e.scale - fb < 0 || e.scale > 30)
          throw FormatError(where + "scale " + std::to_string(e.scale) + " does not give int32 integers");
      }
    } else {
      if (e.scale != 0 || !e.implicit_one) throw FormatError(where + "scale and implicit one apply to finite classes only");
      if (kind_ == Kind::Int && e.cls != Class::Zero) throw FormatError(where + "integer formats have no infinity or NaN");
      if (e.cls == Class::InfNaN ? fb < 1 : fb != 0)
        throw FormatError(where + (e.cls == Class::InfNaN ? "inf_nan needs a fraction bit" : "class takes no fraction bits"));
    }
    codes += uint64_t(1) << e.raw_bits;
  }
  if (defined == 0) throw FormatError("number format " + name_ + ": no symbol defined");
  code_count_ = codes;
  index_for_encode();
  if (layout_ == Layout::CodeIndex) {
    if (codes > (uint64_t(1) << 32)) throw FormatError("number format " + name_ + ": more than 2^32 codes");
    pattern_bits_ = codes <= 1 ? 1 : bit_length(codes - 1);
  }
}

void Format::index_for_encode() {
  using detail::Grid;
  for (int s = 0; s < kSymbols; ++s) {
    const Entry& e = table_[size_t(s)];
    Grid& g = grids_[size_t(s)];
    g = Grid();
    if (e.cls != Class::Zero && !has_fraction_value(e.cls)) continue;
    g.ok = true;
    if (e.cls == Class::Zero) continue;  // the single value 0
    const int fb = e.frac_bits();
    g.base = uint64_t(e.implicit_one) << fb;
    g.fmax = low_mask(fb) - (e.cls == Class::FiniteNanMax ? 1 : 0);
    g.x = e.scale - fb;
    g.lo = std::ldexp(double(g.base), g.x);
    g.hi = std::ldexp(double(g.base + g.fmax), g.x);
  }
  for (int neg = 0; neg < 2; ++neg) {
    auto holds = [&](int s) {
      const Entry& e = table_[size_t(s)];
      return e.sign == Sign::Raw || (e.sign == Sign::Minus) == (neg != 0);
    };
    top_[neg] = detail::Candidate();
    inf_sym_[neg] = -1;
    for (int s = 0; s < kSymbols; ++s) {
      const Grid& g = grids_[size_t(s)];
      const Class c = table_[size_t(s)].cls;
      if (g.ok && c != Class::Zero && holds(s) && (!top_[neg].ok || g.hi > top_[neg].v)) {
        top_[neg].ok = true;
        top_[neg].v = g.hi;
        top_[neg].s = g.base + g.fmax;
        top_[neg].x = g.x;
      }
      if (inf_sym_[neg] < 0 && (c == Class::Inf || c == Class::InfNaN) && holds(s)) inf_sym_[neg] = s;
    }
    // Binade b holds magnitudes [start, end). The nearest values of any magnitude in it lie in
    // [L, U]: L the largest grid top below start, U the smallest grid bottom at or above end.
    for (int b = 0; b < 255; ++b) {
      const double start = b == 0 ? 0.0 : std::ldexp(1.0, b - 127), end = std::ldexp(1.0, b - 126);
      double lo = -1, hi = std::numeric_limits<double>::infinity();
      for (int s = 0; s < kSymbols; ++s) {
        const Grid& g = grids_[size_t(s)];
        if (!g.ok || !holds(s)) continue;
        if (g.hi < start && g.hi > lo) lo = g.hi;
        if (g.lo >= end && g.lo < hi) hi = g.lo;
      }
      if (lo < 0) lo = start;
      std::vector<uint8_t>& list = near_[size_t(neg) * 255 + size_t(b)];
      list.clear();
      for (int s = 0; s < kSymbols; ++s) {
        const Grid& g = grids_[size_t(s)];
        if (g.ok && holds(s) && g.lo <= hi && g.hi >= lo) list.push_back(uint8_t(s));
      }
    }
  }
}

Format Format::ieee(const std::string& name, int exp_bits, int man_bits, bool ocp_fn) {
  if (exp_bits < 2 || exp_bits > 8 || man_bits < 1 || man_bits > 23)
    throw std::invalid_argument("ieee format: exponent 2..8 bits, mantissa 1..23 bits");
  Format f;
  f.name_ = name;
  f.kind_ = Kind::Float;
  f.layout_ = Layout::Ieee;
  f.exp_bits_ = exp_bits;
  f.man_bits_ = man_bits;
  f.pattern_bits_ = 1 + exp_bits + man_bits;
  const int bias = (1 << (exp_bits - 1)) - 1;
  const int top = (1 << exp_bits) - 1;
  for (int e = 0; e <= top; ++e) {
    Entry& en = f.table_[size_t(e)];
    en.raw_bits = man_bits + 1;
    en.sign = Sign::Raw;
    if (e == top && !ocp_fn) {
      en.cls = Class::InfNaN;
      continue;
    }
    en.cls = e == top ? Class::FiniteNanMax : Class::Finite;
    en.implicit_one = e != 0;        // exponent 0: subnormals and zeros, no implicit one
    en.scale = (e == 0 ? 1 : e) - bias;
  }
  f.finish();
  return f;
}

Format Format::integer(int bits) {
  if (bits < 2 || bits > 16) throw std::invalid_argument("integer format: 2..16 bits");
  Format f;
  f.name_ = "int" + std::to_string(bits);
  f.kind_ = Kind::Int;
  f.layout_ = Layout::Int;
  f.pattern_bits_ = bits;
  f.table_[0] = Entry{Class::Zero, Sign::Plus, true, 0, 0};
  // Symbol c: |v| has bit length c; its leading one is implied, sign and c-1 low bits are raw.
  for (int c = 1; c < bits; ++c) f.table_[size_t(c)] = Entry{Class::Finite, Sign::Raw, true, c - 1, c};
  // The most negative value has no positive twin: a symbol of its own with no raw bits.
  f.table_[size_t(bits)] = Entry{Class::Finite, Sign::Minus, true, bits - 1, 0};
  f.finish();
  return f;
}

namespace {

// Regime, exponent and fraction of a positive posit body q (n-1 bits, q != 0).
struct PositParts {
  int scale;
  int frac_bits;
  uint32_t frac;
};

PositParts posit_parts(uint32_t q, int n, int es) {
  const int r0 = int(q >> (n - 2) & 1);
  int i = n - 2, run = 0;
  while (i >= 0 && int(q >> i & 1) == r0) ++run, --i;
  const int k = r0 ? run - 1 : -run;
  const int rem = i > 0 ? i : 0;  // bits after the regime's terminating bit
  const int eb = rem < es ? rem : es;
  const int e = int((q >> (rem - eb)) & low_mask(eb)) << (es - eb);  // cut exponent bits are 0
  const int fb = rem - eb;
  return {k * (1 << es) + e, fb, q & low_mask(fb)};
}

}  // namespace

Format Format::posit(int n, int es) {
  if (n < 2 || n > 16 || es < 0 || es > 3) throw std::invalid_argument("posit: 2 <= n <= 16, 0 <= es <= 3");
  Format f;
  f.name_ = "posit" + std::to_string(n) + "_" + std::to_string(es);
  f.kind_ = Kind::Float;
  f.layout_ = Layout::Posit;
  f.exp_bits_ = n;
  f.man_bits_ = es;
  f.pattern_bits_ = n;
  // Scales span at most +-(n-2) * 2^es + 2^es - 1.
  const int span = (n - 1) * (1 << es);
  f.posit_scale_offset_ = span;
  std::vector<int> frac_of(size_t(2 * span + 1), -1);
  for (uint32_t q = 1; q < (1u << (n - 1)); ++q) {
    const PositParts p = posit_parts(q, n, es);
    frac_of[size_t(p.scale + span)] = p.frac_bits;
  }
  f.table_[0] = Entry{Class::Zero, Sign::Plus, true, 0, 0};
  f.table_[1] = Entry{Class::NaN, Sign::Plus, true, 0, 0};  // NaR
  f.posit_symbol_.assign(frac_of.size(), 0);
  int sym = 2;
  for (size_t i = 0; i < frac_of.size(); ++i) {
    if (frac_of[i] < 0) continue;
    if (sym >= kSymbols) throw std::invalid_argument("posit: more than 256 symbols");
    f.posit_symbol_[i] = uint8_t(sym);
    f.table_[size_t(sym++)] = Entry{Class::Finite, Sign::Raw, true, int(i) - span, frac_of[i] + 1};
  }
  f.finish();
  // join() by table: every pattern is one code, so enumerate them.
  f.join_table_.assign(size_t(f.code_count_), 0);
  for (uint32_t p = 0; p < (1u << n); ++p) {
    const Code c = f.split(p);
    f.join_table_[size_t(f.base_[c.symbol] + c.raw)] = p;
  }
  return f;
}

Format Format::custom(const std::string& name, Kind kind, const std::array<Entry, kSymbols>& table) {
  Format f;
  f.name_ = name;
  f.kind_ = kind;
  f.layout_ = Layout::CodeIndex;
  f.table_ = table;
  f.finish();
  return f;
}

Format Format::builtin(const std::string& name) {
  if (name == "bf16" || name == "bfloat16") return ieee("bf16", 8, 7);
  if (name == "fp16" || name == "float16" || name == "f16") return ieee("fp16", 5, 10);
  if (name == "fp32" || name == "float32" || name == "f32") return ieee("fp32", 8, 23);
  if (name == "e4m3" || name == "fp8_e4m3") return ieee("e4m3", 4, 3, true);
  if (name == "e5m2" || name == "fp8_e5m2") return ieee("e5m2", 5, 2);
  if (name == "int8") return integer(8);
  if (name == "int4") return integer(4);
  if (name == "posit8") return posit(8, 2);
  if (name == "posit16") return posit(16, 2);
  int n = 0, es = 0;
  char tail = 0;
  if (std::sscanf(name.c_str(), "posit%d_%d%c", &n, &es, &tail) == 2 && n >= 2 && n <= 16 && es >= 0 &&
      es <= 3 && name == "posit" + std::to_string(n) + "_" + std::to_string(es))
    return posit(n, es);
  throw FormatError("unknown number format '" + name +
                    "' (bf16, fp16, fp32, e4m3, e5m2, int8, int4, posit8, posit16, posit<n>_<es>, or a .json file)");
}

std::vector<uint32_t> Format::config_words() const {
  std::vector<uint32_t> w(kSymbols);
  for (int s = 0; s < kSymbols; ++s) w[size_t(s)] = table_[size_t(s)].pack();
  return w;
}

// ---------------------------------------------------------------------------------------------
// Patterns and codes

Code Format::split(uint32_t p) const {
  if (pattern_bits_ < 32 && (p >> pattern_bits_) != 0)
    throw FormatError(name_ + ": pattern wider than " + std::to_string(pattern_bits_) + " bits");
  switch (layout_) {
    case Layout::Ieee: {
      const uint32_t sign = p >> (exp_bits_ + man_bits_) & 1;
      return {uint8_t(p >> man_bits_ & low_mask(exp_bits_)), sign << man_bits_ | (p & low_mask(man_bits_))};
    }
    case Layout::Int: {
      const int n = pattern_bits_;
      const int32_t v = int32_t(p << (32 - n)) >> (32 - n);  // sign-extend
      if (v == 0) return {0, 0};
      if (v == -(int32_t(1) << (n - 1))) return {uint8_t(n), 0};
      const uint32_t a = uint32_t(v < 0 ? -v : v);
      const int c = bit_length(a);
      return {uint8_t(c), uint32_t(v < 0) << (c - 1) | (a & low_mask(c - 1))};
    }
    case Layout::Posit: {
      const int n = exp_bits_, es = man_bits_;
      if (p == 0) return {0, 0};
      if (p == 1u << (n - 1)) return {1, 0};
      const uint32_t neg = p >> (n - 1);
      const uint32_t q = neg ? (0u - p) & low_mask(n) : p;  // two's complement magnitude
      const PositParts parts = posit_parts(q, n, es);
      return {posit_symbol_[size_t(parts.scale + posit_scale_offset_)], neg << parts.frac_bits | parts.frac};
    }
    case Layout::CodeIndex:
      break;
  }
  if (p >= code_count_) throw FormatError(name_ + ": pattern past the last code");
  int s = kSymbols - 1;
  while (table_[size_t(s)].cls == Class::None || base_[size_t(s)] > p) --s;
  return {uint8_t(s), uint32_t(p - base_[size_t(s)])};
}

int Format::frac_width(const Code& c) const {
  const Entry& e = table_[c.symbol];
  if (e.cls == Class::None) throw FormatError(name_ + ": unknown " + symbol_text(c.symbol));
  if (e.raw_bits < 32 && (c.raw >> e.raw_bits) != 0)
    throw FormatError(name_ + ": raw field wider than " + std::to_string(e.raw_bits) + " bits for " +
                      symbol_text(c.symbol));
  return e.frac_bits();
}

uint32_t Format::join(Code c) const {
  frac_width(c);  // validates
  switch (layout_) {
    case Layout::Ieee: {
      const uint32_t sign = c.raw >> man_bits_;
      return sign << (exp_bits_ + man_bits_) | uint32_t(c.symbol) << man_bits_ | (c.raw & low_mask(man_bits_));
    }
    case Layout::Int: {
      const int n = pattern_bits_;
      if (c.symbol == 0) return 0;
      if (c.symbol == n) return 1u << (n - 1);
      const int k = c.symbol;
      const uint32_t a = 1u << (k - 1) | (c.raw & low_mask(k - 1));
      return ((c.raw >> (k - 1)) != 0 ? 0u - a : a) & low_mask(n);
    }
    case Layout::Posit:
      return join_table_[size_t(base_[c.symbol] + c.raw)];
    case Layout::CodeIndex:
      break;
  }
  return uint32_t(base_[c.symbol] + c.raw);
}

// ---------------------------------------------------------------------------------------------
// Values and the RTL's output words

double Format::value(Code c) const {
  const int fb = frac_width(c);
  const Entry& e = table_[c.symbol];
  const uint32_t f = c.raw & low_mask(fb);
  const bool neg = e.sign == Sign::Raw ? (c.raw >> fb & 1) != 0 : e.sign == Sign::Minus;
  const double sign = neg ? -1.0 : 1.0;
  const double inf = std::numeric_limits<double>::infinity();
  switch (e.cls) {
    case Class::Zero:
      return sign * 0.0;
    case Class::FiniteNanMax:
      if (f == low_mask(fb)) return std::nan("");
      [[fallthrough]];
    case Class::Finite:
      return sign * std::ldexp(double((uint32_t(e.implicit_one) << fb) + f), e.scale - fb);
    case Class::Inf:
      return sign * inf;
    case Class::InfNaN:
      return f == 0 ? sign * inf : std::nan("");
    default:
      return std::nan("");
  }
}

uint32_t Format::output_bits(Code c) const {
  frac_width(c);  // validates
  return output_word(table_[c.symbol], c.raw, kind_);
}

uint32_t output_word(const Entry& e, uint32_t raw, Kind kind) {
  const int fb = e.frac_bits() < 0 ? 0 : e.frac_bits();
  const uint32_t f = raw & low_mask(fb);
  const bool neg = e.sign == Sign::Raw ? e.raw_bits > 0 && (raw >> fb & 1) != 0 : e.sign == Sign::Minus;
  const uint32_t sig = (uint32_t(e.implicit_one) << fb) + f;  // the significand, < 2^24
  const int lsb = e.scale - fb;                                // weight of its last bit
  if (kind == Kind::Int) {
    const uint32_t mag = e.cls == Class::Finite ? sig << lsb : 0;
    return neg ? 0u - mag : mag;
  }
  const uint32_t sign = uint32_t(neg) << 31;
  const bool nan_max = e.cls == Class::FiniteNanMax && f == low_mask(fb);
  if (e.cls == Class::Inf) return sign | 0x7f800000u;
  if (e.cls == Class::NaN || nan_max) return sign | 0x7fc00000u;
  if (e.cls == Class::InfNaN) return sign | 0x7f800000u | f << (23 - fb);  // payload kept
  if (!has_fraction_value(e.cls) || sig == 0) return sign;                  // zeros
  // Normalise: the leading one of sig goes to bit 23; below 2^-126 the result is an fp32 subnormal.
  const int top = bit_length(sig) - 1;
  const int biased = lsb + top + 127;
  if (biased >= 1) return sign | uint32_t(biased) << 23 | ((sig << (23 - top)) & 0x7fffffu);
  return sign | sig << (lsb + 149);
}

// ---------------------------------------------------------------------------------------------
// Encoding

Code Format::encode_float(float v, bool round) const { return encode(fp32_bits(v), round); }

Code Format::encode(uint32_t bits, bool round) const {
  const bool vneg = (bits >> 31) != 0;
  const uint32_t ex = bits >> 23 & 0xff, man = bits & 0x7fffff;
  auto hex = [&] {
    char b[16];
    std::snprintf(b, sizeof b, "0x%08x", unsigned(bits));
    return std::string(b);
  };
  auto sign_ok = [&](const Entry& e, bool neg) {
    return e.sign == Sign::Raw || (e.sign == Sign::Minus) == neg;
  };
  auto raw_of = [](const Entry& e, bool neg, uint32_t f) {
    return e.sign == Sign::Raw ? uint32_t(neg) << e.frac_bits() | f : f;
  };

  if (ex == 0xff && man != 0) {  // NaN: the first symbol that holds one, sign-matching if any
    int best = -1;
    for (int s = 0; s < kSymbols; ++s) {
      const Entry& e = table_[size_t(s)];
      const bool holds = e.cls == Class::NaN || e.cls == Class::InfNaN || e.cls == Class::FiniteNanMax;
      if (holds && (best < 0 || (sign_ok(e, vneg) && !sign_ok(table_[size_t(best)], vneg)))) best = s;
    }
    if (best < 0) throw FormatError(name_ + " has no NaN (value " + hex() + ")");
    const Entry& e = table_[size_t(best)];
    const int fb = e.frac_bits();
    uint32_t f = 0;
    if (e.cls == Class::FiniteNanMax) f = low_mask(fb);
    if (e.cls == Class::InfNaN) {
      f = man >> (23 - fb);
      if (f == 0 || (man & low_mask(23 - fb)) != 0) {
        if (!round) throw FormatError(name_ + " cannot hold the NaN payload of " + hex());
        f |= 1u << (fb - 1);  // quiet
      }
    }
    return {uint8_t(best), raw_of(e, vneg, f)};
  }
  if (ex == 0xff) {  // infinity
    for (int s = 0; s < kSymbols; ++s) {
      const Entry& e = table_[size_t(s)];
      if ((e.cls == Class::Inf || e.cls == Class::InfNaN) && sign_ok(e, vneg)) return {uint8_t(s), raw_of(e, vneg, 0)};
    }
    if (!round) throw FormatError(name_ + " has no infinity (value " + hex() + ")");
    return encode(0x7fc00000u | (bits & 0x80000000u), true);  // as posits do: NaR
  }

  // Finite: the nearest value below (max <= v) and above (min >= v). The symbols that can hold
  // them are listed per fp32 binade and sign; when v's own side has no value towards zero (no zero
  // of that sign, say), every symbol and both signs are searched.
  const double v = double(vneg ? -1.0f : 1.0f) * std::ldexp(double(ex ? man | 0x800000u : man), (ex ? int(ex) : 1) - 150);
  Candidate below, above;
  auto offer = [&](int s, bool neg, uint32_t f, bool is_below) {
    const Grid& g = grids_[size_t(s)];
    Candidate c;
    c.ok = true;
    c.neg = neg;
    c.s = g.base + f;
    c.x = g.x;
    c.v = (neg ? -1.0 : 1.0) * std::ldexp(double(c.s), c.x);
    c.code = {uint8_t(s), raw_of(table_[size_t(s)], neg, f)};
    Candidate& cur = is_below ? below : above;
    // Equal values (zeros): the one with v's sign; otherwise the first found.
    if (!cur.ok || (c.v != cur.v ? (is_below ? c.v > cur.v : c.v < cur.v) : (c.neg == vneg && cur.neg != vneg)))
      cur = c;
  };
  auto scan = [&](int s, bool neg) {
    const Grid& g = grids_[size_t(s)];
    const double t = std::ldexp(neg ? -v : v, -g.x);  // v in units of this grid, exact
    // Magnitude grid base + f, f in [0, fmax]: lo = largest <= t, hi = smallest >= t.
    const double base = double(g.base), last = double(g.base + g.fmax);
    const bool has_lo = t >= base, has_hi = t <= last;
    const uint32_t lo = t >= last ? g.fmax : has_lo ? uint32_t(std::floor(t) - base) : 0;
    const uint32_t hi = t <= base ? 0 : has_hi ? uint32_t(std::ceil(t) - base) : g.fmax;
    // A negative grid mirrors: its floor is the magnitude ceiling and vice versa.
    if (neg ? has_hi : has_lo) offer(s, neg, neg ? hi : lo, true);
    if (neg ? has_lo : has_hi) offer(s, neg, neg ? lo : hi, false);
  };
  for (uint8_t s : near_[size_t(vneg) * 255 + ex]) scan(s, vneg);
  if (!(vneg ? above.ok : below.ok)) {
    below = above = Candidate();
    for (int s = 0; s < kSymbols; ++s)
      for (int neg = 0; neg < 2; ++neg)
        if (grids_[size_t(s)].ok && sign_ok(table_[size_t(s)], neg != 0)) scan(s, neg != 0);
  }
  // Past the largest finite value, infinity sits one ulp further (IEEE overflow rule).
  Candidate& open = vneg ? below : above;
  if (!open.ok && top_[vneg].ok && inf_sym_[vneg] >= 0) {
    open = top_[vneg];
    open.s += 1;
    open.neg = vneg;
    open.v = (vneg ? -1.0 : 1.0) * std::ldexp(double(open.s), open.x);
    open.code = {uint8_t(inf_sym_[vneg]), raw_of(table_[size_t(inf_sym_[vneg])], vneg, 0)};
  }

  if (below.ok && below.v == v) return below.code;
  if (above.ok && above.v == v) return above.code;
  if (!round) throw FormatError("value " + hex() + " is not exactly representable in " + name_);
  if (!below.ok || !above.ok) {
    if (!below.ok && !above.ok) throw FormatError(name_ + " has no value near " + hex());
    return below.ok ? below.code : above.code;
  }
  // Sign of 2v - below - above, exactly: positive terms on one side, negative on the other.
  Wide pos{}, negs{};
  const uint64_t vs = ex ? man | 0x800000u : man;
  add(vneg ? negs : pos, wide(vs, (ex ? int(ex) : 1) - 150 + 1));
  add(below.v < 0 ? pos : negs, wide(below.s, below.x));
  add(above.v < 0 ? pos : negs, wide(above.s, above.x));
  const int c = compare(pos, negs);
  if (c > 0) return above.code;
  if (c < 0) return below.code;
  const bool below_even = (join(below.code) & 1) == 0, above_even = (join(above.code) & 1) == 0;
  if (below_even != above_even) return below_even ? below.code : above.code;
  return std::fabs(below.v) <= std::fabs(above.v) ? below.code : above.code;
}

// ---------------------------------------------------------------------------------------------
// Tensors

namespace {

void put(const Format& f, Code c, SplitTensor& out, BitWriter& w) {
  out.symbols.push_back(c.symbol);
  w.write(c.raw, f.entry(c.symbol).raw_bits);
}

}  // namespace

SplitTensor encode_tensor(const Format& f, const float* values, size_t n, bool round) {
  SplitTensor out;
  out.symbols.reserve(n);
  BitWriter w(out.raw);
  for (size_t i = 0; i < n; ++i) put(f, f.encode_float(values[i], round), out, w);
  out.raw_bit_count = w.bit_count();
  w.pad_to_words();
  return out;
}

SplitTensor split_tensor(const Format& f, const uint32_t* patterns, size_t n) {
  SplitTensor out;
  out.symbols.reserve(n);
  BitWriter w(out.raw);
  for (size_t i = 0; i < n; ++i) put(f, f.split(patterns[i]), out, w);
  out.raw_bit_count = w.bit_count();
  w.pad_to_words();
  return out;
}

std::vector<uint32_t> decode_tensor(const Format& f, const uint8_t* symbols, size_t n, const uint8_t* raw,
                                    size_t raw_bytes) {
  std::vector<uint32_t> out;
  out.reserve(n);
  BitReader r(raw, raw_bytes);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = f.entry(symbols[i]);
    if (e.cls == Class::None) throw FormatError("unknown symbol " + std::to_string(symbols[i]));
    if (uint64_t(e.raw_bits) > r.size_bits() - r.position()) throw FormatError("raw stream runs out");
    out.push_back(f.output_bits({symbols[i], r.read(e.raw_bits)}));
  }
  try {
    r.expect_padding_only();
  } catch (const FormatError&) {
    throw FormatError("raw bits left over");
  }
  return out;
}

}  // namespace ws::numfmt
