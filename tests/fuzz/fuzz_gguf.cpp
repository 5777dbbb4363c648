// libFuzzer target: any bytes, read as a GGUF file (files/gguf.hpp): header, metadata (every accessor,
// the safetensors metadata strings and the tokenizer built from them), tensor infos, and every tensor the reader dequantizes; then,
// when they parse, compressed and decompressed, which must give the bytes back exactly. Malformed
// input must end in ws::FormatError; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/container_reader.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/gguf.hpp"
#include "llm/tokenizer.hpp"
#include "ops/compress.hpp"
#include "ops/decompress.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ws::MemorySource src(data, size);
  ws::GgufFile f;
  try {
    f = ws::parse_gguf(src);
  } catch (const ws::FormatError&) {
    return 0;
  }
  for (const auto& [key, v] : f.metadata) {  // each accessor either answers or names a wrong type
    for (auto get : {+[](const ws::GgufValue& x) { (void)x.as_uint(); }, +[](const ws::GgufValue& x) { (void)x.as_int(); },
                     +[](const ws::GgufValue& x) { (void)x.as_float(); }, +[](const ws::GgufValue& x) { (void)x.as_bool(); },
                     +[](const ws::GgufValue& x) { (void)x.as_string(); }, +[](const ws::GgufValue& x) { (void)x.as_strings(); },
                     +[](const ws::GgufValue& x) { (void)x.as_ints(); }, +[](const ws::GgufValue& x) { (void)x.as_floats(); }}) {
      try {
        get(v);
      } catch (const ws::FormatError&) {
      }
    }
  }
  try {
    // The tokenizer built from whatever metadata is there, and used (llm/tokenizer.hpp).
    const ws::Tokenizer tok{ws::ModelMeta(ws::gguf_metadata_strings(f))};
    tok.decode(tok.encode("Hi 42 <|im_start|>x\xff", true), true);
  } catch (const ws::FormatError&) {
  }
  for (const ws::GgufTensor& t : f.tensors) {
    if (t.offset + t.size > size) std::abort();  // the reader promised every tensor lies in the file
    if (ws::gguf_can_dequantize(t.type) && t.value_count <= (uint64_t(1) << 20)) ws::gguf_read_fp32(src, t);
  }

  // A file that parses compresses losslessly.
  ws::VectorSink wsz;
  ws::CompressOptions opt;
  opt.threads = 1;
  opt.chunk_values = 256;  // several chunks even from small inputs
  ws::compress(src, wsz, opt);
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.bytes.data(), wsz.bytes.size());
  ws::VectorSink back;
  ws::decompress(r, back, 1);
  if (back.bytes.size() != size || (size && std::memcmp(back.bytes.data(), data, size) != 0)) std::abort();
  return 0;
}
