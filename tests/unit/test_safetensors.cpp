// safetensors: the writer's header read back, the real MiniLM file, and hostile headers rejected with
// a message that names the problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "files/safetensors.hpp"
#include "test_env.hpp"

namespace {

// A safetensors file: 8-byte length, the JSON text as given, then `data_bytes` zero bytes.
std::vector<uint8_t> file_with(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> f(8 + json.size() + data_bytes, 0);
  for (int i = 0; i < 8; ++i) f[size_t(i)] = uint8_t(uint64_t(json.size()) >> (8 * i));
  std::memcpy(f.data() + 8, json.data(), json.size());
  return f;
}

ws::SafetensorsFile parse(const std::vector<uint8_t>& f) {
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t(f[size_t(i)]) << (8 * i);
  return ws::parse_safetensors_header(f.data() + 8, size_t(len), f.size());
}

// The message of the ws::FormatError that parsing json (with data_bytes of data) throws, or "".
std::string error_of(const std::string& json, size_t data_bytes) {
  try {
    parse(file_with(json, data_bytes));
  } catch (const ws::FormatError& e) {
    return e.what();
  }
  return "";
}

namespace fs = std::filesystem;

// A fresh directory under the build tree for this test's files.
fs::path test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::path(WS_BUILD_DIR) / "test-tmp" / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(Safetensors, DtypeTable) {
  EXPECT_EQ(ws::safetensors_dtype_size("F32"), 4u);
  EXPECT_EQ(ws::safetensors_dtype_size("BF16"), 2u);
  EXPECT_EQ(ws::safetensors_dtype_size("F16"), 2u);
  EXPECT_EQ(ws::safetensors_dtype_size("I64"), 8u);
  EXPECT_EQ(ws::safetensors_dtype_size("BOOL"), 1u);
  EXPECT_EQ(ws::safetensors_dtype_size("Q4"), 0u);
  EXPECT_EQ(ws::safetensors_coded_dtype("BF16"), ws::DType::BF16);
  EXPECT_EQ(ws::safetensors_coded_dtype("F16"), ws::DType::F16);
  EXPECT_EQ(ws::safetensors_coded_dtype("F32"), ws::DType::F32);
  EXPECT_EQ(ws::safetensors_coded_dtype("I64"), ws::DType::Raw);
  EXPECT_EQ(ws::safetensors_coded_dtype("F64"), ws::DType::Raw);
}

TEST(Safetensors, WriterHeaderReadsBack) {
  const std::vector<ws::SafetensorsEntry> entries = {
      {"b.weight", "BF16", {3, 5}}, {"a.bias", "F32", {7}}, {"empty", "F16", {0, 4}}, {"ids", "I64", {2}}};
  std::vector<uint8_t> f = ws::make_safetensors_header({{"format", "pt"}, {"note", "x\ny"}}, entries);
  ASSERT_EQ(f.size() % 8, 0u) << "data must start 8-byte aligned";
  const size_t data = 30 + 28 + 0 + 16;
  f.resize(f.size() + data);
  const ws::SafetensorsFile st = parse(f);
  EXPECT_EQ(st.data_offset, f.size() - data);
  EXPECT_EQ(st.metadata.at("format"), "pt");
  EXPECT_EQ(st.metadata.at("note"), "x\ny");
  ASSERT_EQ(st.tensors.size(), 4u);
  // Sorted by offset, the empty tensor sits between a.bias and ids; the order written is kept.
  const char* order[] = {"b.weight", "a.bias", "empty", "ids"};
  uint64_t at = st.data_offset;
  for (size_t i = 0; i < 4; ++i) {
    const ws::SafetensorsTensor& t = st.tensors[i];
    EXPECT_EQ(t.name, order[i]);
    EXPECT_EQ(t.offset, at) << t.name;
    at += t.size;
  }
  EXPECT_EQ(at, f.size());
  const ws::SafetensorsTensor* b = st.find("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, "BF16");
  EXPECT_EQ(b->coded, ws::DType::BF16);
  EXPECT_EQ(b->shape, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(b->value_count, 15u);
  EXPECT_EQ(b->size, 30u);
  EXPECT_EQ(st.find("empty")->value_count, 0u);
  EXPECT_EQ(st.find("ids")->coded, ws::DType::Raw);
  EXPECT_EQ(st.find("nope"), nullptr);
}

TEST(Safetensors, RealMiniLM) {
  const std::string path = wstest::minilm_path();
  ASSERT_FALSE(path.empty()) << "scripts/minilm.sh failed (run make deps)";
  const ws::SafetensorsFile st = ws::read_safetensors(path);
  EXPECT_EQ(st.metadata.at("format"), "pt");
  ASSERT_EQ(st.tensors.size(), 104u);
  // The tensors tile the data region exactly, in offset order.
  uint64_t at = st.data_offset, f32 = 0, values = 0;
  for (const auto& t : st.tensors) {
    EXPECT_EQ(t.offset, at) << t.name;
    at += t.size;
    f32 += t.coded == ws::DType::F32;
    values += t.value_count;
  }
  EXPECT_EQ(at, st.file_size);
  EXPECT_EQ(f32, 103u);
  const ws::SafetensorsTensor* ids = st.find("embeddings.position_ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, "I64");
  EXPECT_EQ(ids->shape, (std::vector<uint64_t>{1, 512}));
  const ws::SafetensorsTensor* emb = st.find("embeddings.word_embeddings.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->shape, (std::vector<uint64_t>{30522, 384}));
  std::printf("MiniLM: %zu tensors, %llu values, header %llu bytes\n", st.tensors.size(),
              (unsigned long long)values, (unsigned long long)st.header_size);
}

TEST(Safetensors, GapsAndEmptyTensorsAreAccepted) {
  // A gap between tensors and after the last one: accepted (the container keeps them as literal bytes).
  const auto st = parse(file_with(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"e":{"dtype":"BF16","shape":[0],"data_offsets":[12,12]}})",
      20));
  ASSERT_EQ(st.tensors.size(), 2u);
  EXPECT_EQ(st.tensors[0].name, "a");
  EXPECT_EQ(st.tensors[1].size, 0u);
  // An empty file body and no tensors at all.
  EXPECT_EQ(parse(file_with("{}", 0)).tensors.size(), 0u);
}

// A dtype the tool does not know is no error: the tensor is opaque, sized by its data_offsets (the
// shape is kept, not checked against a width), and its offsets, shape and name follow every other rule.
TEST(Safetensors, UnknownDtypesAreOpaque) {
  const auto st = parse(file_with(
      R"({"e":{"dtype":"F8_E8M0","shape":[4],"data_offsets":[0,4]},"f":{"dtype":"F4","shape":[2,5],"data_offsets":[4,9]},)"
      R"("c":{"dtype":"C64","shape":[],"data_offsets":[9,17]},"k":{"dtype":"BF16","shape":[2],"data_offsets":[17,21]}})",
      21));
  ASSERT_EQ(st.tensors.size(), 4u);
  const std::string names[] = {"e", "f", "c", "k"}, dtypes[] = {"F8_E8M0", "F4", "C64", "BF16"};
  const uint64_t sizes[] = {4, 5, 8, 4};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(st.tensors[i].name, names[i]);
    EXPECT_EQ(st.tensors[i].dtype, dtypes[i]);
    EXPECT_EQ(st.tensors[i].size, sizes[i]) << names[i];
    EXPECT_EQ(st.tensors[i].opaque, i < 3) << names[i];
  }
  EXPECT_EQ(st.tensors[1].shape, (std::vector<uint64_t>{2, 5}));
  EXPECT_EQ(st.tensors[1].value_count, 10u);
  EXPECT_EQ(st.tensors[1].coded, ws::DType::Raw);
  EXPECT_NE(error_of(R"({"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}})", 4).find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"t":{"dtype":"Q4","shape":[-1],"data_offsets":[0,4]}})", 4).find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F4","shape":[2],"data_offsets":[4,12]}})",
                     12).find("overlap"),
            std::string::npos);
  // The writer sizes an opaque dtype by what it is given.
  const std::vector<uint8_t> h = ws::make_safetensors_header({}, {{"x", "F4", {3}, 2}, {"y", "F32", {1}}});
  std::vector<uint8_t> f = h;
  f.resize(h.size() + 6, 0);
  const auto back = parse(f);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_TRUE(back.tensors[0].opaque);
  EXPECT_EQ(back.tensors[0].size, 2u);
  EXPECT_EQ(back.tensors[1].offset, back.data_offset + 2);
}

TEST(Safetensors, HostileHeaders) {
  const std::string ok_entry = R"("dtype":"F32","shape":[2,2],"data_offsets":[0,16])";
  EXPECT_EQ(error_of("{\"t\":{" + ok_entry + "}}", 16), "");

  struct Case {
    std::string json;
    size_t data;
    const char* expect;
  };
  const Case cases[] = {
      {"{\"t\":{" + ok_entry + "}", 16, "not valid JSON"},
      {"[1,2]", 0, "not a JSON object"},
      {R"({"t":5})", 0, "not an object"},
      {R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4, "missing \"dtype\""},
      {R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4, "missing \"shape\""},
      {R"({"t":{"dtype":"F32","shape":[1]}})", 4, "missing \"data_offsets\""},
      {R"({"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4, "dtype is not a string"},
      {R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "not a non-negative integer"},
      {R"({"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, "not a non-negative integer"},
      {R"({"t":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", 4, "shape is not an array"},
      {R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "need 12 bytes but data_offsets span 8"},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, "out of range"},
      {R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8, "end before begin"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, "not [begin, end]"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})", 4, "out of range"},
      {R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4, "absurd shape"},
      {R"({"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}})", 4, "absurd shape"},
      {R"({"t":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}})", 4, "not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "'a' and 'b' overlap"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       8, "names 'a' twice"},
      {R"({"__metadata__":{"k":1}})", 0, "is not a string"},
      {R"({"__metadata__":[]})", 0, "__metadata__ is not an object"},
      {R"({"t":{"dtype":"F32","shape":[[[[[[[[[[1]]]]]]]]]],"data_offsets":[0,4]}})", 4, "nests too deeply"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    const std::string e = error_of(cases[i].json, cases[i].data);
    EXPECT_NE(e.find(cases[i].expect), std::string::npos) << "case " << i << ": " << cases[i].json << "\n  got: '" << e << "'";
    EXPECT_EQ(e.find('\n'), std::string::npos) << "error must be one line: " << e;
  }

  // More than 255 dimensions (the container stores the rank in a byte).
  std::string dims = "1";
  for (int i = 0; i < 255; ++i) dims += ",1";
  EXPECT_NE(error_of(R"({"t":{"dtype":"F32","shape":[)" + dims + R"(],"data_offsets":[0,4]}})", 4).find("255 dimensions"),
            std::string::npos);
  // A name the container cannot store.
  EXPECT_NE(error_of("{\"" + std::string(70000, 'n') + "\":{" + ok_entry + "}}", 16).find("longer than 65535"),
            std::string::npos);
}

TEST(Safetensors, HeaderLength) {
  // Length beyond the file, and above the 100 MB limit, both refused before anything is allocated.
  std::vector<uint8_t> f = file_with("{}", 0);
  f[0] = 100;  // claims 100 bytes of JSON in a 10-byte file
  EXPECT_THROW(parse(f), ws::FormatError);
  try {
    ws::parse_safetensors_header(nullptr, size_t(200'000'000), 300'000'000);
    ADD_FAILURE() << "no error";
  } catch (const ws::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("100 MB"), std::string::npos) << e.what();
  }
  // looks_like_safetensors: a plausible length and a '{'.
  const std::vector<uint8_t> good = file_with("{}", 4);
  EXPECT_TRUE(ws::looks_like_safetensors(good.data(), 9, good.size()));
  std::vector<uint8_t> bad = good;
  bad[8] = '[';
  EXPECT_FALSE(ws::looks_like_safetensors(bad.data(), 9, bad.size()));
  bad = good;
  bad[7] = 1;  // an absurd length
  EXPECT_FALSE(ws::looks_like_safetensors(bad.data(), 9, bad.size()));
  EXPECT_FALSE(ws::looks_like_safetensors(good.data(), 8, good.size()));
}

TEST(Safetensors, ReadFileErrors) {
  EXPECT_THROW(ws::read_safetensors("/nonexistent/dir/x.safetensors"), ws::FormatError);
  const std::string p = (test_dir() / "short.safetensors").string();
  {
    std::ofstream o(p, std::ios::binary);
    o << "abc";
  }
  EXPECT_THROW(ws::read_safetensors(p), ws::FormatError);
}

}  // namespace
