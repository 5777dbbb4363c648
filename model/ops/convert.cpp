// Conversion of a model's float tensors, safetensors out (docs/tool.md): to any number format, and
// `convert --to bf16`, which always rounds.
#include "ops/convert.hpp"

#include <algorithm>
#include <cinttypes>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/ggml_type.hpp"
#include "files/model_file.hpp"
#include "ops/report.hpp"

namespace ws {
namespace {

using Advance = std::function<void(uint64_t)>;

struct Piece {
  std::string name, dtype;  // dtype in the input (a GGUF tensor's safetensors equivalent; F32 for its blocks)
  uint64_t offset = 0, size = 0, values = 0;
  bool convert = false;     // a float tensor (F32, F16, BF16) that the conversion may rewrite
  std::vector<uint64_t> shape;
  const QuantLayout* quant = nullptr;  // a GGUF tensor of Q4_0/Q4_1/Q8_0 blocks, read dequantized to fp32
};

bool is_float(const std::string& dtype) { return dtype == "F32" || dtype == "F16" || dtype == "BF16"; }

// The tensors of a safetensors, GGUF or llama2.c file in file order, and its __metadata__ (for a
// llama2.c model its config, for a GGUF model its metadata, so the output loads as the same model).
struct ModelPieces {
  std::vector<Piece> pieces;
  std::map<std::string, std::string> metadata;
};

ModelPieces pieces_of(const ByteSource& in) {
  const ModelFile m = require_model_file(in);
  ModelPieces mp;
  if (m.kind == SourceKind::Safetensors) {
    mp.metadata = m.safetensors.metadata;
    for (const auto& t : m.safetensors.tensors)
      mp.pieces.push_back({t.name, t.dtype, t.offset, t.size, t.value_count, is_float(t.dtype), t.shape});
  } else if (m.kind == SourceKind::Gguf) {
    mp.metadata = gguf_metadata_strings(m.gguf);
    for (const auto& t : m.gguf.tensors) {
      Piece p{t.name, ggml_type_name(t.type), t.offset, t.size, t.value_count, false, t.shape()};
      p.quant = quant_layout(t.type);
      if (p.quant) p.dtype = "F32";
      // The plain types have a safetensors dtype of the same name; other block types cannot be converted.
      if (safetensors_dtype_size(p.dtype) == 0)
        throw FormatError("GGUF tensor " + quote_name(t.name) + " is " + ggml_type_name(t.type) +
                          ", which convert cannot dequantize (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 it can)");
      p.convert = is_float(p.dtype);
      mp.pieces.push_back(p);
    }
  } else {
    mp.metadata = llama2c_metadata(m.llama2c.config);
    for (const auto& a : m.llama2c.arrays)
      mp.pieces.push_back({a.name, "F32", a.offset, a.byte_size(), a.value_count, true, a.shape});
  }
  return mp;
}

// Values [v, v + n) of a float piece into buf, little-endian; returns their dtype: the source's, or
// F32 for GGUF blocks, which are dequantized (v and n are whole blocks: every window is a multiple of 32).
DType read_values(const ByteSource& in, const Piece& p, uint64_t v, size_t n, std::vector<uint8_t>& buf) {
  if (!p.quant) {
    const DType from = safetensors_coded_dtype(p.dtype);
    buf.resize(n * dtype_size(from));
    in.read(p.offset + v * dtype_size(from), buf.data(), buf.size());
    return from;
  }
  const std::vector<uint8_t> blocks =
      in.read(p.offset + v / kQuantBlockValues * p.quant->block_bytes(), n / kQuantBlockValues * p.quant->block_bytes());
  std::vector<float> values(n);
  gguf_dequantize(p.quant->type, blocks.data(), n, values.data());
  buf.resize(4 * n);
  for (size_t i = 0; i < n; ++i) store_le(&buf[4 * i], fp32_bits(values[i]), 4);
  return DType::F32;
}

// Input bytes that `n` values of p take (progress counts input bytes).
uint64_t input_bytes(const Piece& p, uint64_t n) {
  return p.quant ? n / kQuantBlockValues * p.quant->block_bytes() : n * dtype_size(safetensors_coded_dtype(p.dtype));
}

// Converts one tensor a window at a time and writes it.
void write_converted(const ByteSource& in, const Piece& p, const ValueFormat& f, bool round, ByteSink& out,
                     ConvertResult& r, const Advance& advance) {
  const size_t out_width = f.value_bytes();
  const numfmt::Format& fmt = f.format();
  const uint64_t window = uint64_t(1) << 18;
  std::vector<uint8_t> src, dst;
  for (uint64_t v = 0; v < p.values; v += window) {
    const size_t n = size_t(std::min(window, p.values - v));
    dst.assign(n * out_width, 0);
    const DType from = read_values(in, p, v, n, src);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t bits = fp32_bits_at(src.data(), i, from);
      if (f.id() == FormatId::F32) {  // every float widens to fp32 exactly: the table is not needed
        store_le(&dst[i * out_width], bits, 4);
        continue;
      }
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
    advance(input_bytes(p, n));
  }
}

// n values of p as bf16, a window at a time.
void write_bf16(const ByteSource& in, const Piece& p, ByteSink& out, ConvertResult& r, const Advance& advance) {
  const uint64_t window = uint64_t(1) << 20;
  std::vector<uint8_t> src, dst;
  for (uint64_t v = 0; v < p.values; v += window) {
    const size_t n = size_t(std::min(window, p.values - v));
    dst.resize(n * 2);
    to_bf16_le(src.data(), n, read_values(in, p, v, n, src), dst.data());
    out.write(dst.data(), dst.size());
    r.bytes += dst.size();
    advance(input_bytes(p, n));
  }
}

void copy_bytes(const ByteSource& in, const Piece& p, ByteSink& out, ConvertResult& r,
                const Advance& advance) {
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

// Writes the safetensors header of mp (each piece under out_dtype(p)), then every piece: converted by
// `convert` when p.convert, else copied. Progress counts input bytes.
ConvertResult write_safetensors(const ByteSource& in, ByteSink& out, const ModelPieces& mp,
                                const std::function<std::string(const Piece&)>& out_dtype,
                                const std::function<void(const Piece&, ConvertResult&, const Advance&)>& convert,
                                const Progress& progress) {
  std::vector<SafetensorsEntry> entries;
  ConvertResult r;
  for (const Piece& p : mp.pieces) {
    r.converted += p.convert;
    r.values += p.values;
    entries.push_back({p.name, out_dtype(p), p.shape, p.size});  // the size is used for opaque dtypes only
  }
  r.tensors = entries.size();

  uint64_t done = 0, total = 0;
  for (const Piece& p : mp.pieces) total += p.size;
  const Advance advance = [&](uint64_t k) {
    done += k;
    if (progress) progress(done, total);
  };
  const std::vector<uint8_t> header = make_safetensors_header(mp.metadata, entries);
  out.write(header.data(), header.size());
  r.bytes = header.size();
  for (const Piece& p : mp.pieces) {
    if (p.convert)
      convert(p, r, advance);
    else
      copy_bytes(in, p, out, r, advance);
  }
  return r;
}

}  // namespace

ConvertResult convert_to_format(const ByteSource& in, ByteSink& out, const ValueFormat& f, bool round,
                                const Progress& progress) {
  ModelPieces mp = pieces_of(in);
  for (Piece& p : mp.pieces) {
    if (p.convert && !p.quant && p.dtype == safetensors_dtype_of(f) && !safetensors_needs_metadata(f))
      p.convert = false;  // already
    if (p.convert && safetensors_needs_metadata(f)) mp.metadata[safetensors_format_key(p.name)] = f.metadata_name();
  }
  return write_safetensors(
      in, out, mp, [&](const Piece& p) { return p.convert ? safetensors_dtype_of(f) : p.dtype; },
      [&](const Piece& p, ConvertResult& r, const Advance& advance) { write_converted(in, p, f, round, out, r, advance); },
      progress);
}

ConvertResult convert_to_bf16(const ByteSource& in, ByteSink& out, const Progress& progress) {
  ModelPieces mp = pieces_of(in);
  for (Piece& p : mp.pieces) p.convert = p.dtype == "F32" || p.dtype == "F16";  // BF16 and the rest copy
  return write_safetensors(
      in, out, mp, [](const Piece& p) { return p.convert ? std::string("BF16") : p.dtype; },
      [&](const Piece& p, ConvertResult& r, const Advance& advance) { write_bf16(in, p, out, r, advance); },
      progress);
}

std::string convert_summary(const std::string& in, const std::string& out, const ConvertResult& r, const ValueFormat& f) {
  return strprintf("%s -> %s: %" PRIu64 " tensors (%" PRIu64 " converted to %s), %" PRIu64 " values, %" PRIu64
                   " bytes, %" PRIu64 " values rounded\n",
                   in.c_str(), out.c_str(), r.tensors, r.converted, f.name().c_str(), r.values, r.bytes, r.rounded);
}

std::string convert_bf16_summary(const std::string& in, const std::string& out, const ConvertResult& r) {
  return strprintf("%s -> %s: %" PRIu64 " tensors, %" PRIu64 " values, %" PRIu64 " bytes (bf16, round to nearest even)\n",
                   in.c_str(), out.c_str(), r.tensors, r.values, r.bytes);
}

std::string format_conversion_summary(const std::string& in, const ConvertResult& r, const ValueFormat& f) {
  return strprintf("%s: converted %" PRIu64 " of %" PRIu64 " tensors to %s (%" PRIu64 " values rounded)\n", in.c_str(),
                   r.converted, r.tensors, f.name().c_str(), r.rounded);
}

}  // namespace ws
