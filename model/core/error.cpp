#include "core/error.hpp"

#include <cstdint>
#include <cstdio>

namespace ws {

namespace {

void append_escaped(std::string& s, const std::string& name, size_t limit) {
  for (size_t i = 0; i < name.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    } else {
      s += char(c);
    }
  }
}

}  // namespace

std::string quote_name(const std::string& name) {
  std::string s = "'";
  append_escaped(s, name, 200);
  if (name.size() > 200) s += "...";
  return s + "'";
}

std::string printable_name(const std::string& name) {
  std::string s;
  append_escaped(s, name, name.size());
  return s;
}

bool is_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    int more;
    uint32_t cp, min;
    if (c < 0x80) { ++p; continue; }
    if ((c & 0xe0) == 0xc0) more = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) more = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) more = 3, cp = c & 0x07, min = 0x10000;
    else return false;
    if (end - p <= more) return false;
    for (int i = 1; i <= more; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += more + 1;
  }
  return true;
}

}  // namespace ws
