// The .wsz container: index round trip, in-memory compress / random access / decompress on synthetic
// and real files, determinism across thread counts, and every kind of damage detected.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/container_writer.hpp"
#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/source_kind.hpp"
#include "files/safetensors.hpp"
#include "ops/compress.hpp"

#include "container_io.hpp"
#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using wstest::error_of;

using wstest::Bytes;
using wstest::read_file;
using wstest::with_index;
using ws::append_le;
using wstest::compress_bytes;
using wstest::decompress_bytes;
using wstest::expect_damage_detected;



// A safetensors file with every case the container must handle: bf16, f16 and f32 tensors of random
// (seeded) values, a one-symbol tensor, a tensor with all 256 exponents, an empty tensor, an I64
// tensor (stored as literal bytes) and a gap between tensors.
Bytes synthetic_safetensors(uint32_t s) {
  std::mt19937 rng(s);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<std::pair<ws::SafetensorsEntry, Bytes>> t;
  auto bf16_tensor = [&](const std::string& name, std::vector<uint64_t> shape, std::function<uint16_t(size_t)> f) {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    Bytes b;
    for (size_t i = 0; i < n; ++i) append_le(b, f(i), 2);
    t.push_back({{name, "BF16", shape}, b});
  };
  bf16_tensor("layer.weight", {37, 11}, [&](size_t) { return ws::fp32_to_bf16(normal(rng)); });
  bf16_tensor("constant", {50}, [](size_t) { return uint16_t(0x3f80); });              // one symbol
  // Exponent i / 2 (bits 14..7), so every exponent twice, with varied signs and mantissas.
  bf16_tensor("all_exponents", {256, 2}, [](size_t i) { return uint16_t((i % 3 == 0) << 15 | (i >> 1) << 7 | (i * 5 & 0x7f)); });
  bf16_tensor("empty", {0, 5}, [](size_t) { return uint16_t(0); });
  Bytes f16, f32, i64;
  for (int i = 0; i < 15; ++i) append_le(f16, uint16_t(rng()), 2);
  for (int i = 0; i < 12; ++i) {
    const float v = normal(rng);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    append_le(f32, bits, 4);
  }
  for (int i = 0; i < 4; ++i) append_le(i64, uint64_t(i), 8);
  t.push_back({{"half", "F16", {5, 3}}, f16});
  t.push_back({{"ids", "I64", {4}}, i64});
  t.push_back({{"single", "F32", {2, 2, 3}}, f32});

  std::vector<ws::SafetensorsEntry> entries;
  for (auto& e : t) entries.push_back(e.first);
  Bytes file = ws::make_safetensors_header({{"format", "test"}}, entries);
  for (auto& e : t) file.insert(file.end(), e.second.begin(), e.second.end());
  return file;
}


size_t mismatches(const Bytes& a, const Bytes& b) {
  size_t n = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += a[i] != b[i];
  return n;
}

// Opens and fully decodes a container from memory; throws what the reader throws.
void open_and_decode(const Bytes& wsz) { decompress_bytes(wsz); }

TEST(Container, ChunkValuesRoundToRows) {
  EXPECT_EQ(ws::chunk_values_for({64, 64}, 65536), 65536u);
  EXPECT_EQ(ws::chunk_values_for({172, 64}, 1000), 960u);
  EXPECT_EQ(ws::chunk_values_for({5, 64, 172}, 1000), 860u);
  EXPECT_EQ(ws::chunk_values_for({100000}, 65536), 65536u);  // a row larger than a chunk: not rounded
  EXPECT_EQ(ws::chunk_values_for({}, 10), 10u);
  EXPECT_EQ(ws::chunk_values_for({3, 0}, 10), 10u);
  EXPECT_EQ(ws::chunk_values_for({7, 3}, 1), 1u);
}

// The chunking rule for paths (ws::chunk_rows_for): chunks of at most the chunk size, a multiple of
// the paths, each path's run (count / paths chunks) the same rows within one; one path the old cut.
TEST(Container, ChunkRowsForPaths) {
  // One path: chunks of max(1, chunk / row) rows, the last what is left (the cut before paths).
  for (const auto& [rows, row, chunk] : std::vector<std::array<uint64_t, 3>>{
           {576, 288, 65536}, {192, 288, 65536}, {172, 64, 1000}, {7, 3, 1}, {5, 100, 10}, {1, 4, 4}, {0, 8, 64}}) {
    const ws::RowChunks c = ws::chunk_rows_for(rows, row, chunk, 1);
    const uint64_t per = std::max<uint64_t>(1, chunk / row);
    EXPECT_EQ(c.count, (rows + per - 1) / per) << rows;
    for (uint64_t i = 0; i <= c.count; ++i) EXPECT_EQ(c.first_row(i), std::min(rows, i * per)) << rows << " " << i;
  }
  // SmolLM2-135M's 2:4 linears at 2 paths (2 S kept values a row): k/v, q/o, gate/up, down.
  const ws::RowChunks kv = ws::chunk_rows_for(192, 288, 65536, 2), q = ws::chunk_rows_for(576, 288, 65536, 2);
  const ws::RowChunks up = ws::chunk_rows_for(1536, 288, 65536, 2), down = ws::chunk_rows_for(576, 768, 65536, 2);
  EXPECT_EQ(kv.count, 2u);
  EXPECT_EQ(kv.rows_of(0), 96u);
  EXPECT_EQ(q.count, 4u);  // 3 for one path (227, 227, 122)
  EXPECT_EQ(q.rows_of(3), 144u);
  EXPECT_EQ(up.count, 8u);
  EXPECT_EQ(up.rows_of(7), 192u);
  EXPECT_EQ(down.count, 8u);
  EXPECT_EQ(down.rows_of(0), 72u);

  // Seeded shapes at 2, 3 and 4 paths: every rule above, wherever it can be met.
  std::mt19937_64 rng(seed());
  int cut = 0, one_path = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const int paths = 2 + int(rng() % 3);
    const uint64_t rows = 1 + rng() % 3000, row = 1 + rng() % 2000, chunk = 1 + rng() % 70000;
    const ws::RowChunks c = ws::chunk_rows_for(rows, row, chunk, paths);
    const uint64_t per = std::max<uint64_t>(1, chunk / row);
    ASSERT_EQ(c.first_row(0), 0u);
    ASSERT_EQ(c.first_row(c.count), rows);
    for (uint64_t i = 0; i < c.count; ++i) {
      ASSERT_GE(c.rows_of(i), 1u) << rows << " " << row << " " << chunk << " " << paths;
      ASSERT_LE(c.rows_of(i), per) << rows << " " << row << " " << chunk << " " << paths;
    }
    if (c.paths == 1) {  // only when it cannot be met: fewer rows than paths, or than chunks a run
      const uint64_t runs_of = ((rows + per - 1) / per + uint64_t(paths) - 1) / uint64_t(paths);
      ASSERT_TRUE(rows < uint64_t(paths) || runs_of > rows / uint64_t(paths)) << rows << " " << per << " " << paths;
      ++one_path;
      continue;
    }
    ++cut;
    ASSERT_EQ(c.count % uint64_t(paths), 0u);
    // The fewest chunks that fit, rounded up to a multiple of paths.
    ASSERT_LT(c.count - uint64_t(paths), (rows + per - 1) / per) << rows << " " << per << " " << paths;
    const uint64_t m = c.count / uint64_t(paths);
    uint64_t lo = rows, hi = 0, clo = rows, chi = 0;
    for (uint64_t p = 0; p < uint64_t(paths); ++p) {
      const uint64_t run = c.first_row((p + 1) * m) - c.first_row(p * m);
      lo = std::min(lo, run), hi = std::max(hi, run);
      for (uint64_t i = p * m; i < (p + 1) * m; ++i) clo = std::min(clo, c.rows_of(i)), chi = std::max(chi, c.rows_of(i));
    }
    ASSERT_LE(hi - lo, 1u) << rows << " " << per << " " << paths;    // the paths' rows
    ASSERT_LE(chi - clo, 1u) << rows << " " << per << " " << paths;  // the chunks' rows
  }
  std::printf("chunk_rows_for, %s: %d shapes cut for their paths, %d left at the one-path cut\n",
              wsenv::seed_text().c_str(), cut, one_path);
  EXPECT_GT(cut, 10000);
  EXPECT_THROW(ws::chunk_rows_for(10, 1, 1, 0), std::invalid_argument);
  EXPECT_THROW(ws::chunk_rows_for(10, 1, 1, ws::kMaxChunkPaths + 1), std::invalid_argument);
}

TEST(Container, DenseChunksForPaths) {
  // One path: exactly the chunks of chunk_values_for, for any rank.
  for (const auto& [dims, chunk] : std::vector<std::pair<std::vector<uint64_t>, uint64_t>>{
           {{64, 64}, 65536}, {{172, 64}, 1000}, {{5, 64, 172}, 1000}, {{100000}, 65536}, {{}, 10}, {{7, 3}, 1},
           {{512, 64}, 4096}, {{3, 100}, 50}}) {
    uint64_t count = 1;
    for (uint64_t d : dims) count *= d;
    const ws::DenseChunks d = ws::dense_chunks_for(dims, count, chunk, 1);
    const uint64_t per = ws::chunk_values_for(dims, chunk);
    EXPECT_EQ(d.count(), (count + per - 1) / per);
    for (uint64_t i = 0; i <= d.count(); ++i) EXPECT_EQ(d.value_at(i), std::min(count, i * per));
  }
  // Two paths, [172][64] in chunks of 1000: 15 rows fit, 12 chunks (not 11), 86 rows a path.
  const ws::DenseChunks two = ws::dense_chunks_for({172, 64}, 172 * 64, 1000, 2);
  EXPECT_EQ(two.count(), 12u);
  EXPECT_EQ(two.value_at(6), 86u * 64);
  for (uint64_t i = 0; i < two.count(); ++i) EXPECT_LE(two.value_at(i + 1) - two.value_at(i), 1000u);
  // Rank 1, and rows larger than a chunk: not cut by rows, so as for one path.
  EXPECT_EQ(ws::dense_chunks_for({100000}, 100000, 65536, 2).count(), 2u);
  EXPECT_EQ(ws::dense_chunks_for({64}, 64, 65536, 2).count(), 1u);
  EXPECT_EQ(ws::dense_chunks_for({3, 100}, 300, 50, 2).count(), 6u);
}

TEST(Container, IndexRoundTrip) {
  ws::Index ix;
  ix.source_kind = ws::SourceKind::Safetensors;
  ws::Segment lit;
  lit.length = 10;
  lit.offset = 16;
  lit.crc = 0xdeadbeef;
  ws::Segment t;
  t.kind = ws::Segment::Kind::Tensor;
  t.name = "w";
  t.dtype = ws::DType::F16;
  t.dims = {2, 3};
  t.value_count = 6;
  t.chunks = {{26, 20, 4}, {46, 20, 2}};
  ix.segments = {lit, t};
  ix.source_size = 10 + 12;
  const Bytes b = ws::serialize_index(ix);
  EXPECT_EQ(b.size(), ws::index_fixed_bytes(ix.version) + lit.index_bytes() + t.index_bytes());
  const ws::Index back = ws::parse_index(b.data(), b.size(), 16, 66);
  EXPECT_EQ(back.source_kind, ix.source_kind);
  EXPECT_EQ(back.source_size, 22u);
  ASSERT_EQ(back.segments.size(), 2u);
  EXPECT_EQ(back.segments[0].crc, 0xdeadbeefu);
  EXPECT_EQ(back.segments[1].source_offset, 10u);
  EXPECT_EQ(back.segments[1].length, 12u);
  EXPECT_EQ(back.segments[1].name, "w");
  EXPECT_EQ(back.segments[1].chunks[1].offset, 46u);
  EXPECT_EQ(ws::serialize_index(back), b);
  // The same index with a region too small for its last chunk.
  EXPECT_NE(error_of([&] { ws::parse_index(b.data(), b.size(), 16, 65); }).find("offset out of range in tensor 'w' chunk 1"),
            std::string::npos);
}

TEST(Container, SyntheticRoundTripAndRandomAccess) {
  const uint32_t s = seed();
  const Bytes src = synthetic_safetensors(s);
  for (uint64_t chunk : {uint64_t(1), uint64_t(7), uint64_t(100), ws::kMaxChunkValues}) {
    ws::CompressOptions opt;
    opt.chunk_values = chunk;
    opt.chunk.lanes = chunk == 7 ? 2 : 8;
    opt.chunk.table_log = chunk == 100 ? 5 : 12;
    opt.threads = 2;
    const Bytes wsz = compress_bytes(src, opt);
    const Bytes back = decompress_bytes(wsz, 2);
    const size_t bad = mismatches(src, back);
    std::printf("chunk %llu: %zu -> %zu bytes, %zu mismatches\n", (unsigned long long)chunk, src.size(), wsz.size(), bad);
    EXPECT_EQ(bad, 0u);

    const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
    EXPECT_EQ(r.index().source_kind, ws::SourceKind::Safetensors);
    EXPECT_EQ(r.index().source_size, src.size());
    // Header + ids (I64) are literal bytes; the coded tensors are tensor segments.
    const ws::SafetensorsFile st = ws::parse_safetensors_header(src.data() + 8, size_t(src[0] | src[1] << 8), src.size());
    for (const ws::SafetensorsTensor& t : st.tensors) {
      const ws::Segment* seg = r.find_tensor(t.name);
      if (t.coded == ws::DType::Raw) {
        EXPECT_EQ(seg, nullptr) << t.name;
        continue;
      }
      ASSERT_NE(seg, nullptr) << t.name;
      EXPECT_EQ(seg->source_offset, t.offset);
      EXPECT_EQ(seg->dims, t.shape);
      const uint64_t per = ws::chunk_values_for(t.shape, chunk);
      EXPECT_EQ(seg->chunks.size(), (t.value_count + per - 1) / per) << t.name;
      const Bytes values = r.decode_tensor(t.name);
      EXPECT_EQ(values, Bytes(src.begin() + long(t.offset), src.begin() + long(t.offset + t.size))) << t.name;
    }
    EXPECT_EQ(r.find_tensor("ids"), nullptr);
    EXPECT_THROW(r.tensor("nope"), ws::FormatError);
  }
}

TEST(Container, GapsAndTrailingBytesAreLiteral) {
  const std::string json = R"({"a":{"dtype":"BF16","shape":[3],"data_offsets":[5,11]}})";
  Bytes src;
  append_le(src, json.size(), 8);
  src.insert(src.end(), json.begin(), json.end());
  for (int i = 0; i < 5 + 6 + 9; ++i) src.push_back(uint8_t(i * 37 + 1));  // gap, tensor, trailing bytes
  const Bytes wsz = compress_bytes(src, {});
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  ASSERT_EQ(r.index().segments.size(), 3u);
  EXPECT_FALSE(r.index().segments[0].is_tensor());
  EXPECT_EQ(r.index().segments[0].length, 8 + json.size() + 5);
  EXPECT_TRUE(r.index().segments[1].is_tensor());
  EXPECT_EQ(r.index().segments[2].length, 9u);
  EXPECT_EQ(mismatches(src, decompress_bytes(wsz)), 0u);
}

TEST(Container, OpaqueAndEmptyInputs) {
  std::mt19937 rng(seed());
  Bytes src(3 << 20);  // more than one 1 MiB literal window
  for (auto& b : src) b = uint8_t(rng());
  const Bytes wsz = compress_bytes(src, {});
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  EXPECT_EQ(r.index().source_kind, ws::SourceKind::Opaque);
  ASSERT_EQ(r.index().segments.size(), 1u);
  EXPECT_EQ(r.index().segments[0].length, src.size());
  EXPECT_EQ(mismatches(src, decompress_bytes(wsz)), 0u);

  const Bytes empty_wsz = compress_bytes({}, {});
  EXPECT_EQ(empty_wsz.size(), 16u + 21u + 24u);  // header, index (fixed fields: 21 bytes from version 2), footer
  EXPECT_TRUE(decompress_bytes(empty_wsz).empty());
}

TEST(Container, RealStoriesDeterministicAcrossThreads) {
  const Bytes src = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  ASSERT_EQ(src.size(), 1056540u);
  ws::CompressOptions opt;
  opt.chunk_values = 1000;
  opt.threads = 1;
  const Bytes one = compress_bytes(src, opt);
  opt.threads = 3;
  const Bytes three = compress_bytes(src, opt);
  EXPECT_EQ(mismatches(one, three), 0u) << "output must not depend on the thread count";
  const Bytes back = decompress_bytes(three, 3);
  const size_t bad = mismatches(src, back);
  std::printf("stories260K: %zu -> %zu bytes, %zu mismatches\n", src.size(), one.size(), bad);
  EXPECT_EQ(bad, 0u);

  // Random access: chunk 5 of wq (64-value rows, so 960 values a chunk) is where the README puts it.
  const ws::ContainerReader r = ws::ContainerReader::from_memory(one.data(), one.size());
  EXPECT_EQ(r.index().source_kind, ws::SourceKind::Llama2c);
  const ws::Segment& wq = r.tensor("wq");
  const uint64_t wq_offset = 28 + 4 * (512 * 64 + 5 * 64);
  EXPECT_EQ(wq.source_offset, wq_offset);
  ASSERT_EQ(wq.chunks.size(), (20480u + 959) / 960);
  const Bytes c5 = r.decode_chunk(wq, 5);
  ASSERT_EQ(c5.size(), 960u * 4);
  EXPECT_EQ(c5, Bytes(src.begin() + long(wq_offset + 5 * 960 * 4), src.begin() + long(wq_offset + 6 * 960 * 4)));
}

TEST(Container, ValidationMessages) {
  const Bytes src = synthetic_safetensors(seed());
  ws::CompressOptions opt;
  opt.chunk_values = 64;
  const Bytes wsz = compress_bytes(src, opt);
  ASSERT_EQ(error_of([&] { open_and_decode(wsz); }), "");

  auto expect = [&](const Bytes& bad, const std::string& what) {
    const std::string e = error_of([&] { open_and_decode(bad); });
    EXPECT_NE(e.find(what), std::string::npos) << "want '" << what << "', got '" << e << "'";
  };
  auto tensor_of = [](ws::Index& ix, const std::string& name) -> ws::Segment& {
    for (auto& s : ix.segments)
      if (s.name == name) return s;
    throw std::runtime_error("no " + name);
  };
  Bytes b = wsz;
  b[0] = 'X';
  expect(b, "bad magic");
  b = wsz;
  b[4] = 6;
  expect(b, "unsupported version 6");
  // Version 4 adds an expert layout byte to every dense tensor record (docs/format.md section 4.3): a
  // version-3 index read as version 4 misses them: whatever it reads there, it is refused.
  b = wsz;
  b[4] = 4;
  EXPECT_NE(error_of([&] { open_and_decode(b); }), "");
  b = wsz;
  b[4] = 0;
  expect(b, "unsupported version 0");
  // Version 2 names layout-1 chunks: this container's layout-2 chunks do not belong in it.
  b = wsz;
  b[4] = 2;
  expect(b, "chunk in layout 2 where the container's version holds layout 1");
  b = wsz;
  b[9] = 1;
  expect(b, "reserved header field");
  b = wsz;
  b.back() = 'X';
  expect(b, "bad magic at end of file");
  b = wsz;
  b[b.size() - 30] ^= 0x10;  // inside the index
  expect(b, "index checksum mismatch");
  b = wsz;
  b[b.size() - 24] ^= 1;  // the index offset in the footer
  expect(b, "index offset out of range");
  expect(Bytes(wsz.begin(), wsz.begin() + 39), "too short");

  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "layer.weight").chunks[3].offset = 1u << 30; }),
         "offset out of range in tensor 'layer.weight' chunk 3");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "layer.weight").chunks[0].offset = 3; }),
         "offset out of range in tensor 'layer.weight' chunk 0");
  expect(with_index(wsz, [&](ws::Index& ix) { ix.segments[0].length = 1u << 30; }), "offset out of range in literal segment 0");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "layer.weight").chunks[1].value_count = 1u << 30; }),
         "chunk too small for its value count in tensor 'layer.weight' chunk 1");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "constant").chunks[0].value_count -= 1; }),
         "chunk value counts add up to 49, not 50, in tensor 'constant'");
  expect(with_index(wsz,
                    [&](ws::Index& ix) {
                      auto& t = tensor_of(ix, "layer.weight");
                      t.chunks[0].value_count -= 11;
                      t.chunks[1].value_count += 11;
                    }),
         "tensor 'layer.weight' chunk 0: holds 55 values, the index says 44");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "constant").dims = {7, 7}; }),
         "dims do not match the value count in tensor 'constant'");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "constant").name = "layer.weight"; }),
         "duplicate tensor 'layer.weight'");
  expect(with_index(wsz, [&](ws::Index& ix) { ix.source_size += 1; }), "segments cover");
  expect(with_index(wsz, [&](ws::Index& ix) { ix.source_kind = ws::SourceKind(7); }), "unknown source kind 7");
  expect(with_index(wsz, [&](ws::Index& ix) { ix.segments[0].crc ^= 1; }), "checksum mismatch in the literal segment");
  // Bad format ids: test_value_format.cpp.
}

// Damage never gives a crash, another exception, or silently wrong output: every truncation is a
// ws::FormatError, and so is every single-bit flip except the few that change nothing decoded (such as
// a larger `last` symbol whose extra counts are all zero, which the format allows); those must then
// decode to exactly the original.
TEST(Container, EveryTruncationAndBitFlipDetected) {
  const uint32_t s = seed();
  const Bytes src = synthetic_safetensors(s);
  ws::CompressOptions opt;
  opt.chunk_values = 100;
  opt.threads = 1;
  expect_damage_detected(compress_bytes(src, opt), src, s, "synthetic safetensors");
}

TEST(Container, WriterMisuseIsALogicError) {
  ws::VectorSink out;
  ws::ContainerWriter w(out, ws::SourceKind::Opaque, 4);
  EXPECT_THROW(w.add_chunk(Bytes(12)), std::logic_error);  // outside a tensor
  EXPECT_THROW(w.end_literal(), std::logic_error);
  w.begin_literal();
  EXPECT_THROW(w.begin_tensor("t", ws::DType::BF16, {1}), std::logic_error);
  w.literal_bytes(reinterpret_cast<const uint8_t*>("abc"), 3);
  w.end_literal();
  EXPECT_THROW(w.finish(), std::logic_error);  // 3 of 4 source bytes
  EXPECT_THROW(w.begin_tensor("t", ws::DType::Raw, {1}), std::logic_error);
}

TEST(Container, BadOptions) {
  ws::VectorSink out;
  const Bytes src(10);
  ws::MemorySource in(src.data(), src.size());
  ws::CompressOptions opt;
  opt.chunk.lanes = 3;
  EXPECT_THROW(ws::compress(in, out, opt), std::invalid_argument);
  opt = {};
  opt.chunk.table_log = 13;
  EXPECT_THROW(ws::compress(in, out, opt), std::invalid_argument);
  opt = {};
  opt.chunk_values = 0;
  EXPECT_THROW(ws::compress(in, out, opt), std::invalid_argument);
}

}  // namespace

namespace {

ws::Segment& tensor_named(ws::Index& ix, const std::string& name) {
  for (auto& s : ix.segments)
    if (s.name == name) return s;
  throw std::runtime_error("no tensor " + name);
}

// The attacks of issue 17 on a real model (stories260K, fp32, chunks of 512 values): index entries
// swapped, reordered or duplicated, tensor records renamed, with the index checksum made to match
// (with_index recomputes the footer). A version-2 container names the moved chunk; every edit is
// first checked to be one that a version-1 container decodes "successfully" to other bytes.
TEST(Container, CraftedIndexEditsFailWithTheirChunk) {
  const Bytes src = read_file(wstest::stories_path());
  ASSERT_FALSE(src.empty());
  ws::CompressOptions opt;
  opt.chunk_values = 512;
  const Bytes wsz = compress_bytes(src, opt);
  ASSERT_EQ(decompress_bytes(wsz), src);
  ASSERT_EQ(ws::ContainerReader::from_memory(wsz.data(), wsz.size()).version(), ws::kContainerVersion);

  struct Edit {
    std::string what, error;
    std::function<void(ws::Index&)> edit;
  };
  const std::vector<Edit> edits = {
      {"two chunks of one tensor swapped", "tensor 'wq' chunk 1: checksum mismatch",
       [](ws::Index& ix) {
         auto& c = tensor_named(ix, "wq").chunks;
         std::swap(c[1], c[2]);
       }},
      {"a chunk duplicated over its neighbour", "tensor 'wq' chunk 3: checksum mismatch",
       [](ws::Index& ix) {
         auto& c = tensor_named(ix, "wq").chunks;
         c[3] = c[2];
       }},
      {"chunks of two same-shape tensors exchanged", "tensor 'wq' chunk 0: checksum mismatch",
       [](ws::Index& ix) { std::swap(tensor_named(ix, "wq").chunks, tensor_named(ix, "wo").chunks); }},
      {"two same-shape tensor records renamed into each other", "checksum mismatch",
       [](ws::Index& ix) { std::swap(tensor_named(ix, "wq").name, tensor_named(ix, "wo").name); }},
  };
  for (const Edit& e : edits) {
    const Bytes bad = with_index(wsz, e.edit);
    const std::string err = error_of([&] { decompress_bytes(bad); });
    EXPECT_NE(err.find(e.error), std::string::npos) << e.what << ": got '" << err << "'";
  }
  // The content checksum itself: a wrong one fails after the last byte, every chunk being right.
  const Bytes bad = with_index(wsz, [](ws::Index& ix) { ix.content_checksum ^= 1; });
  EXPECT_EQ(error_of([&] { decompress_bytes(bad); }),
            "content checksum mismatch: the decoded bytes are not what was compressed");
}

// The same edits in a version-1 container (CRC-32 of the bytes alone) decode without an error to
// bytes that differ from the source: the finding the version bump fixes. Built with the writer at
// version 1, chunk by chunk, as the compressor of version 1 did.
TEST(Container, Version1SwapIsUndetectedWhichIsWhyVersion2Exists) {
  std::vector<float> v(2048);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(std::sin(double(i)));
  Bytes values(v.size() * 4);
  std::memcpy(values.data(), v.data(), values.size());
  ws::VectorSink out;
  ws::ContainerWriter w(out, ws::SourceKind::Opaque, values.size(), ws::kVersionCrc32);
  w.begin_tensor("w", ws::DType::F32, {4, 512});
  ws::ChunkOptions v1;  // CRC-32, layout 1
  v1.layout = ws::tans::Layout::Shared;
  for (size_t r = 0; r < 4; ++r) w.add_chunk(ws::encode_chunk(values.data() + r * 2048, 512, ws::DType::F32, v1));
  w.end_tensor();
  w.finish();
  ASSERT_EQ(decompress_bytes(out.bytes), values);
  const Bytes swapped = with_index(out.bytes, [](ws::Index& ix) { std::swap(ix.segments[0].chunks[0], ix.segments[0].chunks[1]); });
  const Bytes back = decompress_bytes(swapped);  // no error ...
  EXPECT_NE(back, values);                       // ... and other bytes
}

// Every version-1 container of the fuzz corpus (written by the tool before version 2) still decodes
// with every CRC-32 checked, and its content round-trips through a version-2 container.
TEST(Container, ReadsVersion1Containers) {
  int seen = 0;
  for (const char* name : {"v1_llama2c_f32.wsz", "v1_bf16_lanes2_L5.wsz", "v1_mixed_lanes1.wsz", "v1_mixed_lanes8.wsz",
                           "v1_sparse24_rows1.wsz", "v1_sparse24_lanes8.wsz", "v1_formats_chunk8.wsz",
                           "v1_gguf_chunk64.wsz", "v1_gguf_lanes1.wsz", "v1_opaque.wsz", "v1_empty.wsz"}) {
    const Bytes v1 = read_file(std::string(WS_SOURCE_DIR) + "/tests/fuzz/corpus/" + name);
    ASSERT_FALSE(v1.empty()) << name;
    ASSERT_EQ(ws::ContainerReader::from_memory(v1.data(), v1.size()).version(), ws::kVersionCrc32) << name;
    const Bytes src = decompress_bytes(v1);
    const Bytes v2 = compress_bytes(src);
    EXPECT_EQ(ws::ContainerReader::from_memory(v2.data(), v2.size()).version(), ws::kContainerVersion);
    EXPECT_EQ(decompress_bytes(v2), src) << name;
    // A flipped byte inside a chunk is still caught by its CRC-32.
    const ws::ContainerReader r1 = ws::ContainerReader::from_memory(v1.data(), v1.size());
    for (const ws::Segment& s : r1.index().segments)
      if (s.is_tensor() && !s.chunks.empty()) {
        Bytes bad = v1;
        bad[size_t(s.chunks[0].offset + s.chunks[0].size / 2)] ^= 0x20;
        EXPECT_NE(error_of([&] { decompress_bytes(bad); }), "") << name;
        break;
      }
    ++seen;
  }
  EXPECT_EQ(seen, 11);
}

}  // namespace
