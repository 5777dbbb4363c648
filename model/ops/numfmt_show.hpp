// `numfmt`: how a number format (docs/numfmt.md) splits values into a class symbol and raw bits: its
// table, its JSON, stored patterns decoded and fp32 values encoded.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ws {

struct NumfmtShowOptions {
  std::string format;                  // a built-in's name or a .json table
  std::vector<std::string> decode;     // stored bit patterns, hex
  std::vector<std::string> encode;     // values, read as fp32
  bool round = false, table = false, json = false;
};

// Writes what o asks for to out, a line at a time (the table when nothing else is asked). A bad
// pattern or value throws std::invalid_argument after the lines before it are out; an unknown
// format throws ws::FormatError.
void show_number_format(const NumfmtShowOptions& o, std::FILE* out);

}  // namespace ws
