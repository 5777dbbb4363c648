// The measurement behind kDefaultTableLog and kDefaultLanes (docs/codec.md): the exponent stream of
// real weights rounded to bf16, cut into chunks of 65536 values per tensor, coded at every table log
// and lane count. Prints the table and asserts that the default table log costs within 0.1% of the
// best one, and the default lanes within 0.2% of a single lane.
// Real data: stories260K.bin (llama2.c) and MiniLM (safetensors, from scripts/minilm.sh).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "test_env.hpp"

namespace {

constexpr size_t kChunkValues = 65536;
// Chunk fields whose size depends neither on the table nor on the states: value count, CRC, lanes,
// table log and the raw stream's size (docs/format.md section 4). The states' stream sizes count as
// exponent bits, like their initial states and padding.
constexpr size_t kFixedBytes = 4 + 4 + 1 + 1 + 4;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> data(size_t(f.tellg()));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(data.data()), std::streamsize(data.size()));
  return data;
}

uint16_t to_bf16(uint32_t f) {  // round to nearest even; NaNs stay NaN
  if ((f & 0x7fffffffu) > 0x7f800000u) return uint16_t((f >> 16) | 0x40);
  return uint16_t((f + 0x7fffu + ((f >> 16) & 1)) >> 16);
}

// fp32 little-endian bytes -> bf16 little-endian bytes.
std::vector<uint8_t> bf16_of(const uint8_t* f32, size_t count) {
  std::vector<uint8_t> out(2 * count);
  for (size_t i = 0; i < count; ++i) {
    uint32_t f;
    std::memcpy(&f, f32 + 4 * i, 4);
    const uint16_t b = to_bf16(f);
    out[2 * i] = uint8_t(b);
    out[2 * i + 1] = uint8_t(b >> 8);
  }
  return out;
}

using Tensors = std::vector<std::vector<uint8_t>>;  // bf16 bytes per tensor

// stories260K.bin: 7 int32 header fields, then the arrays listed in shared/data/README.md.
Tensors stories_tensors() {
  const std::vector<uint8_t> file = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  const size_t dim = 64, hidden = 172, layers = 5, kv_dim = 32, vocab = 512, seq = 512, head = 8;
  const size_t sizes[] = {vocab * dim,         layers * dim,          layers * dim * dim,
                          layers * kv_dim * dim, layers * kv_dim * dim, layers * dim * dim,
                          layers * dim,        layers * hidden * dim, layers * dim * hidden,
                          layers * hidden * dim, dim,                 seq * head / 2,
                          seq * head / 2};
  Tensors out;
  size_t at = 28;
  for (size_t n : sizes) {
    if (at + 4 * n > file.size()) throw std::runtime_error("stories260K.bin is too short");
    out.push_back(bf16_of(file.data() + at, n));
    at += 4 * n;
  }
  if (at != file.size()) throw std::runtime_error("stories260K.bin has trailing bytes");
  return out;
}

// MiniLM: every F32 tensor of the safetensors file that scripts/minilm.sh extracts.
Tensors minilm_tensors() {
  const std::string path = wstest::minilm_path();
  if (path.empty()) throw std::runtime_error("no MiniLM (scripts/minilm.sh, make deps)");
  const std::vector<uint8_t> file = read_file(path);

  uint64_t header_size = 0;
  std::memcpy(&header_size, file.data(), 8);
  const auto header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + long(header_size));
  const size_t data = 8 + header_size;
  // In file order, so the result does not depend on the JSON object's key order.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> spans;
  for (const auto& [name, t] : header.items()) {
    if (name == "__metadata__" || t.at("dtype") != "F32") continue;
    const uint64_t begin = t.at("data_offsets").at(0), end = t.at("data_offsets").at(1);
    spans[begin] = {begin, end};
  }
  Tensors out;
  for (const auto& [begin, span] : spans) out.push_back(bf16_of(file.data() + data + begin, (span.second - begin) / 4));
  return out;
}

struct Cost {
  double bits_per_value = 0;  // everything the exponents cost: counts, states, sizes, padded streams
  size_t raised = 0;          // chunks whose alphabet needed a larger table log than asked for
};

Cost exponent_cost(const Tensors& tensors, int L, int K, uint64_t* mismatches = nullptr) {
  uint64_t bytes = 0, values = 0;
  Cost c;
  std::vector<uint8_t> out(2 * kChunkValues);
  for (const auto& t : tensors)
    for (size_t at = 0; at < t.size() / 2; at += kChunkValues) {
      const size_t n = std::min(kChunkValues, t.size() / 2 - at);
      const std::vector<uint8_t> chunk = ws::encode_chunk(t.data() + 2 * at, n, ws::DType::BF16, {K, L});
      const ws::ChunkView v = ws::parse_chunk(chunk.data(), chunk.size());
      bytes += chunk.size() - v.raw_bytes - kFixedBytes;
      values += n;
      c.raised += v.counts.table_log != L;
      if (mismatches) {
        ws::decode_chunk(chunk.data(), chunk.size(), ws::DType::BF16, out.data(), out.size());
        for (size_t i = 0; i < 2 * n; ++i) *mismatches += out[i] != t[2 * at + i];
      }
    }
  c.bits_per_value = 8.0 * double(bytes) / double(values);
  return c;
}

// Order-0 entropy of the exponents, per chunk, in bits per value: the bound no table reaches.
double exponent_entropy(const Tensors& tensors) {
  double bits = 0;
  uint64_t values = 0;
  for (const auto& t : tensors)
    for (size_t at = 0; at < t.size() / 2; at += kChunkValues) {
      const size_t n = std::min(kChunkValues, t.size() / 2 - at);
      ws::tans::Histogram h{};
      for (size_t i = at; i < at + n; ++i) ++h[uint8_t((t[2 * i + 1] << 1) | (t[2 * i] >> 7))];
      bits += ws::tans::entropy_bits(h);
      values += n;
    }
  return bits / double(values);
}

TEST(TableLogSweep, DefaultsCostAlmostNothingOverTheBest) {
  const std::vector<std::pair<std::string, Tensors>> sets = {{"stories260K", stories_tensors()},
                                                             {"MiniLM", minilm_tensors()}};
  std::map<std::string, std::map<int, Cost>> by_log, by_lanes;
  for (const auto& [name, tensors] : sets) {
    for (int L = ws::tans::kMinTableLog; L <= ws::tans::kMaxTableLog; ++L)
      by_log[name][L] = exponent_cost(tensors, L, ws::tans::kDefaultLanes);
    for (int K : {1, 2, 4, 8}) by_lanes[name][K] = exponent_cost(tensors, ws::tans::kDefaultTableLog, K);
  }

  std::printf("\nbf16 exponent bits per value, chunks of %zu values, lanes K = %d\n", kChunkValues,
              ws::tans::kDefaultLanes);
  std::printf("(counts + initial states + stream sizes + padded symbol streams; [n] = chunks that needed a larger L)\n\n");
  std::printf("| table log L |");
  for (const auto& s : sets) std::printf(" %s |", s.first.c_str());
  std::printf("\n| --- |");
  for (size_t i = 0; i < sets.size(); ++i) std::printf(" --- |");
  std::printf("\n");
  for (int L = ws::tans::kMinTableLog; L <= ws::tans::kMaxTableLog; ++L) {
    std::printf("| %d%s |", L, L == ws::tans::kDefaultTableLog ? " (default)" : "");
    for (const auto& s : sets) {
      const Cost& c = by_log[s.first][L];
      std::printf(" %.4f", c.bits_per_value);
      if (c.raised) std::printf(" [%zu]", c.raised);
      std::printf(" |");
    }
    std::printf("\n");
  }
  std::printf("| order-0 entropy |");
  for (const auto& s : sets) std::printf(" %.4f |", exponent_entropy(s.second));
  std::printf("\n\nlanes at L = %d:\n\n| lanes K |", ws::tans::kDefaultTableLog);
  for (const auto& s : sets) std::printf(" %s |", s.first.c_str());
  std::printf("\n| --- |");
  for (size_t i = 0; i < sets.size(); ++i) std::printf(" --- |");
  std::printf("\n");
  for (int K : {1, 2, 4, 8}) {
    std::printf("| %d%s |", K, K == ws::tans::kDefaultLanes ? " (default)" : "");
    for (const auto& s : sets) std::printf(" %.4f |", by_lanes[s.first][K].bits_per_value);
    std::printf("\n");
  }
  std::printf("\n");

  for (const auto& s : sets) {
    double best = 1e9;
    for (const auto& [L, c] : by_log[s.first]) best = std::min(best, c.bits_per_value);
    EXPECT_LE(by_log[s.first][ws::tans::kDefaultTableLog].bits_per_value, best * 1.001)
        << s.first << ": the default table log is more than 0.1% worse than the best";
    // Lanes are chosen for decoding speed (docs/codec.md); their size cost (per state and chunk: an
    // initial state, a stream size and a stream's padding to 16 bits) must stay small: within 0.1%
    // of a whole bf16 weight (exponent + 8 raw bits) over one lane.
    EXPECT_LE(by_lanes[s.first][ws::tans::kDefaultLanes].bits_per_value - by_lanes[s.first][1].bits_per_value,
              0.001 * (by_lanes[s.first][1].bits_per_value + 8))
        << s.first << ": the default lane count costs more than 0.1% of a bf16 weight over one lane";
  }

  // And the defaults round-trip the real weights.
  for (const auto& [name, tensors] : sets) {
    uint64_t mismatches = 0;
    exponent_cost(tensors, ws::tans::kDefaultTableLog, ws::tans::kDefaultLanes, &mismatches);
    std::printf("%s bf16 round trip at the defaults: %llu mismatching bytes\n", name.c_str(),
                (unsigned long long)mismatches);
    EXPECT_EQ(mismatches, 0u);
  }
}

}  // namespace
