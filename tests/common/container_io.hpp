// Byte-level helpers of the container tests: files, little-endian fields, in-memory compress and
// decompress through the library (what the tool does, without the files).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ws/container.hpp"

namespace wstest {

using Bytes = std::vector<uint8_t>;

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// v as `bytes` little-endian bytes.
inline void put(Bytes& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
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

}  // namespace wstest
