// Conversion of float tensors to a number format, safetensors out (docs/tool.md).
#include "ops/convert.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"

namespace ws {
namespace {

struct Piece {
  std::string name, dtype;  // dtype in the input
  uint64_t offset = 0, size = 0, values = 0;
  bool convert = false;
  std::vector<uint64_t> shape;
};

// Converts one tensor a window at a time and writes it.
void write_converted(const ByteSource& in, const Piece& p, const ValueFormat& f, bool round, ByteSink& out,
                     ConvertResult& r, const std::function<void(uint64_t)>& advance) {
  const DType from = safetensors_coded_dtype(p.dtype);
  const size_t in_width = dtype_size(from), out_width = f.value_bytes();
  const numfmt::Format& fmt = f.format();
  const uint64_t window = uint64_t(1) << 18;
  std::vector<uint8_t> src, dst;
  for (uint64_t v = 0; v < p.values; v += window) {
    const size_t n = size_t(std::min(window, p.values - v));
    src.resize(n * in_width);
    dst.assign(n * out_width, 0);
    in.read(p.offset + v * in_width, src.data(), src.size());
    for (size_t i = 0; i < n; ++i) {
      const uint32_t bits = fp32_bits_at(src.data(), i, from);
      numfmt::Code c;
      try {
        c = fmt.encode(bits, round);
      } catch (const FormatError& e) {
        throw FormatError("tensor '" + p.name + "' value " + std::to_string(v + i) + ": " + e.what() +
                          (round ? "" : " (--round rounds to nearest even)"));
      }
      const uint32_t pattern = fmt.join(c);
      store_le(&dst[i * out_width], pattern, int(out_width));
      if (round) {
        // Changed when the exact value differs (NaN stays NaN): compare the output word with fp32.
        const uint32_t back = fmt.output_bits(c);
        if (back != bits && !(bits << 1 > 0xff000000u && back << 1 > 0xff000000u)) ++r.rounded;
      }
    }
    out.write(dst.data(), dst.size());
    r.bytes += dst.size();
    advance(src.size());
  }
}

void copy_bytes(const ByteSource& in, const Piece& p, ByteSink& out, ConvertResult& r,
                const std::function<void(uint64_t)>& advance) {
  std::vector<uint8_t> buf;
  const uint64_t window = uint64_t(1) << 20;
  for (uint64_t at = 0; at < p.size; at += window) {
    buf.resize(size_t(std::min(window, p.size - at)));
    in.read(p.offset + at, buf.data(), buf.size());
    out.write(buf.data(), buf.size());
    r.bytes += buf.size();
    advance(buf.size());
  }
}

bool is_float(const std::string& dtype) { return dtype == "F32" || dtype == "F16" || dtype == "BF16"; }

}  // namespace

ConvertResult convert_to_format(const ByteSource& in, ByteSink& out, const ValueFormat& f, bool round,
                                const Progress& progress) {
  uint8_t first[kLlama2cHeaderBytes] = {};
  const size_t n = size_t(std::min<uint64_t>(in.size(), sizeof first));
  in.read(0, first, n);

  std::vector<Piece> pieces;
  std::map<std::string, std::string> metadata;
  if (looks_like_safetensors(first, n, in.size())) {
    const uint64_t json_size = load_le64(first);
    if (json_size > kSafetensorsMaxHeader) throw FormatError("safetensors header above the 100 MB limit");
    const std::vector<uint8_t> json = in.read(8, size_t(json_size));
    const SafetensorsFile st = parse_safetensors_header(json.data(), json.size(), in.size());
    metadata = st.metadata;
    for (const auto& t : st.tensors) pieces.push_back({t.name, t.dtype, t.offset, t.size, t.value_count, is_float(t.dtype), t.shape});
  } else {
    if (n < kLlama2cHeaderBytes) throw FormatError("neither safetensors nor a llama2.c model (too short)");
    Llama2cFile lf;
    try {
      lf = parse_llama2c(first, in.size());
    } catch (const FormatError& e) {
      throw FormatError(std::string("neither safetensors nor a llama2.c model (") + e.what() + ")");
    }
    metadata = llama2c_metadata(lf.config);
    for (const auto& a : lf.arrays) pieces.push_back({a.name, "F32", a.offset, a.byte_size(), a.value_count, true, a.shape});
  }

  std::vector<SafetensorsEntry> entries;
  ConvertResult r;
  for (Piece& p : pieces) {
    if (p.convert && p.dtype == safetensors_dtype_of(f) && !safetensors_needs_metadata(f)) p.convert = false;  // already
    if (p.convert && safetensors_needs_metadata(f)) metadata[safetensors_format_key(p.name)] = f.metadata_name();
    r.converted += p.convert;
    r.values += p.values;
    entries.push_back({p.name, p.convert ? safetensors_dtype_of(f) : p.dtype, p.shape});
  }
  r.tensors = entries.size();

  uint64_t done = 0, total = 0;
  for (const Piece& p : pieces) total += p.size;
  auto advance = [&](uint64_t k) {
    done += k;
    if (progress) progress(done, total);
  };
  const std::vector<uint8_t> header = make_safetensors_header(metadata, entries);
  out.write(header.data(), header.size());
  r.bytes = header.size();
  for (const Piece& p : pieces) {
    if (p.convert)
      write_converted(in, p, f, round, out, r, advance);
    else
      copy_bytes(in, p, out, r, advance);
  }
  return r;
}

}  // namespace ws
