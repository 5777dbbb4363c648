// Number formats in the codec and the container (docs/format.md section 4.1): chunk and container
// round trips for every built-in format on random and real data, the index's format records, old
// containers, bad format ids and symbols outside a format's alphabet, truncation and bit flips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/container_writer.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/source_kind.hpp"
#include "files/safetensors.hpp"
#include "numfmt/value_format.hpp"
#include "ops/compress.hpp"
#include "ops/convert.hpp"
#include "ops/inspect.hpp"

#include "container_io.hpp"
#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::error_of;

using wstest::Bytes;
using wstest::read_file;
using ws::append_le;
using wstest::compress_bytes;
using wstest::decompress_bytes;
using wstest::FlipCounts;
using wstest::check_bit_flip;



// The formats that take the generic (table) path, and a custom one stored as an embedded table.
const std::vector<std::string> kFormats = {"e4m3", "e5m2", "int8", "int4", "posit8", "posit16", "posit16_1", "posit10_0"};

ws::ValueFormat custom_format() {
  return ws::ValueFormat::of(ws::numfmt::Format::from_json(R"({"name": "e3m2", "kind": "float", "symbols": [
      {"symbol": 0, "class": "finite", "scale": -2, "raw_bits": 3, "implicit_one": false},
      {"symbol": 1, "class": "finite", "scale": -2, "raw_bits": 3},
      {"symbol": 6, "class": "finite", "scale": 3, "raw_bits": 3},
      {"symbol": 7, "class": "inf_nan", "raw_bits": 3},
      {"symbol": 9, "class": "finite", "scale": 10, "raw_bits": 0, "sign": "minus"}]})"));
}

std::vector<ws::ValueFormat> all_formats() {
  std::vector<ws::ValueFormat> v;
  for (const auto& n : kFormats) v.push_back(ws::ValueFormat::named(n));
  v.push_back(custom_format());
  return v;
}

// n random valid stored patterns of f, little-endian value_bytes each, skewed toward small symbols as
// weights are (half of them uniform over all patterns).
Bytes random_patterns(const ws::ValueFormat& f, size_t n, std::mt19937& rng) {
  std::vector<uint32_t> valid;
  for (uint32_t p = 0; p < (1u << f.format().pattern_bits()); ++p)
    if (f.split_code(p) != ws::ValueFormat::kNoCode) valid.push_back(p);
  Bytes b;
  std::geometric_distribution<size_t> geo(0.3);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t p = rng() % 2 ? valid[rng() % valid.size()] : valid[std::min(valid.size() - 1, geo(rng))];
    append_le(b, p, int(f.value_bytes()));
  }
  return b;
}

// stories260K (llama2.c) converted to f, rounding, as safetensors bytes.
Bytes stories_in(const ws::ValueFormat& f) {
  const Bytes bin = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  ws::MemorySource in(bin.data(), bin.size());
  ws::VectorSink out;
  ws::convert_to_format(in, out, f, true);
  return out.bytes;
}



// A safetensors file of one [rows][cols] tensor per format (random patterns), dtypes as the tool writes
// them, posit / int4 / table formats named in __metadata__.
Bytes formats_safetensors(const std::vector<ws::ValueFormat>& formats, size_t rows, size_t cols, std::mt19937& rng) {
  std::vector<ws::SafetensorsEntry> entries;
  std::map<std::string, std::string> meta;
  Bytes data;
  for (const auto& f : formats) {
    if (f.id() == ws::FormatId::Table) continue;  // custom tables have no name builtin() knows
    const std::string name = "t_" + f.name();
    entries.push_back({name, ws::safetensors_dtype_of(f), {rows, cols}});
    if (ws::safetensors_needs_metadata(f)) meta[ws::safetensors_format_key(name)] = f.name();
    const Bytes b = random_patterns(f, rows * cols, rng);
    data.insert(data.end(), b.begin(), b.end());
  }
  Bytes file = ws::make_safetensors_header(meta, entries);
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

TEST(ValueFormat, IdsAndNames) {
  EXPECT_EQ(int(ws::ValueFormat::of_dtype(ws::DType::BF16).id()), 1);
  EXPECT_EQ(int(ws::ValueFormat::named("fp16").id()), 2);
  EXPECT_EQ(ws::ValueFormat::named("fp16").name(), "f16");  // ids 1..3 keep their old names
  EXPECT_EQ(int(ws::ValueFormat::named("fp32").id()), 3);
  EXPECT_EQ(int(ws::ValueFormat::named("e4m3").id()), 4);
  EXPECT_EQ(int(ws::ValueFormat::named("e5m2").id()), 5);
  EXPECT_EQ(int(ws::ValueFormat::named("int8").id()), 6);
  EXPECT_EQ(int(ws::ValueFormat::named("posit16_1").id()), 7);
  EXPECT_EQ(int(ws::ValueFormat::named("int4").id()), 8);
  EXPECT_EQ(int(custom_format().id()), 255);
  EXPECT_EQ(ws::ValueFormat::named("posit16_1").value_bytes(), 2u);
  EXPECT_EQ(ws::ValueFormat::named("posit10_0").value_bytes(), 2u);
  EXPECT_EQ(ws::ValueFormat::named("int4").value_bytes(), 1u);
  EXPECT_EQ(ws::safetensors_dtype_of(ws::ValueFormat::named("e4m3")), "F8_E4M3");
  EXPECT_EQ(ws::safetensors_dtype_of(ws::ValueFormat::named("posit16_1")), "U16");
  EXPECT_EQ(ws::safetensors_value_format("I8", "", "x").name(), "int8");
  EXPECT_TRUE(ws::safetensors_value_format("U16", "", "x").empty());
  EXPECT_EQ(ws::safetensors_value_format("U16", "posit16_1", "x").name(), "posit16_1");
  EXPECT_NE(error_of([] { ws::safetensors_value_format("U8", "posit16_1", "x"); }).find("needs dtype U16, not U8"),
            std::string::npos);
  // Metadata never names a file to read: a ".json" name there is just an unknown format.
  EXPECT_NE(error_of([] { ws::safetensors_value_format("U8", "/tmp/x.json", "x"); }).find("unknown number format"),
            std::string::npos);
}

// Every record parses back to the same format.
TEST(ValueFormat, RecordRoundTrip) {
  for (const auto& f : all_formats()) {
    Bytes b;
    f.serialize(b);
    EXPECT_EQ(b.size(), f.record_bytes());
    const uint8_t* p = b.data();
    const ws::ValueFormat g = ws::ValueFormat::parse(p, b.data() + b.size());
    EXPECT_EQ(p, b.data() + b.size()) << f.name();
    EXPECT_TRUE(g == f) << f.name();
    for (size_t cut = 0; cut < b.size(); ++cut) {  // every truncation is an error
      const uint8_t* q = b.data();
      EXPECT_THROW(ws::ValueFormat::parse(q, b.data() + cut), ws::FormatError) << f.name() << " cut " << cut;
    }
  }
}

// Chunks of random patterns of every format (every lane count, small and empty chunks) decode exactly.
TEST(ValueFormat, ChunkRoundTripRandom) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  for (const auto& f : all_formats())
    for (int lanes : {1, 2, 4, 8})
      for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(5000)}) {
        const Bytes v = random_patterns(f, n, rng);
        ws::ChunkStats st;
        const Bytes c = ws::encode_chunk(v.data(), n, f, {lanes, 11}, &st);
        Bytes out(v.size() + 3, 0xee);
        ws::decode_chunk(c.data(), c.size(), f, out.data(), out.size());
        EXPECT_TRUE(std::equal(v.begin(), v.end(), out.begin())) << f.name() << " lanes " << lanes << " n " << n;
        uint64_t raw = 0;
        for (size_t k = 0; k < 256; ++k) raw += st.histogram[k] * uint64_t(f.format().entry(unsigned(k)).raw_bits);
        EXPECT_EQ(st.raw_bits, raw);
      }
}

// A value that is no pattern of the format (int4's high nibble, a custom table's unused codes).
TEST(ValueFormat, EncodeRejectsNonPatterns) {
  const Bytes v = {0x03, 0x1f};
  EXPECT_NE(error_of([&] { ws::encode_chunk(v.data(), 2, ws::ValueFormat::named("int4"), {}); })
                .find("value 1 (pattern 31) is not a int4 pattern"),
            std::string::npos);
}

// Through the container: a safetensors file with a tensor of each format (U8/U16 + metadata for the
// formats without a safetensors dtype) is coded tensor by tensor and restored byte for byte.
TEST(ValueFormat, ContainerRoundTripRandom) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  const Bytes src = formats_safetensors(all_formats(), 33, 40, rng);
  ws::CompressOptions opt;
  opt.chunk_values = 400;
  const Bytes wsz = compress_bytes(src, opt);
  EXPECT_EQ(decompress_bytes(wsz), src);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  size_t tensors = 0;
  for (const auto& seg : r.index().segments)
    if (seg.is_tensor()) {
      ++tensors;
      EXPECT_EQ("t_" + seg.format.name(), seg.name);
      EXPECT_EQ(seg.chunks.size(), 4u);
    }
  EXPECT_EQ(tensors, kFormats.size());
  // The bound counts each symbol's own raw bits.
  const ws::InspectReport rep = ws::inspect(r, 1);
  for (const auto& t : rep.tensors) EXPECT_LE(t.bound_bits, 8.0 * double(t.compressed_bytes)) << t.segment->name;
}

// Real weights: stories260K rounded to each format, compressed, restored exactly; the embedded-table
// container written directly (no safetensors dtype for a custom format).
TEST(ValueFormat, ContainerRoundTripStories) {
  for (const auto& name : kFormats) {
    const ws::ValueFormat f = ws::ValueFormat::named(name);
    const Bytes src = stories_in(f);
    const Bytes wsz = compress_bytes(src);
    EXPECT_EQ(decompress_bytes(wsz), src) << name;
    EXPECT_LT(wsz.size(), src.size()) << name;
    const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
    for (const auto& seg : r.index().segments)
      if (seg.is_tensor()) EXPECT_TRUE(seg.format == f) << name << " " << seg.name;
  }
  // A custom table: the codes of stories260K's wq under it (code index patterns), via the writer.
  const ws::ValueFormat t = custom_format();
  std::mt19937 rng(seed());
  const Bytes v = random_patterns(t, 3000, rng);
  ws::VectorSink out;
  ws::ContainerWriter w(out, ws::SourceKind::Opaque, v.size());
  w.begin_tensor("custom", t, {3000});
  ws::ChunkOptions opt;
  opt.checksum = w.chunk_checksum();
  w.add_chunk(ws::encode_chunk(v.data(), 1000, t, opt), v.data(), 1000 * t.value_bytes());
  opt.checksum = w.chunk_checksum();
  w.add_chunk(ws::encode_chunk(v.data() + 1000, 2000, t, opt), v.data() + 1000, 2000 * t.value_bytes());
  w.end_tensor();
  w.finish();
  EXPECT_EQ(decompress_bytes(out.bytes), v);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(out.bytes.data(), out.bytes.size());
  EXPECT_EQ(r.index().segments[0].format.name(), "e3m2");
  EXPECT_EQ(int(r.index().segments[0].format.id()), 255);
}

// A custom (JSON) format through convert and compress: stored as code indices in U8 with the table's
// JSON in __metadata__, coded under an embedded table (id 255), restored byte for byte.
TEST(ValueFormat, CustomFormatThroughConvertAndCompress) {
  const ws::ValueFormat t = custom_format();
  const Bytes bin = read_file(std::string(WS_DATA_DIR) + "/stories260K.bin");
  ws::MemorySource in(bin.data(), bin.size());
  ws::VectorSink conv;
  ws::convert_to_format(in, conv, t, true);
  const Bytes wsz = compress_bytes(conv.bytes);
  EXPECT_EQ(decompress_bytes(wsz), conv.bytes);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  size_t tables = 0;
  for (const auto& seg : r.index().segments)
    if (seg.is_tensor()) tables += seg.format.id() == ws::FormatId::Table && seg.format == t;
  EXPECT_EQ(tables, 13u);
}

// Containers of every version (the fuzz corpus: 1 before format ids and XXH3, 2 before per-state
// streams, and the current one) decode, and the mixed ones give back their source byte for byte.
TEST(ValueFormat, OldContainersStillDecode) {
  const std::string dir = std::string(WS_SOURCE_DIR) + "/tests/fuzz/corpus/";
  const Bytes mixed = read_file(dir + "source_mixed.safetensors");
  // The v1_ and v2_ seeds are containers of versions 1 and 2 (layout-1 chunks), the seeds without a
  // prefix the same sources as the tool writes them now (tests/fuzz/make_corpus.sh).
  for (const std::string prefix : {"v1_", "v2_", ""})
    for (const char* name : {"bf16_lanes2_L5.wsz", "llama2c_f32.wsz", "mixed_lanes1.wsz", "mixed_lanes8.wsz",
                             "sparse24_lanes8.wsz", "sparse24_rows1.wsz", "opaque.wsz", "empty.wsz"}) {
      const Bytes wsz = read_file(dir + prefix + name);
      ASSERT_FALSE(wsz.empty()) << prefix << name;
      const uint16_t version = prefix == "v1_" ? 1 : prefix == "v2_" ? 2 : ws::kContainerVersion;
      EXPECT_EQ(ws::ContainerReader::from_memory(wsz.data(), wsz.size()).version(), version) << prefix << name;
      Bytes out;
      EXPECT_EQ(error_of([&] { out = decompress_bytes(wsz); }), "") << prefix << name;
      if (std::string(name).rfind("mixed", 0) == 0) EXPECT_EQ(out, mixed) << prefix << name;
    }
}

// The container with its index bytes edited by `edit` (index CRC and footer made consistent).
Bytes with_raw_index(const Bytes& wsz, const std::function<void(Bytes&)>& edit) {
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  Bytes index(wsz.begin() + long(r.index_offset()), wsz.begin() + long(r.index_offset() + r.index_size()));
  edit(index);
  return wstest::with_index_bytes(wsz, index);
}

// Index position of the format id of the tensor named `name` (the byte after its name).
size_t format_byte(const Bytes& index, const std::string& name) {
  const std::string key = std::string(1, char(name.size())) + std::string(1, '\0') + name;
  const auto it = std::search(index.begin(), index.end(), key.begin(), key.end());
  return size_t(it - index.begin()) + key.size();
}

TEST(ValueFormat, BadFormatIdsAndSymbolsAreFormatErrors) {
  std::mt19937 rng(seed());
  const Bytes src = formats_safetensors({ws::ValueFormat::named("int8"), ws::ValueFormat::named("posit16_1")}, 4, 8, rng);
  const Bytes wsz = compress_bytes(src);
  ASSERT_EQ(decompress_bytes(wsz), src);
  auto expect = [&](const Bytes& bad, const std::string& what) {
    const std::string e = error_of([&] { decompress_bytes(bad); });
    EXPECT_NE(e.find(what), std::string::npos) << "want '" << what << "', got '" << e << "'";
  };
  for (int id : {0, 9, 100, 254})
    expect(with_raw_index(wsz, [&](Bytes& ix) { ix[format_byte(ix, "t_int8")] = uint8_t(id); }),
           "bad format id " + std::to_string(id) + " in tensor 't_int8'");
  expect(with_raw_index(wsz, [&](Bytes& ix) { ix[format_byte(ix, "t_posit16_1") + 1] = 17; }),
         "bad posit format (n 17, es 1) in tensor 't_posit16_1'");
  expect(with_raw_index(wsz, [&](Bytes& ix) { ix[format_byte(ix, "t_posit16_1") + 2] = 4; }),
         "bad posit format (n 16, es 4) in tensor 't_posit16_1'");
  // posit16_1 -> posit16_2: same size, other table; the chunk's CRC catches the different patterns.
  expect(with_raw_index(wsz, [&](Bytes& ix) { ix[format_byte(ix, "t_posit16_1") + 2] = 2; }),
         "tensor 't_posit16_1' chunk 0: ");

  // A chunk of e5m2 symbols (exponents up to 31) in an int8 tensor (symbols 0..8).
  const ws::ValueFormat i8 = ws::ValueFormat::named("int8"), e5 = ws::ValueFormat::named("e5m2");
  const Bytes v = {0x3c, 0x40, 0x44, 0x00};  // e5m2 1.0, 2.0, 4.0, 0: symbols 15, 16, 17, 0
  ws::VectorSink out;
  ws::ContainerWriter w(out, ws::SourceKind::Opaque, v.size());
  w.begin_tensor("x", i8, {4});
  ws::ChunkOptions opt;
  opt.checksum = w.chunk_checksum();
  w.add_chunk(ws::encode_chunk(v.data(), 4, e5, opt), v.data(), v.size());
  w.end_tensor();
  w.finish();
  expect(out.bytes, "tensor 'x' chunk 0: symbol 15 is not in format int8");
  // And a 2:4 record can only hold bf16, f16, f32.
  expect(with_raw_index(wsz, [&](Bytes& ix) { ix[format_byte(ix, "t_int8") - 6 - 2 - 1] = 2; }),
         "2:4 tensor 't_int8' must be bf16, f16 or f32");
}

// Damage to a small container of each new format: every truncation and (one random bit per byte)
// every bit flip is a FormatError or, rarely, harmless; never wrong output or another exception.
TEST(ValueFormat, EveryTruncationAndBitFlipDetected) {
  const uint32_t s = seed();
  std::mt19937 rng(s);
  for (const auto& name : kFormats) {
    const Bytes src = formats_safetensors({ws::ValueFormat::named(name)}, 6, 20, rng);
    ws::CompressOptions opt;
    opt.chunk_values = 40;
    opt.threads = 1;
    const Bytes wsz = compress_bytes(src, opt);
    ASSERT_EQ(decompress_bytes(wsz), src);
    size_t cuts_undetected = 0;
    for (size_t cut = 0; cut < wsz.size(); ++cut)
      if (error_of([&] { decompress_bytes(Bytes(wsz.begin(), wsz.begin() + long(cut))); }).empty()) ++cuts_undetected;
    FlipCounts c;
    for (size_t i = 0; i < wsz.size(); ++i) check_bit_flip(wsz, src, i, int(rng() % 8), c, name + ": ");
    std::printf("%-9s %4zu-byte container: %zu undetected truncations; %zu flips: %zu errors, %zu harmless\n",
                name.c_str(), wsz.size(), cuts_undetected, c.flips, c.detected, c.harmless);
    EXPECT_EQ(cuts_undetected, 0u) << name;
    EXPECT_EQ(c.wrong, 0u) << name;
    EXPECT_EQ(c.detected + c.harmless, c.flips) << name;
    EXPECT_LT(c.harmless, c.flips / 50 + 1) << name;
  }
}

// convert_to_format: exact values pass, an inexact one names tensor and index unless rounding.
TEST(ValueFormat, ConvertExactOrNamedError) {
  std::vector<ws::SafetensorsEntry> e = {{"a", "F32", {3}}, {"ids", "I64", {1}}};
  Bytes src = ws::make_safetensors_header({}, e);
  for (float x : {1.0f, -0.5f, 0.1f}) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    append_le(src, b, 4);
  }
  append_le(src, 7, 8);
  ws::MemorySource in(src.data(), src.size());
  ws::VectorSink out;
  const std::string err = error_of([&] { ws::convert_to_format(in, out, ws::ValueFormat::named("e4m3"), false); });
  EXPECT_NE(err.find("tensor 'a' value 2: "), std::string::npos) << err;
  ws::VectorSink rounded;
  const ws::ConvertResult r = ws::convert_to_format(in, rounded, ws::ValueFormat::named("e4m3"), true);
  EXPECT_EQ(r.converted, 1u);
  EXPECT_EQ(r.rounded, 1u);
  const uint64_t json = rounded.bytes[0] | uint64_t(rounded.bytes[1]) << 8;
  const Bytes tail(rounded.bytes.begin() + long(8 + json), rounded.bytes.end());
  // e4m3: 1.0 = 0x38, -0.5 = 0xb0, 0.1 -> 0.1015625 = 0x1d; the I64 copied.
  EXPECT_EQ(tail, (Bytes{0x38, 0xb0, 0x1d, 7, 0, 0, 0, 0, 0, 0, 0}));
}

}  // namespace
