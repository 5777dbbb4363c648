// The real `weightstream` binary on the real SmolLM2 GGUF file: compress / decompress byte for byte,
// inspect's per-format figures consistent with the file and above their bounds, a damaged container
// refused, `convert --to bf16` equal to round-to-nearest-even of the dequantized values (checked here
// with a rounding of our own), and broken GGUF files failing with one line naming file and tensor.
// (The dequantization itself is checked against gguf-py by the CTest gguf_dequant_reference.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf_builder.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

std::string smollm2() {
  const std::string path = WS_SMOLLM2_GGUF;
  if (path.empty()) ADD_FAILURE() << "SmolLM2 GGUF not found (make deps, then reconfigure)";
  return path;
}

// Round to nearest, ties to even, of a finite fp32 value to bf16, by comparing the distances to the two
// neighbouring bf16 values in double (independent of core/bf16's bit trick).
uint16_t bf16_nearest_even(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint16_t lo = uint16_t(bits >> 16), hi = uint16_t(lo + 1);  // same sign: away from zero is +1
  auto value = [](uint16_t h) {
    const uint32_t b = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return double(f);
  };
  const double dlo = std::fabs(double(x) - value(lo)), dhi = std::fabs(double(x) - value(hi));
  if (dlo != dhi) return dlo < dhi ? lo : hi;
  return (lo & 1) ? hi : lo;
}

TEST(ToolGguf, SmolLM2RoundTripAndInspect) {
  const fs::path dir = test_dir();
  const std::string src = smollm2();
  const fs::path wsz = dir / "smollm2.wsz", back = dir / "back.gguf";
  const ToolRun c = tool_ok("compress " + q(src) + " -o " + q(wsz), dir);
  EXPECT_NE(c.out.find(": gguf, 98362432 bytes -> "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("272 tensors in "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("211 block-quantized (GGUF)"), std::string::npos) << c.out;
  tool_ok("decompress " + q(wsz) + " -o " + q(back), dir);
  EXPECT_TRUE(read_file(back) == read_file(src)) << "decompressed GGUF differs from the original";
  fs::remove(back);

  const json j = json::parse(tool_ok("inspect --json " + q(wsz), dir).out);
  EXPECT_EQ(j.at("source_kind"), "gguf");
  uint64_t tensor_bytes = 0;
  for (const json& t : j.at("tensors")) {
    tensor_bytes += t.at("compressed_bytes").get<uint64_t>();
    const double bound = t.at("bound_bits"), bits = 8.0 * t.at("compressed_bytes").get<double>();
    EXPECT_LE(bound, bits) << t.at("name");
    if (t.at("quant").is_null()) continue;
    uint64_t streams = 0;
    for (const json& s : t.at("quant")) {
      streams += s.at("bytes").get<uint64_t>();
      EXPECT_LE(s.at("bound_bits").get<double>(), 8.0 * s.at("bytes").get<double>()) << t.at("name") << s.at("stream");
    }
    EXPECT_LT(streams, t.at("compressed_bytes").get<uint64_t>());
  }
  EXPECT_EQ(tensor_bytes + j.at("other_bytes").at("total").get<uint64_t>(), fs::file_size(wsz));
  std::map<std::string, json> formats;
  for (const json& f : j.at("formats")) formats[f.at("format")] = f;
  ASSERT_EQ(formats.size(), 3u);
  EXPECT_EQ(formats.at("q4_1").at("tensors"), 210);
  EXPECT_EQ(formats.at("q8_0").at("values"), 49152 * 576);
  EXPECT_EQ(formats.at("f32").at("tensors"), 61);
  for (const auto& [name, f] : formats) {
    std::printf("%-5s %3d tensors %10llu values: %.3f bits/weight, bound %.3f\n", name.c_str(), f.at("tensors").get<int>(),
                (unsigned long long)f.at("values").get<uint64_t>(), f.at("bits_per_weight").get<double>(),
                f.at("bound_bits_per_weight").get<double>());
    EXPECT_LE(f.at("bound_bits_per_weight").get<double>(), f.at("bits_per_weight").get<double>()) << name;
  }
  // The quantized blocks take fewer bits than they do in the file: 5 bits a weight for Q4_1, 8.5 for Q8_0.
  EXPECT_LT(formats.at("q4_1").at("bits_per_weight").get<double>(), 5.0);
  EXPECT_LT(formats.at("q8_0").at("bits_per_weight").get<double>(), 8.5);
  std::printf("%s: %llu -> %llu bytes\n", src.c_str(), (unsigned long long)fs::file_size(src),
              (unsigned long long)fs::file_size(wsz));

  const ToolRun text = tool("inspect " + q(wsz), dir);
  EXPECT_NE(text.out.find("q4_1 sub-streams, bits per weight (bound):  codes "), std::string::npos) << text.out;

  // Damage: a truncated container and flipped bytes in the blocks are refused, and nothing is written.
  const Bytes good = read_file(wsz);
  const fs::path bad = dir / "bad.wsz", out = dir / "out.gguf";
  write_file(bad, Bytes(good.begin(), good.begin() + long(good.size() / 2)));
  expect_error(tool("decompress " + q(bad) + " -o " + q(out), dir), bad.string(), "bad magic at end of file");
  for (const size_t at : {good.size() / 3, good.size() / 2, good.size() * 2 / 3}) {
    Bytes b = good;
    b[at] ^= 0x10;
    write_file(bad, b);
    expect_error(tool("decompress " + q(bad) + " -o " + q(out), dir), bad.string(), "tensor '");
  }
  expect_no_leftovers(dir, {"smollm2.wsz", "bad.wsz"});
}

TEST(ToolGguf, ConvertToBf16RoundsTheDequantizedValues) {
  const fs::path dir = test_dir();
  const std::string src = smollm2();
  const fs::path f32 = dir / "f32.safetensors", b16 = dir / "bf16.safetensors";
  tool_ok("convert --to fp32 " + q(src) + " -o " + q(f32), dir);
  const ToolRun b = tool_ok("convert --to bf16 " + q(src) + " -o " + q(b16), dir);
  EXPECT_NE(b.out.find("272 tensors, 134515008 values"), std::string::npos) << b.out;

  const Bytes fb = read_file(f32), bb = read_file(b16);
  const StHeader fh = read_st_header(fb), bh = read_st_header(bb);
  const json& meta = bh.j.at("__metadata__");
  EXPECT_EQ(meta.at("format"), "gguf");
  EXPECT_EQ(meta.at("general.architecture"), "llama");
  EXPECT_EQ(meta.at("llama.block_count"), "30");
  EXPECT_EQ(std::stod(meta.at("llama.rope.freq_base").get<std::string>()), 100000.0);
  EXPECT_EQ(std::stof(meta.at("llama.attention.layer_norm_rms_epsilon").get<std::string>()), 1e-5f);  // reads back exactly
  EXPECT_EQ(meta.at("tokenizer.ggml.add_bos_token"), "false");
  EXPECT_EQ(json::parse(meta.at("tokenizer.ggml.tokens").get<std::string>()).size(), 49152u);
  EXPECT_EQ(bh.j.at("token_embd.weight").at("shape"), json({49152, 576}));  // ne [576, 49152] reversed

  size_t tensors = 0, values = 0, wrong = 0;
  for (const auto& [name, e] : bh.j.items()) {
    if (name == "__metadata__") continue;
    ++tensors;
    const json& fe = fh.j.at(name);
    EXPECT_EQ(e.at("dtype"), "BF16") << name;
    EXPECT_EQ(fe.at("dtype"), "F32") << name;
    EXPECT_EQ(e.at("shape"), fe.at("shape")) << name;
    const StSpan fs32 = st_span(fh, name), bs16 = st_span(bh, name);
    const uint64_t fo = fs32.offset, bo = bs16.offset, n = bs16.bytes / 2;
    ASSERT_EQ(fs32.bytes, 4 * n) << name;
    for (uint64_t i = 0; i < n; ++i) {
      float x;
      std::memcpy(&x, &fb[fo + 4 * i], 4);
      const uint16_t got = uint16_t(bb[bo + 2 * i] | bb[bo + 2 * i + 1] << 8);
      ASSERT_TRUE(std::isfinite(x)) << name << " value " << i;
      wrong += got != bf16_nearest_even(x);
    }
    values += n;
  }
  std::printf("convert --to bf16: %zu tensors, %zu values, %zu not the nearest-even bf16 of the dequantized value\n",
              tensors, values, wrong);
  EXPECT_EQ(tensors, 272u);
  EXPECT_EQ(values, 134515008u);
  EXPECT_EQ(wrong, 0u);
}

TEST(ToolGguf, BrokenFilesFailWithOneLine) {
  const fs::path dir = test_dir();
  const fs::path out = dir / "out.wsz", st = dir / "out.safetensors";
  // The real file cut short: the tensor whose data it no longer holds is named.
  const Bytes real = read_file(smollm2());
  const fs::path cut = dir / "cut.gguf";
  write_file(cut, Bytes(real.begin(), real.begin() + 40000000));
  expect_error(tool("compress " + q(cut) + " -o " + q(out), dir), cut.string(), "run past the end of the file");
  expect_error(tool("convert --to bf16 " + q(cut) + " -o " + q(st), dir), cut.string(), "GGUF tensor '");

  GgufBuilder overlap;
  overlap.tensor("a", {16}, kTF32, Bytes(64));
  overlap.tensor("b", {8}, kTF32, Bytes(32), 32);
  const fs::path o = dir / "overlap.gguf";
  write_file(o, overlap.bytes());
  expect_error(tool("compress " + q(o) + " -o " + q(out), dir), o.string(), "GGUF tensors 'a' and 'b' overlap");

  GgufBuilder unknown;
  unknown.tensor("w", {32}, 99, Bytes(128));
  const fs::path u = dir / "unknown.gguf";
  write_file(u, unknown.bytes());
  expect_error(tool("inspect " + q(u), dir), u.string(), "");  // not a container
  expect_error(tool("compress " + q(u) + " -o " + q(out), dir), u.string(), "GGUF tensor 'w': unknown tensor type 99");

  // A type compress stores as literal bytes but convert cannot dequantize.
  GgufBuilder q5;
  q5.tensor("k", {32}, kTQ5_0, Bytes(22, 3));
  const fs::path k = dir / "q5.gguf";
  write_file(k, q5.bytes());
  expect_error(tool("convert --to bf16 " + q(k) + " -o " + q(st), dir), k.string(),
               "GGUF tensor 'k' is Q5_0, which convert cannot dequantize");
  tool_ok("compress " + q(k) + " -o " + q(out), dir);
  tool_ok("decompress " + q(out) + " -o " + q(dir / "back.gguf"), dir);
  EXPECT_EQ(read_file(dir / "back.gguf"), read_file(k));
  fs::remove(out);
  fs::remove(dir / "back.gguf");
  expect_no_leftovers(dir, {"cut.gguf", "overlap.gguf", "unknown.gguf", "q5.gguf"});
}

}  // namespace
