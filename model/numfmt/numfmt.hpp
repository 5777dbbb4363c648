// Variable-precision, variable-range number formats (docs/numfmt.md). A number is an entropy-coded
// class symbol plus raw bits; the symbol's table entry decides how many raw bits follow and what they
// mean. IEEE floats, OCP fp8, posits and integers are all tables of this kind.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ws_pkg.hpp"

namespace ws::numfmt {

constexpr int kSymbols = 256;
constexpr int kMaxRawBits = 24;  // a sign and 23 fraction bits: an fp32 significand
constexpr int kEntryBits = pkg::UNP_ENTRY_BITS;  // width of Entry::pack(), the RTL configuration word

// What a symbol stands for. Finite covers zero too when implicit_one is false and the fraction is 0
// (the IEEE exponent-0 symbol: subnormals and signed zeros share it).
// The codes are the RTL's (ws::pkg::unp_class_e).
enum class Class : uint8_t {
  None = pkg::UNP_CLASS_NONE,                  // no entry: the symbol is unknown, decoding it is an error
  Zero = pkg::UNP_CLASS_ZERO,                  // +-0; no fraction bits
  Finite = pkg::UNP_CLASS_FINITE,              // sign * 2^scale * (implicit_one + fraction / 2^frac_bits)
  FiniteNanMax = pkg::UNP_CLASS_FINITE_NAN_MAX,  // as Finite, but the all-ones fraction is NaN (OCP E4M3)
  Inf = pkg::UNP_CLASS_INF,                    // +-infinity; no fraction bits
  NaN = pkg::UNP_CLASS_NAN,                    // not a number; no fraction bits
  InfNaN = pkg::UNP_CLASS_INF_NAN,  // IEEE all-ones exponent: fraction 0 is +-infinity, any other a NaN payload
};

// Where the sign comes from: the top raw bit, or fixed by the symbol (ws::pkg::unp_sign_e).
enum class Sign : uint8_t { Raw = pkg::UNP_SIGN_RAW, Plus = pkg::UNP_SIGN_PLUS, Minus = pkg::UNP_SIGN_MINUS };

// Which word the RTL emits per number: the IEEE fp32 bit pattern, or an int32.
enum class Kind : uint8_t { Float = 0, Int = 1 };

struct Entry {
  Class cls = Class::None;
  Sign sign = Sign::Raw;
  bool implicit_one = true;
  int scale = 0;     // weight 2^scale of the significand's integer bit
  int raw_bits = 0;  // 0..24, sign bit included when sign == Raw (it is the top raw bit)

  int frac_bits() const { return raw_bits - (sign == Sign::Raw ? 1 : 0); }
  // The RTL table word, ws::pkg::unp_entry_t: {scale, implicit_one, sign, raw_bits, class}.
  uint32_t pack() const;
  static Entry unpack(uint32_t word);
  bool operator==(const Entry& o) const {
    return cls == o.cls && sign == o.sign && implicit_one == o.implicit_one && scale == o.scale &&
           raw_bits == o.raw_bits;
  }
  bool operator!=(const Entry& o) const { return !(*this == o); }
};

struct Code {
  uint8_t symbol = 0;
  uint32_t raw = 0;  // the raw field, raw_bits wide: sign << frac_bits | fraction
  bool operator==(const Code& o) const { return symbol == o.symbol && raw == o.raw; }
  bool operator!=(const Code& o) const { return !(*this == o); }
};

namespace detail {
// The values of one finite symbol (one sign): (base + f) * 2^x for f in [0, fmax], lo..hi.
struct Grid {
  bool ok = false;
  uint64_t base = 0;
  uint32_t fmax = 0;
  int x = 0;
  double lo = 0, hi = 0;
};
// A code found by encode(), with its value exactly: as a double and as s * 2^x.
struct Candidate {
  bool ok = false;
  double v = 0;
  bool neg = false;
  uint64_t s = 0;
  int x = 0;
  Code code;
};
}  // namespace detail

// How a stored bit pattern (the tensor's dtype bits) maps to a code.
enum class Layout : uint8_t {
  Ieee,       // sign | exponent | mantissa; symbol = exponent field (docs/format.md section 3)
  Int,        // two's complement; symbol = bit length of |v| (JPEG magnitude class)
  Posit,      // two's complement posit; symbol = (regime, exponent)
  CodeIndex,  // custom tables: codes numbered in symbol order, pattern = base[symbol] + raw
};

class Format {
 public:
  // Built-ins: bf16, fp16, fp32, e4m3, e5m2, int8, int4, posit8, posit16 (es = 2, as the 2022
  // standard), posit<n>_<es>. Aliases bfloat16, float16, float32, fp8_e4m3, fp8_e5m2. Throws
  // ws::FormatError for an unknown name.
  static Format builtin(const std::string& name);
  static Format ieee(const std::string& name, int exp_bits, int man_bits, bool ocp_fn = false);
  static Format integer(int bits);           // int<bits>, 2 <= bits <= 16
  static Format posit(int n, int es);        // 2 <= n <= 16, 0 <= es <= 3
  // A custom table, validated (throws ws::FormatError naming the bad entry). Its layout is CodeIndex.
  static Format custom(const std::string& name, Kind kind, const std::array<Entry, kSymbols>& table);
  // JSON as in docs/numfmt.md; hostile input raises ws::FormatError.
  static Format from_json(const std::string& text);
  static Format from_json_file(const std::string& path);
  std::string to_json() const;  // the table (as a custom format: the layout is not kept)

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  Layout layout() const { return layout_; }
  int pattern_bits() const { return pattern_bits_; }
  const Entry& entry(unsigned symbol) const { return table_[symbol & 0xff]; }
  const std::array<Entry, kSymbols>& table() const { return table_; }
  std::vector<uint32_t> config_words() const;  // the 256 packed entries, symbol 0 first

  // Stored pattern <-> code. split throws for a pattern wider than pattern_bits (or, for CodeIndex,
  // past the last code); join throws for an unknown symbol or a raw field wider than the entry.
  Code split(uint32_t pattern) const;
  uint32_t join(Code c) const;

  // The value of a code (NaN for NaNs). Throws ws::FormatError for an unknown symbol or a raw field
  // wider than the entry.
  double value(Code c) const;
  // What the RTL unpacker emits: fp32 bits for Kind::Float (exact; NaN payloads of InfNaN kept,
  // other NaNs become sign | 0x7fc00000), int32 two's complement for Kind::Int.
  uint32_t output_bits(Code c) const;

  // The code of an fp32 value. A value the format cannot hold exactly throws ws::FormatError unless
  // `round`: then round to nearest, ties to the even stored pattern; overflow goes to infinity past
  // half an ulp above the largest value when the format has one, else saturates; infinity goes to
  // NaN in formats without infinity. NaN payloads must fit (IEEE) unless rounding (then quieted).
  Code encode(uint32_t fp32_bits, bool round = false) const;
  Code encode_float(float v, bool round = false) const;

 private:
  Format() = default;
  void finish();  // validates the table and derives pattern_bits_ and the code bases
  void index_for_encode();
  int frac_width(const Code& c) const;

  std::string name_;
  Kind kind_ = Kind::Float;
  Layout layout_ = Layout::CodeIndex;
  int pattern_bits_ = 0;
  int exp_bits_ = 0, man_bits_ = 0;  // Ieee; posit: n in exp_bits_, es in man_bits_
  std::array<Entry, kSymbols> table_{};
  std::array<uint64_t, kSymbols> base_{};  // CodeIndex: first code of each symbol
  uint64_t code_count_ = 0;
  std::vector<uint8_t> posit_symbol_;     // Posit: scale + offset -> symbol
  int posit_scale_offset_ = 0;
  std::vector<uint32_t> join_table_;      // Posit: code index -> pattern
  // For encode(): each symbol's grid; per sign and fp32 binade the symbols that can hold the nearest
  // values; the largest finite magnitude and the infinity symbol per sign.
  std::array<detail::Grid, kSymbols> grids_{};
  std::array<std::vector<uint8_t>, 2 * 255> near_;
  detail::Candidate top_[2];
  int inf_sym_[2] = {-1, -1};
};

// The names the JSON schema uses: "zero", "finite", ..., and "raw", "plus", "minus".
const char* class_name(Class c);
const char* sign_name(Sign s);

// The word the RTL emits for one number of a valid table: Format::output_bits without the checks.
uint32_t output_word(const Entry& e, uint32_t raw, Kind kind);

// A tensor split into its two streams.
struct SplitTensor {
  std::vector<uint8_t> symbols;
  std::vector<uint8_t> raw;  // raw fields one after another, LSB-first, zero-padded to 32-bit words
  uint64_t raw_bit_count = 0;  // before padding
};

// Encodes fp32 values (throws ws::FormatError on the first inexact one unless round).
SplitTensor encode_tensor(const Format& f, const float* values, size_t n, bool round = false);
// Splits stored patterns (each pattern_bits wide, one per uint32_t).
SplitTensor split_tensor(const Format& f, const uint32_t* patterns, size_t n);
// The RTL's output words for n symbols and their raw stream. Throws ws::FormatError "raw stream runs
// out", "unknown symbol N", "raw bits left over".
std::vector<uint32_t> decode_tensor(const Format& f, const uint8_t* symbols, size_t n,
                                    const uint8_t* raw, size_t raw_bytes);

}  // namespace ws::numfmt
