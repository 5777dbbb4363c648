#include "ops/compress.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/container_format.hpp"
#include "codec/container_writer.hpp"
#include "codec/quant_chunk.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "files/plan_source.hpp"
#include "ops/report.hpp"

namespace ws {
namespace {

// Whether a planned tensor qualifies for 2:4 storage: its shape, then its values, a window of whole
// rows at a time, stopping at the first group with 3 or 4 non-zero values (a dense tensor fails at once).
bool qualifies_sparse24(const ByteSource& in, const PlannedSegment& s) {
  const DType dtype = s.format.dtype();
  if (!sparse24_shape_ok(dtype, s.dims)) return false;
  const size_t width = dtype_size(dtype);
  const uint64_t cols = s.dims.back(), rows = s.length / width / cols;
  const uint64_t per = std::max<uint64_t>(1, kLiteralWindow / (cols * width));
  for (uint64_t r = 0; r < rows; r += per) {
    const uint64_t n = std::min(per, rows - r);
    const std::vector<uint8_t> b = in.read(s.source_offset + r * cols * width, size_t(n * cols * width));
    if (!is_sparse24(b.data(), n, cols, dtype)) return false;
  }
  return true;
}

// What an opaque file is when its first bytes (n of them, at most 8) say it is already compressed;
// nullptr when they say nothing known.
const char* compressed_format_of(const uint8_t* first, size_t n) {
  struct Magic {
    const char* name;
    size_t size;
    const char* bytes;
  };
  static const Magic magics[] = {{"a weightstream container", 4, kContainerMagic},
                                 {"zstd", 4, "\x28\xb5\x2f\xfd"},
                                 {"gzip", 2, "\x1f\x8b"},
                                 {"xz", 6, "\xfd" "7zXZ\x00"},
                                 {"bzip2", 3, "BZh"},
                                 {"zip", 4, "PK\x03\x04"},
                                 {"lz4", 4, "\x04\x22\x4d\x18"}};
  for (const Magic& m : magics)
    if (n >= m.size && std::memcmp(first, m.bytes, m.size) == 0) return m.name;
  return nullptr;
}

// An expert cut must name a dense float tensor of rank >= 2 whose matrices' rows (columns) the
// bounds cover exactly, in experts of at most 2^24 values.
void check_expert_cut(const SourcePlan& plan, const std::string& name, const ExpertCut& cut) {
  const PlannedSegment* t = nullptr;
  for (const PlannedSegment& s : plan.segments)
    if (s.tensor && s.name == name) t = &s;
  if (!t) throw std::invalid_argument("no tensor " + quote_name(name) + " to cut into experts");
  if (t->quantized || t->dims.size() < 2) throw std::invalid_argument("tensor " + quote_name(name) + " cannot be cut into experts");
  const uint64_t extent = cut.columns ? t->dims.back() : t->dims[t->dims.size() - 2];
  const uint64_t across = cut.columns ? t->dims[t->dims.size() - 2] : t->dims.back();
  const std::vector<int>& b = cut.bounds;
  bool ok = b.size() >= 2 && b.front() == 0 && uint64_t(b.back()) == extent;
  for (size_t e = 0; ok && e + 1 < b.size(); ++e)
    ok = b[e] < b[e + 1] && uint64_t(b[e + 1] - b[e]) * across <= kMaxChunkValues;
  if (!ok)
    throw std::invalid_argument("the expert bounds do not cut the " + std::to_string(extent) + " " +
                                (cut.columns ? "columns" : "rows") + " of tensor " + quote_name(name));
}

// A tensor cut into expert chunks stays 2:4 when it qualifies and every column block's row segments are
// whole groups of 4 (docs/format.md 4.3).
bool expert_chunks_sparse24(const ByteSource& in, const PlannedSegment& s, const ExpertCut& cut, bool sparse24) {
  bool sparse = sparse24 && qualifies_sparse24(in, s);
  for (size_t e = 0; sparse && cut.columns && e < cut.bounds.size(); ++e) sparse = cut.bounds[e] % 4 == 0;
  return sparse;
}

}  // namespace

CompressResult compress(const ByteSource& in, ByteSink& out, const CompressOptions& opt) {
  const int lanes = opt.chunk.lanes;
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8) throw std::invalid_argument("lanes must be 1, 2, 4 or 8");
  if (opt.chunk.table_log < tans::kMinTableLog || opt.chunk.table_log > tans::kMaxTableLog)
    throw std::invalid_argument("table log must be 5..12");
  if (opt.chunk_values < 1 || opt.chunk_values > kMaxChunkValues)
    throw std::invalid_argument("chunk must be 1.." + std::to_string(kMaxChunkValues) + " values");
  if (opt.paths < 1 || opt.paths > kMaxChunkPaths)
    throw std::invalid_argument("paths must be 1.." + std::to_string(kMaxChunkPaths));

  const SourcePlan plan = plan_source(in);
  for (const auto& [name, cut] : opt.experts) check_expert_cut(plan, name, cut);
  // The oldest version that holds what is written: expert chunks of a 2:4 tensor need 5, of dense ones 4.
  uint16_t version = kContainerVersion;
  for (const PlannedSegment& s : plan.segments)
    if (const auto cut = opt.experts.find(s.name); s.tensor && cut != opt.experts.end())
      version = std::max(version, expert_chunks_sparse24(in, s, cut->second, opt.sparse24) ? kVersionSparse24Experts
                                                                                          : kVersionExperts);
  CompressResult result;
  result.kind = plan.kind;
  result.source_bytes = plan.size;
  ContainerWriter w(out, plan.kind, plan.size, version);
  uint64_t done = 0;
  auto advance = [&](uint64_t n) {
    done += n;
    if (opt.progress) opt.progress(done, plan.size);
  };

  using Bytes = std::vector<uint8_t>;
  OrderedPipeline<Bytes> pipe(resolve_threads(opt.threads));
  for (const PlannedSegment& s : plan.segments) {
    if (!s.tensor) {
      pipe.then([&w] { w.begin_literal(); });
      for (uint64_t at = 0; at < s.length; at += kLiteralWindow) {
        const size_t n = size_t(std::min<uint64_t>(kLiteralWindow, s.length - at));
        pipe.ready(in.read(s.source_offset + at, n), [&w, &advance](Bytes& b) {
          w.literal_bytes(b.data(), b.size());
          advance(b.size());
        });
      }
      pipe.then([&w] { w.end_literal(); });
      continue;
    }
    if (s.quantized) {
      // Whole blocks per chunk: chunk_values rounded down to whole rows, or to whole blocks.
      const QuantLayout& q = *quant_layout(s.quant);
      pipe.then([&w, &s] { w.begin_quant_tensor(s.name, s.quant, s.dims); });
      ++result.tensors;
      ++result.quant_tensors;
      const uint64_t count = s.length / q.block_bytes() * kQuantBlockValues;
      const uint64_t per =
          std::max<uint64_t>(kQuantBlockValues, chunk_values_for(s.dims, opt.chunk_values) / kQuantBlockValues * kQuantBlockValues);
      for (uint64_t v = 0; v < count; v += per) {
        const size_t n = size_t(std::min<uint64_t>(per, count - v));
        const uint64_t bytes = n / kQuantBlockValues * q.block_bytes();
        auto blocks = std::make_shared<Bytes>(in.read(s.source_offset + v / kQuantBlockValues * q.block_bytes(), size_t(bytes)));
        const GgmlType type = s.quant;
        ChunkOptions copt = opt.chunk;
        copt.checksum = segment_checksum(version, s.name, s.source_offset + v / kQuantBlockValues * q.block_bytes());
        ++result.chunks;
        pipe.run([blocks, n, type, copt] { return encode_quant_chunk(blocks->data(), n, type, copt); },
                 [&w, &advance, blocks, bytes](Bytes& chunk) {
                   w.add_chunk(chunk, blocks->data(), size_t(bytes));
                   advance(bytes);
                 });
      }
      pipe.then([&w] { w.end_tensor(); });
      continue;
    }
    if (const auto cut = opt.experts.find(s.name); cut != opt.experts.end()) {
      // One chunk per expert of every matrix: its rows, or its column block gathered row-major.
      const Segment::Experts layout = cut->second.columns ? Segment::Experts::Columns : Segment::Experts::Rows;
      const bool sparse = expert_chunks_sparse24(in, s, cut->second, opt.sparse24);
      pipe.then([&w, &s, layout, sparse] {
        w.begin_tensor(s.name, s.format, s.dims, sparse);
        w.set_experts(layout);
      });
      ++result.tensors;
      result.sparse24_tensors += sparse;
      const size_t width = s.format.value_bytes();
      const uint64_t rows = s.dims[s.dims.size() - 2], cols = s.dims.back();
      const std::vector<int> b = cut->second.bounds;  // what the jobs below need, by value
      const bool columns = layout == Segment::Experts::Columns;
      uint64_t done_values = 0;  // in chunk order: what the next chunk's checksum is bound to
      for (uint64_t m = 0; m < s.length / width / (rows * cols); ++m) {
        auto matrix = std::make_shared<Bytes>(in.read(s.source_offset + m * rows * cols * width, size_t(rows * cols * width)));
        for (size_t e = 0; e + 1 < b.size(); ++e) {
          const uint64_t first = uint64_t(b[e]), count = uint64_t(b[e + 1] - b[e]);
          auto values = std::make_shared<Bytes>();
          if (!columns) {
            values->assign(matrix->begin() + std::ptrdiff_t(first * cols * width),
                           matrix->begin() + std::ptrdiff_t((first + count) * cols * width));
          } else {
            values->reserve(size_t(rows * count * width));
            for (uint64_t r = 0; r < rows; ++r) {
              const auto row = matrix->begin() + std::ptrdiff_t((r * cols + first) * width);
              values->insert(values->end(), row, row + std::ptrdiff_t(count * width));
            }
          }
          const size_t n = values->size() / width;
          const ValueFormat format = s.format;
          ChunkOptions copt = opt.chunk;
          copt.checksum = segment_checksum(version, s.name, s.source_offset + done_values * width);
          done_values += n;
          ++result.chunks;
          const uint32_t key[4] = {uint32_t(m), uint32_t(e), uint32_t(first), uint32_t(count)};
          if (sparse) {  // rows: count rows of cols values; a column block: rows rows of count values
            const uint32_t r = uint32_t(columns ? rows : count);
            const uint64_t k = columns ? count : cols;
            const DType dtype = format.dtype();
            const ChunkOptions vopt{opt.chunk.lanes, kSparse24ValueTableLog, opt.chunk.layout, copt.checksum};
            pipe.run([values, r, k, dtype, vopt] { return encode_sparse24_chunk(values->data(), r, k, dtype, vopt); },
                     [&w, &advance, values, key](Bytes& chunk) {
                       w.add_expert_chunk(chunk, values->data(), values->size(), key[0], key[1], key[2], key[3]);
                       advance(values->size());
                     });
            continue;
          }
          pipe.run([values, n, format, copt] { return encode_chunk(values->data(), n, format, copt); },
                   [&w, &advance, values, key](Bytes& chunk) {
                     w.add_expert_chunk(chunk, values->data(), values->size(), key[0], key[1], key[2], key[3]);
                     advance(values->size());
                   });
        }
      }
      pipe.then([&w] { w.end_tensor(); });
      continue;
    }
    const bool sparse = opt.sparse24 && qualifies_sparse24(in, s);
    pipe.then([&w, &s, sparse] { w.begin_tensor(s.name, s.format, s.dims, sparse); });
    ++result.tensors;
    const size_t width = s.format.value_bytes();
    const uint64_t count = s.length / width;
    if (sparse) {
      // Whole rows of one matrix per chunk, at most chunk_values kept values (at least one row), the
      // same cut for every matrix of the tensor: for `paths` paths, a multiple of it, balanced.
      ++result.sparse24_tensors;
      const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
      const RowChunks cut = chunk_rows_for(rows, 2 * uint64_t(sparse24_stored_groups(cols)), opt.chunk_values, opt.paths);
      const DType dtype = s.format.dtype();
      for (uint64_t m = 0; m < count / cols; m += rows)
        for (uint64_t i = 0; i < cut.count; ++i) {
          const uint64_t r = cut.first_row(i);
          const uint32_t n = uint32_t(cut.rows_of(i));
          const uint64_t bytes = n * cols * width;
          const uint64_t at = s.source_offset + (m + r) * cols * width;
          auto values = std::make_shared<Bytes>(in.read(at, size_t(bytes)));
          const ChunkOptions vopt{opt.chunk.lanes, kSparse24ValueTableLog, opt.chunk.layout,
                                  segment_checksum(version, s.name, at)};
          ++result.chunks;
          pipe.run([values, n, cols, dtype, vopt] { return encode_sparse24_chunk(values->data(), n, cols, dtype, vopt); },
                   [&w, &advance, values, bytes](Bytes& chunk) {
                     w.add_chunk(chunk, values->data(), size_t(bytes));
                     advance(bytes);
                   });
        }
      pipe.then([&w] { w.end_tensor(); });
      continue;
    }
    const DenseChunks cut = dense_chunks_for(s.dims, count, opt.chunk_values, opt.paths);
    for (uint64_t i = 0; i < cut.count(); ++i) {
      const uint64_t v = cut.value_at(i);
      const size_t n = size_t(cut.value_at(i + 1) - v);
      auto values = std::make_shared<Bytes>(in.read(s.source_offset + v * width, n * width));
      const ValueFormat format = s.format;
      ChunkOptions copt = opt.chunk;
      copt.checksum = segment_checksum(version, s.name, s.source_offset + v * width);
      ++result.chunks;
      pipe.run([values, n, format, copt] { return encode_chunk(values->data(), n, format, copt); },
               [&w, &advance, values, n, width](Bytes& chunk) {
                 w.add_chunk(chunk, values->data(), n * width);
                 advance(n * width);
               });
    }
    pipe.then([&w] { w.end_tensor(); });
  }
  pipe.finish();
  result.container_bytes = w.finish();
  return result;
}

std::string opaque_input_note(const std::string& in, const ByteSource& src, const CompressResult& r) {
  if (r.kind != SourceKind::Opaque || r.source_bytes == 0) return "";
  uint8_t first[8] = {};
  const size_t n = size_t(std::min<uint64_t>(src.size(), sizeof first));
  src.read(0, first, n);
  const char* packed = compressed_format_of(first, n);
  const std::string why = packed ? std::string("already compressed (") + packed + ")" : "not a known weight format";
  return strprintf("note: %s: %s; stored as opaque bytes (ratio %.3f:1)\n", in.c_str(), why.c_str(),
                   r.container_bytes ? double(r.source_bytes) / double(r.container_bytes) : 0.0);
}

std::string compress_summary(const std::string& in, const std::string& out, const CompressResult& r,
                             const CompressOptions& options) {
  return strprintf("%s: %s, %" PRIu64 " bytes -> %s: %" PRIu64 " bytes (%.3f:1), %" PRIu64 " tensors in %" PRIu64
                   " chunks, ",
                   in.c_str(), source_kind_name(r.kind), r.source_bytes, out.c_str(), r.container_bytes,
                   r.container_bytes ? double(r.source_bytes) / double(r.container_bytes) : 0.0, r.tensors, r.chunks) +
         (options.sparse24 ? strprintf("%" PRIu64 " stored 2:4", r.sparse24_tensors)
                           : std::string("all stored dense (--no-sparse)")) +
         (r.quant_tensors ? strprintf(", %" PRIu64 " block-quantized (GGUF)\n", r.quant_tensors) : std::string("\n"));
}

}  // namespace ws
