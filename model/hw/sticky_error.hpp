// The error flag of every RTL block, as rtl/ws_sticky_error.sv: it holds the first non-zero cause
// since reset or since the last clear; a cause that arrives on the clearing cycle wins over the clear.
#pragma once

#include <cstdint>

namespace ws {

struct StickyError {
  bool err = false;
  uint8_t cause = 0;

  void reset() { *this = StickyError{}; }
  // One rising edge with the cycle's clear input and new cause (0 = none).
  void tick(bool clear, uint8_t new_cause) {
    if (new_cause != 0 && (!err || clear)) {
      err = true;
      cause = new_cause;
    } else if (clear) {
      err = false;
      cause = 0;
    }
  }
};

}  // namespace ws
