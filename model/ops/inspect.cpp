#include "ops/inspect.hpp"

#include <algorithm>
#include <cinttypes>
#include <nlohmann/json.hpp>

#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "files/safetensors.hpp"
#include "ops/report.hpp"

namespace ws {
namespace {

// Adds the class symbols of the values (bytes as in the source) to h: for bf16/f16/f32 the exponents
// (docs/format.md section 3), for other formats the table's symbols.
void count_symbols(const std::vector<uint8_t>& v, const ValueFormat& f, tans::Histogram& h) {
  const size_t width = f.value_bytes();
  if (f.dtype() != DType::Raw) {
    const Split sp = split_of(f.dtype());
    for (size_t i = 0; i + width <= v.size(); i += width)
      ++h[(uint32_t(load_le(&v[i], int(width))) >> sp.exponent_shift) & sp.exponent_mask];
    return;
  }
  for (size_t i = 0; i + width <= v.size(); i += width) ++h[f.split_code(uint32_t(load_le(&v[i], int(width)))) & 0xff];
}

// The raw bits the symbols of histogram h carry: each symbol's raw_bits, from the format's table.
double raw_bits_of(const tans::Histogram& h, const ValueFormat& f) {
  double bits = 0;
  for (size_t s = 0; s < h.size(); ++s) bits += double(h[s]) * f.format().entry(unsigned(s)).raw_bits;
  return bits;
}

// The first n bytes of the source, which must lie in literal segments (a safetensors header does).
std::vector<uint8_t> literal_prefix(const ContainerReader& in, uint64_t n) {
  std::vector<uint8_t> out(size_t(std::min(n, in.index().source_size)));
  uint64_t at = 0;
  for (const Segment& s : in.index().segments) {
    if (at == out.size()) break;
    if (s.is_tensor()) throw FormatError("the safetensors header is not stored as literal bytes");
    const size_t k = size_t(std::min<uint64_t>(s.length, out.size() - at));
    in.read_literal(s, 0, out.data() + at, k);
    at += k;
  }
  return out;
}

// The tensors of a safetensors source whose dtype the tool does not know, from the header in the
// container's first literal bytes (checked already).
std::vector<OpaqueTensor> opaque_tensors(const ContainerReader& in) {
  const uint64_t source_size = in.index().source_size;
  const std::vector<uint8_t> prefix = literal_prefix(in, 8);
  if (prefix.size() < 8) throw FormatError("safetensors source shorter than its header length");
  const uint64_t json_size = load_le64(prefix.data());
  if (json_size > kSafetensorsMaxHeader || json_size > source_size - 8)
    throw FormatError("safetensors header length out of range");
  const std::vector<uint8_t> head = literal_prefix(in, 8 + json_size);
  std::vector<OpaqueTensor> out;
  for (const SafetensorsTensor& t : parse_safetensors_header(head.data() + 8, size_t(json_size), source_size).tensors)
    if (t.opaque) out.push_back({t.name, t.dtype, t.shape, t.size});
  return out;
}

}  // namespace

InspectReport inspect(const ContainerReader& in, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  InspectReport r;
  r.file_bytes = in.file_size();
  r.header_footer_bytes = kHeaderBytes + kFooterBytes;
  r.index_other_bytes = index_fixed_bytes(ix.version);
  uint64_t done = 0;
  auto advance = [&](uint64_t n) {
    done += n;
    if (progress) progress(done, ix.source_size);
  };

  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      TensorReport t;
      t.segment = &s;
      t.compressed_bytes = s.index_bytes(ix.version);
      for (const ChunkEntry& c : s.chunks) t.compressed_bytes += c.size;
      r.tensors.push_back(t);
    } else {
      ++r.literal_segments;
      r.literal_bytes += s.length;
      r.index_other_bytes += s.index_bytes(ix.version);
    }
  }

  struct ChunkMeasure {
    tans::Histogram histogram{};
    double entropy_bits = 0;  // n_c * H0 of the chunk's symbols
    // 2:4 chunks: the sub-chunks' sizes, what they hold, and the metadata's n_groups * H0(nibbles)
    uint64_t value_bytes = 0, meta_bytes = 0, stored_values = 0, stored_groups = 0;
    double meta_entropy_bits = 0;
    // block-quantized chunks: each sub-chunk's size and n * H0(its symbols)
    std::array<uint64_t, kQuantMaxStreams> stream_bytes{};
    std::array<double, kQuantMaxStreams> stream_entropy_bits{};
  };
  OrderedPipeline<ChunkMeasure> pipe(resolve_threads(threads));
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    t.sparse24 = s.is_sparse24();
    t.quant = s.is_quant();
    for (size_t j = 0; j < s.chunks.size(); ++j) {
      pipe.run(
          [&in, &s, j] {
            const std::vector<uint8_t> dense = in.decode_chunk(s, j);  // every check, the CRC included
            ChunkMeasure m;
            if (s.is_quant()) {
              const std::vector<uint8_t> bytes = in.chunk_bytes(s, j);
              const QuantChunkView v = parse_quant_chunk(bytes.data(), bytes.size(), s.quant);
              const QuantStreams st = split_quant_blocks(dense.data(), v.value_count, *quant_layout(s.quant));
              for (int k = 0; k < v.streams; ++k) {
                tans::Histogram h{};
                for (uint8_t x : st[size_t(k)]) ++h[x];
                m.stream_bytes[size_t(k)] = v.sub_bytes[size_t(k)];
                m.stream_entropy_bits[size_t(k)] = tans::entropy_bits(h);
                m.entropy_bits += m.stream_entropy_bits[size_t(k)];
              }
              return m;
            }
            if (!s.is_sparse24()) {
              count_symbols(dense, s.format, m.histogram);
            } else {
              const std::vector<uint8_t> bytes = in.chunk_bytes(s, j);
              const Sparse24ChunkView v = parse_sparse24_chunk(bytes.data(), bytes.size());
              const Sparse24Stored st = decode_sparse24_stored(bytes.data(), bytes.size(), s.dtype, s.sparse24_cols(j),
                                                               in.chunk_checksum(s, j));
              count_symbols(st.values, s.format, m.histogram);
              tans::Histogram nibbles{};
              for (uint8_t n : st.meta) ++nibbles[n];
              m.meta_entropy_bits = tans::entropy_bits(nibbles);
              m.value_bytes = v.value_chunk_bytes;
              m.meta_bytes = v.meta_chunk_bytes;
              m.stored_values = v.values.value_count;
              m.stored_groups = v.meta.value_count;
            }
            m.entropy_bits = tans::entropy_bits(m.histogram);
            return m;
          },
          [&t, &advance, &s, j](ChunkMeasure& m) {
            for (size_t k = 0; k < m.histogram.size(); ++k) t.histogram[k] += m.histogram[k];
            t.bound_bits += m.entropy_bits;
            t.value_bytes += m.value_bytes;
            t.meta_bytes += m.meta_bytes;
            t.stored_values += m.stored_values;
            t.stored_groups += m.stored_groups;
            t.meta_bound_bits += m.meta_entropy_bits;
            for (int k = 0; k < kQuantMaxStreams; ++k) {
              t.stream_bytes[size_t(k)] += m.stream_bytes[size_t(k)];
              t.stream_bound_bits[size_t(k)] += m.stream_entropy_bits[size_t(k)];
            }
            advance(s.source_bytes(s.chunks[j].value_count));
          });
    }
  }
  pipe.finish();
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) continue;
    in.verify_literal(s);
    advance(s.length);
  }
  if (ix.source_kind == SourceKind::Safetensors) r.opaque = opaque_tensors(in);
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    if (t.quant) continue;  // symbols only: no raw bits
    if (!t.sparse24) {
      t.bound_bits += raw_bits_of(t.histogram, s.format);
      continue;
    }
    t.value_bound_bits = t.bound_bits + raw_bits_of(t.histogram, s.format);
    t.bound_bits = t.value_bound_bits + t.meta_bound_bits;
  }
  return r;
}


namespace {

std::string shape_text(const std::vector<uint64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

// a / b, or JSON null when b is 0.
nlohmann::ordered_json ratio_or_null(double a, double b) {
  if (b == 0) return nullptr;
  return a / b;
}

// The whole container's values and their bound: literal bytes count 8 bits each.
struct Totals {
  uint64_t values = 0;
  double bound = 0;     // bits
  double achieved = 0;  // bits
};

Totals totals_of(const InspectReport& r) {
  Totals t;
  t.bound = 8.0 * double(r.literal_bytes);
  for (const auto& tr : r.tensors) {
    t.values += tr.segment->value_count;
    t.bound += tr.bound_bits;
  }
  t.achieved = 8.0 * double(r.file_bytes);
  return t;
}

// The tensors of one format (or block-quantized type), summed: the report's per-type view.
struct FormatTotals {
  std::string format;
  uint64_t tensors = 0, values = 0, bytes = 0;
  double bound = 0;
  bool quant = false;
  std::array<uint64_t, kQuantMaxStreams> stream_bytes{};
  std::array<double, kQuantMaxStreams> stream_bound{};
  int streams = 0;
};

// In order of first appearance.
std::vector<FormatTotals> format_totals(const InspectReport& r) {
  std::vector<FormatTotals> out;
  for (const auto& t : r.tensors) {
    const std::string name = t.segment->format_name();
    auto it = std::find_if(out.begin(), out.end(), [&](const FormatTotals& f) { return f.format == name; });
    if (it == out.end()) it = out.insert(out.end(), FormatTotals{name});
    ++it->tensors;
    it->values += t.segment->value_count;
    it->bytes += t.compressed_bytes;
    it->bound += t.bound_bits;
    if (!t.quant) continue;
    it->quant = true;
    it->streams = quant_streams(*quant_layout(t.segment->quant));
    for (int k = 0; k < kQuantMaxStreams; ++k) {
      it->stream_bytes[size_t(k)] += t.stream_bytes[size_t(k)];
      it->stream_bound[size_t(k)] += t.stream_bound_bits[size_t(k)];
    }
  }
  return out;
}

}  // namespace

std::string inspect_json(const std::string& file, const ContainerReader& reader, const InspectReport& r) {
  using J = nlohmann::ordered_json;
  const Index& ix = reader.index();
  const Totals tot = totals_of(r);
  J tensors = J::array();
  for (const auto& t : r.tensors) {
    const Segment& s = *t.segment;
    const double bits = 8.0 * double(t.compressed_bytes);
    const double n = double(s.value_count);
    J sparse = nullptr;  // 2:4 tensors: values and metadata apart, per original (dense) weight
    if (t.sparse24)
      sparse = {{"value_bytes", t.value_bytes},
                {"meta_bytes", t.meta_bytes},
                {"stored_values", t.stored_values},
                {"stored_groups", t.stored_groups},
                {"value_bits_per_weight", ratio_or_null(8.0 * double(t.value_bytes), n)},
                {"meta_bits_per_weight", ratio_or_null(8.0 * double(t.meta_bytes), n)},
                {"value_bound_bits", t.value_bound_bits},
                {"meta_bound_bits", t.meta_bound_bits},
                {"value_bound_bits_per_weight", ratio_or_null(t.value_bound_bits, n)},
                {"meta_bound_bits_per_weight", ratio_or_null(t.meta_bound_bits, n)}};
    J quant = nullptr;  // block-quantized tensors: each sub-stream apart, per weight
    if (t.quant) {
      quant = J::array();
      for (int k = 0; k < quant_streams(*quant_layout(s.quant)); ++k)
        quant.push_back({{"stream", quant_stream_name(k)},
                         {"bytes", t.stream_bytes[size_t(k)]},
                         {"bits_per_weight", ratio_or_null(8.0 * double(t.stream_bytes[size_t(k)]), n)},
                         {"bound_bits", t.stream_bound_bits[size_t(k)]},
                         {"bound_bits_per_weight", ratio_or_null(t.stream_bound_bits[size_t(k)], n)}});
    }
    tensors.push_back({{"name", s.name},
                       {"dtype", s.format_name()},
                       {"format", s.format_name()},
                       {"shape", s.dims},
                       {"values", s.value_count},
                       {"chunks", s.chunks.size()},
                       {"compressed_bytes", t.compressed_bytes},
                       {"bits_per_weight", ratio_or_null(bits, double(s.value_count))},
                       {"bound_bits", t.bound_bits},
                       {"bound_bits_per_weight", ratio_or_null(t.bound_bits, double(s.value_count))},
                       {"overhead", t.bound_bits > 0 ? J(bits / t.bound_bits - 1) : J(nullptr)},
                       {"sparse24", sparse},
                       {"quant", quant}});
  }
  J formats = J::array();
  for (const FormatTotals& f : format_totals(r)) {
    const double bits = 8.0 * double(f.bytes), n = double(f.values);
    formats.push_back({{"format", f.format},
                       {"tensors", f.tensors},
                       {"values", f.values},
                       {"compressed_bytes", f.bytes},
                       {"bits_per_weight", ratio_or_null(bits, n)},
                       {"bound_bits", f.bound},
                       {"bound_bits_per_weight", ratio_or_null(f.bound, n)},
                       {"overhead", f.bound > 0 ? J(bits / f.bound - 1) : J(nullptr)}});
  }
  J opaque = J::array();  // stored among the literal bytes
  for (const OpaqueTensor& t : r.opaque)
    opaque.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes}});
  const J doc = {
      {"file", file},
      {"file_bytes", r.file_bytes},
      {"source_kind", source_kind_name(ix.source_kind)},
      {"source_bytes", ix.source_size},
      {"ratio", ratio_or_null(double(ix.source_size), double(r.file_bytes))},
      {"tensors", tensors},
      {"formats", formats},
      {"opaque_tensors", opaque},
      {"literal", {{"segments", r.literal_segments}, {"bytes", r.literal_bytes}}},
      {"other_bytes",
       {{"header_footer", r.header_footer_bytes},
        {"index_other", r.index_other_bytes},
        {"literal", r.literal_bytes},
        {"total", r.other_bytes()}}},
      {"total",
       {{"values", tot.values},
        {"compressed_bytes", r.file_bytes},
        {"bits_per_weight", ratio_or_null(tot.achieved, double(tot.values))},
        {"bound_bits", tot.bound},
        {"bound_bits_per_weight", ratio_or_null(tot.bound, double(tot.values))},
        {"overhead", tot.bound > 0 ? J(tot.achieved / tot.bound - 1) : J(nullptr)}}}};
  return doc.dump(2) + "\n";
}

std::string inspect_text(const std::string& file, const ContainerReader& reader, const InspectReport& r) {
  const Index& ix = reader.index();
  const Totals tot = totals_of(r);
  size_t name_w = 6, shape_w = 5, format_w = 6;
  for (const auto& t : r.tensors) {
    name_w = std::max(name_w, printable_name(t.segment->name).size());
    format_w = std::max(format_w, t.segment->format_name().size());
    shape_w = std::max(shape_w, shape_text(t.segment->dims).size());
  }
  std::string out;
  out += strprintf("%s: %" PRIu64 " bytes, source %s of %" PRIu64 " bytes, ratio %.3f:1\n", file.c_str(), r.file_bytes,
                   source_kind_name(ix.source_kind), ix.source_size,
                   r.file_bytes ? double(ix.source_size) / double(r.file_bytes) : 0.0);
  out += strprintf("%-*s %-*s %-*s %10s %6s %10s %8s %8s %9s\n", int(name_w), "tensor", int(format_w), "format",
                   int(shape_w), "shape", "values", "chunks", "bytes", "bits/w", "bound/w", "overhead");
  bool any_sparse = false;
  for (const auto& t : r.tensors) {
    const Segment& s = *t.segment;
    const double n = double(s.value_count), bits = 8.0 * double(t.compressed_bytes);
    out += strprintf("%-*s %-*s %-*s %10" PRIu64 " %6zu %10" PRIu64 " %8.3f %8.3f %8.2f%%%s\n", int(name_w),
                     printable_name(s.name).c_str(), int(format_w), s.format_name().c_str(), int(shape_w), shape_text(s.dims).c_str(),
                     s.value_count, s.chunks.size(), t.compressed_bytes, n ? bits / n : 0.0, n ? t.bound_bits / n : 0.0,
                     t.bound_bits > 0 ? 100.0 * (bits / t.bound_bits - 1) : 0.0, t.sparse24 ? "  2:4" : "");
    any_sparse = any_sparse || t.sparse24;
  }
  // 2:4 tensors: bits per original (dense) weight of the value and metadata sub-chunks, and their bounds.
  if (any_sparse) out += "2:4 tensors, bits per original weight: values (bound), metadata (bound)\n";
  for (const auto& t : r.tensors) {
    if (!t.sparse24) continue;
    const double n = double(t.segment->value_count);
    out += strprintf("  2:4 %-*s values %7.3f (%7.3f)  meta %6.3f (%6.3f)\n", int(name_w), printable_name(t.segment->name).c_str(),
                     n ? 8.0 * double(t.value_bytes) / n : 0.0, n ? t.value_bound_bits / n : 0.0,
                     n ? 8.0 * double(t.meta_bytes) / n : 0.0, n ? t.meta_bound_bits / n : 0.0);
  }
  // Expert chunks (LTE, docs/format.md section 4.3): each chunk's matrix (a stacked tensor's layer) and expert.
  for (const auto& t : r.tensors) {
    const Segment& s = *t.segment;
    if (!s.has_experts()) continue;
    const bool rows = s.experts == Segment::Experts::Rows;
    out += strprintf("expert chunks of %s (%s per expert; matrix = layer of a stacked [L][..] tensor):\n",
                     printable_name(s.name).c_str(), rows ? "rows" : "column block [rows][columns]");
    for (size_t j = 0; j < s.chunks.size(); ++j) {
      const ChunkEntry& c = s.chunks[j];
      out += strprintf("  %s chunk %zu: matrix %u expert %u %s %u..%u, %u values, %u bytes\n",
                       printable_name(s.name).c_str(), j, c.matrix, c.expert, rows ? "rows" : "columns", c.first,
                       c.first + c.count, c.value_count, c.size);
    }
  }
  // Per format (tensor type) when the container mixes them; block-quantized types also by sub-stream,
  // the rest of their bits/w being chunk headers and index records.
  const std::vector<FormatTotals> formats = format_totals(r);
  if (formats.size() > 1) {
    out += strprintf("by format: %-*s %7s %12s %12s %8s %8s %9s\n", int(format_w), "format", "tensors", "values", "bytes",
                     "bits/w", "bound/w", "overhead");
    for (const FormatTotals& f : formats) {
      const double n = double(f.values), bits = 8.0 * double(f.bytes);
      out += strprintf("           %-*s %7" PRIu64 " %12" PRIu64 " %12" PRIu64 " %8.3f %8.3f %8.2f%%\n", int(format_w),
                       f.format.c_str(), f.tensors, f.values, f.bytes, n ? bits / n : 0.0, n ? f.bound / n : 0.0,
                       f.bound > 0 ? 100.0 * (bits / f.bound - 1) : 0.0);
    }
  }
  for (const FormatTotals& f : formats) {
    if (!f.quant || f.values == 0) continue;
    const double n = double(f.values);
    double streams = 0;
    out += strprintf("%s sub-streams, bits per weight (bound):", f.format.c_str());
    for (int k = 0; k < f.streams; ++k) {
      out += strprintf("  %s %.3f (%.3f)", quant_stream_name(k), 8.0 * double(f.stream_bytes[size_t(k)]) / n,
                       f.stream_bound[size_t(k)] / n);
      streams += 8.0 * double(f.stream_bytes[size_t(k)]);
    }
    out += strprintf("  headers %.3f\n", (8.0 * double(f.bytes) - streams) / n);
  }
  if (!r.opaque.empty()) out += "opaque tensors (a dtype this tool does not know, kept as literal bytes):\n";
  for (const OpaqueTensor& t : r.opaque)
    out += strprintf("  opaque %s dtype %s shape %s, %" PRIu64 " bytes\n", printable_name(t.name).c_str(),
                     printable_name(t.dtype).c_str(), shape_text(t.shape).c_str(), t.bytes);
  out += strprintf("other: %" PRIu64 " bytes (header+footer %" PRIu64 ", index outside tensors %" PRIu64
                   ", literal %" PRIu64 " in %" PRIu64 " segments)\n",
                   r.other_bytes(), r.header_footer_bytes, r.index_other_bytes, r.literal_bytes, r.literal_segments);
  out += strprintf("total: %" PRIu64 " values, %" PRIu64 " bytes, %.3f bits/weight, bound %.3f bits/weight, overhead %.2f%%\n",
                   tot.values, r.file_bytes, tot.values ? tot.achieved / double(tot.values) : 0.0,
                   tot.values ? tot.bound / double(tot.values) : 0.0,
                   tot.bound > 0 ? 100.0 * (tot.achieved / tot.bound - 1) : 0.0);
  return out;
}

}  // namespace ws
