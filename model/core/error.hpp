// Errors raised on malformed input. The tool prints what() after "error: <file>: " and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace ws {

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ws
