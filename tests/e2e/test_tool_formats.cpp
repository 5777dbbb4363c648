// The real `weightstream` binary with number formats: `compress --format posit16_1 --round` on the
// real model against a conversion computed here value by value, fp8 / int8 safetensors tensors coded
// (not stored as literals), and an inexact value without --round failing with tensor and index.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "numfmt/numfmt.hpp"

#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using nlohmann::json;

const std::string kStories = std::string(WS_DATA_DIR) + "/stories260K.bin";



TEST(ToolFormats, CompressPosit16MatchesReferenceConversion) {
  const fs::path dir = test_dir();
  // Without --round, the first inexact value is an error naming tensor and index, and no file is left.
  const ToolRun bad = tool("compress " + q(kStories) + " -o " + q(dir / "x.wsz") + " --format posit16_1", dir);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("error: " + kStories + ": tensor 'token_embedding_table' value 0: "), std::string::npos)
      << bad.err;
  EXPECT_FALSE(fs::exists(dir / "x.wsz"));

  const fs::path wsz = dir / "p.wsz", back = dir / "back.safetensors";
  const ToolRun c = tool("compress " + q(kStories) + " -o " + q(wsz) + " --format posit16_1 --round", dir);
  ASSERT_EQ(c.code, 0) << c.err;
  const ToolRun d = tool("decompress " + q(wsz) + " -o " + q(back), dir);
  ASSERT_EQ(d.code, 0) << d.err;

  // Value by value: each is the nearest-even posit16_1 pattern of the fp32 weight, stored U16 with the
  // format named in __metadata__, tensors in file order.
  const Bytes src = read_file(kStories), out = read_file(back);
  const StHeader h = read_st_header(out);
  const ws::numfmt::Format p16 = ws::numfmt::Format::posit(16, 1);
  size_t at = 0, bad_values = 0, tensors = 0;
  for (const char* name : {"token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight", "w1",
                           "w2", "w3", "rms_final_weight", "freq_cis_real", "freq_cis_imag"}) {
    const json& t = h.j.at(name);
    EXPECT_EQ(t.at("dtype"), "U16") << name;
    EXPECT_EQ(h.j.at("__metadata__").at(std::string("weightstream.format.") + name), "posit16_1");
    const size_t begin = t.at("data_offsets")[0], end = t.at("data_offsets")[1];
    for (size_t i = begin; i < end; i += 2, ++at) {
      uint32_t bits;
      std::memcpy(&bits, src.data() + 28 + 4 * at, 4);
      const uint32_t want = p16.join(p16.encode(bits, true));
      bad_values += (out[h.data_offset + i] | out[h.data_offset + i + 1] << 8) != int(want);
    }
    ++tensors;
  }
  std::printf("stories260K -> posit16_1: %zu values in %zu tensors, %zu differ from the reference\n", at, tensors,
              bad_values);
  EXPECT_EQ(at, 264128u);
  EXPECT_EQ(bad_values, 0u);

  // The same bytes as convert, then compress: the container is that file's, byte for byte.
  const fs::path conv = dir / "conv.safetensors", wsz2 = dir / "conv.wsz";
  ASSERT_EQ(tool("convert --to posit16_1 --round " + q(kStories) + " -o " + q(conv), dir).code, 0);
  EXPECT_EQ(read_file(conv), out);
  ASSERT_EQ(tool("compress " + q(conv) + " -o " + q(wsz2), dir).code, 0);
  EXPECT_EQ(read_file(wsz2), read_file(wsz));

  const ToolRun i = tool("inspect " + q(wsz), dir);
  ASSERT_EQ(i.code, 0) << i.err;
  EXPECT_NE(i.out.find("wq                    posit16_1 5x64x64"), std::string::npos) << i.out;
}

// A safetensors file with F8_E4M3, F8_E5M2 and I8 tensors (every byte value, NaNs included) and a U8
// one: the first three are coded tensors, the U8 one literal bytes; decompress is byte-exact.
TEST(ToolFormats, Fp8AndInt8SafetensorsAreCoded) {
  const fs::path dir = test_dir();
  const uint32_t s = seed();
  std::mt19937 rng(s);
  json header = json::object();
  Bytes data;
  auto add = [&](const std::string& name, const std::string& dtype, uint64_t rows, uint64_t cols) {
    Bytes b(rows * cols);
    for (size_t i = 0; i < b.size(); ++i) b[i] = i < 256 ? uint8_t(i) : uint8_t(rng() % 3 ? rng() % 16 + 0x30 : rng());
    header[name] = {{"dtype", dtype}, {"shape", {rows, cols}}, {"data_offsets", {data.size(), data.size() + b.size()}}};
    data.insert(data.end(), b.begin(), b.end());
  };
  add("a_e4m3", "F8_E4M3", 100, 64);
  add("b_e5m2", "F8_E5M2", 64, 100);
  add("c_int8", "I8", 50, 50);
  add("d_bytes", "U8", 10, 10);
  const std::string text = header.dump();
  Bytes file(8);
  for (int i = 0; i < 8; ++i) file[size_t(i)] = uint8_t(uint64_t(text.size()) >> (8 * i));
  file.insert(file.end(), text.begin(), text.end());
  file.insert(file.end(), data.begin(), data.end());
  const fs::path src = dir / "fp8.safetensors", wsz = dir / "fp8.wsz", back = dir / "back.safetensors";
  std::ofstream(src, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));

  ASSERT_EQ(tool("compress " + q(src) + " -o " + q(wsz) + " --chunk 1000", dir).code, 0);
  ASSERT_EQ(tool("decompress " + q(wsz) + " -o " + q(back), dir).code, 0);
  EXPECT_EQ(read_file(back), file);
  const ToolRun i = tool("inspect --json " + q(wsz), dir);
  ASSERT_EQ(i.code, 0) << i.err;
  const json j = json::parse(i.out);
  ASSERT_EQ(j.at("tensors").size(), 3u);
  const char* want[] = {"e4m3", "e5m2", "int8"};
  for (size_t k = 0; k < 3; ++k) {
    const json& t = j.at("tensors")[k];
    EXPECT_EQ(t.at("format"), want[k]);
    // The bound is n H0 + the raw bits each symbol takes: below the achieved size, and below 8 bits.
    EXPECT_LE(t.at("bound_bits").get<double>(), 8.0 * t.at("compressed_bytes").get<double>());
    EXPECT_LT(t.at("bound_bits_per_weight").get<double>(), 8.0);
  }
  EXPECT_EQ(j.at("literal").at("bytes").get<uint64_t>(), 8 + text.size() + 100);
}

}  // namespace
