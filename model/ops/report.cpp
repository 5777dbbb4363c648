#include "ops/report.hpp"

#include <cstdarg>
#include <cstdio>
#include <vector>

namespace ws {

std::string strprintf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string s;
  if (n > 0) {
    std::vector<char> buf(size_t(n) + 1);
    std::vsnprintf(buf.data(), buf.size(), fmt, again);
    s.assign(buf.data(), size_t(n));
  }
  va_end(again);
  return s;
}

}  // namespace ws
