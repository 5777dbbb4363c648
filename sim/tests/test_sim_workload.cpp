// The 2:4 workload: its chunks unpack, with the codec's own functions, to the stored values and
// positions that put back in place give the container's dense decode (checked there by the dense
// CRC); a corrupted chunk is an error, and so is a 2:4 run on a file with nothing to prune or
// stream 2:4.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "codec/container_reader.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "harness.hpp"

namespace wsim::test {
namespace {

const Workload& sparse_workload() {
  static const Workload w = load_workload(smoke_config(Mode::Sparse, 1));
  return w;
}

TEST(SimWorkload, TwoFourChunksUnpackToTheDenseValuesOfTheContainer) {
  const Workload& w = sparse_workload();
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(w.image.data(), w.image.size());
  uint64_t sparse_chunks = 0, compared = 0, mismatches = 0;
  std::vector<uint16_t> values;
  std::vector<uint8_t> idx;
  for (const StreamTensor& t : w.tensors) {
    const ws::Segment& s = reader.tensor(t.name);
    size_t ci = 0;
    for (const StreamChunk& c : w.chunks) {
      if (&w.tensors[size_t(c.tensor)] != &t) continue;
      if (!c.sparse) break;
      ++sparse_chunks;
      unpack_chunk(c, w.image.data() + c.addr, values, idx);
      const std::vector<uint8_t> dense = reader.decode_chunk(s, ci++);
      // Scatter each row's stored groups (v0, v1 at idx0, idx1; the rest +0; padding dropped).
      const uint64_t rows = c.dense_values / c.cols, stored = c.values / rows;
      std::vector<uint16_t> put(c.dense_values, 0);
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t i = 0; i < stored; ++i) {
          const uint64_t col = (i / 2) * 4 + idx[r * stored + i];
          if (col < c.cols) put[r * c.cols + col] = values[r * stored + i];
          else mismatches += values[r * stored + i] != 0;  // a padding group holds +0
        }
      for (size_t i = 0; i < put.size(); ++i, ++compared)
        mismatches += put[i] != ws::load_le16(&dense[2 * i]);
    }
  }
  std::printf("%llu 2:4 chunks, %llu dense values compared, %llu mismatches\n", (unsigned long long)sparse_chunks,
              (unsigned long long)compared, (unsigned long long)mismatches);
  EXPECT_EQ(sparse_chunks, 35u);  // 7 linear layers x 5 layers, a chunk per matrix
  EXPECT_EQ(compared, 5u * (4096 + 2048 + 2048 + 4096 + 3 * 11008));
  EXPECT_EQ(mismatches, 0u);
}

TEST(SimWorkload, ACorruptedTwoFourChunkIsAnError) {
  const Workload& w = sparse_workload();
  const auto c = std::find_if(w.chunks.begin(), w.chunks.end(), [](const StreamChunk& x) { return x.sparse; });
  ASSERT_NE(c, w.chunks.end());
  std::vector<uint16_t> values;
  std::vector<uint8_t> idx;
  // A byte in the value sub-chunk's streams, then the last byte of the chunk: the metadata sub-chunk's.
  for (uint32_t at : {c->value_chunk_offset + c->value_chunk_bytes - 1, c->bytes - 1}) {
    std::vector<uint8_t> bytes(w.image.begin() + long(c->addr), w.image.begin() + long(c->addr + c->bytes));
    bytes[at] ^= 0x10;
    EXPECT_THROW(unpack_chunk(*c, bytes.data(), values, idx), ws::FormatError) << "byte " << at;
  }
}

TEST(SimWorkload, SparseModeNeedsAModelToPruneOrAPrunedContainer) {
  const TempDir dir;
  const std::string dense = dir / "dense.wsz";
  const std::vector<uint8_t> wsz = bf16_container(model_path());
  std::ofstream(dense, std::ios::binary).write(reinterpret_cast<const char*>(wsz.data()), long(wsz.size()));
  Config c = smoke_config(Mode::Sparse, 1);
  c.model = dense;
  auto error_of = [](const Config& cfg) -> std::string {
    try {
      load_workload(cfg);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of(c).find("cannot be pruned"), std::string::npos) << error_of(c);
  c.pruned = dense;  // a container, but of the dense model
  EXPECT_NE(error_of(c).find("no tensor stored 2:4"), std::string::npos) << error_of(c);
}

}  // namespace
}  // namespace wsim::test
