// The stream program (stream_program.hpp): codec chunks and formats into what the RTL consumes.
#include "hw/stream_program.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/ws_pkg.hpp"
#include "hw/mac_array_model.hpp"

namespace ws {

std::vector<StreamWord> stream_words(const uint8_t* bytes, size_t n, int word_bits) {
  if (word_bits != 32 && word_bits != 64) throw std::invalid_argument("stream_words: word_bits must be 32 or 64");
  if (n % 4 != 0)
    throw FormatError("a stream of " + std::to_string(n) + " bytes is not whole 32-bit words");
  const size_t halves = size_t(word_bits / 32), n32 = n / 4;
  std::vector<StreamWord> w((n32 + halves - 1) / halves);
  for (size_t i = 0; i < n32; ++i) w[i / halves].data |= uint64_t(load_le32(bytes + 4 * i)) << (32 * (i % halves));
  if (!w.empty()) w.back().last = true;
  return w;
}

// ---------------------------------------------------------------------------------------------------
// (a) ws_tans_decoder

std::vector<CfgWrite> tans_table_writes(const tans::NormalizedCounts& counts) {
  const std::vector<tans::DecodeEntry> table = tans::build_decode_table(counts);
  std::vector<CfgWrite> w(table.size());
  for (size_t j = 0; j < table.size(); ++j) w[j] = {uint32_t(j), table[j].pack()};
  return w;
}

TansDescriptor tans_descriptor(const ChunkView& v, int bank) {
  TansDescriptor d;
  d.table_log = uint32_t(v.counts.table_log);
  d.bank = bank != 0;
  d.count = v.value_count;
  return d;
}

std::vector<StreamUnit> tans_state_units(const ChunkView& v, int s) {
  if (v.layout != tans::Layout::PerState)
    throw FormatError("the decoder takes layout-2 chunks (container version 3); this chunk is in layout 1");
  std::vector<StreamUnit> u;
  if (v.value_count == 0) return u;
  const tans::StreamView& st = v.streams[size_t(s)];
  if (st.bytes % 2 != 0) throw FormatError("a state stream of " + std::to_string(st.bytes) + " bytes is not whole units");
  u.reserve(st.bytes / 2 + 1);
  u.push_back({v.initial_states[size_t(s)], st.bytes == 0});
  for (size_t k = 0; k < st.bytes; k += 2)
    u.push_back({uint16_t(st.data[k] | st.data[k + 1] << 8), k + 2 == st.bytes});
  return u;
}

TansChunkProgram tans_chunk_program(const ChunkView& v, int bank) {
  TansChunkProgram p;
  if (v.value_count != 0) p.table = tans_table_writes(v.counts);
  p.desc = tans_descriptor(v, bank);
  p.units.resize(size_t(v.states()));
  for (int s = 0; s < v.states(); ++s) p.units[size_t(s)] = tans_state_units(v, s);
  return p;
}

// ---------------------------------------------------------------------------------------------------
// (b) ws_num_unpacker

std::vector<CfgWrite> unpacker_config(const numfmt::Format& f) {
  const std::vector<uint32_t> entries = f.config_words();
  std::vector<CfgWrite> w;
  for (size_t s = 0; s < entries.size(); ++s) w.push_back({uint32_t(s), entries[s]});
  w.push_back({uint32_t(pkg::UNP_CFG_MODE), f.kind() == numfmt::Kind::Int ? 1u : 0u});
  return w;
}

// ---------------------------------------------------------------------------------------------------
// (c) ws_weight_pipeline

PipelineLayer sparse24_pipeline_layer(const std::vector<Sparse24ChunkView>& chunks, std::vector<int32_t> perm,
                                      std::vector<uint16_t> x) {
  PipelineLayer L;
  for (const Sparse24ChunkView& c : chunks) {
    if (c.groups != chunks.front().groups)
      throw FormatError("2:4 chunks of one matrix store " + std::to_string(chunks.front().groups) + " and " +
                        std::to_string(c.groups) + " groups per row");
    L.values.push_back(c.values);
    L.meta.push_back(c.meta);
    L.rows += int(c.rows);
  }
  L.k = chunks.empty() ? 0 : int(4 * chunks.front().groups);  // stored groups: K8 / 4
  L.perm = std::move(perm);
  L.x = std::move(x);
  return L;
}

PipelineLayer sparse24_pipeline_layer(const Sparse24& matrix, std::vector<ChunkView> values, std::vector<ChunkView> meta,
                                      std::vector<uint16_t> x) {
  PipelineLayer L;
  L.values = std::move(values);
  L.meta = std::move(meta);
  L.rows = matrix.rows;
  L.k = matrix.cols;
  L.perm = matrix.perm;
  L.x = std::move(x);
  return L;
}

PipelineLayer dense_pipeline_layer(std::vector<ChunkView> values, int rows, int k, std::vector<uint16_t> x) {
  PipelineLayer L;
  L.values = std::move(values);
  L.rows = rows;
  L.k = k;
  L.dense = true;
  L.x = std::move(x);
  return L;
}

std::vector<PipelineLayer> split_layer_rows(const PipelineLayer& layer, int paths) {
  if (paths < 1) throw std::invalid_argument("split_layer_rows: paths must be at least 1");
  if (layer.rows <= 0 || layer.k <= 0) throw std::invalid_argument("split_layer_rows: empty layer");
  const size_t n = layer.values.size();
  if (!layer.dense && layer.meta.size() != n)
    throw std::invalid_argument("split_layer_rows: " + std::to_string(n) + " value chunks and " +
                                std::to_string(layer.meta.size()) + " metadata chunks are not pairs");
  if (n < size_t(paths))
    throw std::invalid_argument("split_layer_rows: the layer's " + std::to_string(n) + " chunk" +
                                (layer.dense ? "" : " pair") + (n == 1 ? "" : "s") + " cannot feed " +
                                std::to_string(paths) + " paths (each needs at least one): compress it with smaller chunks");
  // Rows of each chunk (pair): values per row are K8 / 2 kept ones (2:4) or K (dense), metadata K8 / 4.
  const uint64_t vpr = layer.dense ? uint64_t(layer.k) : uint64_t(layer.k8()) / 2, mpr = uint64_t(layer.k8()) / 4;
  std::vector<int> first_row(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t count = layer.values[i].value_count;
    if (count == 0 || count % vpr != 0 || (!layer.dense && layer.meta[i].value_count != count / vpr * mpr))
      throw std::invalid_argument("split_layer_rows: chunk " + std::to_string(i) + " is not whole rows" +
                                  (layer.dense ? "" : " in both its value and metadata chunks"));
    first_row[i + 1] = first_row[i] + int(count / vpr);
  }
  if (first_row[n] != layer.rows)
    throw std::invalid_argument("split_layer_rows: the chunks hold " + std::to_string(first_row[n]) + " rows, the layer " +
                                std::to_string(layer.rows));
  std::vector<PipelineLayer> out;
  size_t begin = 0;
  for (int p = 0; p < paths; ++p) {
    size_t end = n;
    if (p < paths - 1) {
      // The boundary nearest the balanced one, leaving a chunk for each path after this one.
      const double target = double(layer.rows) * double(p + 1) / double(paths);
      end = begin + 1;
      for (size_t e = begin + 2; e + size_t(paths - 1 - p) <= n; ++e)
        if (std::abs(double(first_row[e]) - target) < std::abs(double(first_row[end]) - target)) end = e;
    }
    PipelineLayer L;
    L.values.assign(layer.values.begin() + long(begin), layer.values.begin() + long(end));
    if (!layer.dense) L.meta.assign(layer.meta.begin() + long(begin), layer.meta.begin() + long(end));
    L.rows = first_row[end] - first_row[begin];
    L.k = layer.k;
    L.dense = layer.dense;
    L.perm = layer.perm;
    L.x = layer.x;
    L.cfg_before = layer.cfg_before;
    out.push_back(std::move(L));
    begin = end;
  }
  return out;
}

std::vector<float> dense_pipeline_y(const float* w, int rows, int cols, const float* x, int lanes) {
  const std::vector<uint16_t> wb = fp32_to_bf16(w, size_t(rows) * size_t(cols));
  const std::vector<uint16_t> xb = fp32_to_bf16(x, size_t(cols));
  const std::vector<uint32_t> y = dense_matvec(wb, rows, cols, xb, MacMode::Bf16, lanes);
  std::vector<float> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) out[i] = fp32_from_bits(y[i]);
  return out;
}

std::vector<uint16_t> dense_packed_x(const std::vector<uint16_t>& x, int groups) {
  // Weights 2q, 2q + 1 form group q; its implied nibble is 0x4 (columns 0, 1) in even groups of a
  // beat, 0xE (columns 2, 3) in odd ones; at one group a beat every group is group 0.
  std::vector<uint16_t> packed(2 * x.size(), 0);
  for (size_t j = 0; j < x.size(); ++j) {
    const size_t q = j / 2;
    packed[4 * q + (groups > 1 && q % 2 == 1 ? 2 : 0) + j % 2] = x[j];
  }
  return packed;
}

std::vector<CfgWrite> pipeline_format_config() {
  std::vector<CfgWrite> w = unpacker_config(numfmt::Format::builtin("bf16"));
  for (CfgWrite& c : w) c.addr = pkg::wp_cfg_addr(pkg::WP_CFG_UNPACKER, c.addr);
  return w;
}

namespace {

// The MAC array's CTRL word (ws::pkg::mac_ctrl_t): bf16 lanes, row_beats beats per row.
uint32_t mac_ctrl_bf16(int row_beats) {
  return uint32_t(pkg::mac_ctrl_t::row_beats.put(uint64_t(row_beats)) | pkg::mac_ctrl_t::mode.put(pkg::MAC_BF16));
}

// The top's decoders hold tables up to 2^max_log: a chunk coded at a larger table log is refused
// here (it would raise the decoder's bad-descriptor error mid-layer); the program does not re-encode.
void check_table_log(const ChunkView& v, int max_log, const char* what, const char* param) {
  if (v.value_count != 0 && v.counts.table_log > max_log)
    throw std::invalid_argument(std::string("weight pipeline program: a ") + what + " chunk coded at table log " +
                                std::to_string(v.counts.table_log) + ", the top's " + param + " is " +
                                std::to_string(max_log) + " (compress with --table-log " + std::to_string(max_log) +
                                " or less)");
}

}  // namespace

PipelineProgram weight_pipeline_program(const std::vector<PipelineLayer>& layers, const WeightPipelineParams& p,
                                        bool with_format, bool one_bank) {
  PipelineProgram prog;
  if (with_format) prog.cfg = pipeline_format_config();
  prog.vunits.resize(size_t(p.value_states()));
  prog.munits.resize(size_t(p.meta_states()));
  int vbank = 0, mbank = 0;  // the bank each decoder's next chunk decodes from
  const uint32_t mac_perm_base = uint32_t(p.max_k);  // perm[j] at MaxK + j
  for (const PipelineLayer& L : layers) {
    if (L.rows <= 0 || L.k <= 0) throw std::invalid_argument("weight pipeline program: empty layer");
    if (L.dense && (L.k % 4 != 0 || !L.perm.empty() || !L.meta.empty()))
      throw std::invalid_argument("weight pipeline program: a dense layer needs K a multiple of 4, no permutation, no metadata");
    const int cols = L.packed_cols();  // the MAC array's columns: K8 (2:4) or 2K (dense)
    if (cols > p.max_k) throw std::invalid_argument("weight pipeline program: the layer's columns exceed MaxK");
    if (cols % p.cols_per_beat() != 0)  // MetaLanes 4: 16 columns a beat (2:4: K16, dense: K a multiple of 8)
      throw std::invalid_argument("weight pipeline program: the layer's " + std::to_string(cols) +
                                  " packed columns are not whole beats of " + std::to_string(p.cols_per_beat()));
    // Chunks in the order of the beat each starts at, value first on a tie: a table load waits for
    // the chunk that last decoded from its bank to end, which needs only beats of chunks before it.
    struct Start {
      uint64_t beat;
      bool meta;
      const ChunkView* v;
    };
    std::vector<Start> starts;
    uint64_t at = 0;
    for (const ChunkView& v : L.values) {
      if (v.lanes != p.value_lanes) throw std::invalid_argument("weight pipeline program: value chunks must have ValueLanes lanes");
      check_table_log(v, p.value_table_log, "value", "ValueTableLog");
      starts.push_back({at, false, &v});
      at += v.value_count / uint64_t(p.value_lanes);
    }
    at = 0;
    for (const ChunkView& v : L.meta) {
      if (v.lanes != p.meta_lanes) throw std::invalid_argument("weight pipeline program: metadata chunks must have MetaLanes lanes");
      check_table_log(v, p.meta_table_log, "metadata", "MetaTableLog");
      starts.push_back({at, true, &v});
      at += v.value_count / uint64_t(p.meta_lanes);
    }
    std::stable_sort(starts.begin(), starts.end(), [](const Start& a, const Start& b) {
      return a.beat != b.beat ? a.beat < b.beat : a.meta < b.meta;
    });
    auto emit_chunk = [&](const Start& s) {
      if (s.v->value_count == 0) return;
      int& bank = s.meta ? mbank : vbank;
      const TansChunkProgram c = tans_chunk_program(*s.v, bank);
      const pkg::wp_cfg_region_e region = s.meta ? (bank ? pkg::WP_CFG_META_TABLE1 : pkg::WP_CFG_META_TABLE)
                                                 : (bank ? pkg::WP_CFG_VALUE_TABLE1 : pkg::WP_CFG_VALUE_TABLE);
      for (const CfgWrite& w : c.table) prog.cfg.push_back({pkg::wp_cfg_addr(region, w.addr), w.data});
      (s.meta ? prog.mdesc : prog.vdesc).push_back({c.desc, prog.cfg.size()});
      std::vector<std::vector<StreamUnit>>& ports = s.meta ? prog.munits : prog.vunits;
      for (size_t st = 0; st < c.units.size(); ++st) ports[st].insert(ports[st].end(), c.units[st].begin(), c.units[st].end());
      if (!s.meta) {
        const std::vector<StreamWord> raw = stream_words(s.v->raw_stream, s.v->raw_bytes, pkg::raw_word_bits(p.value_lanes));
        prog.raw.insert(prog.raw.end(), raw.begin(), raw.end());
      }
      if (!one_bank) bank ^= 1;
    };

    const int cpb = p.cols_per_beat();
    prog.layers.push_back({prog.cfg.size(), L.beats(cpb)});
    prog.cfg.insert(prog.cfg.end(), L.cfg_before.begin(), L.cfg_before.end());
    // After the first layer, the chunks that start the layer come first: their tables load while the
    // previous layer streams, and so do the MAC array's writes below and the activations (the MAC
    // writes wait only until the previous layer's activations are in). The first layer's MAC writes
    // and LAYER_BEATS go first, so its activations load while its tables do.
    size_t first = 0;
    const bool first_layer = &L == &layers.front();
    for (; !first_layer && first < starts.size() && starts[first].beat == 0; ++first) emit_chunk(starts[first]);
    prog.layers.back().mac_start = prog.cfg.size();
    // MAC array: CTRL, the permutation (padded channels map to themselves; dense: identity over the
    // packed columns), then LAYER_DENSE and LAYER_BEATS.
    prog.cfg.push_back({pkg::wp_cfg_addr(pkg::WP_CFG_MAC, 0), mac_ctrl_bf16(cols / cpb)});
    for (int j = 0; j < cols; ++j) {
      const uint32_t pj = j < int(L.perm.size()) ? uint32_t(L.perm[size_t(j)]) : uint32_t(j);
      prog.cfg.push_back({pkg::wp_cfg_addr(pkg::WP_CFG_MAC, mac_perm_base + uint32_t(j)), pj});
    }
    prog.cfg.push_back({pkg::wp_cfg_addr(pkg::WP_CFG_TOP, pkg::WP_TOP_LAYER_DENSE), L.dense ? 1u : 0u});
    prog.cfg.push_back({pkg::wp_cfg_addr(pkg::WP_CFG_TOP, pkg::WP_TOP_LAYER_BEATS), uint32_t(L.beats(cpb))});
    // Activations, padded with +0 to K8 (dense: placed in the packed columns).
    const std::vector<uint16_t> x = L.dense ? dense_packed_x(L.x, p.meta_lanes) : L.x;
    for (int j = 0; j < cols; ++j)
      prog.act.push_back({j < int(x.size()) ? x[size_t(j)] : uint16_t(0), j == cols - 1});
    for (size_t i = first; i < starts.size(); ++i) emit_chunk(starts[i]);
  }
  return prog;
}

// ---------------------------------------------------------------------------------------------------
// From the container

std::vector<Sparse24Matrix> sparse24_matrices(const ContainerReader& reader, const std::string& tensor) {
  const Segment& s = reader.tensor(tensor);
  if (!s.is_sparse24()) throw FormatError("tensor '" + tensor + "' is not stored 2:4");
  if (s.dtype != DType::BF16)
    throw FormatError("tensor '" + tensor + "' is " + s.format.name() + ", the MAC array takes bf16");
  const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
  if (rows > INT32_MAX || cols > INT32_MAX) throw FormatError("tensor '" + tensor + "' is too large for ws::Sparse24");
  const uint64_t groups = cols / 4, stored = sparse24_stored_groups(cols);
  std::vector<Sparse24Matrix> out;
  for (Sparse24ChunkRef& c : sparse24_chunks(reader, tensor)) {
    if (out.empty() || out.back().matrix != c.matrix) {
      Sparse24Matrix m;
      m.matrix = c.matrix;
      m.rows = int(rows);
      m.cols = int(cols);
      m.packed.rows = int(rows);
      m.packed.cols = int(4 * stored);
      m.packed.values.assign(size_t(rows * stored * 2), 0);
      m.packed.meta.assign(size_t(rows * stored), kSparse24PadMeta);
      m.packed.perm = identity_perm(m.packed.cols);
      out.push_back(std::move(m));
    }
    Sparse24Matrix& m = out.back();
    try {
      // Sub-chunk CRCs, nibbles, canonical groups and padding; then the dense CRC over the chunk's rows.
      const Sparse24ChunkView view = parse_sparse24_chunk(c.bytes.data(), c.bytes.size());
      const Sparse24Stored st = decode_sparse24_stored(c.bytes.data(), c.bytes.size(), s.dtype, cols, c.checksum);
      if (st.rows != c.rows)
        throw FormatError("holds " + std::to_string(st.rows) + " rows, the index says " + std::to_string(c.rows));
      Sparse24 dense_rows;  // the chunk's rows without the padding groups, to check the dense CRC
      dense_rows.rows = int(st.rows);
      dense_rows.cols = int(cols);
      dense_rows.perm = identity_perm(int(cols));
      for (uint64_t r = 0; r < st.rows; ++r)
        for (uint64_t g = 0; g < stored; ++g) {
          const size_t from = size_t(r * stored + g), to = size_t((c.first_row + r) * stored + g);
          m.packed.meta[to] = st.meta[from];
          for (size_t k = 0; k < 2; ++k) m.packed.values[2 * to + k] = load_le16(&st.values[4 * from + 2 * k]);
          if (g >= groups) continue;
          dense_rows.meta.push_back(st.meta[from]);
          for (size_t k = 0; k < 2; ++k) dense_rows.values.push_back(m.packed.values[2 * to + k]);
        }
      const std::vector<uint16_t> dense = unpack_sparse24(dense_rows);
      std::vector<uint8_t> bytes(dense.size() * 2);
      for (size_t i = 0; i < dense.size(); ++i) store_le(&bytes[2 * i], dense[i], 2);
      if (c.checksum.of(bytes.data(), bytes.size()) != view.crc) throw FormatError("checksum mismatch");
      m.views.push_back(view);  // points into c.bytes, whose buffer moves with it
    } catch (const FormatError& e) {
      throw Sparse24ChunkError(c.matrix, c.chunk, e.what());
    }
    m.chunks.push_back(std::move(c));
  }
  return out;
}

namespace {

// Chunk i of bf16 tensor s read, decoded and checked (checksum included), appended to m.
void add_checked_chunk(const ContainerReader& reader, const Segment& s, size_t i, DenseMatrix& m) {
  std::vector<uint8_t> bytes = reader.chunk_bytes(s, i);
  const ChunkView v = parse_chunk(bytes.data(), bytes.size());
  if (v.value_count != s.chunks[i].value_count)
    throw FormatError("holds " + std::to_string(v.value_count) + " values, the index says " +
                      std::to_string(s.chunks[i].value_count));
  std::vector<uint8_t> decoded(size_t(v.value_count) * 2);
  decode_chunk(bytes.data(), bytes.size(), DType::BF16, decoded.data(), decoded.size(), reader.chunk_checksum(s, i));
  m.chunk_index.push_back(i);
  m.bytes.push_back(std::move(bytes));
  m.views.push_back(parse_chunk(m.bytes.back().data(), m.bytes.back().size()));
}

}  // namespace

std::vector<DenseMatrix> dense_matrices(const ContainerReader& reader, const std::string& tensor) {
  const Segment& s = reader.tensor(tensor);
  if (s.is_sparse24() || s.is_quant()) throw FormatError("tensor '" + tensor + "' is not stored dense");
  if (s.dtype != DType::BF16)
    throw FormatError("tensor '" + tensor + "' is " + s.format.name() + ", the MAC array takes bf16");
  if (s.dims.size() < 2) throw FormatError("tensor '" + tensor + "' is not a matrix");
  const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
  if (rows > INT32_MAX || cols > INT32_MAX || cols % 4 != 0)
    throw FormatError("tensor '" + tensor + "' has " + std::to_string(cols) +
                      " columns; the pipeline takes dense rows of a multiple of 4");
  const uint64_t per_matrix = rows * cols;
  std::vector<DenseMatrix> out;
  uint64_t at = 0;  // the chunk's first value in the tensor
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const uint64_t matrix = at / per_matrix;
    try {
      const uint32_t n = s.chunks[i].value_count;
      if (at % cols != 0 || (at + n - 1) / per_matrix != matrix)
        throw FormatError("not whole rows of one matrix (compress with --chunk a multiple of the row length)");
      if (out.empty() || out.back().matrix != matrix) {
        DenseMatrix m;
        m.matrix = matrix;
        m.rows = int(rows);
        m.cols = int(cols);
        out.push_back(std::move(m));
      }
      add_checked_chunk(reader, s, i, out.back());
      at += n;
    } catch (const Sparse24ChunkError&) {
      throw;
    } catch (const FormatError& e) {
      throw Sparse24ChunkError(matrix, i, e.what());
    }
  }
  return out;
}

std::vector<ExpertMatrix> expert_matrices(const ContainerReader& reader, const std::string& tensor) {
  const Segment& s = reader.tensor(tensor);
  if (s.is_sparse24() && s.has_experts())  // docs/lte.md: the 2:4 stream program is not built yet
    throw FormatError("tensor '" + tensor + "' holds 2:4 expert chunks: the LTE stream program takes dense ones only");
  if (s.is_sparse24() || s.is_quant() || !s.has_experts())
    throw FormatError("tensor '" + tensor + "' has no expert chunks (weightstream compress --lte SIDE)");
  if (s.dtype != DType::BF16)
    throw FormatError("tensor '" + tensor + "' is " + s.format.name() + ", the MAC array takes bf16");
  const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
  const bool column_blocks = s.experts == Segment::Experts::Columns;
  if (rows > INT32_MAX || cols > INT32_MAX || (!column_blocks && cols % 4 != 0))
    throw FormatError("tensor '" + tensor + "' has " + std::to_string(cols) +
                      " columns; the pipeline takes dense rows of a multiple of 4");
  std::vector<ExpertMatrix> out;
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    const ChunkEntry& c = s.chunks[i];
    try {
      if (column_blocks && c.count % 4 != 0)
        throw FormatError("a column block of " + std::to_string(c.count) +
                          " columns; the pipeline takes dense rows of a multiple of 4 (an expert size a multiple of 4)");
      if (out.empty() || out.back().chunks.matrix != c.matrix) {
        ExpertMatrix m;
        m.chunks.matrix = c.matrix;
        m.chunks.rows = int(rows);
        m.chunks.cols = int(cols);
        m.column_blocks = column_blocks;
        out.push_back(std::move(m));
      }
      ExpertMatrix& m = out.back();
      if (c.expert != uint32_t(m.experts()))
        throw FormatError("expert " + std::to_string(c.expert) + " where expert " + std::to_string(m.experts()) + " belongs");
      add_checked_chunk(reader, s, i, m.chunks);
      m.first.push_back(c.first);
      m.count.push_back(c.count);
    } catch (const FormatError& e) {
      throw Sparse24ChunkError(c.matrix, i, e.what());
    }
  }
  return out;
}

PipelineLayer expert_rows_pipeline_layer(const ExpertMatrix& m, const std::vector<uint8_t>& active,
                                         std::vector<uint16_t> x) {
  if (m.column_blocks) throw std::invalid_argument("expert_rows_pipeline_layer: a tensor of column blocks");
  if (active.size() != size_t(m.experts())) throw std::invalid_argument("expert_rows_pipeline_layer: one decision per expert");
  std::vector<ChunkView> chunks;
  int rows = 0;
  for (int e = 0; e < m.experts(); ++e)
    if (active[size_t(e)]) {
      chunks.push_back(m.chunks.views[size_t(e)]);
      rows += int(m.count[size_t(e)]);
    }
  if (chunks.empty()) throw std::invalid_argument("expert_rows_pipeline_layer: no active expert");
  return dense_pipeline_layer(std::move(chunks), rows, m.chunks.cols, std::move(x));
}

PipelineLayer expert_columns_pipeline_layer(const ExpertMatrix& m, int e, std::vector<uint16_t> x) {
  if (!m.column_blocks) throw std::invalid_argument("expert_columns_pipeline_layer: a tensor of row chunks");
  if (e < 0 || e >= m.experts()) throw std::invalid_argument("expert_columns_pipeline_layer: no such expert");
  return dense_pipeline_layer({m.chunks.views[size_t(e)]}, m.chunks.rows, int(m.count[size_t(e)]), std::move(x));
}

}  // namespace ws
