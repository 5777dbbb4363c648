// Block-quantized chunks (codec/quant_chunk.hpp) and index kind 3: real SmolLM2 Q4_1 and Q8_0 blocks
// round trip through every lane count and table log, malformed chunks are named errors, and a GGUF
// file made of real blocks survives the container byte for byte, with every truncation and bit flip
// detected.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec/container_writer.hpp"
#include "codec/quant_chunk.hpp"
#include "container_io.hpp"
#include "core/bytes.hpp"
#include "files/gguf.hpp"
#include "gguf_builder.hpp"
#include "test_env.hpp"

namespace {

using namespace wstest;
using Bytes = std::vector<uint8_t>;

// The first bytes_of(tensor info) bytes of a tensor of the real SmolLM2 file (opened and parsed once).
Bytes real_prefix(const std::string& tensor, const std::function<size_t(const ws::GgufTensor&)>& bytes_of) {
  const std::string path = WS_SMOLLM2_GGUF;
  if (path.empty()) throw std::runtime_error("SmolLM2 GGUF not found (make deps, then reconfigure)");
  const ws::FileSource src(path);
  const ws::GgufFile f = ws::parse_gguf(src);
  const ws::GgufTensor& t = *f.find_tensor(tensor);
  const size_t bytes = bytes_of(t);
  EXPECT_LE(bytes, t.size);
  return src.read(t.offset, bytes);
}
// Its first `bytes` bytes, and its first `blocks` blocks.
Bytes real_bytes(const std::string& tensor, size_t bytes) {
  return real_prefix(tensor, [&](const ws::GgufTensor&) { return bytes; });
}
Bytes real_blocks(const std::string& tensor, size_t blocks) {
  return real_prefix(tensor, [&](const ws::GgufTensor& t) { return blocks * ws::quant_layout(t.type)->block_bytes(); });
}

// Q4_0 blocks made of real Q4_1 ones (their d and codes, the min dropped): the file has no Q4_0 tensor.
Bytes q4_0_of(const Bytes& q4_1) {
  Bytes out;
  for (size_t b = 0; b < q4_1.size(); b += 20) {
    out.insert(out.end(), q4_1.begin() + long(b), q4_1.begin() + long(b + 2));
    out.insert(out.end(), q4_1.begin() + long(b + 4), q4_1.begin() + long(b + 20));
  }
  return out;
}

Bytes decode(const Bytes& chunk, ws::GgmlType t, size_t bytes) {
  Bytes out(bytes);
  ws::decode_quant_chunk(chunk.data(), chunk.size(), t, out.data(), out.size());
  return out;
}

TEST(QuantChunk, RealBlocksRoundTrip) {
  const Bytes q41 = real_blocks("blk.0.attn_q.weight", 2048);
  const Bytes q80 = real_blocks("token_embd.weight", 2048);
  const Bytes q40 = q4_0_of(q41);
  const struct {
    ws::GgmlType type;
    const Bytes* blocks;
  } cases[] = {{ws::GgmlType::Q4_1, &q41}, {ws::GgmlType::Q8_0, &q80}, {ws::GgmlType::Q4_0, &q40}};
  for (const auto& c : cases)
    for (int lanes : {1, 2, 4, 8})
      for (int log : {5, 11, 12})
        for (size_t blocks : {size_t(1), size_t(3), size_t(2048)}) {
          const size_t bytes = blocks * ws::quant_layout(c.type)->block_bytes();
          const Bytes chunk = ws::encode_quant_chunk(c.blocks->data(), blocks * 32, c.type, {lanes, log});
          const ws::QuantChunkView v = ws::parse_quant_chunk(chunk.data(), chunk.size(), c.type);
          EXPECT_EQ(v.value_count, blocks * 32);
          EXPECT_EQ(v.streams, c.type == ws::GgmlType::Q4_1 ? 5 : 3);
          EXPECT_EQ(v.sub[1].value_count, blocks);
          EXPECT_EQ(decode(chunk, c.type, bytes), Bytes(c.blocks->begin(), c.blocks->begin() + long(bytes)))
              << ws::ggml_type_name(c.type) << " lanes " << lanes << " L " << log << " blocks " << blocks;
        }
  // The real Q4_1 blocks compress: codes near their 4 bits, scales well below 16 bits a block.
  const Bytes chunk = ws::encode_quant_chunk(q41.data(), q41.size() / 20 * 32, ws::GgmlType::Q4_1, {});
  EXPECT_LT(chunk.size(), q41.size());
}

TEST(QuantChunk, ConstantStreams) {
  // Every code and every scale byte the same: single-symbol streams, no stream bytes at all.
  Bytes blocks;
  for (int b = 0; b < 64; ++b) {
    GgufBuilder::put(blocks, 0x3c00, 2);
    GgufBuilder::put(blocks, 0xbc00, 2);
    blocks.insert(blocks.end(), 16, 0x77);
  }
  const Bytes chunk = ws::encode_quant_chunk(blocks.data(), 64 * 32, ws::GgmlType::Q4_1, {});
  EXPECT_EQ(decode(chunk, ws::GgmlType::Q4_1, blocks.size()), blocks);
  const ws::QuantChunkView v = ws::parse_quant_chunk(chunk.data(), chunk.size(), ws::GgmlType::Q4_1);
  for (int k = 0; k < v.streams; ++k) EXPECT_EQ(v.sub[size_t(k)].symbol_bytes, 0u) << ws::quant_stream_name(k);
}

TEST(QuantChunk, MalformedChunksAreNamedErrors) {
  const Bytes q41 = real_blocks("blk.0.attn_q.weight", 4);
  const Bytes good = ws::encode_quant_chunk(q41.data(), 128, ws::GgmlType::Q4_1, {});
  auto err = [](const Bytes& c, ws::GgmlType t = ws::GgmlType::Q4_1) {
    return error_of([&] { decode(c, t, 4 * 34); });
  };
  ASSERT_EQ(err(good), "");
  EXPECT_EQ(err(Bytes(good.begin(), good.begin() + 20)), "block-quantized chunk truncated in its header");
  EXPECT_EQ(err(Bytes(good.begin(), good.end() - 1)), "block-quantized chunk truncated in its sub-chunks");
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_EQ(err(longer), "trailing bytes after block-quantized chunk");
  Bytes b = good;
  ws::store_le(b.data(), 100, 4);
  EXPECT_EQ(err(b), "block-quantized chunk of 100 values is not whole blocks of 32");
  b = good;
  ws::store_le(b.data(), 96, 4);
  EXPECT_EQ(err(b), "codes sub-chunk holds 128 symbols, not 96");
  b = good;
  b[4] ^= 1;
  EXPECT_EQ(err(b), "checksum mismatch");
  // A Q4_1 chunk read as Q8_0 has the wrong sub-chunk sizes.
  EXPECT_NE(err(good, ws::GgmlType::Q8_0), "");
  EXPECT_THROW(ws::parse_quant_chunk(good.data(), good.size(), ws::GgmlType::F32), std::invalid_argument);

  // Codes above 15 cannot come from a 4-bit type: a hand-built chunk whose codes sub-chunk holds a 16.
  ws::QuantStreams s = ws::split_quant_blocks(q41.data(), 128, *ws::quant_layout(ws::GgmlType::Q4_1));
  s[0][5] = 16;
  Bytes bad;
  ws::append_le(bad, 128, 4);
  ws::append_le(bad, 0, 4);
  std::vector<Bytes> subs;
  for (int k = 0; k < 5; ++k) {
    subs.push_back(ws::encode_chunk(s[size_t(k)].data(), s[size_t(k)].size(), ws::DType::Raw, {}));
    ws::append_le(bad, subs.back().size(), 4);
  }
  for (const Bytes& sub : subs) bad.insert(bad.end(), sub.begin(), sub.end());
  EXPECT_EQ(err(bad), "codes sub-chunk has symbols above 15 (4-bit codes)");
  // A sub-chunk's own errors carry its name.
  Bytes flipped = good;
  flipped[good.size() - 1] ^= 0x80;  // in the last (m low) sub-chunk's symbol stream
  EXPECT_EQ(err(flipped).rfind("m low sub-chunk: ", 0), 0u) << err(flipped);
}

// A GGUF file of real blocks (Q4_1 and Q8_0 from SmolLM2, Q4_0 derived) with an F32 tensor, a Q5_0
// one (stored literally) and padding.
Bytes small_gguf() {
  GgufBuilder g;
  g.kv("general.architecture", kString, GgufBuilder::string("llama"));
  g.tensor("norm", {5}, kTF32, real_bytes("blk.0.attn_norm.weight", 20));
  g.tensor("q41", {64, 3}, kTQ4_1, real_blocks("blk.0.ffn_up.weight", 6));
  g.tensor("q80", {96}, kTQ8_0, real_blocks("token_embd.weight", 3));
  g.tensor("q40", {32, 2}, kTQ4_0, q4_0_of(real_blocks("blk.1.attn_k.weight", 2)));
  g.tensor("q50", {32}, kTQ5_0, Bytes(22, 5));
  g.pad_end = true;
  return g.bytes();
}

TEST(QuantChunk, GgufThroughTheContainer) {
  const Bytes src = small_gguf();
  ws::CompressOptions opt;
  opt.chunk_values = 64;  // q41: one row of 64 a chunk
  opt.threads = 1;
  const Bytes wsz = compress_bytes(src, opt);
  EXPECT_EQ(decompress_bytes(wsz), src);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  EXPECT_EQ(r.index().source_kind, ws::SourceKind::Gguf);
  const ws::Segment& q41 = r.tensor("q41");
  EXPECT_TRUE(q41.is_quant());
  EXPECT_EQ(q41.quant, ws::GgmlType::Q4_1);
  EXPECT_EQ(q41.format_name(), "q4_1");
  EXPECT_EQ(q41.dims, (std::vector<uint64_t>{3, 64}));
  EXPECT_EQ(q41.chunks.size(), 3u);
  EXPECT_EQ(q41.length, 6u * 20);
  EXPECT_EQ(r.tensor("q80").chunks.size(), 2u);  // 96 values, chunks of 64 rounded to whole blocks
  EXPECT_EQ(r.tensor("norm").format_name(), "f32");
  EXPECT_EQ(r.find_tensor("q50"), nullptr);  // literal bytes
  EXPECT_EQ(ws::serialize_index(r.index()), Bytes(wsz.begin() + long(r.index_offset()), wsz.end() - 24));

  // Index validation of kind 3.
  auto expect = [&](const Bytes& bad, const std::string& what) {
    const std::string e = error_of([&] { decompress_bytes(bad); });
    EXPECT_NE(e.find(what), std::string::npos) << "want '" << what << "', got '" << e << "'";
  };
  auto q41_of = [](ws::Index& ix) -> ws::Segment& {
    for (auto& s : ix.segments)
      if (s.name == "q41") return s;
    throw std::runtime_error("no q41");
  };
  expect(with_index(wsz, [&](ws::Index& ix) { q41_of(ix).quant = ws::GgmlType(6); }),
         "bad block-quantized type 6 in tensor 'q41'");
  EXPECT_EQ(decompress_bytes(with_index(wsz, [&](ws::Index& ix) { q41_of(ix).dims = {6, 32}; })), src);  // same blocks
  expect(with_index(wsz, [&](ws::Index& ix) { q41_of(ix).dims = {4, 48}; }),
         "block-quantized tensor 'q41' needs a last dim that is a multiple of 32");
  expect(with_index(wsz,
                    [&](ws::Index& ix) {
                      q41_of(ix).chunks[0].value_count += 16;
                      q41_of(ix).chunks[1].value_count -= 16;
                    }),
         "chunk is not whole blocks of 32 values in tensor 'q41' chunk 0");
  expect(with_index(wsz,
                    [&](ws::Index& ix) {
                      q41_of(ix).chunks[0].value_count += 32;
                      q41_of(ix).chunks[1].value_count -= 32;
                    }),
         "tensor 'q41' chunk 0: holds 64 values, the index says 96");
}

TEST(QuantChunk, EveryTruncationAndBitFlipDetected) {
  const Bytes src = small_gguf();
  ws::CompressOptions opt;
  opt.chunk_values = 64;
  opt.threads = 1;
  expect_damage_detected(compress_bytes(src, opt), src, seed(), "GGUF of real blocks");
}

TEST(QuantChunk, WriterMisuseIsALogicError) {
  ws::VectorSink out;
  ws::ContainerWriter w(out, ws::SourceKind::Gguf, 40);
  EXPECT_THROW(w.begin_quant_tensor("t", ws::GgmlType::F32, {32}), std::logic_error);
  EXPECT_THROW(w.begin_quant_tensor("t", ws::GgmlType::Q4_1, {33}), std::logic_error);
  w.begin_quant_tensor("t", ws::GgmlType::Q4_1, {2, 32});
  Bytes half_block(16, 0);
  ws::store_le(half_block.data(), 16, 4);  // a chunk of 16 values
  EXPECT_THROW(w.add_chunk(half_block, half_block.data(), 10), std::logic_error);
  const Bytes blocks(40, 0);
  EXPECT_THROW(ws::encode_quant_chunk(blocks.data(), 16, ws::GgmlType::Q4_1, {}), std::invalid_argument);
  // The container's version names the sub-chunks' layout: layout-1 sub-chunks do not go into version 3.
  ws::ChunkOptions v1;
  v1.layout = ws::tans::Layout::Shared;
  // (From version 2 a chunk comes with the source bytes it restores, for its checksum.)
  EXPECT_THROW(w.add_chunk(ws::encode_quant_chunk(blocks.data(), 64, ws::GgmlType::Q4_1, v1), blocks.data(),
                           blocks.size()),
               std::logic_error);
  EXPECT_NO_THROW(
      w.add_chunk(ws::encode_quant_chunk(blocks.data(), 64, ws::GgmlType::Q4_1, {}), blocks.data(), blocks.size()));
}

}  // namespace
