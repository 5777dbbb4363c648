// What the tANS decoder bench feeds the decoder: tables, chunks (real and random), corruptions, and
// for each chunk what the decoder must produce, taken from the functional model ws::tans::decode.
// Table writes, descriptors and words come from the stream program (hw/stream_program.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tb.hpp"
#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "files/safetensors.hpp"
#include "hw/stream_program.hpp"
#include "hw/tans_decoder_model.hpp"

namespace tbdec {

// A decode table: its entries (for the functional model) and its configuration writes.
struct Table {
  int log = 0;
  std::vector<ws::tans::DecodeEntry> entries;  // 0 .. 2^log - 1
  std::vector<ws::CfgWrite> writes;            // ws::tans_table_writes
};

inline Table make_table(const ws::tans::NormalizedCounts& nc) {
  return {nc.table_log, ws::tans::build_decode_table(nc), ws::tans_table_writes(nc)};
}

// One output beat.
struct Beat {
  int count = 0;
  bool last = false;
  std::array<uint8_t, 8> sym{};
};

// A chunk as the decoder sees it, and what must come out.
struct Chunk {
  std::string name;
  int table = -1;  // index of the table it needs loaded (in Program::tables)
  ws::TansDescriptor desc;
  std::vector<uint8_t> stream;  // the symbol stream's bytes (ws::stream_words makes the words)
  std::vector<Beat> expect;     // the output beats
  uint64_t expect_symbols = 0;  // valid symbols in `expect`
  uint8_t expect_err = 0;       // ws::pkg::tans_err_e the chunk raises (0: none)
  uint64_t bits = 0;            // stream bits before the padding
  size_t word_count() const { return stream.size() / 4; }
};

inline uint8_t cause_of(const std::string& what) {
  if (what.find("ends early") != std::string::npos) return ws::pkg::TANS_ERR_ENDS_EARLY;
  if (what.find("bits left over") != std::string::npos) return ws::pkg::TANS_ERR_LEFT_OVER;
  if (what.find("final state") != std::string::npos) return ws::pkg::TANS_ERR_FINAL_STATE;
  if (what.find("initial state") != std::string::npos || what.find("table log") != std::string::npos)
    return ws::pkg::TANS_ERR_BAD_DESC;
  throw std::runtime_error("bench: unexpected decode error: " + what);
}

// Fills c.expect and c.expect_err from ws::tans::decode of the chunk as it will be sent. The
// decoder emits what the functional model writes before it stops (a prefix of whole steps), and
// ends an aborted chunk with an empty `last` beat. Which symbols the functional model wrote is
// found by decoding into two buffers pre-filled differently.
inline void expect_from_golden(Chunk& c, const Table& t, int lanes, int max_table_log) {
  const uint32_t n = c.desc.count;
  std::vector<uint8_t> a(n, 0x00), b(n, 0xff);
  uint8_t cause = 0;
  // The hardware takes table logs 5 .. MaxTableLog only; it rejects others before decoding.
  const bool log_ok = c.desc.table_log >= uint32_t(ws::pkg::TANS_MIN_TABLE_LOG) &&
                      c.desc.table_log <= uint32_t(max_table_log) &&
                      t.entries.size() == (size_t(1) << c.desc.table_log);
  if (!log_ok) cause = ws::pkg::TANS_ERR_BAD_DESC;
  for (auto* out :
       log_ok ? std::vector<std::vector<uint8_t>*>{&a, &b} : std::vector<std::vector<uint8_t>*>{}) {
    try {
      ws::tans::decode(c.stream.data(), c.stream.size(), t.entries, int(c.desc.table_log), lanes,
                       c.desc.states.data(), out->data(), n);
    } catch (const ws::FormatError& e) {
      cause = cause_of(e.what());
    }
  }
  size_t emitted = 0;
  while (emitted < n && a[emitted] == b[emitted]) ++emitted;
  if (cause == ws::pkg::TANS_ERR_BAD_DESC) emitted = 0;
  const bool aborted = emitted < n;  // the decoder stops before the chunk's last step
  c.expect_err = cause;
  c.expect.clear();
  c.expect_symbols = emitted;
  for (size_t i = 0; i < emitted; i += size_t(lanes)) {
    Beat beat;
    beat.count = int(std::min<size_t>(size_t(lanes), emitted - i));
    for (int j = 0; j < beat.count; ++j) beat.sym[size_t(j)] = a[i + size_t(j)];
    beat.last = !aborted && i + size_t(lanes) >= emitted;
    c.expect.push_back(beat);
  }
  if (aborted) c.expect.push_back(Beat{0, true, {}});
}

// The chunk of a parsed view, through the stream program.
inline Chunk chunk_of(const std::string& name, int table, const ws::ChunkView& v, uint64_t bits) {
  Chunk c;
  c.name = name;
  c.table = table;
  c.desc = ws::tans_descriptor(v);
  c.stream.assign(v.symbol_stream, v.symbol_stream + v.symbol_bytes);
  c.bits = bits;
  return c;
}

// A chunk of `symbols` coded with counts nc and `lanes` lanes.
inline Chunk make_chunk(const std::string& name, int table, const Table& t,
                        const ws::tans::NormalizedCounts& nc, const std::vector<uint8_t>& symbols,
                        int lanes, int max_table_log) {
  const ws::tans::EncodedSymbols enc = ws::tans::encode(symbols.data(), symbols.size(), nc, lanes);
  ws::ChunkView v;  // the fields a chunk header would carry
  v.value_count = uint32_t(symbols.size());
  v.lanes = lanes;
  v.counts = nc;
  v.initial_states = enc.initial_states;
  v.symbol_stream = enc.stream.data();
  v.symbol_bytes = uint32_t(enc.stream.size());
  Chunk c = chunk_of(name, table, v, enc.bit_count);
  expect_from_golden(c, t, lanes, max_table_log);
  return c;
}

// A chunk from the real chunk format: encode_chunk, then parse_chunk, as the hardware's DMA would.
inline Chunk make_real_chunk(const std::string& name, int table_index, Table& table_out,
                             const uint8_t* values, size_t count, ws::DType dtype, int lanes,
                             int max_table_log, int table_log = ws::tans::kDefaultTableLog) {
  ws::ChunkOptions opt;
  opt.lanes = lanes;
  opt.table_log = std::min(table_log, max_table_log);
  ws::ChunkStats stats;
  const std::vector<uint8_t> bytes = ws::encode_chunk(values, count, dtype, opt, &stats);
  const ws::ChunkView v = ws::parse_chunk(bytes.data(), bytes.size());
  table_out = make_table(v.counts);
  Chunk c = chunk_of(name, table_index, v, stats.symbol_bits);
  expect_from_golden(c, table_out, lanes, max_table_log);
  return c;
}

// ------------------------------------------------------------------------------------------------
// Real data

// stories260K: 264,128 fp32 values after a 28-byte header (../shared/data/README.md).
inline std::vector<uint8_t> stories_fp32() {
  const std::string path = tb::stories_path();
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("bench: cannot open " + path);
  std::vector<uint8_t> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.size() != 28 + 264128 * 4)
    throw std::runtime_error("bench: " + path + " has the wrong size");
  return std::vector<uint8_t>(all.begin() + 28, all.end());
}

inline std::vector<uint8_t> to_bf16(const std::vector<uint8_t>& fp32) {
  std::vector<uint8_t> out(fp32.size() / 2);
  ws::fp32_to_bf16_le(fp32.data(), fp32.size() / 4, out.data());
  return out;
}

// The fp32 values of the first `tensors` F32 tensors of MiniLM with at least min_values values.
inline std::vector<std::pair<std::string, std::vector<uint8_t>>> minilm_tensors(
    size_t tensors, uint64_t min_values) {
  const std::string path = tb::minilm_path();
  if (path.empty()) throw std::runtime_error("bench: no MiniLM (scripts/minilm.sh, make deps)");
  const ws::SafetensorsFile st = ws::read_safetensors(path);
  std::ifstream f(path, std::ios::binary);
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (const auto& t : st.tensors) {
    if (out.size() >= tensors) break;
    if (t.dtype != "F32" || t.value_count < min_values) continue;
    std::vector<uint8_t> data(size_t(t.size));
    f.seekg(std::streamoff(t.offset));
    f.read(reinterpret_cast<char*>(data.data()), std::streamsize(data.size()));
    if (!f) throw std::runtime_error("bench: cannot read tensor " + t.name);
    out.emplace_back(t.name, std::move(data));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Random tables and symbols

enum class Alphabet { Uniform, Skewed, Single, Full256, Random };
inline const char* alphabet_name(Alphabet a) {
  switch (a) {
    case Alphabet::Uniform:
      return "uniform";
    case Alphabet::Skewed:
      return "skewed";
    case Alphabet::Single:
      return "single";
    case Alphabet::Full256:
      return "full256";
    case Alphabet::Random:
      return "random";
  }
  return "?";
}

// Counts summing to 2^log over a random range. Uniform: equal shares; Skewed: one symbol takes all
// but one slot per other symbol; Single: one symbol; Full256: every byte value; Random: random
// positive shares, some symbols of the range unused.
inline ws::tans::NormalizedCounts random_counts(tb::Rng& r, int log, Alphabet a) {
  const uint32_t T = 1u << log;
  ws::tans::NormalizedCounts nc;
  nc.table_log = log;
  uint32_t m = 1;  // symbols in the range
  switch (a) {
    case Alphabet::Single:
      m = 1;
      break;
    case Alphabet::Full256:
      m = 256;
      break;
    default:
      m = uint32_t(r.range(2, std::min<uint64_t>(T, 64)));
      break;
  }
  const uint32_t first = uint32_t(r.range(0, 256 - m));
  nc.first = uint8_t(first);
  nc.last = uint8_t(first + m - 1);
  nc.counts.assign(m, 0);
  switch (a) {
    case Alphabet::Single:
      nc.counts[0] = uint16_t(T);
      break;
    case Alphabet::Uniform:
    case Alphabet::Full256:
      for (uint32_t i = 0; i < m; ++i) nc.counts[i] = uint16_t(T / m + (i < T % m ? 1 : 0));
      break;
    case Alphabet::Skewed: {
      const uint32_t big = uint32_t(r.range(0, m - 1));
      for (uint32_t i = 0; i < m; ++i) nc.counts[i] = 1;
      nc.counts[big] = uint16_t(T - (m - 1));
      break;
    }
    case Alphabet::Random: {
      uint32_t left = T;
      std::vector<uint32_t> used;
      for (uint32_t i = 0; i < m; ++i)
        if (i == 0 || r.chance(0.8)) used.push_back(i);
      for (uint32_t i : used) nc.counts[i] = 1;
      left -= uint32_t(used.size());
      while (left > 0) {
        uint32_t i = used[size_t(r.range(0, used.size() - 1))];
        uint32_t add = uint32_t(r.range(1, std::max<uint32_t>(1, left / 4)));
        add = std::min(add, left);
        nc.counts[i] = uint16_t(nc.counts[i] + add);
        left -= add;
      }
      break;
    }
  }
  return nc;
}

// n symbols drawn with probabilities count / 2^log.
inline std::vector<uint8_t> random_symbols(tb::Rng& r, const ws::tans::NormalizedCounts& nc,
                                           size_t n) {
  std::vector<uint8_t> pool;
  for (size_t i = 0; i < nc.counts.size(); ++i)
    for (uint32_t k = 0; k < nc.counts[i]; ++k) pool.push_back(uint8_t(nc.first + i));
  std::vector<uint8_t> s(n);
  for (auto& v : s) v = pool[size_t(r.range(0, pool.size() - 1))];
  return s;
}

}  // namespace tbdec
