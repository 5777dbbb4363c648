#include "ops/decompress.hpp"

#include <algorithm>
#include <cinttypes>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "ops/report.hpp"

namespace ws {
namespace {

// Decoded pieces travel from the workers to the writer in buffers that are reused: a buffer is
// zero-filled (by std::vector) only when it first grows, never per chunk, and no chunk allocates.
class BufferPool {
 public:
  std::vector<uint8_t> get(size_t n) {
    std::vector<uint8_t> b;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        b = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (b.size() < n) b.resize(n);
    return b;
  }
  void put(std::vector<uint8_t> b) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(b));
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<uint8_t>> free_;
};

struct Piece {
  std::vector<uint8_t> buf;  // at least `size` bytes
  size_t size = 0;
  std::vector<uint64_t> digests;  // each chunk's 64-bit checksum (for the content checksum), in order
};

// Consecutive chunks of a tensor are decoded as one job of about this many output bytes: a job per
// 128 KiB chunk cost two thread hand-offs (futex wake-ups) each, 6% of a one-thread decompress. A
// source too small to give each thread 8 such jobs gets smaller ones, so that threads still share it.
size_t job_bytes(uint64_t source_size, unsigned threads) {
  constexpr uint64_t kMaxJobBytes = uint64_t(1) << 20;
  return size_t(std::min<uint64_t>(kMaxJobBytes, source_size / (8 * uint64_t(threads))));
}

}  // namespace

void decompress(const ContainerReader& in, ByteSink& out, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  ContentChecksum content;  // from version 2: over every chunk's and literal's digest, in order
  BufferPool pool;
  uint64_t done = 0;
  auto emit = [&](Piece& p) {
    out.write(p.buf.data(), p.size);
    done += p.size;
    pool.put(std::move(p.buf));
    if (progress) progress(done, ix.source_size);
  };

  out.expect_size(ix.source_size);
  const unsigned workers = resolve_threads(threads);
  const size_t group = job_bytes(ix.source_size, workers);
  OrderedPipeline<Piece> pipe(workers);
  std::optional<Checksum::Running> literal;  // of the literal being written; consumers run in order
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      // LTE column blocks (docs/format.md section 4.3): a job is one whole matrix, each block decoded
      // and put back at its columns.
      const bool columns = s.experts == Segment::Experts::Columns;
      for (size_t j = 0, k; j < s.chunks.size(); j = k) {
        size_t bytes = size_t(s.source_bytes(s.chunks[j].value_count));  // chunks j .. k-1, at least one
        for (k = j + 1; k < s.chunks.size() && (columns ? s.chunks[k].matrix == s.chunks[j].matrix
                                                        : bytes + s.source_bytes(s.chunks[k].value_count) <= group);
             ++k)
          bytes += size_t(s.source_bytes(s.chunks[k].value_count));
        pipe.run(
            [&in, &s, &pool, j, k, bytes, columns] {
              Piece p;
              p.size = bytes;
              p.buf = pool.get(bytes);
              p.digests.resize(k - j);
              std::vector<uint8_t> block;  // a column block before it is put back
              size_t at = 0;
              for (size_t i = j; i < k; ++i) {
                const size_t n = size_t(s.source_bytes(s.chunks[i].value_count));
                if (columns) block.resize(n);
                in.decode_chunk_into(s, i, columns ? block.data() : p.buf.data() + at, n, &p.digests[i - j]);
                if (columns) place_expert_chunk(s, i, block.data(), p.buf.data());
                at += n;
              }
              return p;
            },
            [&content, &emit](Piece& p) {
              for (uint64_t d : p.digests) content.add(d);
              emit(p);
            });
      }
      continue;
    }
    pipe.then([&literal, &in, &s] { literal.emplace(literal_checksum(in.version(), s)); });
    for (uint64_t at = 0; at < s.length; at += kLiteralWindow) {
      Piece p;
      p.size = size_t(std::min<uint64_t>(kLiteralWindow, s.length - at));
      p.buf = pool.get(p.size);
      in.read_literal(s, at, p.buf.data(), p.size);
      pipe.ready(std::move(p), [&literal, &emit](Piece& p) {
        literal->update(p.buf.data(), p.size);
        emit(p);
      });
    }
    pipe.then([&literal, &s, &content] {
      if (literal->value() != s.crc)
        throw FormatError("checksum mismatch in the literal segment at source offset " +
                          std::to_string(s.source_offset));
      content.add(literal->digest());
    });
  }
  pipe.finish();
  if (ix.version >= kVersionBound && content.value() != ix.content_checksum)
    throw FormatError("content checksum mismatch: the decoded bytes are not what was compressed");
}

std::string decompress_summary(const std::string& in, const std::string& out, const ContainerReader& reader) {
  return strprintf("%s -> %s: %" PRIu64 " bytes (%s), every checksum verified\n", in.c_str(), out.c_str(),
                   reader.index().source_size, source_kind_name(reader.index().source_kind));
}

}  // namespace ws
