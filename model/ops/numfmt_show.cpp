#include "ops/numfmt_show.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "core/bf16.hpp"
#include "numfmt/numfmt.hpp"

namespace ws {
namespace {

using numfmt::Code;
using numfmt::Format;

Format load(const std::string& name) {
  const bool is_file = name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  return is_file ? Format::from_json_file(name) : Format::builtin(name);
}

uint32_t parse_hex(const std::string& s, int bits) {
  std::string h = s;
  if (h.size() > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h = h.substr(2);
  if (h.empty() || h.size() > 8) throw std::invalid_argument("'" + s + "' is not a hex pattern of at most 32 bits");
  for (char c : h)
    if (!std::isxdigit(static_cast<unsigned char>(c))) throw std::invalid_argument("'" + s + "' is not a hex pattern");
  const uint32_t p = uint32_t(std::strtoul(h.c_str(), nullptr, 16));
  if (bits < 32 && (p >> bits) != 0) throw std::invalid_argument("pattern " + s + " is wider than " + std::to_string(bits) + " bits");
  return p;
}

float parse_value(const std::string& s) {
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);  // correctly rounded to fp32, "inf" and "nan" too
  if (s.empty() || *end != '\0') throw std::invalid_argument("'" + s + "' is not a number");
  return v;
}

std::string hex(uint32_t v, int bits) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%0*x", (bits + 3) / 4, unsigned(v));
  return b;
}

// "symbol 127 raw 0x00 (8 bits) class finite value 1 out 0x3f800000"
void print_code(std::FILE* out, const Format& f, Code c) {
  const numfmt::Entry& e = f.entry(c.symbol);
  std::fprintf(out, "symbol %3u  raw %s (%2d bits)  class %-14s value %-.9g  out %s\n", unsigned(c.symbol),
               hex(c.raw, e.raw_bits > 0 ? e.raw_bits : 1).c_str(), e.raw_bits, numfmt::class_name(e.cls),
               f.value(c), hex(f.output_bits(c), 32).c_str());
}

void print_table(std::FILE* out, const Format& f) {
  std::fprintf(out, "format %s: %s output, %d-bit patterns\n", f.name().c_str(),
               f.kind() == numfmt::Kind::Int ? "int32" : "fp32", f.pattern_bits());
  std::fprintf(out, "symbol  class           sign   implicit  scale  raw bits  config word\n");
  for (unsigned s = 0; s < 256; ++s) {
    const numfmt::Entry& e = f.entry(s);
    if (e.cls == numfmt::Class::None) continue;
    std::fprintf(out, "%6u  %-14s  %-5s  %-8s  %5d  %8d  0x%06x\n", s, numfmt::class_name(e.cls),
                 numfmt::sign_name(e.sign), e.implicit_one ? "yes" : "no", e.scale, e.raw_bits, unsigned(e.pack()));
  }
}

}  // namespace

void show_number_format(const NumfmtShowOptions& o, std::FILE* out) {
  const Format f = load(o.format);
  if (o.table || (o.decode.empty() && o.encode.empty() && !o.json)) print_table(out, f);
  if (o.json) std::fprintf(out, "%s\n", f.to_json().c_str());
  for (const std::string& s : o.decode) {
    const uint32_t p = parse_hex(s, f.pattern_bits());
    std::fprintf(out, "pattern %s  ", hex(p, f.pattern_bits()).c_str());
    print_code(out, f, f.split(p));
  }
  for (const std::string& s : o.encode) {
    const float v = parse_value(s);
    const Code c = f.encode_float(v, o.round);
    const bool exact = std::isnan(v) ? std::isnan(f.value(c)) : f.value(c) == double(v);
    std::fprintf(out, "value %s (fp32 %s) -> pattern %s%s  ", s.c_str(), hex(fp32_bits(v), 32).c_str(),
                 hex(f.join(c), f.pattern_bits()).c_str(), exact ? "" : " (rounded)");
    print_code(out, f, c);
  }
}

}  // namespace ws
