// The GGUF reader (files/gguf.hpp): every metadata type, tensor infos and alignment on files written by
// the tests' own writer (tests/common/gguf_builder.hpp); dequantization against values worked out by
// hand; every malformation a one-line ws::FormatError naming what is wrong; every truncation and random
// corruption an error, never a crash; and the real SmolLM2 file's metadata and tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/bf16.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/gguf.hpp"
#include "files/model_file.hpp"
#include "files/plan_source.hpp"
#include "gguf_builder.hpp"
#include "test_env.hpp"

namespace {

using wstest::error_of;
using wstest::GgufBuilder;
using Bytes = std::vector<uint8_t>;
using namespace wstest;

ws::GgufFile parse(const Bytes& b) { return ws::parse_gguf(ws::MemorySource(b.data(), b.size())); }
std::string parse_error(const Bytes& b) { return error_of([&] { parse(b); }); }

// One block of each coded type, with values chosen so the expected floats are exact.
// Q8_0: d = 0.5 (fp16 0x3800), codes -16..15.
Bytes q8_block() {
  Bytes b = GgufBuilder::scalar(0x3800, 2);
  for (int j = 0; j < 32; ++j) b.push_back(uint8_t(int8_t(j - 16)));
  return b;
}
// Q4_0: d = 0.25 (0x3400); value j's code is j % 16.
Bytes q4_0_block() {
  Bytes b = GgufBuilder::scalar(0x3400, 2);
  for (int j = 0; j < 16; ++j) b.push_back(uint8_t(j | (15 - j) << 4));  // value j: j, value j+16: 15-j
  return b;
}
// Q4_1: d = 0.5, m = -2 (0xc000).
Bytes q4_1_block() {
  Bytes b = GgufBuilder::scalar(0x3800, 2);
  GgufBuilder::put(b, 0xc000, 2);
  for (int j = 0; j < 16; ++j) b.push_back(uint8_t(j | (15 - j) << 4));
  return b;
}

// A small valid file: metadata of several types and one tensor of each type the reader decodes.
GgufBuilder small_file() {
  GgufBuilder g;
  g.kv("general.architecture", kString, GgufBuilder::string("llama"));
  g.kv("llama.block_count", kU32, GgufBuilder::scalar(2, 4));
  g.kv("tokenizer.ggml.tokens", kArray, GgufBuilder::array(kString, 2, []{
    Bytes e = GgufBuilder::string("a");
    const Bytes b = GgufBuilder::string("bc");
    e.insert(e.end(), b.begin(), b.end());
    return e; }()));
  Bytes f32;
  for (float v : {1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 7.0f}) GgufBuilder::put(f32, ws::fp32_bits(v), 4);
  g.tensor("norm", {3, 2}, kTF32, f32);
  g.tensor("emb", {32}, kTQ8_0, q8_block());
  g.tensor("q40", {32}, kTQ4_0, q4_0_block());
  g.tensor("q41", {32, 1}, kTQ4_1, q4_1_block());
  g.tensor("h", {2}, kTF16, Bytes{0x00, 0x3c, 0x01, 0x00});  // 1.0, 2^-24 (subnormal)
  g.tensor("b", {1}, kTBF16, Bytes{0x80, 0x3f});             // 1.0
  return g;
}

std::vector<float> dequantized(const Bytes& file, const std::string& name) {
  const ws::MemorySource src(file.data(), file.size());
  const ws::GgufFile f = ws::parse_gguf(src);
  return ws::gguf_read_fp32(src, *f.find_tensor(name));
}

TEST(Gguf, EveryMetadataTypeInVersions2And3) {
  for (uint32_t version : {2u, 3u}) {
    GgufBuilder g;
    g.version = version;
    g.kv("u8", kU8, GgufBuilder::scalar(200, 1));
    g.kv("i8", kI8, GgufBuilder::scalar(uint8_t(-5), 1));
    g.kv("u16", kU16, GgufBuilder::scalar(60000, 2));
    g.kv("i16", kI16, GgufBuilder::scalar(uint16_t(-300), 2));
    g.kv("u32", kU32, GgufBuilder::scalar(4000000000u, 4));
    g.kv("i32", kI32, GgufBuilder::scalar(uint32_t(-70000), 4));
    g.kv("f32", kF32, GgufBuilder::scalar(ws::fp32_bits(1e-5f), 4));
    g.kv("bool", kBool, GgufBuilder::scalar(1, 1));
    g.kv("str", kString, GgufBuilder::string("h\xc3\xa9llo"));
    g.kv("u64", kU64, GgufBuilder::scalar(uint64_t(1) << 40, 8));
    g.kv("i64", kI64, GgufBuilder::scalar(uint64_t(-(int64_t(1) << 40)), 8));
    double d = 100000.5;
    uint64_t dbits;
    std::memcpy(&dbits, &d, 8);
    g.kv("f64", kF64, GgufBuilder::scalar(dbits, 8));
    g.kv("empty", kArray, GgufBuilder::array(kI32, 0, {}));
    Bytes ints;
    for (int32_t v : {-1, 0, 7}) GgufBuilder::put(ints, uint32_t(v), 4);
    g.kv("ints", kArray, GgufBuilder::array(kI32, 3, ints));
    Bytes floats;
    for (float v : {0.5f, -2.0f}) GgufBuilder::put(floats, ws::fp32_bits(v), 4);
    g.kv("floats", kArray, GgufBuilder::array(kF32, 2, floats));
    // [[1, 2], [3]] as arrays of arrays of i16.
    Bytes inner = GgufBuilder::array(kI16, 2, {1, 0, 2, 0});
    const Bytes inner2 = GgufBuilder::array(kI16, 1, {3, 0});
    inner.insert(inner.end(), inner2.begin(), inner2.end());
    g.kv("nested", kArray, GgufBuilder::array(kArray, 2, inner));
    const ws::GgufFile f = parse(g.bytes());

    EXPECT_EQ(f.version, version);
    EXPECT_EQ(f.metadata.size(), 16u);
    EXPECT_EQ(f.metadata[0].first, "u8");  // file order kept
    EXPECT_EQ(f.get_uint("u8"), 200u);
    EXPECT_EQ(f.get_int("i8"), -5);
    EXPECT_EQ(f.get_uint("u16"), 60000u);
    EXPECT_EQ(f.get_int("i16"), -300);
    EXPECT_EQ(f.get_uint("u32"), 4000000000u);
    EXPECT_EQ(f.get_int("i32"), -70000);
    EXPECT_EQ(f.get_float("f32"), double(1e-5f));
    EXPECT_TRUE(f.get_bool("bool"));
    EXPECT_EQ(f.get_string("str"), "h\xc3\xa9llo");
    EXPECT_EQ(f.get_uint("u64"), uint64_t(1) << 40);
    EXPECT_EQ(f.get_int("i64"), -(int64_t(1) << 40));
    EXPECT_EQ(f.get_float("f64"), 100000.5);
    EXPECT_TRUE(f.get_ints("empty").empty());
    EXPECT_EQ(f.get_ints("ints"), (std::vector<int64_t>{-1, 0, 7}));
    const ws::GgufValue& n = f.at("nested");
    ASSERT_EQ(n.size(), 2u);
    EXPECT_EQ(n.element, ws::GgufValueType::Array);
    EXPECT_EQ(n.item(0).as_ints(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(n.item(1).as_ints(), (std::vector<int64_t>{3}));
    EXPECT_EQ(f.at("ints").item(0).type, ws::GgufValueType::I32);
    EXPECT_EQ(f.get_floats("floats"), (std::vector<double>{double(0.5f), -2.0}));
    EXPECT_TRUE(f.tensors.empty());

    // Wrong types and missing keys name the key and what it is.
    EXPECT_EQ(error_of([&] { f.get_uint("str"); }), "GGUF metadata 'str' is string, not an integer");
    EXPECT_EQ(error_of([&] { f.get_uint("i8"); }), "GGUF metadata 'i8' is -5, not a non-negative integer");
    EXPECT_EQ(error_of([&] { f.get_string("ints"); }), "GGUF metadata 'ints' is array of i32, not a string");
    EXPECT_EQ(error_of([&] { f.get_strings("ints"); }), "GGUF metadata 'ints' is array of i32, not an array of string");
    EXPECT_EQ(error_of([&] { f.get_float("u8"); }), "GGUF metadata 'u8' is u8, not a float");
    EXPECT_EQ(error_of([&] { f.get_floats("ints"); }), "GGUF metadata 'ints' is array of i32, not an array of floats");
    EXPECT_EQ(error_of([&] { f.get_bool("missing"); }), "GGUF metadata 'missing' is missing");
  }
}

TEST(Gguf, TensorInfosOffsetsAndAlignment) {
  for (uint64_t alignment : {32u, 64u}) {
    GgufBuilder g = small_file();
    g.alignment = alignment;
    if (alignment != 32) g.kv("general.alignment", kU32, GgufBuilder::scalar(alignment, 4));
    const Bytes file = g.bytes();
    const ws::GgufFile f = parse(file);
    EXPECT_EQ(f.alignment, alignment);
    EXPECT_EQ(f.data_offset % alignment, 0u);
    ASSERT_EQ(f.tensors.size(), 6u);
    const ws::GgufTensor& norm = f.tensors[0];
    EXPECT_EQ(norm.name, "norm");
    EXPECT_EQ(norm.ne, (std::vector<uint64_t>{3, 2}));
    EXPECT_EQ(norm.shape(), (std::vector<uint64_t>{2, 3}));  // row-major: 2 rows of 3
    EXPECT_EQ(norm.offset, f.data_offset);
    EXPECT_EQ(norm.size, 24u);
    const ws::GgufTensor& q41 = *f.find_tensor("q41");
    EXPECT_EQ(q41.type, ws::GgmlType::Q4_1);
    EXPECT_EQ(q41.size, 20u);
    EXPECT_EQ(q41.value_count, 32u);
    EXPECT_EQ((q41.offset - f.data_offset) % alignment, 0u);
    EXPECT_EQ(f.find_tensor("emb")->size, 34u);
    EXPECT_EQ(f.find_tensor("q40")->size, 18u);
    EXPECT_EQ(f.find_tensor("nothing"), nullptr);
    // The bytes the reader points at are the ones written.
    EXPECT_EQ(std::memcmp(file.data() + q41.offset, q4_1_block().data(), 20), 0);
  }
}

TEST(Gguf, DequantizesAsLlamaCpp) {
  const Bytes file = small_file().bytes();
  EXPECT_EQ(dequantized(file, "norm"), (std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 7.0f}));
  EXPECT_TRUE(std::signbit(dequantized(file, "norm")[4]));
  std::vector<float> q8, q40, q41;
  for (int j = 0; j < 32; ++j) {
    q8.push_back(float(j - 16) * 0.5f);
    const int code = j < 16 ? j : 15 - (j - 16);
    q40.push_back(float(code - 8) * 0.25f);
    q41.push_back(float(code) * 0.5f - 2.0f);
  }
  EXPECT_EQ(dequantized(file, "emb"), q8);
  EXPECT_EQ(dequantized(file, "q40"), q40);
  EXPECT_EQ(dequantized(file, "q41"), q41);
  EXPECT_EQ(dequantized(file, "h"), (std::vector<float>{1.0f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(dequantized(file, "b"), (std::vector<float>{1.0f}));

  // A type the reader knows but cannot dequantize: parsed, but reading its values names the tensor.
  GgufBuilder g;
  g.tensor("k", {32}, kTQ5_0, Bytes(22, 0));
  const Bytes q5 = g.bytes();
  EXPECT_EQ(parse(q5).tensors[0].size, 22u);
  EXPECT_EQ(error_of([&] { dequantized(q5, "k"); }),
            "GGUF tensor 'k' is Q5_0, which cannot be dequantized (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 can)");
}

// A file with the header of small_file() changed by `edit` (a function of the builder).
Bytes with(const std::function<void(GgufBuilder&)>& edit) {
  GgufBuilder g = small_file();
  edit(g);
  return g.bytes();
}

TEST(Gguf, MalformedFilesAreOneLineErrors) {
  const Bytes good = small_file().bytes();
  auto patched = [&](size_t at, uint64_t v, int bytes) {
    Bytes b = good;
    for (int i = 0; i < bytes; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
    return b;
  };
  EXPECT_EQ(parse_error(patched(0, 'X', 1)), "bad magic (not a GGUF file)");
  EXPECT_EQ(parse_error(patched(4, 1, 4)), "GGUF version 1 is not supported (versions 2 and 3 are)");
  EXPECT_EQ(parse_error(patched(4, 0x03000000, 4)), "big-endian GGUF is not supported");
  EXPECT_EQ(parse_error(patched(4, 4, 4)), "unsupported GGUF version 4");
  EXPECT_EQ(parse_error(Bytes(good.begin(), good.begin() + 10)), "GGUF tensor count: file truncated");
  EXPECT_EQ(parse_error(patched(8, uint64_t(1) << 40, 8)).rfind("GGUF claims 1099511627776 tensors, more than", 0), 0u);
  EXPECT_EQ(parse_error(patched(16, uint64_t(1) << 40, 8)).rfind("GGUF claims 1099511627776 metadata entries", 0), 0u);

  auto kv_error = [](uint32_t type, const Bytes& value) {
    GgufBuilder g;
    g.kv("k", type, value);
    return parse_error(g.bytes());
  };
  EXPECT_EQ(kv_error(13, {}), "GGUF metadata 'k': unknown value type 13");
  EXPECT_EQ(kv_error(kString, GgufBuilder::scalar(1000, 8)), "GGUF metadata 'k': file truncated (in a string of 1000 bytes)");
  EXPECT_EQ(kv_error(kArray, GgufBuilder::array(kU32, uint64_t(1) << 60, {})),
            "GGUF metadata 'k': array of 1152921504606846976 u32 elements does not fit in the 15 bytes left");
  EXPECT_EQ(kv_error(kArray, GgufBuilder::array(14, 0, {})), "GGUF metadata 'k': unknown value type 14");
  Bytes deep = GgufBuilder::array(kU8, 0, {});
  for (int i = 0; i < 16; ++i) deep = GgufBuilder::array(kArray, 1, deep);
  EXPECT_EQ(kv_error(kArray, deep), "GGUF metadata 'k': arrays nested more than 16 deep");
  GgufBuilder cut;
  cut.kv("k", kU32, GgufBuilder::scalar(7, 4));
  const Bytes cut_file = cut.bytes();
  EXPECT_EQ(parse_error(Bytes(cut_file.begin(), cut_file.begin() + 24 + 9 + 4 + 2)), "GGUF metadata 'k': file truncated");

  EXPECT_EQ(parse_error(with([](GgufBuilder& g) { g.kv("llama.block_count", kU32, GgufBuilder::scalar(3, 4)); })),
            "GGUF metadata 'llama.block_count' is given twice");
  EXPECT_EQ(parse_error(with([](GgufBuilder& g) { g.kv("general.alignment", kU32, GgufBuilder::scalar(48, 4)); })),
            "GGUF metadata 'general.alignment' must be a u32 power of two, not u32 48");
  EXPECT_EQ(parse_error(with([](GgufBuilder& g) { g.kv("general.alignment", kU32, GgufBuilder::scalar(0, 4)); })),
            "GGUF metadata 'general.alignment' must be a u32 power of two, not u32 0");
  EXPECT_EQ(parse_error(with([](GgufBuilder& g) { g.kv("general.alignment", kU64, GgufBuilder::scalar(32, 8)); })),
            "GGUF metadata 'general.alignment' must be a u32 power of two, not u64");

  auto tensor_error = [](const std::vector<uint64_t>& ne, uint32_t type, const Bytes& data, int64_t offset = -1) {
    GgufBuilder g;
    g.tensor("w", ne, type, data, offset);
    return parse_error(g.bytes());
  };
  EXPECT_EQ(tensor_error({1, 1, 1, 1, 1}, kTF32, Bytes(4)), "GGUF tensor 'w': 5 dimensions, GGUF allows at most 4");
  EXPECT_EQ(tensor_error({32}, 4, Bytes(32)), "GGUF tensor 'w': unknown tensor type 4");
  EXPECT_EQ(tensor_error({32}, 99, Bytes(32)), "GGUF tensor 'w': unknown tensor type 99");
  EXPECT_EQ(tensor_error({33}, kTQ4_1, Bytes(20)), "GGUF tensor 'w': rows of 33 values are not whole Q4_1 blocks of 32");
  EXPECT_EQ(tensor_error({uint64_t(1) << 63}, kTF32, {}), "GGUF tensor 'w': dimension 9223372036854775808 out of range");
  EXPECT_EQ(tensor_error({uint64_t(1) << 40, uint64_t(1) << 40}, kTF32, {}), "GGUF tensor 'w': absurd shape");
  EXPECT_EQ(tensor_error({4}, kTF32, Bytes(16), 8), "GGUF tensor 'w': offset 8 is not a multiple of the alignment 32");
  EXPECT_EQ(tensor_error({1000}, kTF32, Bytes(16)),
            "GGUF tensor 'w': its 4000 bytes at data offset 0 run past the end of the file (16 bytes of tensor data)");

  GgufBuilder g;
  g.tensor("a", {16}, kTF32, Bytes(64));
  g.tensor("b", {8}, kTF32, Bytes(32), 32);
  EXPECT_EQ(parse_error(g.bytes()), "GGUF tensors 'a' and 'b' overlap");
  GgufBuilder twice;
  twice.tensor("a", {4}, kTF32, Bytes(16));
  twice.tensor("a", {4}, kTF32, Bytes(16));
  EXPECT_EQ(parse_error(twice.bytes()), "GGUF tensor 'a' is given twice");
}

// Any prefix of a valid file is an error (its last tensor runs past the end), and random corruption
// ends in ws::FormatError or a valid parse, never a crash or another exception.
TEST(Gguf, EveryTruncationAndCorruptionIsHandled) {
  const Bytes good = small_file().bytes();
  ASSERT_NO_THROW(parse(good));
  for (size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + long(n));
    EXPECT_NE(parse_error(cut), "") << "prefix of " << n << " bytes parsed";
  }
  std::mt19937_64 rng(wstest::seed());
  const int rounds = wstest::long_run() ? 200000 : 20000;
  for (int i = 0; i < rounds; ++i) {
    Bytes b = good;
    for (int k = 0; k < 1 + int(rng() % 4); ++k) b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
    try {
      const ws::MemorySource src(b.data(), b.size());
      const ws::GgufFile f = ws::parse_gguf(src);
      for (const ws::GgufTensor& t : f.tensors)
        if (ws::gguf_can_dequantize(t.type)) ws::gguf_read_fp32(src, t);
    } catch (const ws::FormatError&) {
    }
  }
}

TEST(Gguf, DetectedAndPlannedForCompression) {
  GgufBuilder g = small_file();
  g.tensor("q5", {32}, kTQ5_0, Bytes(22, 7));  // a type the codec does not code: literal
  g.pad_end = true;
  const Bytes file = g.bytes();
  const ws::MemorySource src(file.data(), file.size());
  EXPECT_EQ(ws::detect_model_file(src).kind, ws::SourceKind::Gguf);
  const ws::SourcePlan plan = ws::plan_source(src);
  EXPECT_EQ(plan.kind, ws::SourceKind::Gguf);
  uint64_t at = 0;
  std::vector<std::string> coded;
  for (const ws::PlannedSegment& s : plan.segments) {
    EXPECT_EQ(s.source_offset, at);
    at += s.length;
    if (!s.tensor) continue;
    coded.push_back(s.name + (s.quantized ? ":" + std::string(ws::ggml_type_name(s.quant)) : ":" + s.format.name()));
  }
  EXPECT_EQ(at, file.size());
  EXPECT_EQ(coded, (std::vector<std::string>{"norm:f32", "emb:Q8_0", "q40:Q4_0", "q41:Q4_1", "h:f16", "b:bf16"}));
  EXPECT_EQ(plan.segments[1].dims, (std::vector<uint64_t>{2, 3}));  // norm, row-major

  // A file that claims to be GGUF but is broken is an error, not opaque bytes.
  const Bytes cut(file.begin(), file.begin() + 40);
  EXPECT_NE(error_of([&] { ws::detect_model_file(ws::MemorySource(cut.data(), cut.size())); }), "");
}

// The real SmolLM2-135M-Instruct (issue 14): its architecture, tokenizer and tensors as the file states them.
TEST(Gguf, RealSmolLM2) {
  const std::string path = WS_SMOLLM2_GGUF;
  ASSERT_FALSE(path.empty()) << "SmolLM2 GGUF not found (make deps, then reconfigure)";
  const ws::GgufFile f = ws::read_gguf(path);
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_uint("llama.block_count"), 30u);
  EXPECT_EQ(f.get_uint("llama.embedding_length"), 576u);
  EXPECT_EQ(f.get_uint("llama.feed_forward_length"), 1536u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count"), 9u);
  EXPECT_EQ(f.get_uint("llama.attention.head_count_kv"), 3u);
  EXPECT_EQ(f.get_uint("llama.rope.dimension_count"), 64u);
  EXPECT_EQ(f.get_float("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(f.get_float("llama.attention.layer_norm_rms_epsilon"), double(1e-5f));
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(f.get_strings("tokenizer.ggml.tokens").size(), 49152u);
  EXPECT_EQ(f.get_ints("tokenizer.ggml.token_type").size(), 49152u);
  EXPECT_EQ(f.get_strings("tokenizer.ggml.merges").size(), 48900u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_NE(f.get_string("tokenizer.chat_template").find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(f.alignment, 32u);

  int q4_1 = 0, q8_0 = 0, f32 = 0;
  uint64_t values = 0;
  for (const ws::GgufTensor& t : f.tensors) {
    q4_1 += t.type == ws::GgmlType::Q4_1;
    q8_0 += t.type == ws::GgmlType::Q8_0;
    f32 += t.type == ws::GgmlType::F32;
    values += t.value_count;
  }
  EXPECT_EQ(f.tensors.size(), 272u);
  EXPECT_EQ(q4_1, 210);  // 7 linear layers x 30 blocks
  EXPECT_EQ(q8_0, 1);
  EXPECT_EQ(f32, 61);
  EXPECT_EQ(values, 134515008u);
  const ws::GgufTensor& emb = *f.find_tensor("token_embd.weight");
  EXPECT_EQ(emb.type, ws::GgmlType::Q8_0);
  EXPECT_EQ(emb.shape(), (std::vector<uint64_t>{49152, 576}));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->shape(), (std::vector<uint64_t>{576, 1536}));
  std::printf("SmolLM2: %zu tensors (%d Q4_1, %d Q8_0, %d F32), %llu values, %zu metadata keys\n", f.tensors.size(),
              q4_1, q8_0, f32, (unsigned long long)values, f.metadata.size());
}

}  // namespace
