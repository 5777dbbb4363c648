// llama2.c .bin reader: the real stories260K model against the layout its README documents, a
// separate-classifier file, and bad headers and sizes.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "files/llama2c.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kStories = std::string(WS_DATA_DIR) + "/stories260K.bin";

fs::path test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::path(WS_TOOL).parent_path().parent_path() / "test-tmp" /
                     (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> header(std::vector<int32_t> fields) {
  std::vector<uint8_t> h(28);
  for (size_t i = 0; i < 7; ++i)
    for (int b = 0; b < 4; ++b) h[4 * i + size_t(b)] = uint8_t(uint32_t(fields[i]) >> (8 * b));
  return h;
}

std::string error_of(const std::vector<int32_t>& fields, uint64_t size) {
  try {
    ws::parse_llama2c(header(fields).data(), size);
  } catch (const ws::FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(Llama2c, Stories260KLayoutFromReadme) {
  const ws::Llama2cFile f = ws::read_llama2c(kStories);
  const ws::Llama2cConfig& c = f.config;
  // README: dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512, seq_len=512.
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(c.head_size(), 8);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_EQ(f.file_size, 1056540u);

  // The README's order and shapes, written out here by hand.
  struct Want {
    const char* name;
    std::vector<uint64_t> shape;
  };
  const Want want[] = {{"token_embedding_table", {512, 64}}, {"rms_att_weight", {5, 64}}, {"wq", {5, 64, 64}},
                       {"wk", {5, 32, 64}},  {"wv", {5, 32, 64}},        {"wo", {5, 64, 64}},
                       {"rms_ffn_weight", {5, 64}},  {"w1", {5, 172, 64}}, {"w2", {5, 64, 172}},
                       {"w3", {5, 172, 64}}, {"rms_final_weight", {64}},  {"freq_cis_real", {512, 4}},
                       {"freq_cis_imag", {512, 4}}};
  ASSERT_EQ(f.arrays.size(), 13u);
  uint64_t offset = 28, floats = 0;
  for (size_t i = 0; i < 13; ++i) {
    EXPECT_EQ(f.arrays[i].name, want[i].name);
    EXPECT_EQ(f.arrays[i].shape, want[i].shape) << want[i].name;
    EXPECT_EQ(f.arrays[i].offset, offset) << want[i].name;
    uint64_t n = 1;
    for (uint64_t d : want[i].shape) n *= d;
    EXPECT_EQ(f.arrays[i].value_count, n);
    offset += 4 * n;
    floats += n;
  }
  EXPECT_EQ(floats, 264128u);  // README: 264,128 floats in all
  EXPECT_EQ(f.find("wcls"), nullptr);
  EXPECT_EQ(&f.at("wq"), &f.arrays[2]);
  EXPECT_THROW(f.at("nope"), std::out_of_range);
}

TEST(Llama2c, LoadGivesTheFloatsAtTheirOffsets) {
  const ws::Llama2cModel m = ws::load_llama2c(kStories);
  ASSERT_EQ(m.values.size(), 264128u);
  std::ifstream in(kStories, std::ios::binary);
  // wq starts after token_embedding_table (512*64) and rms_att_weight (5*64); w2 layer 3 row 7 col 100.
  const uint64_t wq = 28 + 4 * (512 * 64 + 5 * 64);
  const uint64_t w2 = 28 + 4 * (512 * 64 + 5 * 64 + 2 * 5 * 64 * 64 + 2 * 5 * 32 * 64 + 5 * 64 + 5 * 172 * 64);
  auto float_at = [&](uint64_t off) {
    float f;
    in.seekg(std::streamoff(off));
    in.read(reinterpret_cast<char*>(&f), 4);
    return f;
  };
  EXPECT_EQ(m.data("wq")[0], float_at(wq));
  EXPECT_EQ(m.data("wq")[4097], float_at(wq + 4 * 4097));
  EXPECT_EQ(m.data("w2")[3 * 64 * 172 + 7 * 172 + 100], float_at(w2 + 4 * (3 * 64 * 172 + 7 * 172 + 100)));
  EXPECT_EQ(m.data("freq_cis_imag")[2047], float_at(1056540 - 4));
  // rms weights of a trained model are positive scales; a misplaced offset would not look like that.
  for (int i = 0; i < 64; ++i) EXPECT_GT(m.data("rms_final_weight")[i], 0.0f) << i;
}

TEST(Llama2c, SeparateClassifier) {
  // Negative vocab_size: a wcls [vocab][dim] array follows the freq_cis arrays.
  const std::vector<int32_t> fields = {8, 16, 1, 2, 1, -10, 4};
  const ws::Llama2cFile lay = ws::llama2c_layout(ws::parse_llama2c_config(header(fields).data()));
  ASSERT_EQ(lay.arrays.back().name, "wcls");
  EXPECT_EQ(lay.arrays.back().shape, (std::vector<uint64_t>{10, 8}));
  EXPECT_FALSE(lay.config.shared_classifier);
  EXPECT_EQ(lay.config.vocab_size, 10);
  // 80 + 8 + 64 + 32 + 32 + 64 + 8 + 128 + 128 + 128 + 8 + 8 + 8 + 80 floats.
  const uint64_t floats = 80 + 8 + 64 + 32 + 32 + 64 + 8 + 128 + 128 + 128 + 8 + 8 + 8 + 80;
  EXPECT_EQ(lay.file_size, 28 + 4 * floats);

  const fs::path p = test_dir() / "tiny.bin";
  {
    std::ofstream o(p, std::ios::binary);
    const std::vector<uint8_t> h = header(fields);
    o.write(reinterpret_cast<const char*>(h.data()), 28);
    for (uint64_t i = 0; i < floats; ++i) {
      const float v = float(i);
      o.write(reinterpret_cast<const char*>(&v), 4);
    }
  }
  const ws::Llama2cModel m = ws::load_llama2c(p.string());
  EXPECT_EQ(m.data("wcls")[0], float(floats - 80));
  EXPECT_EQ(m.data("wcls")[79], float(floats - 1));
  const auto md = ws::llama2c_metadata(m.file.config);
  EXPECT_EQ(md.at("vocab_size"), "10");
  EXPECT_EQ(md.at("shared_classifier"), "false");
  EXPECT_EQ(md.at("dim"), "8");
}

TEST(Llama2c, BadHeadersAndSizes) {
  const std::vector<int32_t> good = {64, 172, 5, 8, 4, 512, 512};
  EXPECT_EQ(error_of(good, 1056540), "");
  EXPECT_NE(error_of(good, 1056536).find("header implies 1056540"), std::string::npos);
  EXPECT_NE(error_of(good, 1056544).find("header implies 1056540"), std::string::npos);
  EXPECT_NE(error_of(good, 20).find("shorter than its 28-byte header"), std::string::npos);
  EXPECT_NE(error_of({0, 172, 5, 8, 4, 512, 512}, 100).find("dim = 0 is not positive"), std::string::npos);
  EXPECT_NE(error_of({64, -1, 5, 8, 4, 512, 512}, 100).find("hidden_dim"), std::string::npos);
  EXPECT_NE(error_of({64, 172, 5, 7, 1, 512, 512}, 100).find("does not divide dim"), std::string::npos);
  EXPECT_NE(error_of({64, 172, 5, 8, 3, 512, 512}, 100).find("does not divide n_heads"), std::string::npos);
  EXPECT_NE(error_of({64, 172, 5, 8, 16, 512, 512}, 100).find("n_kv_heads"), std::string::npos);
  EXPECT_NE(error_of({64, 172, 5, 8, 4, 0, 512}, 100).find("vocab_size"), std::string::npos);
  EXPECT_NE(error_of({64, 172, 5, 8, 4, INT32_MIN, 512}, 100).find("vocab_size"), std::string::npos);
  EXPECT_NE(error_of({6, 172, 5, 2, 1, 512, 512}, 100).find("head size 3 is odd"), std::string::npos);
  // Sizes whose product overflows 64 bits are refused, not wrapped.
  EXPECT_NE(error_of({1 << 30, INT32_MAX, INT32_MAX, 2, 1, INT32_MAX, INT32_MAX}, 100).find("overflow"),
            std::string::npos);
  EXPECT_THROW(ws::read_llama2c("/nonexistent/stories.bin"), ws::FormatError);
  EXPECT_THROW(ws::read_llama2c(WS_DATA_DIR), ws::FormatError);  // a directory
}

}  // namespace
