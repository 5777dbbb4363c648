// The real `weightstream` binary (WS_TOOL) on real and edge-case files: byte-exact round trips,
// convert checked value by value against an independent rounding reference, inspect --json checked
// for consistency, and bad inputs failing with one "error:" line, exit code 1 and no output file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

const std::string kStories = std::string(WS_DATA_DIR) + "/stories260K.bin";


size_t mismatches(const Bytes& a, const Bytes& b) {
  size_t n = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += a[i] != b[i];
  return n;
}

// compress (with extra options) then decompress; asserts a byte-exact result; returns the .wsz path.
fs::path round_trip(const fs::path& src, const fs::path& dir, const std::string& options = "") {
  const fs::path wsz = dir / (src.filename().string() + ".wsz");
  const fs::path back = dir / (src.filename().string() + ".back");
  // -f: a test round-trips one file under several options into the same names.
  const ToolRun c = tool("compress -f " + q(src) + " -o " + q(wsz) + " " + options, dir);
  EXPECT_EQ(c.code, 0) << c.err;
  const ToolRun d = tool("decompress -f " + q(wsz) + " -o " + q(back), dir);
  EXPECT_EQ(d.code, 0) << d.err;
  const size_t bad = mismatches(read_file(src), read_file(back));
  std::printf("%s %s: %llu -> %llu bytes, %zu mismatches after decompress\n", src.filename().c_str(), options.c_str(),
              (unsigned long long)fs::file_size(src), (unsigned long long)fs::file_size(wsz), bad);
  EXPECT_EQ(bad, 0u);
  return wsz;
}

// A safetensors file: the 8-byte length of the header's JSON text, the text, the data.
Bytes safetensors_file(const json& header, const Bytes& data) {
  const std::string text = header.dump();
  Bytes file(8 + text.size());
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(uint64_t(text.size()) >> (8 * i));
  std::memcpy(file.data() + 8, text.data(), text.size());
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

// The header length (the first 8 bytes) of a safetensors file.
uint64_t safetensors_header_length(const Bytes& file) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(file[size_t(i)]) << (8 * i);
  return n;
}

void expect_near_rel(double a, double b, const std::string& what) {
  EXPECT_LE(std::fabs(a - b), 1e-9 * std::max(1.0, std::fabs(b))) << what << ": " << a << " vs " << b;
}

// Runs inspect --json and checks that its numbers add up; returns the document.
json inspect_checked(const fs::path& wsz, const fs::path& dir) {
  const ToolRun r = tool("inspect --json " + q(wsz), dir);
  EXPECT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  const uint64_t file_bytes = fs::file_size(wsz);
  EXPECT_EQ(j.at("file_bytes").get<uint64_t>(), file_bytes);

  uint64_t tensor_bytes = 0, values = 0;
  double bound = 0;
  for (const json& t : j.at("tensors")) {
    const std::string name = t.at("name");
    const uint64_t n = t.at("values"), bytes = t.at("compressed_bytes");
    uint64_t product = 1;
    for (const json& d : t.at("shape")) product *= d.get<uint64_t>();
    EXPECT_EQ(product, n) << name;
    tensor_bytes += bytes;
    values += n;
    const double tb = t.at("bound_bits");
    bound += tb;
    if (n == 0) {
      EXPECT_TRUE(t.at("bits_per_weight").is_null()) << name;
      EXPECT_EQ(t.at("chunks").get<uint64_t>(), 0u) << name;
      continue;
    }
    EXPECT_GE(t.at("chunks").get<uint64_t>(), 1u) << name;
    expect_near_rel(t.at("bits_per_weight"), 8.0 * double(bytes) / double(n), name + " bits_per_weight");
    EXPECT_LE(tb, 8.0 * double(bytes)) << name << ": the bound exceeds what was achieved";
    expect_near_rel(t.at("overhead"), 8.0 * double(bytes) / tb - 1, name + " overhead");
  }
  const json& other = j.at("other_bytes");
  const uint64_t literal = j.at("literal").at("bytes");
  EXPECT_EQ(other.at("total").get<uint64_t>(),
            other.at("header_footer").get<uint64_t>() + other.at("index_other").get<uint64_t>() + literal);
  EXPECT_EQ(other.at("header_footer").get<uint64_t>(), 40u);
  EXPECT_EQ(tensor_bytes + other.at("total").get<uint64_t>(), file_bytes) << "every container byte is attributed";

  const json& total = j.at("total");
  EXPECT_EQ(total.at("values").get<uint64_t>(), values);
  EXPECT_EQ(total.at("compressed_bytes").get<uint64_t>(), file_bytes);
  expect_near_rel(total.at("bound_bits"), bound + 8.0 * double(literal), "total bound_bits");
  EXPECT_LE(total.at("bound_bits").get<double>(), 8.0 * double(file_bytes));
  if (values) {
    expect_near_rel(total.at("bits_per_weight"), 8.0 * double(file_bytes) / double(values), "total bits_per_weight");
    EXPECT_GE(total.at("overhead").get<double>(), 0.0);
  } else {
    EXPECT_TRUE(total.at("bits_per_weight").is_null());
  }
  return j;
}

// Independent fp32 -> bf16 reference: the nearer of the two neighbours by exact arithmetic in double,
// ties to even, 2^128 standing for the step past the largest finite bf16.
uint16_t reference_bf16(uint32_t bits) {
  const uint32_t sign = bits & 0x80000000u, mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u) return 0;  // NaN: checked separately
  if (mag == 0x7f800000u) return uint16_t((sign >> 16) | 0x7f80u);
  auto value = [](uint32_t m) {
    if (m == 0x7f80u) return std::ldexp(1.0, 128);
    const uint32_t b = m << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return double(f);
  };
  float xf;
  std::memcpy(&xf, &mag, 4);
  const uint32_t lo = mag >> 16, hi = lo + 1;
  const double below = double(xf) - value(lo), above = value(hi) - double(xf);
  const uint32_t pick = below < above ? lo : above < below ? hi : (lo & 1u) ? hi : lo;
  return uint16_t((sign >> 16) | pick);
}

// Counts values of the bf16 tensor at `out` (n values) that are not the rounding of the fp32 ones at `in`.
size_t bf16_mismatches(const uint8_t* in, const uint8_t* out, uint64_t n) {
  size_t bad = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t f;
    std::memcpy(&f, in + 4 * i, 4);
    const uint16_t h = uint16_t(out[2 * i] | out[2 * i + 1] << 8);
    if ((f & 0x7fffffffu) > 0x7f800000u)
      bad += !((h & 0x7fffu) > 0x7f80u);
    else
      bad += h != reference_bf16(f);
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------

TEST(Tool, Stories260KFp32) {
  const fs::path dir = test_dir();
  const fs::path wsz = round_trip(kStories, dir);
  const json j = inspect_checked(wsz, dir);
  EXPECT_EQ(j.at("source_kind"), "llama2c");
  EXPECT_EQ(j.at("source_bytes").get<uint64_t>(), 1056540u);
  EXPECT_EQ(j.at("tensors").size(), 13u);
  EXPECT_EQ(j.at("tensors")[2].at("name"), "wq");
  EXPECT_EQ(j.at("total").at("values").get<uint64_t>(), 264128u);
  EXPECT_EQ(j.at("literal").at("bytes").get<uint64_t>(), 28u);  // the llama2.c header
  // fp32 weights: 24 raw bits plus a coded exponent, so less than 32 but more than 24 bits per weight.
  const double bpw = j.at("total").at("bits_per_weight");
  std::printf("stories260K fp32: %.3f bits/weight, overhead over the bound %.3f%%\n", bpw,
              100 * j.at("total").at("overhead").get<double>());
  EXPECT_LT(bpw, 32.0);
  EXPECT_GT(bpw, 24.0);

  // The human-readable form names every tensor and ends with the total.
  const ToolRun text = tool("inspect " + q(wsz), dir);
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("token_embedding_table"), std::string::npos);
  EXPECT_NE(text.out.find("total: 264128 values"), std::string::npos) << text.out;
}

TEST(Tool, Stories260KBf16) {
  const fs::path dir = test_dir();
  const fs::path bf16 = dir / "stories260K_bf16.safetensors";
  const ToolRun c = tool("convert --to bf16 " + q(kStories) + " -o " + q(bf16), dir);
  ASSERT_EQ(c.code, 0) << c.err;

  // Every value is the round-to-nearest-even of the fp32 one, tensors in file order with README shapes.
  const Bytes src = read_file(kStories), out = read_file(bf16);
  const StHeader h = read_st_header(out);
  EXPECT_EQ(h.j.at("__metadata__").at("dim"), "64");
  EXPECT_EQ(h.j.at("__metadata__").at("n_kv_heads"), "4");
  EXPECT_EQ(h.j.at("__metadata__").at("shared_classifier"), "true");
  EXPECT_EQ(h.j.at("wk").at("shape"), json({5, 32, 64}));
  EXPECT_EQ(h.j.at("freq_cis_real").at("shape"), json({512, 4}));
  EXPECT_EQ(h.j.at("token_embedding_table").at("dtype"), "BF16");
  EXPECT_EQ(out.size(), h.data_offset + 2 * 264128u);
  size_t bad = bf16_mismatches(src.data() + 28, out.data() + h.data_offset, 264128);
  std::printf("stories260K -> bf16: 264128 values, %zu rounding mismatches\n", bad);
  EXPECT_EQ(bad, 0u);

  // README: the bf16 exponent byte has 25 distinct values and an order-0 entropy of 2.80 bits.
  std::map<int, uint64_t> hist;
  for (uint64_t i = 0; i < 264128; ++i) {
    const uint16_t v = uint16_t(out[h.data_offset + 2 * i] | out[h.data_offset + 2 * i + 1] << 8);
    ++hist[(v >> 7) & 0xff];
  }
  double h0 = 0;
  for (const auto& [s, n] : hist) h0 -= double(n) / 264128 * std::log2(double(n) / 264128);
  std::printf("bf16 exponents: %zu distinct, H0 = %.4f bits\n", hist.size(), h0);
  EXPECT_EQ(hist.size(), 25u);
  EXPECT_NEAR(h0, 2.80, 0.005);

  const fs::path wsz = round_trip(bf16, dir);
  const json j = inspect_checked(wsz, dir);
  EXPECT_EQ(j.at("source_kind"), "safetensors");
  // Per-chunk tables can only do better than one table for the whole model: the tensors' bound is at
  // most 8 raw bits + H0 = 10.80 bits per weight.
  double tensor_bound = 0;
  for (const json& t : j.at("tensors")) tensor_bound += t.at("bound_bits").get<double>();
  std::printf("stories260K bf16: %.3f bits/weight, tensors' bound %.3f bits/weight\n",
              j.at("total").at("bits_per_weight").get<double>(), tensor_bound / 264128);
  EXPECT_LE(tensor_bound / 264128, 8 + h0 + 1e-9);
  EXPECT_LT(j.at("total").at("bits_per_weight").get<double>(), 12.0);
}

// prune -> convert --to bf16 -> compress -> inspect -> decompress on the real model: the 7 linear
// tensors are stored 2:4, the file is byte-exact after the round trip and smaller than stored dense.
TEST(Tool, PrunedStories260KStored24) {
  const fs::path dir = test_dir();
  const fs::path pruned = dir / "pruned.safetensors", bf16 = dir / "pruned_bf16.safetensors";
  ToolRun r = tool("prune " + q(kStories) + " --method esparse --shuffle global+local -o " + q(pruned), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  r = tool("convert --to bf16 " + q(pruned) + " -o " + q(bf16), dir);
  ASSERT_EQ(r.code, 0) << r.err;

  // convert keeps zeros +0 (so the 2:4 structure survives) and copies the I32 perms unchanged.
  const std::vector<std::string> linear = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
  const Bytes f32 = read_file(pruned), b16 = read_file(bf16);
  const StHeader h32 = read_st_header(f32), h16 = read_st_header(b16);
  size_t zeros = 0, zero_mismatch = 0, perm_mismatch = 0;
  for (const std::string& name : linear) {
    const json& e32 = h32.j.at(name);
    const json& e16 = h16.j.at(name);
    ASSERT_EQ(e16.at("dtype"), "BF16");
    const uint64_t o32 = h32.data_offset + e32.at("data_offsets")[0].get<uint64_t>();
    const uint64_t o16 = h16.data_offset + e16.at("data_offsets")[0].get<uint64_t>();
    const uint64_t n = (e32.at("data_offsets")[1].get<uint64_t>() - e32.at("data_offsets")[0].get<uint64_t>()) / 4;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t f;
      std::memcpy(&f, &f32[o32 + 4 * i], 4);
      const uint16_t v = uint16_t(b16[o16 + 2 * i] | b16[o16 + 2 * i + 1] << 8);
      if (f == 0) zeros++, zero_mismatch += v != 0;
    }
    const json& p32 = h32.j.at(name + ".perm");
    const json& p16 = h16.j.at(name + ".perm");
    EXPECT_EQ(p16.at("dtype"), "I32");
    const uint64_t a = h32.data_offset + p32.at("data_offsets")[0].get<uint64_t>();
    const uint64_t b = h16.data_offset + p16.at("data_offsets")[0].get<uint64_t>();
    const uint64_t len = p32.at("data_offsets")[1].get<uint64_t>() - p32.at("data_offsets")[0].get<uint64_t>();
    perm_mismatch += mismatches(Bytes(f32.begin() + long(a), f32.begin() + long(a + len)),
                                Bytes(b16.begin() + long(b), b16.begin() + long(b + len)));
  }
  std::printf("pruned -> bf16: %zu zeros, %zu not +0 after convert, %zu perm bytes changed\n", zeros, zero_mismatch,
              perm_mismatch);
  EXPECT_EQ(zeros, 226560u / 2);
  EXPECT_EQ(zero_mismatch, 0u);
  EXPECT_EQ(perm_mismatch, 0u);

  const fs::path wsz = dir / "sparse.wsz", dense = dir / "dense.wsz", back = dir / "back.safetensors";
  r = tool("compress " + q(bf16) + " -o " + q(wsz), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(", 7 stored 2:4"), std::string::npos) << r.out;
  r = tool("compress " + q(bf16) + " -o " + q(dense) + " --no-sparse", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("all stored dense (--no-sparse)"), std::string::npos) << r.out;
  r = tool("decompress " + q(wsz) + " -o " + q(back), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(mismatches(read_file(back), b16), 0u);

  const json j = inspect_checked(wsz, dir);
  uint64_t n = 0, bytes = 0, value_bytes = 0, meta_bytes = 0;
  for (const json& t : j.at("tensors")) {
    const std::string name = t.at("name");
    const bool is_linear = std::find(linear.begin(), linear.end(), name) != linear.end();
    EXPECT_EQ(!t.at("sparse24").is_null(), is_linear) << name;
    if (!is_linear) continue;
    n += t.at("values").get<uint64_t>();
    bytes += t.at("compressed_bytes").get<uint64_t>();
    value_bytes += t.at("sparse24").at("value_bytes").get<uint64_t>();
    meta_bytes += t.at("sparse24").at("meta_bytes").get<uint64_t>();
    EXPECT_LE(t.at("sparse24").at("meta_bound_bits").get<double>(), 8.0 * t.at("sparse24").at("meta_bytes").get<double>());
  }
  const uint64_t sparse_size = fs::file_size(wsz), dense_size = fs::file_size(dense);
  std::printf("linear layers stored 2:4: %.3f bits per original weight (values %.3f, metadata %.3f); file %llu bytes, "
              "%llu stored dense\n",
              8.0 * double(bytes) / double(n), 8.0 * double(value_bytes) / double(n), 8.0 * double(meta_bytes) / double(n),
              (unsigned long long)sparse_size, (unsigned long long)dense_size);
  EXPECT_EQ(n, 226560u);
  EXPECT_LT(sparse_size, dense_size);
  EXPECT_LT(8.0 * double(bytes) / double(n), 7.0);  // half the weights kept: about 5.7 bits each

  const ToolRun text = tool("inspect " + q(wsz), dir);
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("  2:4 w1 "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("%  2:4\n"), std::string::npos) << text.out;
}

TEST(Tool, MiniLMFp32AndBf16) {
  const fs::path dir = test_dir();
  const std::string minilm = minilm_path();
  ASSERT_FALSE(minilm.empty()) << "scripts/minilm.sh failed (run make deps)";
  const fs::path wsz = round_trip(minilm, dir);
  json j = inspect_checked(wsz, dir);
  EXPECT_EQ(j.at("tensors").size(), 103u);  // 104 minus position_ids (I64, stored as literal bytes)
  EXPECT_EQ(j.at("source_kind"), "safetensors");
  const double fp32_bpw = j.at("total").at("bits_per_weight");

  const fs::path bf16 = dir / "minilm_bf16.safetensors";
  const ToolRun c = tool("convert --to bf16 " + q(minilm) + " -o " + q(bf16), dir);
  ASSERT_EQ(c.code, 0) << c.err;
  const Bytes src = read_file(minilm), out = read_file(bf16);
  const StHeader hs = read_st_header(src), ho = read_st_header(out);
  size_t bad = 0, tensors = 0;
  for (const auto& [name, e] : hs.j.items()) {
    if (name == "__metadata__") continue;
    ++tensors;
    const json& o = ho.j.at(name);
    EXPECT_EQ(o.at("shape"), e.at("shape")) << name;
    const uint64_t sb = e.at("data_offsets")[0], ob = o.at("data_offsets")[0];
    const uint64_t n = e.at("data_offsets")[1].get<uint64_t>() - sb;
    if (e.at("dtype") == "F32") {
      EXPECT_EQ(o.at("dtype"), "BF16") << name;
      bad += bf16_mismatches(src.data() + hs.data_offset + sb, out.data() + ho.data_offset + ob, n / 4);
    } else {  // position_ids (I64) is copied unchanged
      EXPECT_EQ(o.at("dtype"), e.at("dtype")) << name;
      bad += mismatches(Bytes(src.begin() + long(hs.data_offset + sb), src.begin() + long(hs.data_offset + sb + n)),
                        Bytes(out.begin() + long(ho.data_offset + ob), out.begin() + long(ho.data_offset + ob + n)));
    }
  }
  EXPECT_EQ(ho.j.at("__metadata__"), hs.j.at("__metadata__"));
  std::printf("MiniLM -> bf16: %zu tensors, %zu mismatches\n", tensors, bad);
  EXPECT_EQ(tensors, 104u);
  EXPECT_EQ(bad, 0u);

  const fs::path wsz16 = round_trip(bf16, dir, "--threads 2");
  j = inspect_checked(wsz16, dir);
  const double bf16_bpw = j.at("total").at("bits_per_weight");
  std::printf("MiniLM: fp32 %.3f, bf16 %.3f bits/weight, bf16 overhead over the bound %.3f%%\n", fp32_bpw, bf16_bpw,
              100 * j.at("total").at("overhead").get<double>());
  EXPECT_LT(bf16_bpw, 12.0);
  EXPECT_LT(j.at("total").at("overhead").get<double>(), 0.02);
}

// A safetensors file with the edge cases: empty tensors, one-symbol tensors, all 256 exponents, f16,
// f32, a raw dtype and a gap, each compressed with tiny, odd and huge chunks and other options.
TEST(Tool, EdgeCaseSafetensors) {
  const fs::path dir = test_dir();
  const uint32_t s = seed();
  std::mt19937 rng(s);
  json header = json::object();
  Bytes data;
  auto add = [&](const std::string& name, const std::string& dtype, std::vector<uint64_t> shape, const Bytes& bytes) {
    data.resize(data.size() + 3, 0xAB);  // a gap before every tensor
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data.insert(data.end(), bytes.begin(), bytes.end());
  };
  auto values16 = [&](size_t n, const std::function<uint16_t(size_t)>& f) {
    Bytes b;
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(f(i))), b.push_back(uint8_t(f(i) >> 8));
    return b;
  };
  add("empty_bf16", "BF16", {0}, {});
  add("empty_f32", "F32", {4, 0}, {});
  add("one_symbol_bf16", "BF16", {3, 100}, values16(300, [](size_t i) { return uint16_t(0x3f80 | (i & 0x7f)); }));
  add("one_value_f16", "F16", {1}, values16(1, [](size_t) { return uint16_t(0x3c00); }));
  add("all_exponents_bf16", "BF16", {16, 64},
      values16(1024, [&](size_t i) { return uint16_t((rng() & 1) << 15 | (i % 256) << 7 | (rng() & 0x7f)); }));
  add("random_f16", "F16", {33, 7}, values16(231, [&](size_t) { return uint16_t(rng()); }));
  Bytes f32(4 * 500);
  for (auto& b : f32) b = uint8_t(rng());
  add("random_f32", "F32", {500}, f32);
  add("scalar_f32", "F32", {}, Bytes{0, 0, 0x80, 0x3f});
  add("ids", "I32", {3}, Bytes(12, 7));
  data.resize(data.size() + 5, 0xCD);  // trailing bytes
  const Bytes file = safetensors_file(header, data);
  const fs::path src = dir / "edge.safetensors";
  write_file(src, file);

  for (const char* options : {"--chunk 1", "--chunk 16777216", "--chunk 7 --lanes 1 --table-log 5",
                              "--chunk 100 --lanes 8 --table-log 12 --threads 1", "--lanes 2 --threads 3"}) {
    const fs::path wsz = round_trip(src, dir, options);
    const json j = inspect_checked(wsz, dir);
    EXPECT_EQ(j.at("tensors").size(), 8u) << options;  // all but the I32 one
  }
}

TEST(Tool, OpaqueAndEmptyFiles) {
  const fs::path dir = test_dir();
  std::mt19937 rng(seed());
  Bytes b(100000);
  for (auto& x : b) x = uint8_t(rng());
  write_file(dir / "random.bin", b);
  const json j = inspect_checked(round_trip(dir / "random.bin", dir), dir);
  EXPECT_EQ(j.at("source_kind"), "opaque");
  EXPECT_EQ(j.at("tensors").size(), 0u);
  EXPECT_EQ(j.at("literal").at("bytes").get<uint64_t>(), 100000u);
  write_file(dir / "empty.bin", {});
  inspect_checked(round_trip(dir / "empty.bin", dir), dir);
  // A file that looks like a llama2.c header but has the wrong size is opaque, not an error.
  Bytes fake = read_file(kStories);
  fake.resize(fake.size() - 4);
  write_file(dir / "short.bin", fake);
  EXPECT_EQ(inspect_checked(round_trip(dir / "short.bin", dir), dir).at("source_kind"), "opaque");
}

// Tensors of dtypes the tool does not know (MX scales F8_E8M0, packed F4, complex C64, any string) are
// kept byte for byte beside coded ones, and inspect names them opaque with their dtype. The bytes are
// real MiniLM weights: a slice of its fp32 data under each dtype.
TEST(Tool, UnknownDtypesKeptOpaque) {
  const fs::path dir = test_dir();
  const std::string minilm = minilm_path();
  ASSERT_FALSE(minilm.empty()) << "scripts/minilm.sh failed (run make deps)";
  const Bytes real = read_file(minilm);
  size_t from = size_t(8 + safetensors_header_length(real));  // MiniLM's tensor data
  json header = json::object();
  Bytes data;
  auto add = [&](const std::string& name, const std::string& dtype, std::vector<uint64_t> shape, size_t bytes) {
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + bytes}}};
    data.insert(data.end(), real.begin() + long(from), real.begin() + long(from + bytes));
    from += bytes;
  };
  add("w.weight", "F32", {64, 32}, 4 * 64 * 32);
  add("w.scale", "F8_E8M0", {64}, 64);
  add("w.packed", "F4", {64, 32}, 64 * 32 / 2);
  add("z", "C64", {3, 5}, 8 * 15);
  add("odd\x07", "my type\n", {7}, 13);
  add("b.bias", "BF16", {32}, 64);
  const Bytes file = safetensors_file(header, data);
  const fs::path src = dir / "opaque_dtypes.safetensors";
  write_file(src, file);

  const fs::path wsz = round_trip(src, dir);
  const json j = inspect_checked(wsz, dir);
  EXPECT_EQ(j.at("tensors").size(), 2u);  // w.weight and b.bias are coded
  const json& op = j.at("opaque_tensors");
  ASSERT_EQ(op.size(), 4u);
  std::map<std::string, json> by_name;
  for (const json& t : op) by_name[t.at("name")] = t;
  EXPECT_EQ(by_name.at("w.scale").at("dtype"), "F8_E8M0");
  EXPECT_EQ(by_name.at("w.packed").at("dtype"), "F4");
  EXPECT_EQ(by_name.at("w.packed").at("bytes").get<uint64_t>(), 1024u);
  EXPECT_EQ(by_name.at("w.packed").at("shape"), json({64, 32}));
  EXPECT_EQ(by_name.at("z").at("dtype"), "C64");
  EXPECT_EQ(by_name.at("odd\x07").at("dtype"), "my type\n");
  const ToolRun text_run = tool("inspect " + q(wsz), dir);
  EXPECT_EQ(text_run.code, 0) << text_run.err;
  EXPECT_NE(text_run.out.find("opaque w.scale dtype F8_E8M0 shape 64, 64 bytes"), std::string::npos) << text_run.out;
  EXPECT_NE(text_run.out.find("opaque w.packed dtype F4 shape 64x32, 1024 bytes"), std::string::npos);
  EXPECT_NE(text_run.out.find("opaque odd\\x07 dtype my type\\x0a shape 7, 13 bytes"), std::string::npos)
      << "control bytes escaped";

  // convert rewrites the float tensors and copies the opaque ones under their dtype, byte for byte.
  const fs::path conv = dir / "opaque_dtypes_bf16.safetensors";
  const ToolRun c = tool("convert --to bf16 " + q(src) + " -o " + q(conv), dir);
  ASSERT_EQ(c.code, 0) << c.err;
  const Bytes out = read_file(conv);
  const uint64_t out_header = safetensors_header_length(out);
  const json oh = json::parse(out.begin() + 8, out.begin() + long(8 + out_header));
  for (const char* name : {"w.scale", "w.packed", "z", "odd\x07"}) {
    EXPECT_EQ(oh.at(name).at("dtype"), header.at(name).at("dtype")) << name;
    EXPECT_EQ(oh.at(name).at("shape"), header.at(name).at("shape")) << name;
    const uint64_t b0 = header.at(name).at("data_offsets")[0], b1 = header.at(name).at("data_offsets")[1];
    const uint64_t o0 = oh.at(name).at("data_offsets")[0], o1 = oh.at(name).at("data_offsets")[1];
    ASSERT_EQ(o1 - o0, b1 - b0) << name;
    EXPECT_EQ(mismatches(Bytes(data.begin() + long(b0), data.begin() + long(b1)),
                         Bytes(out.begin() + long(8 + out_header + o0), out.begin() + long(8 + out_header + o1))),
              0u)
        << name;
  }
  EXPECT_EQ(oh.at("w.weight").at("dtype"), "BF16");
}

// An input stored opaque as a whole gets one note on stderr saying why (already compressed, or no
// known weight format), exit status 0, and still a byte-exact round trip; a model file gets none.
TEST(Tool, OpaqueInputNote) {
  const fs::path dir = test_dir();
  const fs::path wsz = dir / "stories260K.wsz";
  const ToolRun model = tool("compress " + q(kStories) + " -o " + q(wsz), dir);
  ASSERT_EQ(model.code, 0) << model.err;
  EXPECT_EQ(model.err, "") << "no note for a model file";
  Bytes cut = read_file(kStories);  // a llama2.c header whose file size is wrong: no known format
  cut.resize(cut.size() - 4);
  write_file(dir / "cut.bin", cut);
  const struct {
    fs::path in;
    std::string why;
  } cases[] = {{wsz, "already compressed (a weightstream container)"}, {dir / "cut.bin", "not a known weight format"}};
  for (const auto& c : cases) {
    const fs::path packed = dir / (c.in.filename().string() + ".again.wsz"), back = dir / "back.bin";
    const ToolRun r = tool("compress " + q(c.in) + " -o " + q(packed), dir);
    EXPECT_EQ(r.code, 0) << r.err;
    const std::string name = c.in.string();
    const std::string head = "note: " + name + ": " + c.why + "; stored as opaque bytes (ratio ";
    ASSERT_EQ(r.err.rfind(head, 0), 0u) << r.err;
    const double ratio = std::atof(r.err.c_str() + head.size());  // the container's few bytes more
    EXPECT_GT(ratio, 0.99) << r.err;
    EXPECT_LE(ratio, 1.0) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
    const ToolRun d = tool("decompress " + q(packed) + " -o " + q(back), dir);
    ASSERT_EQ(d.code, 0) << d.err;
    const size_t bad = mismatches(read_file(c.in), read_file(back));
    std::printf("%s: %s, %zu mismatches after decompress\n", c.in.filename().c_str(), c.why.c_str(), bad);
    EXPECT_EQ(bad, 0u);
    fs::remove(back);
  }
}

TEST(Tool, SameOutputForAnyThreadCount) {
  const fs::path dir = test_dir();
  ASSERT_EQ(tool("compress " + q(kStories) + " -o " + q(dir / "t1.wsz") + " --threads 1 --chunk 999", dir).code, 0);
  ASSERT_EQ(tool("compress " + q(kStories) + " -o " + q(dir / "t2.wsz") + " --threads 2 --chunk 999", dir).code, 0);
  EXPECT_EQ(mismatches(read_file(dir / "t1.wsz"), read_file(dir / "t2.wsz")), 0u);
}

TEST(Tool, BadInputs) {
  const fs::path dir = test_dir();
  const fs::path wsz = dir / "good.wsz", out = dir / "out.bin";
  ASSERT_EQ(tool("compress " + q(kStories) + " -o " + q(wsz) + " --chunk 4096", dir).code, 0);
  const Bytes good = read_file(wsz);
  const fs::path bad = dir / "bad.wsz";

  // Truncated at many cut points: the ends of header and footer, and seeded random ones.
  const uint32_t s = seed();
  std::mt19937 rng(s);
  std::vector<size_t> cuts = {0, 1, 15, 16, 17, 39, 40, good.size() / 2, good.size() - 25, good.size() - 24,
                              good.size() - 1};
  for (int i = 0; i < (long_run() ? 200 : 20); ++i) cuts.push_back(rng() % good.size());
  for (size_t cut : cuts) {
    write_file(bad, Bytes(good.begin(), good.begin() + long(cut)));
    expect_error(tool("decompress " + q(bad) + " -o " + q(out), dir), bad.string(), "");
    expect_error(tool("inspect " + q(bad), dir), bad.string(), "");
  }

  Bytes b = good;
  b[1] = 'X';
  write_file(bad, b);
  expect_error(tool("decompress " + q(bad) + " -o " + q(out), dir), bad.string(), "bad magic");

  b = good;
  b[b.size() - 24 - 5] ^= 0x01;  // in the index, just before the footer
  write_file(bad, b);
  expect_error(tool("decompress " + q(bad) + " -o " + q(out), dir), bad.string(), "index checksum mismatch");

  // A corrupted byte in each of a few chunks' raw streams, and anywhere at random.
  for (int i = 0; i < 10; ++i) {
    b = good;
    const size_t at = i < 5 ? 44 + 5000 * size_t(i) : 16 + rng() % (good.size() / 2);
    b[at] ^= uint8_t(1u << (rng() % 8));
    write_file(bad, b);
    const ToolRun r = tool("decompress " + q(bad) + " -o " + q(out), dir);
    expect_error(r, bad.string(), "");
    std::printf("flip at byte %zu: %s", at, r.err.c_str());
  }
  b = good;
  b[20000] ^= 0x40;  // deep inside the token embedding's chunk streams: caught by the chunk's CRC
  write_file(bad, b);
  const ToolRun crc = tool("decompress " + q(bad) + " -o " + q(out), dir);
  EXPECT_TRUE(crc.err.find("checksum mismatch") != std::string::npos || crc.err.find("chunk") != std::string::npos)
      << crc.err;
  expect_error(crc, bad.string(), "tensor 'token_embedding_table' chunk");
  expect_no_leftovers(dir, {"good.wsz", "bad.wsz"});

  // Missing input, a directory, an unwritable output, a bad option, convert of an opaque file, and a
  // safetensors whose tensors overlap.
  expect_error(tool("decompress " + q(dir / "missing.wsz") + " -o " + q(out), dir), (dir / "missing.wsz").string(),
               "cannot open: No such file or directory");
  expect_error(tool("compress " + q(dir / "missing.bin") + " -o " + q(out), dir), (dir / "missing.bin").string(),
               "cannot open");
  expect_error(tool("inspect " + q(dir), dir), dir.string(), "is a directory");
  expect_error(tool("compress " + q(kStories) + " -o " + q(dir / "no" / "such" / "dir.wsz"), dir),
               (dir / "no" / "such" / "dir.wsz").string(), "cannot create");
  expect_error(tool("compress " + q(kStories) + " -o " + q(out) + " --lanes 3", dir), "command line", "--lanes");
  expect_error(tool("frobnicate", dir), "command line", "");
  expect_error(tool("convert --to bf16 " + q(wsz) + " -o " + q(out), dir), wsz.string(),
               "neither safetensors, GGUF nor a llama2.c model");
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  Bytes st(8);
  st[0] = uint8_t(overlap.size());
  st.insert(st.end(), overlap.begin(), overlap.end());
  st.resize(st.size() + 12);
  write_file(dir / "overlap.safetensors", st);
  expect_error(tool("compress " + q(dir / "overlap.safetensors") + " -o " + q(out), dir),
               (dir / "overlap.safetensors").string(), "tensors 'a' and 'b' overlap");
  expect_no_leftovers(dir, {"good.wsz", "bad.wsz", "overlap.safetensors"});

  const ToolRun help = tool("--help", dir);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("compress"), std::string::npos);
}

}  // namespace
