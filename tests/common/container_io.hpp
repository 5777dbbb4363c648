// Byte-level helpers of the container tests: files, little-endian fields, in-memory compress and
// decompress through the library (what the tool does, without the files).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "codec/container_reader.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "ops/compress.hpp"
#include "ops/decompress.hpp"
#include "test_env.hpp"

namespace wstest {

using Bytes = std::vector<uint8_t>;

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The container with its index replaced by `index`, the footer (offset, size, CRC) made to match.
inline Bytes with_index_bytes(const Bytes& wsz, const Bytes& index) {
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  Bytes out(wsz.begin(), wsz.begin() + long(r.index_offset()));
  out.insert(out.end(), index.begin(), index.end());
  ws::append_le(out, r.index_offset(), 8);
  ws::append_le(out, index.size(), 8);
  ws::append_le(out, ws::crc32_of(index.data(), index.size()), 4);
  out.insert(out.end(), {'W', 'S', 'Z', 'E'});
  return out;
}

// The container with its parsed index edited by `edit`, then serialized back (footer consistent).
inline Bytes with_index(const Bytes& wsz, const std::function<void(ws::Index&)>& edit) {
  ws::Index ix = ws::ContainerReader::from_memory(wsz.data(), wsz.size()).index();
  edit(ix);
  return with_index_bytes(wsz, ws::serialize_index(ix));
}

inline Bytes compress_bytes(const Bytes& src, const ws::CompressOptions& opt = {}) {
  ws::MemorySource in(src.data(), src.size());
  ws::VectorSink out;
  const ws::CompressResult r = ws::compress(in, out, opt);
  EXPECT_EQ(r.container_bytes, out.bytes.size());
  return out.bytes;
}

inline Bytes decompress_bytes(const Bytes& wsz, unsigned threads = 1) {
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  ws::VectorSink out;
  ws::decompress(r, out, threads);
  return out.bytes;
}

// What single bit flips of a container did to its decompression.
struct FlipCounts {
  size_t flips = 0, detected = 0, harmless = 0, wrong = 0;
};

// Decompresses wsz with bit `bit` of byte `i` flipped: a ws::FormatError counts as detected, the
// original bytes `src` as harmless; other output, or any other exception, is a test failure (`what`
// prefixes the message; the first few wrong outputs are reported, all are counted).
inline void check_bit_flip(const Bytes& wsz, const Bytes& src, size_t i, int bit, FlipCounts& c,
                           const std::string& what = "") {
  Bytes b = wsz;
  b[i] ^= uint8_t(1u << bit);
  ++c.flips;
  try {
    if (decompress_bytes(b) == src)
      ++c.harmless;
    else if (++c.wrong < 10)
      ADD_FAILURE() << what << "flip of byte " << i << " bit " << bit << ": wrong output without an error";
  } catch (const ws::FormatError&) {
    ++c.detected;
  } catch (const std::exception& other) {
    ADD_FAILURE() << what << "byte " << i << " bit " << bit << ": not a FormatError: " << other.what();
  }
}

// Every truncation of the container wsz of src must fail to decompress, and so must its bit flips
// (every bit with WS_DEPTH=long, else one random bit a byte) unless harmless (check_bit_flip); nearly
// every flip must be an error. Prints what it did.
inline void expect_damage_detected(const Bytes& wsz, const Bytes& src, uint32_t seed, const std::string& what) {
  size_t cuts_undetected = 0;
  for (size_t cut = 0; cut < wsz.size(); ++cut) {
    try {
      decompress_bytes(Bytes(wsz.begin(), wsz.begin() + long(cut)));
      ++cuts_undetected;
    } catch (const ws::FormatError&) {
    }
  }
  std::mt19937 rng(seed);
  FlipCounts c;
  for (size_t i = 0; i < wsz.size(); ++i)
    for (int bit = 0; bit < 8; ++bit)
      if (long_run() || bit == int(rng() % 8)) check_bit_flip(wsz, src, i, bit, c, what + ": ");
  std::printf("%s: %zu-byte container: %zu truncations, %zu undetected; %zu bit flips: %zu errors, %zu harmless, "
              "%zu wrong output\n",
              what.c_str(), wsz.size(), wsz.size(), cuts_undetected, c.flips, c.detected, c.harmless, c.wrong);
  EXPECT_EQ(cuts_undetected, 0u);
  EXPECT_EQ(c.wrong, 0u);
  EXPECT_EQ(c.detected + c.harmless, c.flips);
  EXPECT_LT(c.harmless, c.flips / 100 + 1) << "nearly every flip must be an error";
}

}  // namespace wstest
