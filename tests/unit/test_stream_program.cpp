// The stream program (hw/stream_program.hpp) against the specifications it implements, with the bit
// positions and addresses written out here as the documents state them (not taken from ws::pkg):
// docs/format.md sections 1, 2.3 and 5 (words, decode-table entries, 2:4 chunks), docs/tans_decoder.md
// section 1 (table entry and descriptor layout), docs/numfmt.md (format table entry, mode register),
// docs/weight_pipeline.md sections 3 and 6 (address map, per-layer order). Data: stories260K's wq and
// w2 matrices pruned 2:4 by magnitude, rounded to bf16, compressed by the library as the tool does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/ws_pkg.hpp"
#include "files/safetensors.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_functional.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "numfmt/numfmt.hpp"
#include "prune/magnitude.hpp"

#include "container_io.hpp"
#include "test_env.hpp"

namespace {

using wstest::Bytes;

// Bits [lsb, lsb + n) of a little-endian word vector.
uint64_t bits_of(const std::vector<uint32_t>& w, int lsb, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t(w[size_t((lsb + i) / 32)] >> ((lsb + i) % 32) & 1) << i;
  return v;
}

// stories260K's values as bf16 little-endian bytes, from value `first` on.
Bytes stories_bf16(size_t first, size_t n) {
  const Bytes file = wstest::read_file(wstest::stories_path());
  Bytes out(2 * n);
  for (size_t i = 0; i < n; ++i) {
    float f;
    std::memcpy(&f, &file[28 + 4 * (first + i)], 4);
    ws::store_le(&out[2 * i], ws::fp32_to_bf16(f), 2);
  }
  return out;
}

TEST(StreamProgram, StreamWordsAreLittleEndianWithLastOnTheFinal) {
  const Bytes b = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<ws::StreamWord> w = ws::stream_words(b.data(), b.size());
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], (ws::StreamWord{0x04030201u, false}));
  EXPECT_EQ(w[1], (ws::StreamWord{0x08070605u, true}));
  EXPECT_TRUE(ws::stream_words(b.data(), 0).empty());
  EXPECT_THROW(ws::stream_words(b.data(), 5), ws::FormatError);
  // 64-bit words (the raw port at 8 lanes, ws::pkg::raw_word_bits(8)): an odd number of 32-bit words
  // ends in a word whose upper half is zero padding.
  EXPECT_EQ(ws::pkg::raw_word_bits(8), 64);
  EXPECT_EQ(ws::pkg::raw_word_bits(4), 32);
  const Bytes c = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<ws::StreamWord> w64 = ws::stream_words(c.data(), c.size(), 64);
  ASSERT_EQ(w64.size(), 2u);
  EXPECT_EQ(w64[0], (ws::StreamWord{0x0807060504030201u, false}));
  EXPECT_EQ(w64[1], (ws::StreamWord{0x0c0b0a09u, true}));
  const std::vector<ws::StreamWord> e64 = ws::stream_words(c.data(), 8, 64);
  ASSERT_EQ(e64.size(), 1u);
  EXPECT_EQ(e64[0], (ws::StreamWord{0x0807060504030201u, true}));
  EXPECT_TRUE(ws::stream_words(c.data(), 0, 64).empty());
  EXPECT_THROW(ws::stream_words(c.data(), 6, 64), ws::FormatError);
  EXPECT_THROW(ws::stream_words(c.data(), 8, 48), std::invalid_argument);
}

TEST(StreamProgram, ChunkToTansDecoder) {
  const Bytes values = stories_bf16(1000, 16384);
  ws::ChunkOptions opt;
  opt.lanes = 4;
  const Bytes chunk = ws::encode_chunk(values.data(), 16384, ws::DType::BF16, opt);
  const ws::ChunkView v = ws::parse_chunk(chunk.data(), chunk.size());
  const ws::TansChunkProgram p = ws::tans_chunk_program(v);

  // Table: entry j at address j, {next_base[11:0], nb_bits[3:0], symbol[7:0]}.
  const std::vector<ws::tans::DecodeEntry> table = ws::tans::build_decode_table(v.counts);
  ASSERT_EQ(p.table.size(), size_t(1) << v.counts.table_log);
  for (size_t j = 0; j < table.size(); ++j) {
    EXPECT_EQ(p.table[j].addr, j);
    EXPECT_EQ(p.table[j].data, uint32_t(table[j].symbol) | uint32_t(table[j].nb_bits) << 8 |
                                   uint32_t(table[j].next_base) << 12)
        << "entry " << j;
  }
  // Descriptor, and its bits: [3:0] table log, [4] bank, [5 +: CountBits] count.
  EXPECT_EQ(p.desc.table_log, uint32_t(v.counts.table_log));
  EXPECT_EQ(p.desc.count, 16384u);
  EXPECT_FALSE(p.desc.bank);
  ws::TansDecoderParams params;
  params.lanes = 4;
  params.count_bits = 32;
  const std::vector<uint32_t> d = ws::tans_chunk_program(v, 1).desc.pack(params);
  ASSERT_EQ(d.size(), size_t((5 + 32 + 31) / 32));
  EXPECT_EQ(bits_of(d, 0, 4), uint64_t(v.counts.table_log));
  EXPECT_EQ(bits_of(d, 4, 1), 1u);
  EXPECT_EQ(bits_of(d, 5, 32), 16384u);
  params.count_bits = 20;
  EXPECT_EQ(ws::tans_chunk_program(v, 1).desc.pack(params).size(), 1u);
  // Units: per state its initial state, then its stream as little-endian 16-bit units, last on the
  // final unit; the states' streams decode back to the values' exponents.
  ASSERT_EQ(v.layout, ws::tans::Layout::PerState);
  ASSERT_EQ(p.units.size(), 8u);
  std::vector<std::vector<uint8_t>> bytes(8);
  ws::tans::StreamView views[ws::tans::kMaxStates];
  uint16_t init[ws::tans::kMaxStates] = {};
  for (int s = 0; s < 8; ++s) {
    const auto& u = p.units[size_t(s)];
    ASSERT_EQ(u.size(), v.streams[size_t(s)].bytes / 2 + 1) << "state " << s;
    EXPECT_EQ(u[0].data, v.initial_states[size_t(s)]);
    for (size_t k = 0; k < u.size(); ++k) {
      EXPECT_EQ(u[k].last, k + 1 == u.size()) << "state " << s << " unit " << k;
      if (k == 0) continue;
      bytes[size_t(s)].push_back(uint8_t(u[k].data));
      bytes[size_t(s)].push_back(uint8_t(u[k].data >> 8));
    }
    init[s] = u[0].data;
    views[s] = {bytes[size_t(s)].data(), bytes[size_t(s)].size()};
  }
  std::vector<uint8_t> sym(16384);
  ws::tans::decode(ws::tans::Layout::PerState, views, table, v.counts.table_log, 4, init, sym.data(), sym.size());
  for (size_t i = 0; i < sym.size(); ++i)
    ASSERT_EQ(sym[i], uint8_t((values[2 * i + 1] << 1 | values[2 * i] >> 7) & 0xff)) << "symbol " << i;

  // One symbol: every state's stream is empty; its initial-state unit is its last.
  const Bytes same(2 * 100, 0x3f);
  const Bytes one = ws::encode_chunk(same.data(), 100, ws::DType::BF16, opt);
  const ws::TansChunkProgram q = ws::tans_chunk_program(ws::parse_chunk(one.data(), one.size()));
  for (const auto& u : q.units) {
    ASSERT_EQ(u.size(), 1u);
    EXPECT_TRUE(u[0].last);
  }
  // No values: a descriptor of count 0 and nothing else.
  const Bytes none = ws::encode_chunk(same.data(), 0, ws::DType::BF16, opt);
  const ws::TansChunkProgram z = ws::tans_chunk_program(ws::parse_chunk(none.data(), none.size()));
  EXPECT_TRUE(z.table.empty());
  for (const auto& u : z.units) EXPECT_TRUE(u.empty());
  EXPECT_EQ(z.desc.count, 0u);
  // A layout-1 chunk is not the decoder's.
  ws::ChunkOptions v1 = opt;
  v1.layout = ws::tans::Layout::Shared;
  const Bytes old = ws::encode_chunk(values.data(), 1000, ws::DType::BF16, v1);
  EXPECT_THROW(ws::tans_chunk_program(ws::parse_chunk(old.data(), old.size())), ws::FormatError);
}

TEST(StreamProgram, FormatToUnpacker) {
  // Entry word {scale[9:0], implicit_one, sign[1:0], raw_bits[4:0], class[2:0]}; the mode at 256.
  const std::vector<ws::CfgWrite> w = ws::unpacker_config(ws::numfmt::Format::builtin("bf16"));
  ASSERT_EQ(w.size(), 257u);
  for (uint32_t s = 0; s < 256; ++s) EXPECT_EQ(w[s].addr, s);
  // bf16 exponent 127: finite (2), sign raw (0), 8 raw bits, implicit one, scale 0.
  EXPECT_EQ(w[127].data, 2u | 8u << 3 | 0u << 8 | 1u << 10 | 0u << 11);
  // exponent 126: scale -1, two's complement in 10 bits.
  EXPECT_EQ(w[126].data, 2u | 8u << 3 | 1u << 10 | 0x3ffu << 11);
  // exponent 255: infinity or NaN (6), 8 raw bits.
  EXPECT_EQ(w[255].data & 7, 6u);
  EXPECT_EQ(w[256], (ws::CfgWrite{256, 0}));  // fp32 output
  EXPECT_EQ(ws::unpacker_config(ws::numfmt::Format::builtin("int8")).back(), (ws::CfgWrite{256, 1}));
}

// stories260K's `name` matrices ([layers][rows][cols]) pruned 2:4 by magnitude, as bf16 bits.
struct RealTensor {
  std::string name;
  int layers, rows, cols;
  std::vector<uint16_t> bf16;  // layers x rows x cols
};

RealTensor pruned(ws::LinearKind kind) {
  static const ws::LlamaWeights w = ws::load_llama(wstest::stories_path());
  RealTensor t{ws::linear_name(kind), w.config.n_layers, ws::linear_out(w.config, kind), ws::linear_in(w.config, kind), {}};
  const size_t n = size_t(t.rows) * size_t(t.cols);
  const auto& all = w.linear[size_t(kind)];
  for (int l = 0; l < t.layers; ++l) {
    const std::vector<float> m(all.begin() + long(size_t(l) * n), all.begin() + long(size_t(l + 1) * n));
    const std::vector<uint16_t> b = ws::fp32_to_bf16(ws::prune24_magnitude(m, t.rows, t.cols, ws::identity_perm(t.cols)));
    t.bf16.insert(t.bf16.end(), b.begin(), b.end());
  }
  return t;
}

// The tensors as a safetensors file, compressed (2:4 chunks of at most chunk_values kept values) at
// the codec's table log for the value chunks, unless table_log says otherwise.
Bytes container(const std::vector<RealTensor>& ts, uint64_t chunk_values, int table_log = ws::tans::kDefaultTableLog) {
  std::vector<ws::SafetensorsEntry> entries;
  for (const auto& t : ts) entries.push_back({t.name, "BF16", {uint64_t(t.layers), uint64_t(t.rows), uint64_t(t.cols)}});
  Bytes file = ws::make_safetensors_header({}, entries);
  for (const auto& t : ts)
    for (uint16_t v : t.bf16) ws::append_le(file, v, 2);
  ws::CompressOptions opt;
  opt.chunk_values = chunk_values;
  opt.chunk.table_log = table_log;
  return wstest::compress_bytes(file, opt);
}

TEST(StreamProgram, Sparse24MatricesFromTheContainer) {
  const RealTensor w2 = pruned(ws::LinearKind::w2);  // 64 x 172: 43 groups a row, stored as 44
  const Bytes wsz = container({w2}, 2000);          // 22 rows a chunk
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const std::vector<ws::Sparse24Matrix> ms = ws::sparse24_matrices(r, "w2");
  ASSERT_EQ(ms.size(), size_t(w2.layers));
  for (const ws::Sparse24Matrix& m : ms) {
    EXPECT_EQ(m.rows, 64);
    EXPECT_EQ(m.cols, 172);
    ASSERT_EQ(m.chunks.size(), 3u) << "rows 22 + 22 + 20";
    ASSERT_EQ(m.views.size(), m.chunks.size());
    uint32_t rows = 0;
    for (const auto& v : m.views) rows += v.rows;
    EXPECT_EQ(rows, 64u);
    // The golden layer by another route: the source matrix packed and padded to 8 columns.
    const size_t n = 64 * 172;
    const std::vector<uint16_t> dense(w2.bf16.begin() + long(m.matrix * n), w2.bf16.begin() + long((m.matrix + 1) * n));
    const ws::Sparse24 want = ws::pad_sparse24_cols(ws::pack_sparse24(dense, 64, 172, ws::MacMode::Bf16), 8);
    EXPECT_EQ(m.packed.cols, 176);
    EXPECT_EQ(m.packed.values, want.values) << "matrix " << m.matrix;
    EXPECT_EQ(m.packed.meta, want.meta) << "matrix " << m.matrix;
    EXPECT_EQ(m.packed.perm, want.perm);
  }

  // A byte of matrix 2's second chunk's value symbol stream flipped: that chunk is named.
  const ws::Segment& seg = r.tensor("w2");
  const ws::Sparse24ChunkView v = ws::parse_sparse24_chunk(ms[2].chunks[1].bytes.data(), ms[2].chunks[1].bytes.size());
  const size_t chunk = ms[2].chunks[1].chunk;
  Bytes bad = wsz;
  bad[seg.chunks[chunk].offset + uint64_t(v.values.symbol_stream - ms[2].chunks[1].bytes.data()) + 3] ^= 0x10;
  const ws::ContainerReader rb = ws::ContainerReader::from_memory(bad.data(), bad.size());
  try {
    ws::sparse24_matrices(rb, "w2");
    ADD_FAILURE() << "a damaged chunk went unnoticed";
  } catch (const ws::Sparse24ChunkError& e) {
    EXPECT_EQ(e.matrix, 2u);
    EXPECT_EQ(e.chunk, chunk);
    EXPECT_EQ(std::string(e.what()).rfind("matrix 2 chunk " + std::to_string(chunk) + ": ", 0), 0u) << e.what();
  }
  EXPECT_THROW(ws::sparse24_matrices(r, "absent"), ws::FormatError);
}

TEST(StreamProgram, Sparse24LayerToWeightPipeline) {
  const RealTensor w2 = pruned(ws::LinearKind::w2), wq = pruned(ws::LinearKind::wq);
  const Bytes wsz = container({w2, wq}, 2000);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const std::vector<ws::Sparse24Matrix> w2m = ws::sparse24_matrices(r, "w2"), wqm = ws::sparse24_matrices(r, "wq");
  std::mt19937_64 rng(wstest::seed());
  std::vector<int32_t> perm(172);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<uint16_t> x(172);
  for (auto& v : x) v = uint16_t(rng());
  const ws::PipelineLayer L = ws::sparse24_pipeline_layer(w2m[1].views, perm, x);
  EXPECT_EQ(L.rows, 64);
  EXPECT_EQ(L.k8(), 176);
  EXPECT_EQ(L.beats(), 64u * 176 / 8);
  const ws::PipelineLayer L2 = ws::sparse24_pipeline_layer(wqm[0].views, {}, std::vector<uint16_t>(64, 0x3f80));
  const ws::WeightPipelineParams params;  // MaxK 256
  const ws::PipelineProgram p = ws::weight_pipeline_program({L, L2}, params, true);

  // The format: the unpacker's region 0x4000, entries then the mode (0x4100).
  size_t at = 0;
  const std::vector<ws::CfgWrite> fmt = ws::unpacker_config(ws::numfmt::Format::builtin("bf16"));
  for (; at < 257; ++at) EXPECT_EQ(p.cfg[at], (ws::CfgWrite{0x4000 + fmt[at].addr, fmt[at].data})) << at;
  ASSERT_EQ(p.layers.size(), 2u);
  size_t vi = 0, mi = 0, rw = 0, ai = 0;
  std::vector<size_t> vu(8, 0), mu(4, 0);  // next unit per state port
  ASSERT_EQ(p.vunits.size(), 8u);
  ASSERT_EQ(p.munits.size(), 4u);
  int vbank = 0, mbank = 0;  // each decoder's chunks alternate between the table banks
  for (size_t li = 0; li < 2; ++li) {
    const ws::PipelineLayer& l = li == 0 ? L : L2;
    const int k8 = l.k8();
    EXPECT_EQ(p.layers[li].cfg_start, at);
    EXPECT_EQ(p.layers[li].beats, l.beats());
    ASSERT_EQ(l.values.size(), l.meta.size());
    ASSERT_GT(l.values.size(), 1u) << "the test wants layers of several chunk pairs";
    // Chunk pair c: the value table (bank 0 at 0x0000 + j, bank 1 at 0xa000 + j), then the metadata
    // table (0x2000 + j, bank 1 0xc000 + j), each chunk's descriptor {count, bank, table log} offered
    // once its table is in; every state's units (initial state, then its stream) on its own port.
    auto chunk_pair = [&](size_t c) {
      for (const auto& [v, bases, desc, bank, units, next] :
           {std::tuple{&l.values[c], std::pair{0x0000u, 0xa000u}, &p.vdesc[vi++], &vbank, &p.vunits, &vu},
            std::tuple{&l.meta[c], std::pair{0x2000u, 0xc000u}, &p.mdesc[mi++], &mbank, &p.munits, &mu}}) {
        const uint32_t base = *bank ? bases.second : bases.first;
        const std::vector<ws::tans::DecodeEntry> t = ws::tans::build_decode_table(v->counts);
        for (size_t j = 0; j < t.size(); ++j, ++at) EXPECT_EQ(p.cfg[at], (ws::CfgWrite{base + uint32_t(j), t[j].pack()}));
        EXPECT_EQ(desc->after_cfg, at);
        EXPECT_EQ(desc->desc.count, v->value_count);
        EXPECT_EQ(desc->desc.table_log, uint32_t(v->counts.table_log));
        EXPECT_EQ(desc->desc.bank, *bank == 1);
        *bank ^= 1;
        ASSERT_EQ(v->layout, ws::tans::Layout::PerState);
        for (int st = 0; st < v->states(); ++st) {
          const std::vector<ws::StreamUnit>& port = (*units)[size_t(st)];
          size_t& n = (*next)[size_t(st)];
          const ws::tans::StreamView& sv = v->streams[size_t(st)];
          EXPECT_EQ(port[n++], (ws::StreamUnit{v->initial_states[size_t(st)], sv.bytes == 0})) << "state " << st;
          for (size_t k = 0; k < sv.bytes; k += 2, ++n)
            EXPECT_EQ(port[n], (ws::StreamUnit{uint16_t(ws::load_le16(sv.data + k)), k + 2 == sv.bytes})) << "state " << st;
        }
      }
      // The value chunk's raw words, last on its final one.
      const ws::ChunkView& v = l.values[c];
      for (uint32_t i = 0; i < v.raw_bytes / 4; ++i, ++rw)
        EXPECT_EQ(p.raw[rw], (ws::StreamWord{ws::load_le32(v.raw_stream + 4 * i), i + 1 == v.raw_bytes / 4}));
    };
    // After the first layer, the pair that starts the layer first (its tables load while the previous
    // layer streams); MAC CTRL at 0x6000: {row_beats[15:0], 15'b0, mode 1 = bf16}; perm[j] at 0x6000 +
    // MaxK + j, padded columns mapping to themselves; LAYER_DENSE at 0x8001 (0: 2:4); LAYER_BEATS at
    // 0x8000; then the other pairs.
    if (li > 0) chunk_pair(0);
    EXPECT_EQ(p.layers[li].mac_start, at);
    EXPECT_EQ(p.cfg[at++], (ws::CfgWrite{0x6000, uint32_t(k8 / 8) << 16 | 1u}));
    for (int j = 0; j < k8; ++j, ++at) {
      const uint32_t pj = j < int(l.perm.size()) ? uint32_t(l.perm[size_t(j)]) : uint32_t(j);
      EXPECT_EQ(p.cfg[at], (ws::CfgWrite{0x6000 + 256 + uint32_t(j), pj})) << "perm " << j;
    }
    EXPECT_EQ(p.cfg[at++], (ws::CfgWrite{0x8001, 0u}));
    EXPECT_EQ(p.cfg[at++], (ws::CfgWrite{0x8000, uint32_t(l.beats())}));
    for (size_t c = li > 0 ? 1 : 0; c < l.values.size(); ++c) chunk_pair(c);
    // Activations: x, padded with +0 to K8, last on the final one.
    for (int j = 0; j < k8; ++j, ++ai) {
      EXPECT_EQ(p.act[ai].data, j < int(l.x.size()) ? l.x[size_t(j)] : 0) << j;
      EXPECT_EQ(p.act[ai].last, j == k8 - 1);
    }
  }
  EXPECT_EQ(at, p.cfg.size());
  EXPECT_EQ(vi, p.vdesc.size());
  EXPECT_EQ(mi, p.mdesc.size());
  for (size_t st = 0; st < 8; ++st) EXPECT_EQ(vu[st], p.vunits[st].size()) << "value state " << st;
  for (size_t st = 0; st < 4; ++st) EXPECT_EQ(mu[st], p.munits[st].size()) << "metadata state " << st;
  EXPECT_EQ(rw, p.raw.size());
  EXPECT_EQ(ai, p.act.size());
  // One bank: every table at bank 0's addresses, every descriptor on bank 0.
  const ws::PipelineProgram one = ws::weight_pipeline_program({L, L2}, params, true, true);
  for (const ws::CfgWrite& w : one.cfg) EXPECT_TRUE(w.addr >> 13 != 5 && w.addr >> 13 != 6) << std::hex << w.addr;
  for (const auto* d : {&one.vdesc, &one.mdesc})
    for (const ws::PipelineDesc& pd : *d) EXPECT_FALSE(pd.desc.bank);
  EXPECT_EQ(ws::weight_pipeline_program({L}, params, false).cfg.front().addr, 0x6000u) << "no format the second time";

  // What the contract refuses.
  ws::PipelineLayer wide = L;
  wide.k = 257;
  EXPECT_THROW(ws::weight_pipeline_program({wide}, params, false), std::invalid_argument);
  ws::PipelineLayer two_lanes = L;
  two_lanes.values[0].lanes = 2;
  EXPECT_THROW(ws::weight_pipeline_program({two_lanes}, params, false), std::invalid_argument);
}

TEST(StreamProgram, WideLanesMakeBeatsOfFourGroups) {
  // docs/weight_pipeline.md, "Wide configuration": ValueLanes 8, MetaLanes 4. A beat is 4 groups =
  // 16 packed columns, so MAC CTRL row_beats = K16 / 16 and LAYER_BEATS = rows x K16 / 16; the value
  // decoder has 16 state ports, the metadata decoder 8, each fed its own state's units. stories260K's
  // wq[0] (64 x 64) pruned 2:4, its chunks coded at the codec's 8 and 4 lane options.
  const RealTensor wq = pruned(ws::LinearKind::wq);
  const std::vector<uint16_t> w0(wq.bf16.begin(), wq.bf16.begin() + 64 * 64);
  const ws::Sparse24 S = ws::pack_sparse24(w0, 64, 64, ws::MacMode::Bf16);
  Bytes vb(2 * S.values.size());
  for (size_t i = 0; i < S.values.size(); ++i) ws::store_le(&vb[2 * i], S.values[i], 2);
  ws::ChunkOptions vopt, mopt;
  vopt.lanes = 8;
  mopt.lanes = 4;
  mopt.table_log = 6;
  const Bytes vchunk = ws::encode_chunk(vb.data(), S.values.size(), ws::DType::BF16, vopt);
  const Bytes mchunk = ws::encode_chunk(S.meta.data(), S.meta.size(), ws::DType::Raw, mopt);
  const ws::ChunkView vv = ws::parse_chunk(vchunk.data(), vchunk.size()), mv = ws::parse_chunk(mchunk.data(), mchunk.size());
  ASSERT_EQ(vv.lanes, 8);
  ASSERT_EQ(mv.lanes, 4);
  std::mt19937_64 rng(wstest::seed());
  std::vector<uint16_t> x(64);
  for (auto& v : x) v = uint16_t(rng());
  const ws::PipelineLayer L = ws::sparse24_pipeline_layer(S, {vv}, {mv}, x);
  ws::WeightPipelineParams params;  // MaxK 256
  params.value_lanes = 8;
  params.meta_lanes = 4;
  EXPECT_EQ(params.cols_per_beat(), 16);
  EXPECT_EQ(L.beats(params.cols_per_beat()), 64u * 64 / 16);
  const ws::PipelineProgram p = ws::weight_pipeline_program({L}, params, false);
  // The first layer: MAC CTRL {row_beats 4, bf16}, 64 perm entries, LAYER_DENSE 0, LAYER_BEATS 256,
  // then the value table (2^11) and the metadata table (2^6).
  ASSERT_EQ(p.cfg.size(), 1 + 64 + 2 + 2048 + 64u);
  EXPECT_EQ(p.cfg[0], (ws::CfgWrite{0x6000, 4u << 16 | 1u}));
  EXPECT_EQ(p.cfg[65], (ws::CfgWrite{0x8001, 0u}));
  EXPECT_EQ(p.cfg[66], (ws::CfgWrite{0x8000, 256u}));
  ASSERT_EQ(p.layers.size(), 1u);
  EXPECT_EQ(p.layers[0].beats, 256u);
  ASSERT_EQ(p.vunits.size(), 16u);
  ASSERT_EQ(p.munits.size(), 8u);
  for (int st = 0; st < 16; ++st) EXPECT_EQ(p.vunits[size_t(st)], ws::tans_state_units(vv, st)) << "value state " << st;
  for (int st = 0; st < 8; ++st) EXPECT_EQ(p.munits[size_t(st)], ws::tans_state_units(mv, st)) << "metadata state " << st;
  ASSERT_EQ(p.vdesc.size(), 1u);
  EXPECT_EQ(p.vdesc[0].desc.count, 64u * 32);
  ASSERT_EQ(p.mdesc.size(), 1u);
  EXPECT_EQ(p.mdesc[0].desc.count, 64u * 16);
  // The raw stream in 64-bit words (ws::pkg::raw_word_bits(8)), little-endian, last on the final one.
  ASSERT_EQ(vv.raw_bytes % 4, 0u);
  const size_t n32 = vv.raw_bytes / 4;
  ASSERT_EQ(p.raw.size(), (n32 + 1) / 2);
  for (size_t i = 0; i < p.raw.size(); ++i) {
    const uint64_t hi = 2 * i + 1 < n32 ? uint64_t(ws::load_le32(vv.raw_stream + 8 * i + 4)) : 0;
    EXPECT_EQ(p.raw[i], (ws::StreamWord{ws::load_le32(vv.raw_stream + 8 * i) | hi << 32, i + 1 == p.raw.size()})) << i;
  }

  // What the wide contract refuses: rows that are not whole beats of 16 columns (K8 56), chunks at
  // the default lanes, and lane counts the top does not take.
  ws::PipelineLayer short_row = L;
  short_row.k = 56;
  EXPECT_THROW(ws::weight_pipeline_program({short_row}, params, false), std::invalid_argument);
  EXPECT_THROW(ws::weight_pipeline_program({L}, ws::WeightPipelineParams{}, false), std::invalid_argument);
  for (const auto& [vl, ml] : {std::pair{6, 3}, std::pair{8, 2}, std::pair{16, 8}, std::pair{4, 4}}) {
    ws::WeightPipelineParams bad;
    bad.value_lanes = vl;
    bad.meta_lanes = ml;
    EXPECT_THROW(bad.check(), std::invalid_argument) << vl << "/" << ml;
  }
  EXPECT_NO_THROW(params.check());

  // A dense layer at 4 groups a beat: 8 weights a beat, K a multiple of 8, x[2q], x[2q+1] in packed
  // columns 4q, 4q+1 (even q: nibble 0x4) or 4q+2, 4q+3 (odd q: nibble 0xE).
  ws::PipelineLayer D = ws::dense_pipeline_layer({vv}, 32, 64, x);  // 2048 values: 32 rows of 64
  const ws::PipelineProgram pd = ws::weight_pipeline_program({D}, params, false);
  EXPECT_EQ(pd.cfg[0], (ws::CfgWrite{0x6000, 8u << 16 | 1u}));  // 2K / 16 beats a row
  ASSERT_EQ(pd.act.size(), 128u);
  for (int j = 0; j < 128; ++j) {
    const int q = j / 4, c = j % 4;
    const bool used = (q % 2 == 0) ? c < 2 : c >= 2;
    EXPECT_EQ(pd.act[size_t(j)].data, used ? x[size_t(2 * q + c % 2)] : uint16_t(0)) << j;
  }
  D.k = 60;
  EXPECT_THROW(ws::weight_pipeline_program({D}, params, false), std::invalid_argument);
}

// stories260K's `name` matrices rounded to bf16, unpruned (stored dense).
RealTensor dense_bf16(ws::LinearKind kind) {
  static const ws::LlamaWeights w = ws::load_llama(wstest::stories_path());
  return {ws::linear_name(kind), w.config.n_layers, ws::linear_out(w.config, kind), ws::linear_in(w.config, kind),
          ws::fp32_to_bf16(w.linear[size_t(kind)])};
}

TEST(StreamProgram, DenseLayerToWeightPipeline) {
  // docs/weight_pipeline.md section 2.1: a dense layer is its value chunks alone, as the container
  // holds them; MAC CTRL row_beats = K / 4, 2K permutation entries (identity), LAYER_DENSE 1, and x
  // in the packed columns 8p, 8p+1, 8p+6, 8p+7 with +0 between.
  const RealTensor wq = dense_bf16(ws::LinearKind::wq);  // 5 x 64 x 64
  const Bytes wsz = container({wq}, 2048);              // 32 rows a chunk: whole rows of one matrix
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const std::vector<ws::DenseMatrix> ms = ws::dense_matrices(r, "wq");
  ASSERT_EQ(ms.size(), 5u);
  for (const ws::DenseMatrix& m : ms) {
    EXPECT_EQ(m.rows, 64);
    EXPECT_EQ(m.cols, 64);
    ASSERT_EQ(m.views.size(), 2u);
    EXPECT_EQ(m.views[0].value_count + m.views[1].value_count, 64u * 64u);
  }
  std::mt19937_64 rng(wstest::seed());
  std::vector<uint16_t> x(64);
  for (auto& v : x) v = uint16_t(rng());
  const ws::PipelineLayer L = ws::dense_pipeline_layer(ms[3].views, 64, 64, x);
  EXPECT_EQ(L.packed_cols(), 128);
  EXPECT_EQ(L.beats(), 64u * 64 / 4);
  EXPECT_EQ(L.weights(), 64u * 64);
  ws::WeightPipelineParams params;
  params.max_k = 4096;
  const ws::PipelineProgram p = ws::weight_pipeline_program({L}, params, false);
  ASSERT_EQ(p.cfg.size(), 1 + 128 + 2 + 2 * 2048u);  // CTRL, perm, LAYER_DENSE, LAYER_BEATS, 2 tables
  EXPECT_EQ(p.cfg[0], (ws::CfgWrite{0x6000, 16u << 16 | 1u}));
  for (uint32_t j = 0; j < 128; ++j)  // MaxK 4096: perm[j] at MAC address 4096 + j
    EXPECT_EQ(p.cfg[1 + j], (ws::CfgWrite{0x6000 + 4096 + j, j})) << j;
  EXPECT_EQ(p.cfg[129], (ws::CfgWrite{0x8001, 1u}));
  EXPECT_EQ(p.cfg[130], (ws::CfgWrite{0x8000, 64u * 16}));
  EXPECT_TRUE(p.mdesc.empty());
  for (const auto& port : p.munits) EXPECT_TRUE(port.empty());
  ASSERT_EQ(p.vdesc.size(), 2u);
  EXPECT_EQ(p.vdesc[0].desc.count, ms[3].views[0].value_count);
  ASSERT_EQ(p.act.size(), 128u);
  for (int j = 0; j < 128; ++j) {
    const int beat = j / 8, c = j % 8;
    const uint16_t want = c < 2 ? x[size_t(4 * beat + c)] : c >= 6 ? x[size_t(4 * beat + c - 4)] : uint16_t(0);
    EXPECT_EQ(p.act[size_t(j)].data, want) << j;
    EXPECT_EQ(p.act[size_t(j)].last, j == 127);
  }
  // MaxK 256 takes 2K = 128 (not 2 x 172 = 344 of w2); K must be a multiple of 4, with no permutation.
  EXPECT_NO_THROW(ws::weight_pipeline_program({L}, ws::WeightPipelineParams{}, false));
  ws::PipelineLayer bad = L;
  bad.k = 62;
  EXPECT_THROW(ws::weight_pipeline_program({bad}, params, false), std::invalid_argument);
  bad = L;
  bad.perm = ws::identity_perm(64);
  EXPECT_THROW(ws::weight_pipeline_program({bad}, params, false), std::invalid_argument);
  // Chunks that straddle two matrices (31 rows of 64) are refused, naming the chunk.
  const Bytes straddle = container({wq}, 2000);
  const ws::ContainerReader r2 = ws::ContainerReader::from_memory(straddle.data(), straddle.size());
  try {
    ws::dense_matrices(r2, "wq");
    ADD_FAILURE() << "straddling chunks accepted";
  } catch (const ws::Sparse24ChunkError& e) {
    EXPECT_EQ(e.chunk, 2u) << e.what();
    EXPECT_NE(std::string(e.what()).find("not whole rows of one matrix"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ws::dense_matrices(r, "absent"), ws::FormatError);
}

TEST(StreamProgram, ChunksAboveTheTopsTableLogAreRefused) {
  // docs/weight_pipeline.md section 2: the default top holds value tables of 2^11 (the codec's
  // default table log). A container written at --table-log 12 is refused with the reason (not
  // re-encoded, and not left to the decoder's bad-descriptor error mid-layer); a top built with
  // ValueTableLog 12 takes it. Real weights: stories260K's wq, dense, and w2 pruned 2:4.
  auto expect_refused = [](const ws::PipelineLayer& layer, const ws::WeightPipelineParams& p, const std::string& why) {
    try {
      ws::weight_pipeline_program({layer}, p, false);
      ADD_FAILURE() << "accepted, expected refused: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  const RealTensor wq = dense_bf16(ws::LinearKind::wq);
  const Bytes wsz = container({wq}, 2048, 12);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const std::vector<ws::DenseMatrix> ms = ws::dense_matrices(r, "wq");
  ASSERT_FALSE(ms.empty());
  ASSERT_EQ(ms[0].views[0].counts.table_log, 12);
  const ws::PipelineLayer L = ws::dense_pipeline_layer(ms[0].views, 64, 64, std::vector<uint16_t>(64, 0x3f80));
  ws::WeightPipelineParams params;
  EXPECT_EQ(params.value_table_log, ws::tans::kDefaultTableLog);  // the RTL's default (rtl/ws_weight_pipeline.sv)
  expect_refused(L, params, "value chunk coded at table log 12, the top's ValueTableLog is 11");
  params.value_table_log = 12;
  const ws::PipelineProgram p = ws::weight_pipeline_program({L}, params, false);
  EXPECT_EQ(p.vdesc.size(), 2u);
  EXPECT_EQ(p.vdesc[0].desc.table_log, 12u);
  // Metadata chunks against MetaTableLog, the same way: the container's are at table log 5 (at most
  // 8, docs/format.md section 5), so one is marked 9, above the default top's 8.
  const RealTensor w2 = pruned(ws::LinearKind::w2);
  const Bytes wsz2 = container({w2}, 2000);
  const ws::ContainerReader r2 = ws::ContainerReader::from_memory(wsz2.data(), wsz2.size());
  const std::vector<ws::Sparse24Matrix> w2m = ws::sparse24_matrices(r2, "w2");
  ws::PipelineLayer S = ws::sparse24_pipeline_layer(w2m[0].views, {}, std::vector<uint16_t>(172, 0x3f80));
  const ws::WeightPipelineParams defaults;
  EXPECT_NO_THROW(ws::weight_pipeline_program({S}, defaults, false));
  ASSERT_GT(S.meta.size(), 1u);
  S.meta[1].counts.table_log = defaults.meta_table_log + 1;
  expect_refused(S, defaults, "metadata chunk coded at table log 9, the top's MetaTableLog is 8");
}

// A view of `n` values and nothing else: split_layer_rows reads only the counts.
ws::ChunkView counted(uint32_t n) {
  ws::ChunkView v;
  v.value_count = n;
  return v;
}

// A 2:4 layer of K 16 (a row: 8 kept values, 4 nibbles) in chunk pairs of the given rows.
ws::PipelineLayer pairs_of_rows(std::initializer_list<uint32_t> rows) {
  ws::PipelineLayer L;
  for (uint32_t r : rows) {
    L.values.push_back(counted(8 * r));
    L.meta.push_back(counted(4 * r));
    L.rows += int(r);
  }
  L.k = 16;
  return L;
}

TEST(StreamProgram, SplitLayerRowsAtTheNearestChunkBoundary) {
  // Chunk pairs of 3, 5, 2, 6 rows (16): the boundary nearest 8 rows is after the second pair.
  ws::PipelineLayer L = pairs_of_rows({3, 5, 2, 6});
  L.perm = {3, 2, 1, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 14};
  L.x.assign(16, 0x3f80);
  L.cfg_before = {{0x1234, 5}};
  const std::vector<ws::PipelineLayer> two = ws::split_layer_rows(L, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].rows, 8);
  EXPECT_EQ(two[1].rows, 8);
  ASSERT_EQ(two[0].values.size(), 2u);
  ASSERT_EQ(two[1].meta.size(), 2u);
  EXPECT_EQ(two[0].values[1].value_count, 40u);
  EXPECT_EQ(two[1].values[0].value_count, 16u);
  EXPECT_EQ(two[1].meta[1].value_count, 24u);
  for (const ws::PipelineLayer& P : two) {
    EXPECT_EQ(P.k, L.k);
    EXPECT_EQ(P.dense, L.dense);
    EXPECT_EQ(P.perm, L.perm);
    EXPECT_EQ(P.x, L.x);
    EXPECT_EQ(P.cfg_before, L.cfg_before);
  }
  // Three paths, pairs of 1, 1, 1, 13 rows: nearest 5.3 rows is 2 (after the second pair), then the
  // third path must keep a pair, so the second takes only one.
  const ws::PipelineLayer S = pairs_of_rows({1, 1, 1, 13});
  const std::vector<ws::PipelineLayer> three = ws::split_layer_rows(S, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].rows, 2);
  EXPECT_EQ(three[1].rows, 1);
  EXPECT_EQ(three[2].rows, 13);
  // Dense, K 8: chunks of 5 and 7 rows of 8 values.
  ws::PipelineLayer D;
  D.values = {counted(40), counted(56)};
  D.rows = 12;
  D.k = 8;
  D.dense = true;
  const std::vector<ws::PipelineLayer> dense = ws::split_layer_rows(D, 2);
  ASSERT_EQ(dense.size(), 2u);
  EXPECT_EQ(dense[0].rows, 5);
  EXPECT_EQ(dense[1].rows, 7);
  EXPECT_TRUE(dense[1].dense);
  EXPECT_TRUE(dense[1].meta.empty());
  // One path: the layer as it is.
  const std::vector<ws::PipelineLayer> one = ws::split_layer_rows(L, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].rows, 16);
  EXPECT_EQ(one[0].values.size(), 4u);
}

TEST(StreamProgram, SplitLayerRowsRefusesFewerChunksThanPaths) {
  ws::PipelineLayer L = pairs_of_rows({16});
  try {
    ws::split_layer_rows(L, 2);
    ADD_FAILURE() << "one chunk pair split over two paths";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("1 chunk pair"), std::string::npos) << what;
    EXPECT_NE(what.find("smaller chunks"), std::string::npos) << what;
  }
  L = pairs_of_rows({16, 1});
  EXPECT_THROW(ws::split_layer_rows(L, 3), std::invalid_argument);
  EXPECT_NO_THROW(ws::split_layer_rows(L, 2));
  // Not whole rows, pairs that disagree, rows that do not add up.
  ws::PipelineLayer B = L;
  B.values[1] = counted(4);
  EXPECT_THROW(ws::split_layer_rows(B, 2), std::invalid_argument);
  B = L;
  B.meta[1] = counted(8);
  EXPECT_THROW(ws::split_layer_rows(B, 2), std::invalid_argument);
  B = L;
  B.meta.pop_back();
  EXPECT_THROW(ws::split_layer_rows(B, 2), std::invalid_argument);
  B = L;
  B.rows = 18;
  EXPECT_THROW(ws::split_layer_rows(B, 2), std::invalid_argument);
}

TEST(StreamProgram, SplitLayerRowsConcatenatesToTheLayersY) {
  // A container's w2 (64 rows, 22 a chunk: 3 pairs) under a random permutation and dense wq (64
  // rows, 32 a chunk): the paths' y (the functional model) in path order is the layer's y.
  const RealTensor w2 = pruned(ws::LinearKind::w2);
  const Bytes wsz = container({w2}, 2000);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  const std::vector<ws::Sparse24Matrix> w2m = ws::sparse24_matrices(r, "w2");
  std::mt19937_64 rng(wstest::seed());
  std::vector<int32_t> perm(172);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<uint16_t> x(172);
  for (auto& v : x) v = ws::fp32_to_bf16(float(int(rng() % 200) - 100) / 64.0f);
  const ws::PipelineLayer L = ws::sparse24_pipeline_layer(w2m[2].views, perm, x);
  ASSERT_EQ(L.values.size(), 3u);
  const RealTensor wq = dense_bf16(ws::LinearKind::wq);
  const Bytes dz = container({wq}, 2048);
  const ws::ContainerReader dr = ws::ContainerReader::from_memory(dz.data(), dz.size());
  const std::vector<ws::DenseMatrix> dm = ws::dense_matrices(dr, "wq");
  const ws::PipelineLayer D = ws::dense_pipeline_layer(dm[1].views, 64, 64, std::vector<uint16_t>(x.begin(), x.begin() + 64));
  for (const ws::PipelineLayer* layer : {&L, &D})
    for (int paths = 1; paths <= int(layer->values.size()); ++paths) {
      std::vector<uint32_t> y;
      int rows = 0;
      for (const ws::PipelineLayer& P : ws::split_layer_rows(*layer, paths)) {
        EXPECT_GE(P.values.size(), 1u);
        const std::vector<uint32_t> part = ws::weight_pipeline_y(P);
        EXPECT_EQ(part.size(), size_t(P.rows));
        y.insert(y.end(), part.begin(), part.end());
        rows += P.rows;
      }
      EXPECT_EQ(rows, layer->rows);
      EXPECT_EQ(y, ws::weight_pipeline_y(*layer)) << (layer->dense ? "dense" : "2:4") << ", " << paths << " paths";
    }
}

}  // namespace
