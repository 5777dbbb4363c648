// LSB-first bit streams (docs/format.md section 1).
#include "core/bitstream.hpp"

#include <stdexcept>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {

void BitWriter::write(uint32_t value, int nbits) {
  if (nbits < 0 || nbits > 32) throw std::invalid_argument("BitWriter::write: nbits out of 0..32");
  if (nbits < 32 && (value >> nbits) != 0)
    throw std::invalid_argument("BitWriter::write: value has bits above nbits");
  acc_ |= uint64_t(value) << acc_bits_;  // acc_bits_ < 32 here, so nothing is lost
  acc_bits_ += nbits;
  bits_written_ += uint64_t(nbits);
  // Keep fewer than 32 bits pending, so the next write fits in the 64-bit accumulator.
  if (acc_bits_ >= 32) {
    append_le(out_, acc_, 4);
    acc_ >>= 32;
    acc_bits_ -= 32;
  }
}

void BitWriter::pad_to_bytes() {
  int pad = (8 - acc_bits_ % 8) % 8;
  acc_bits_ += pad;  // the padding bits are already zero in acc_
  bits_written_ += uint64_t(pad);
  for (; acc_bits_ > 0; acc_bits_ -= 8) {
    out_.push_back(uint8_t(acc_));
    acc_ >>= 8;
  }
  acc_ = 0;
}

void BitWriter::pad_to_words() {
  int pad = int((32 - bits_written_ % 32) % 32);
  // Write the zero bits in pieces of at most 8 so that write() keeps its invariant.
  while (pad > 0) {
    int piece = pad < 8 ? pad : 8;
    write(0, piece);
    pad -= piece;
  }
  pad_to_bytes();
}

uint32_t BitReader::read(int nbits) {
  if (nbits < 0 || nbits > 32) throw std::invalid_argument("BitReader::read: nbits out of 0..32");
  if (uint64_t(nbits) > size_bits() - pos_) throw FormatError("stream ends early");
  uint64_t value = 0;
  int got = 0;
  while (got < nbits) {
    uint64_t byte = pos_ >> 3;
    int offset = int(pos_ & 7);
    int take = 8 - offset;
    if (take > nbits - got) take = nbits - got;
    uint64_t bits = (uint64_t(data_[byte]) >> offset) & ((1u << take) - 1);
    value |= bits << got;
    got += take;
    pos_ += uint64_t(take);
  }
  return uint32_t(value);
}

void BitReader::expect_padding_only() const {
  uint64_t left = size_bits() - pos_;
  if (left >= 32) throw FormatError("bits left over");
  for (uint64_t p = pos_; p < size_bits(); ++p)
    if ((data_[p >> 3] >> (p & 7)) & 1) throw FormatError("bits left over");
}

}  // namespace ws
