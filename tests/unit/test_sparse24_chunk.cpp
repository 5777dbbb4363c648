// 2:4 chunks (codec/sparse24_chunk.hpp) and 2:4 tensors in the container: the symbols-only chunk mode,
// round trips of random 2:4 data of every dtype (-0 kept, odd group counts, stacked tensors, one row,
// empty), the stored layout, the hardware API, and damage of every kind detected.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"
#include "ops/compress.hpp"
#include "ops/inspect.hpp"

#include "container_io.hpp"
#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;
using wstest::error_of;

using wstest::Bytes;
using wstest::with_index;
using ws::append_le;
using wstest::compress_bytes;
using wstest::decompress_bytes;
using wstest::FlipCounts;
using wstest::check_bit_flip;
using ws::DType;



// rows x cols random values of dtype t, 2:4 in the storage sense: in each group of 4, 0, 1 or 2
// random positions hold a random non-zero pattern (sometimes -0), the rest +0.
Bytes random_sparse24(std::mt19937& rng, uint64_t rows, uint64_t cols, DType t) {
  const size_t w = ws::dtype_size(t);
  Bytes b(rows * cols * w, 0);
  for (uint64_t g = 0; g < rows * cols / 4; ++g) {
    const int keep = int(rng() % 3);
    int pos[4] = {0, 1, 2, 3};
    std::shuffle(pos, pos + 4, rng);
    for (int k = 0; k < keep; ++k) {
      uint8_t* v = &b[(4 * g + uint64_t(pos[k])) * w];
      if (rng() % 8 == 0) {
        v[w - 1] = 0x80;  // -0: a non-zero bit pattern, kept
      } else {
        for (size_t i = 0; i < w; ++i) v[i] = uint8_t(rng());
        if (std::all_of(v, v + w, [](uint8_t x) { return x == 0; })) v[0] = 1;
      }
    }
  }
  return b;
}

// A 2:4 chunk assembled by hand from a stored form, for damage the encoder never writes.
Bytes assemble(uint32_t rows, uint32_t groups, uint32_t crc, const Bytes& kept, const Bytes& meta, DType t,
               int meta_lanes = 2) {
  const Bytes v = ws::encode_chunk(kept.data(), kept.size() / ws::dtype_size(t), t, {4, ws::kSparse24ValueTableLog});
  const Bytes m = ws::encode_chunk(meta.data(), meta.size(), DType::Raw, {meta_lanes, ws::kSparse24MetaTableLog});
  Bytes out;
  append_le(out, rows, 4);
  append_le(out, groups, 4);
  append_le(out, crc, 4);
  append_le(out, v.size(), 4);
  append_le(out, m.size(), 4);
  out.insert(out.end(), v.begin(), v.end());
  out.insert(out.end(), m.begin(), m.end());
  return out;
}

uint32_t crc_of(const Bytes& b) { return ws::crc32_of(b.data(), b.size()); }

TEST(Sparse24Chunk, SymbolsOnlyChunkRoundTrip) {
  std::mt19937 rng(seed());
  for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(1000)}) {
    for (int lanes : {1, 2, 4, 8}) {
      Bytes in(n);
      for (auto& b : in) b = uint8_t(n == 1000 ? rng() : rng() % 6);
      const Bytes c = ws::encode_chunk(in.data(), n, DType::Raw, {lanes, 8});
      const ws::ChunkView v = ws::parse_chunk(c.data(), c.size());
      EXPECT_EQ(v.value_count, n);
      EXPECT_EQ(v.raw_bytes, 0u);
      Bytes out(n);
      ws::decode_chunk(c.data(), c.size(), DType::Raw, out.data(), out.size());
      EXPECT_EQ(out, in) << n << " symbols, " << lanes << " lanes";
    }
  }
  EXPECT_EQ(ws::raw_bits_of(DType::Raw), 0);
  EXPECT_EQ(ws::raw_bits_of(DType::BF16), 8);
}

TEST(Sparse24Chunk, StoredGroupsAndQualification) {
  EXPECT_EQ(ws::sparse24_stored_groups(4), 2u);
  EXPECT_EQ(ws::sparse24_stored_groups(8), 2u);
  EXPECT_EQ(ws::sparse24_stored_groups(12), 4u);
  EXPECT_EQ(ws::sparse24_stored_groups(172), 44u);
  EXPECT_TRUE(ws::sparse24_shape_ok(DType::BF16, {3, 8}));
  EXPECT_FALSE(ws::sparse24_shape_ok(DType::BF16, {8}));
  EXPECT_FALSE(ws::sparse24_shape_ok(DType::BF16, {3, 6}));
  EXPECT_FALSE(ws::sparse24_shape_ok(DType::BF16, {3, 0}));
  EXPECT_FALSE(ws::sparse24_shape_ok(DType::Raw, {3, 8}));
  // -0 is a value: +0 +0 -0 x qualifies, -0 -0 -0 x does not.
  const Bytes ok = {0, 0, 0, 0, 0, 0x80, 0x80, 0x3f}, bad = {0, 0x80, 0, 0x80, 0, 0x80, 0x80, 0x3f};
  EXPECT_TRUE(ws::is_sparse24(ok.data(), 1, 4, DType::BF16));
  EXPECT_FALSE(ws::is_sparse24(bad.data(), 1, 4, DType::BF16));
}

TEST(Sparse24Chunk, RandomRoundTripEveryDtype) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  for (DType t : {DType::BF16, DType::F16, DType::F32})
    for (uint64_t cols : {4u, 8u, 12u, 64u, 172u})
      for (uint32_t rows : {0u, 1u, 5u, 64u}) {
        const Bytes dense = random_sparse24(rng, rows, cols, t);
        const Bytes c = ws::encode_sparse24_chunk(dense.data(), rows, cols, t);
        const ws::Sparse24ChunkView v = ws::parse_sparse24_chunk(c.data(), c.size());
        const uint32_t g = ws::sparse24_stored_groups(cols);
        EXPECT_EQ(v.rows, rows);
        EXPECT_EQ(v.groups, g);
        EXPECT_EQ(v.crc, crc_of(dense));
        EXPECT_EQ(v.values.value_count, rows * g * 2);
        EXPECT_EQ(v.meta.value_count, rows * g);
        EXPECT_EQ(v.meta.raw_bytes, 0u);
        if (rows) EXPECT_EQ(v.meta.lanes, 2);
        // The sub-chunks parse on their own.
        EXPECT_EQ(ws::parse_chunk(v.value_chunk, v.value_chunk_bytes).value_count, v.values.value_count);
        EXPECT_EQ(ws::parse_chunk(v.meta_chunk, v.meta_chunk_bytes).value_count, v.meta.value_count);

        Bytes back(dense.size());
        ws::decode_sparse24_chunk(c.data(), c.size(), t, cols, back.data(), back.size());
        EXPECT_EQ(back, dense) << ws::dtype_name(t) << " " << rows << "x" << cols;

        // Stored form: canonical nibbles, padding (0x4, +0, +0), values at their positions.
        const ws::Sparse24Stored st = ws::decode_sparse24_stored(c.data(), c.size(), t, cols);
        const size_t w = ws::dtype_size(t);
        for (uint32_t r = 0; r < rows; ++r)
          for (uint32_t k = 0; k < g; ++k) {
            const uint8_t m = st.meta[r * g + k];
            if (k >= cols / 4) {
              EXPECT_EQ(m, 0x4);
              continue;
            }
            ASSERT_TRUE(ws::sparse24_meta_valid(m));
            EXPECT_EQ(0, std::memcmp(&st.values[(2 * (r * g + k)) * w],
                                     &dense[(r * cols + 4 * k + uint64_t(ws::sparse24_idx0(m))) * w], w));
          }
      }
}

TEST(Sparse24Chunk, CanonicalFormMatchesMacArray) {
  // bf16 rows with only +0 zeros: the stored nibbles and values are exactly pack_sparse24's.
  std::mt19937 rng(seed());
  const int rows = 6, cols = 20;
  std::vector<uint16_t> w(rows * cols, 0);
  for (int g = 0; g < rows * cols / 4; ++g)
    for (int k = 0; k < int(rng() % 3); ++k) w[size_t(4 * g) + rng() % 4] = uint16_t(0x3c00 + rng() % 0x300);
  Bytes dense;
  for (uint16_t v : w) append_le(dense, v, 2);
  const Bytes c = ws::encode_sparse24_chunk(dense.data(), rows, cols, DType::BF16);
  const ws::Sparse24Stored st = ws::decode_sparse24_stored(c.data(), c.size(), DType::BF16, cols);
  const ws::Sparse24 p = ws::pack_sparse24(w, rows, cols, ws::MacMode::Bf16);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < cols / 4; ++g) {
      EXPECT_EQ(st.meta[size_t(r) * st.groups + size_t(g)], p.meta_at(r, g));
      for (int k = 0; k < 2; ++k) {
        const size_t at = 2 * (size_t(r) * st.groups + size_t(g)) + size_t(k);
        EXPECT_EQ(uint16_t(st.values[2 * at] | st.values[2 * at + 1] << 8), p.value(r, g, k));
      }
    }
}

TEST(Sparse24Chunk, EncoderRejectsDenseGroups) {
  const Bytes three = {1, 0, 1, 0, 1, 0, 0, 0};  // bf16 1e-45ish x3 in a group of 4
  EXPECT_NE(error_of([&] { ws::encode_sparse24_chunk(three.data(), 1, 4, DType::BF16); }).find("row 0 group 0"),
            std::string::npos);
  EXPECT_THROW(ws::encode_sparse24_chunk(three.data(), 1, 4, DType::Raw), std::invalid_argument);
  EXPECT_THROW(ws::encode_sparse24_chunk(three.data(), 1, 6, DType::BF16), std::invalid_argument);
}

TEST(Sparse24Chunk, ChunkValidation) {
  // One bf16 row of 12 columns: groups (x 0 0 0), (0 0 0 0), (0 x 0 y), padding.
  const Bytes dense = {0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0xc0};
  const uint32_t crc = crc_of(dense);
  auto kept_of = [](std::vector<uint16_t> v) {
    Bytes b;
    for (uint16_t x : v) append_le(b, x, 2);
    return b;
  };
  const Bytes kept = kept_of({0x3f80, 0, 0, 0, 0x4000, 0xc000, 0, 0});
  const Bytes meta = {0x4, 0x4, 0xd, 0x4};
  Bytes out(dense.size());
  auto decode = [&](const Bytes& c) { ws::decode_sparse24_chunk(c.data(), c.size(), DType::BF16, 12, out.data(), out.size()); };
  const Bytes good = assemble(1, 4, crc, kept, meta, DType::BF16);
  ASSERT_EQ(dense.size(), 24u);
  EXPECT_EQ(good, ws::encode_sparse24_chunk(dense.data(), 1, 12, DType::BF16)) << "the layout as written by hand";
  ASSERT_EQ(error_of([&] { decode(good); }), "");
  EXPECT_EQ(out, dense);

  auto expect = [&](const Bytes& c, const std::string& what) {
    const std::string e = error_of([&] { decode(c); });
    EXPECT_NE(e.find(what), std::string::npos) << "want '" << what << "', got '" << e << "'";
  };
  expect(assemble(1, 4, crc, kept, {0x4, 0x3, 0xd, 0x4}, DType::BF16), "bad metadata nibble 0x3 in row 0 group 1");
  expect(assemble(1, 4, crc, kept, {0x4, 0x4, 0xd, 0x8}, DType::BF16), "padding row 0 group 3 is not (0x4, +0, +0)");
  expect(assemble(1, 4, crc, kept_of({0x3f80, 0, 0, 0, 0x4000, 0xc000, 0, 1}), meta, DType::BF16),
         "padding row 0 group 3");
  expect(assemble(1, 4, crc, kept, {0x8, 0x4, 0xd, 0x4}, DType::BF16), "non-canonical metadata nibble 0x8 in row 0 group 0");
  expect(assemble(1, 4, crc, kept, {0x4, 0xc, 0xd, 0x4}, DType::BF16), "non-canonical");
  expect(assemble(1, 4, crc ^ 1, kept, meta, DType::BF16), "checksum mismatch");
  expect(assemble(1, 2, crc, Bytes(kept.begin(), kept.begin() + 8), {0x4, 0x4}, DType::BF16), "stores 2 groups per row, not 4");
  expect(assemble(1, 3, crc, kept, meta, DType::BF16), "odd stored group count 3");
  expect(assemble(2, 4, crc, kept, meta, DType::BF16), "value sub-chunk holds 8 values, not 16");
  expect(assemble(1, 4, crc, kept, {0x4, 0x4, 0xd}, DType::BF16), "meta sub-chunk holds 3 nibbles, not 4");
  expect(assemble(1, 4, crc, kept, meta, DType::BF16, 4), "meta sub-chunk has 4 lanes, not 2");
  expect(assemble(1, 4, crc, kept, {0x4, 0x4, 0xd, 0x14}, DType::BF16), "symbol range beyond 0xf");
  expect(Bytes(good.begin(), good.begin() + 19), "truncated in its header");
  expect(Bytes(good.begin(), good.end() - 1), "truncated in its sub-chunks");
  Bytes longer = good;
  longer.push_back(0);
  expect(longer, "trailing bytes after 2:4 chunk");
  Bytes b = good;
  b[20 + 8] = 3;  // value sub-chunk's lane count
  expect(b, "value sub-chunk: bad lane count 3");
}

// ---- 2:4 tensors in the container

struct Tensor {
  std::string name, dtype;
  std::vector<uint64_t> shape;
  Bytes data;
};

Bytes safetensors(const std::vector<Tensor>& ts) {
  std::vector<ws::SafetensorsEntry> entries;
  for (const auto& t : ts) entries.push_back({t.name, t.dtype, t.shape});
  Bytes file = ws::make_safetensors_header({}, entries);
  for (const auto& t : ts) file.insert(file.end(), t.data.begin(), t.data.end());
  return file;
}

// Random 2:4 tensors of every dtype and shape class, plus tensors that must stay dense.
std::vector<Tensor> mixed_tensors(uint32_t s) {
  std::mt19937 rng(s);
  std::vector<Tensor> ts;
  ts.push_back({"stacked_bf16", "BF16", {3, 10, 12}, random_sparse24(rng, 30, 12, DType::BF16)});  // odd groups
  ts.push_back({"w_f16", "F16", {7, 16}, random_sparse24(rng, 7, 16, DType::F16)});
  ts.push_back({"w_f32", "F32", {2, 2, 5, 8}, random_sparse24(rng, 20, 8, DType::F32)});
  ts.push_back({"one_row", "BF16", {1, 4}, random_sparse24(rng, 1, 4, DType::BF16)});
  ts.push_back({"empty", "BF16", {0, 8}, {}});
  Bytes dense = random_sparse24(rng, 4, 8, DType::BF16);
  dense[2 * 5 + 1] = 0x80, dense[2 * 6 + 1] = 0x80, dense[2 * 7 + 1] = 0x80;  // -0 x3 in group 1 of row 0
  ts.push_back({"dense_by_neg_zero", "BF16", {4, 8}, dense});
  Bytes full(2 * 24);
  for (auto& b : full) b = uint8_t(rng() | 1);
  ts.push_back({"dense", "BF16", {2, 12}, full});
  ts.push_back({"vector", "BF16", {8}, random_sparse24(rng, 1, 8, DType::BF16)});  // rank 1: dense
  ts.push_back({"cols6", "BF16", {2, 6}, Bytes(24, 0)});                            // K % 4 != 0: dense
  ts.push_back({"perm", "I32", {2, 4}, Bytes(32, 1)});                              // literal
  return ts;
}


TEST(Sparse24Container, RoundTripKindsAndChunks) {
  const uint32_t s = seed();
  const std::vector<Tensor> ts = mixed_tensors(s);
  const Bytes src = safetensors(ts);
  for (uint64_t chunk : {uint64_t(1), uint64_t(24), uint64_t(65536)}) {
    ws::CompressOptions opt;
    opt.chunk_values = chunk;
    ws::MemorySource in(src.data(), src.size());
    ws::VectorSink out;
    const ws::CompressResult res = ws::compress(in, out, opt);
    const Bytes& wsz = out.bytes;
    EXPECT_EQ(res.sparse24_tensors, 5u);
    EXPECT_EQ(decompress_bytes(wsz), src) << "chunk " << chunk;
    const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
    for (const char* n : {"stacked_bf16", "w_f16", "w_f32", "one_row", "empty"})
      EXPECT_TRUE(r.tensor(n).is_sparse24()) << n;
    for (const char* n : {"dense_by_neg_zero", "dense", "vector", "cols6"}) EXPECT_FALSE(r.tensor(n).is_sparse24()) << n;

    // Chunks: whole rows of one matrix, at most `chunk` kept values (at least one row).
    const auto refs = ws::sparse24_chunks(r, "stacked_bf16");
    const uint64_t per = std::max<uint64_t>(1, chunk / 8);  // 12 columns: 4 stored groups, 8 kept values a row
    uint64_t rows = 0;
    for (size_t j = 0; j < refs.size(); ++j) {
      EXPECT_EQ(refs[j].chunk, j);
      EXPECT_EQ(refs[j].matrix, rows / 10);
      EXPECT_EQ(refs[j].first_row, rows % 10);
      EXPECT_LE(refs[j].first_row + refs[j].rows, 10u);
      EXPECT_LE(refs[j].rows, per);
      EXPECT_EQ(ws::parse_sparse24_chunk(refs[j].bytes.data(), refs[j].bytes.size()).rows, refs[j].rows);
      rows += refs[j].rows;
    }
    EXPECT_EQ(rows, 30u);
    EXPECT_EQ(refs.size(), chunk == 1 ? 30u : chunk == 24 ? 12u : 3u);
    EXPECT_TRUE(ws::sparse24_chunks(r, "empty").empty());
    EXPECT_THROW(ws::sparse24_chunks(r, "dense"), ws::FormatError);

    // The golden model's matrix: unpacked, it is the source matrix (identity perm, no padding).
    for (uint64_t m = 0; m < 3; ++m) {
      const ws::Sparse24 p = ws::decode_sparse24_matrix(r, "stacked_bf16", m);
      EXPECT_EQ(p.rows, 10);
      EXPECT_EQ(p.cols, 12);
      const std::vector<uint16_t> w = ws::unpack_sparse24(p);
      for (size_t i = 0; i < w.size(); ++i) {
        const size_t at = 2 * (m * 120 + i);
        ASSERT_EQ(w[i], uint16_t(ts[0].data[at] | ts[0].data[at + 1] << 8)) << m << " " << i;
      }
    }
    EXPECT_THROW(ws::decode_sparse24_matrix(r, "stacked_bf16", 3), ws::FormatError);
    EXPECT_THROW(ws::decode_sparse24_matrix(r, "w_f16", 0), ws::FormatError);
  }

  ws::CompressOptions dense;
  dense.sparse24 = false;
  ws::MemorySource in(src.data(), src.size());
  ws::VectorSink out;
  EXPECT_EQ(ws::compress(in, out, dense).sparse24_tensors, 0u);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(out.bytes.data(), out.bytes.size());
  for (const auto& seg : r.index().segments) EXPECT_FALSE(seg.is_sparse24());
  EXPECT_EQ(decompress_bytes(out.bytes), src);
}

TEST(Sparse24Container, InspectSeparatesValuesAndMetadata) {
  const Bytes src = safetensors(mixed_tensors(seed()));
  const Bytes wsz = compress_bytes(src, {});
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const ws::InspectReport rep = ws::inspect(r, 1);
  for (const auto& t : rep.tensors) {
    const ws::Segment& s = *t.segment;
    EXPECT_EQ(t.sparse24, s.is_sparse24()) << s.name;
    if (!t.sparse24 || s.value_count == 0) continue;
    uint64_t chunk_bytes = 0;
    for (const auto& c : s.chunks) chunk_bytes += c.size;
    EXPECT_EQ(t.value_bytes + t.meta_bytes + ws::kSparse24HeaderBytes * s.chunks.size(), chunk_bytes) << s.name;
    const uint64_t g = ws::sparse24_stored_groups(s.dims.back());
    EXPECT_EQ(t.stored_groups, s.value_count / s.dims.back() * g) << s.name;
    EXPECT_EQ(t.stored_values, 2 * t.stored_groups) << s.name;
    EXPECT_NEAR(t.bound_bits, t.value_bound_bits + t.meta_bound_bits, 1e-9);
    EXPECT_LE(t.value_bound_bits, 8.0 * double(t.value_bytes)) << s.name;
    EXPECT_LE(t.meta_bound_bits, 8.0 * double(t.meta_bytes)) << s.name;
  }
}

TEST(Sparse24Container, IndexValidation) {
  const Bytes src = safetensors(mixed_tensors(seed()));
  ws::CompressOptions opt;
  opt.chunk_values = 24;  // 3 rows of stacked_bf16 a chunk
  const Bytes wsz = compress_bytes(src, opt);
  auto tensor_of = [](ws::Index& ix, const std::string& name) -> ws::Segment& {
    for (auto& s : ix.segments)
      if (s.name == name) return s;
    throw std::runtime_error("no " + name);
  };
  auto expect = [&](const Bytes& bad, const std::string& what) {
    const std::string e = error_of([&] { decompress_bytes(bad); });
    EXPECT_NE(e.find(what), std::string::npos) << "want '" << what << "', got '" << e << "'";
  };
  expect(with_index(wsz,
                    [&](ws::Index& ix) {
                      auto& t = tensor_of(ix, "stacked_bf16");
                      t.chunks[0].value_count += 6;
                      t.chunks[1].value_count -= 6;
                    }),
         "2:4 chunk does not hold whole rows in tensor 'stacked_bf16' chunk 0");
  expect(with_index(wsz,
                    [&](ws::Index& ix) {  // chunks 3 (row 9) and 4 (rows 10..12) merged: straddles
                      auto& t = tensor_of(ix, "stacked_bf16");
                      t.chunks[3].value_count += t.chunks[4].value_count;
                      t.chunks.erase(t.chunks.begin() + 4);
                    }),
         "2:4 chunk straddles two matrices in tensor 'stacked_bf16' chunk 3");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "vector").kind = ws::Segment::Kind::Sparse24; }),
         "2:4 tensor 'vector' needs rank >= 2");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "dense").kind = ws::Segment::Kind::Sparse24; }),
         "tensor 'dense' chunk 0");
  expect(with_index(wsz, [&](ws::Index& ix) { tensor_of(ix, "stacked_bf16").kind = ws::Segment::Kind::Tensor; }),
         "tensor 'stacked_bf16' chunk 0");
}

// Every truncation and every bit flip of a small container with 2:4 tensors is a ws::FormatError or
// changes nothing decoded (as Container.EveryTruncationAndBitFlipDetected for dense tensors).
TEST(Sparse24Container, EveryTruncationAndBitFlipDetected) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  std::vector<Tensor> ts = {{"a", "BF16", {2, 3, 12}, random_sparse24(rng, 6, 12, DType::BF16)},
                            {"b", "F32", {3, 8}, random_sparse24(rng, 3, 8, DType::F32)},
                            {"c", "F16", {1, 4}, random_sparse24(rng, 1, 4, DType::F16)}};
  const Bytes src = safetensors(ts);
  ws::CompressOptions opt;
  opt.chunk_values = 16;
  const Bytes wsz = compress_bytes(src, opt);
  {
    const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
    for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(r.tensor(n).is_sparse24()) << n;
  }
  size_t cuts_undetected = 0;
  for (size_t cut = 0; cut < wsz.size(); ++cut)
    if (error_of([&] { decompress_bytes(Bytes(wsz.begin(), wsz.begin() + long(cut))); }).empty()) ++cuts_undetected;

  FlipCounts c;
  for (size_t i = 0; i < wsz.size(); ++i)
    for (int bit = 0; bit < 8; ++bit)  // smoke: ~2 random bits a byte
      if (long_run() || bit == int(rng() % 8) || bit == int(rng() % 8)) check_bit_flip(wsz, src, i, bit, c);
  std::printf("%zu-byte 2:4 container: %zu truncations, %zu undetected; %zu bit flips: %zu errors, %zu harmless, "
              "%zu wrong output\n",
              wsz.size(), wsz.size(), cuts_undetected, c.flips, c.detected, c.harmless, c.wrong);
  EXPECT_EQ(cuts_undetected, 0u);
  EXPECT_EQ(c.wrong, 0u);
  EXPECT_EQ(c.detected + c.harmless, c.flips);
  EXPECT_LT(c.harmless, c.flips / 50) << "nearly every flip must be an error";
}

}  // namespace
