// LSB-first bit streams (docs/format.md section 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ws {

class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}
  void write(uint32_t value, int nbits);  // 0 <= nbits <= 32; value's bits above nbits must be 0
  void pad_to_bytes();                    // zero bits up to a byte boundary
  void pad_to_words();                    // zero bits up to a 32-bit boundary (flushes)
  uint64_t bit_count() const { return bits_written_; }

 private:
  std::vector<uint8_t>& out_;
  uint64_t acc_ = 0;
  int acc_bits_ = 0;
  uint64_t bits_written_ = 0;
};

// Reads [data, data + size). Reading past the end throws ws::FormatError("stream ends early").
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t read(int nbits);  // 0 <= nbits <= 32
  uint64_t position() const { return pos_; }
  uint64_t size_bits() const { return uint64_t(size_) * 8; }
  // Throws "bits left over" unless every bit from position() to the end is zero and fewer than
  // 32 bits remain.
  void expect_padding_only() const;

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t pos_ = 0;
};

}  // namespace ws
