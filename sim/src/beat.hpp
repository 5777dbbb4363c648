// One transfer of the broadcast bus: up to kMax stream values of one chunk.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>

namespace wsim {

struct Beat {
  static constexpr int kMax = 64;
  uint32_t pass = 0;
  uint32_t chunk = 0;   // index of its chunk within the pass
  uint16_t count = 0;   // values used
  bool last = false;    // last beat of its chunk
  std::array<uint16_t, kMax> value{};  // bf16 bits
  std::array<uint8_t, kMax> idx{};     // 2:4 chunks: position (0..3) of the value in its group of 4
};

// sc_fifo<Beat> prints its contents on request.
inline std::ostream& operator<<(std::ostream& os, const Beat& b) {
  return os << "beat(pass " << b.pass << ", chunk " << b.chunk << ", " << b.count << (b.last ? ", last)" : ")");
}

}  // namespace wsim
