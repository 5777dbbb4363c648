// `weightstream numfmt`: shows how a number format (docs/numfmt.md) splits values into a class symbol
// and raw bits: --decode stored patterns, --encode fp32 values, --table, --json.
#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/bf16.hpp"
#include "core/error.hpp"
#include "numfmt/numfmt.hpp"

namespace {

using ws::numfmt::Code;
using ws::numfmt::Format;

struct NumfmtArgs {
  std::string format;
  std::vector<std::string> decode, encode;
  bool round = false, table = false, json = false;
};

// One line on stderr, exit 1 (CLI11 returns a RuntimeError's code silently).
[[noreturn]] void fail(const std::string& msg) {
  std::string line = msg;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "error: numfmt: %s\n", line.c_str());
  throw CLI::RuntimeError(1);
}

Format load(const std::string& name) {
  const bool is_file = name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  return is_file ? Format::from_json_file(name) : Format::builtin(name);
}

uint32_t parse_hex(const std::string& s, int bits) {
  std::string h = s;
  if (h.size() > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h = h.substr(2);
  if (h.empty() || h.size() > 8) fail("'" + s + "' is not a hex pattern of at most 32 bits");
  for (char c : h)
    if (!std::isxdigit(static_cast<unsigned char>(c))) fail("'" + s + "' is not a hex pattern");
  const uint32_t p = uint32_t(std::strtoul(h.c_str(), nullptr, 16));
  if (bits < 32 && (p >> bits) != 0) fail("pattern " + s + " is wider than " + std::to_string(bits) + " bits");
  return p;
}

float parse_value(const std::string& s) {
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);  // correctly rounded to fp32, "inf" and "nan" too
  if (s.empty() || *end != '\0') fail("'" + s + "' is not a number");
  return v;
}

std::string hex(uint32_t v, int bits) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%0*x", (bits + 3) / 4, unsigned(v));
  return b;
}

// "symbol 127 raw 0x00 (8 bits) class finite value 1 out 0x3f800000"
void print_code(const Format& f, Code c) {
  const ws::numfmt::Entry& e = f.entry(c.symbol);
  std::printf("symbol %3u  raw %s (%2d bits)  class %-14s value %-.9g  out %s\n", unsigned(c.symbol),
              hex(c.raw, e.raw_bits > 0 ? e.raw_bits : 1).c_str(), e.raw_bits, ws::numfmt::class_name(e.cls),
              f.value(c), hex(f.output_bits(c), 32).c_str());
}

void print_table(const Format& f) {
  std::printf("format %s: %s output, %d-bit patterns\n", f.name().c_str(),
              f.kind() == ws::numfmt::Kind::Int ? "int32" : "fp32", f.pattern_bits());
  std::printf("symbol  class           sign   implicit  scale  raw bits  config word\n");
  for (unsigned s = 0; s < 256; ++s) {
    const ws::numfmt::Entry& e = f.entry(s);
    if (e.cls == ws::numfmt::Class::None) continue;
    std::printf("%6u  %-14s  %-5s  %-8s  %5d  %8d  0x%06x\n", s, ws::numfmt::class_name(e.cls),
                ws::numfmt::sign_name(e.sign), e.implicit_one ? "yes" : "no", e.scale, e.raw_bits, unsigned(e.pack()));
  }
}

void run(const NumfmtArgs& a) {
  const Format f = load(a.format);
  if (a.table || (a.decode.empty() && a.encode.empty() && !a.json)) print_table(f);
  if (a.json) std::printf("%s\n", f.to_json().c_str());
  for (const std::string& s : a.decode) {
    const uint32_t p = parse_hex(s, f.pattern_bits());
    std::printf("pattern %s  ", hex(p, f.pattern_bits()).c_str());
    print_code(f, f.split(p));
  }
  for (const std::string& s : a.encode) {
    const float v = parse_value(s);
    const Code c = f.encode_float(v, a.round);
    const bool exact = std::isnan(v) ? std::isnan(f.value(c)) : f.value(c) == double(v);
    std::printf("value %s (fp32 %s) -> pattern %s%s  ", s.c_str(), hex(ws::fp32_bits(v), 32).c_str(),
                hex(f.join(c), f.pattern_bits()).c_str(), exact ? "" : " (rounded)");
    print_code(f, c);
  }
}

}  // namespace

void add_numfmt_command(CLI::App& app) {
  auto a = std::make_shared<NumfmtArgs>();
  CLI::App* cmd = app.add_subcommand("numfmt", "split numbers into class symbol and raw bits under a number format");
  cmd->add_option("--format", a->format,
                  "bf16, fp16, fp32, e4m3, e5m2, int8, int4, posit8, posit16, posit<n>_<es>, or a .json table")
      ->required();
  cmd->add_option("--decode", a->decode, "stored bit patterns (hex) to show");
  cmd->add_option("--encode", a->encode, "values (read as fp32) to encode");
  cmd->add_flag("--round", a->round, "round values the format cannot hold (nearest, ties to even)");
  cmd->add_flag("--table", a->table, "print the format table");
  cmd->add_flag("--json", a->json, "print the format as JSON");
  cmd->callback([a] {
    try {
      run(*a);
    } catch (const CLI::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(e.what());
    }
  });
}
