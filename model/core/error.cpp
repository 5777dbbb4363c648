#include "core/error.hpp"

#include <cstdio>

namespace ws {

std::string quote_name(const std::string& name) {
  std::string s = "'";
  for (size_t i = 0; i < name.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    } else {
      s += char(c);
    }
  }
  if (name.size() > 200) s += "...";
  return s + "'";
}

}  // namespace ws
