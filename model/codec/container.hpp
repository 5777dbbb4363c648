// The .wsz container (docs/format.md section 4): writer, validating reader with random access, and
// the streaming, multi-threaded whole-file operations behind the `weightstream` tool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "numfmt/value_format.hpp"

namespace ws {

// ---------------------------------------------------------------------------------------------
// Byte sources and sinks. Files are read with pread, so several threads can read one source.

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies n bytes from offset. Thread-safe. Throws ws::FormatError if the range passes the end.
  virtual void read(uint64_t offset, uint8_t* dst, size_t n) const = 0;
  std::vector<uint8_t> read(uint64_t offset, size_t n) const;
};

// An operating-system error on a named file (open, read, write, rename). The tool prints its path.
class IoError : public std::runtime_error {
 public:
  IoError(std::string path, const std::string& what) : std::runtime_error(what), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);  // throws IoError (missing, unreadable, a directory)
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  uint64_t size() const override { return size_; }
  using ByteSource::read;
  void read(uint64_t offset, uint8_t* dst, size_t n) const override;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Bytes in memory; they must outlive the source.
class MemorySource final : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  using ByteSource::read;
  void read(uint64_t offset, uint8_t* dst, size_t n) const override;

 private:
  const uint8_t* data_;
  size_t size_;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const uint8_t* data, size_t n) = 0;
};

class VectorSink final : public ByteSink {
 public:
  void write(const uint8_t* data, size_t n) override { bytes.insert(bytes.end(), data, data + n); }
  std::vector<uint8_t> bytes;
};

// Writes to a temporary file beside `path`; commit() renames it to `path`. Destroyed without a commit
// (an error on the way), it removes the temporary, so a failed run leaves no half-written file.
class AtomicFileSink final : public ByteSink {
 public:
  explicit AtomicFileSink(const std::string& path);  // throws IoError
  ~AtomicFileSink() override;
  AtomicFileSink(const AtomicFileSink&) = delete;
  AtomicFileSink& operator=(const AtomicFileSink&) = delete;
  void write(const uint8_t* data, size_t n) override;  // throws IoError
  void commit();                                       // throws IoError
  const std::string& temp_path() const { return temp_; }

 private:
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// ---------------------------------------------------------------------------------------------
// The index.

enum class SourceKind : uint8_t { Opaque = 0, Safetensors = 1, Llama2c = 2 };
const char* source_kind_name(SourceKind k);  // "opaque", "safetensors", "llama2c"

constexpr uint64_t kHeaderBytes = 16;
constexpr uint64_t kFooterBytes = 24;

struct ChunkEntry {
  uint64_t offset = 0;  // in the container
  uint32_t size = 0;    // bytes
  uint32_t value_count = 0;
};

struct Segment {
  // Sparse24: a tensor stored 2:4 (ws/sparse24_chunk.hpp); same record as Tensor, other chunk format.
  enum class Kind : uint8_t { Literal = 0, Tensor = 1, Sparse24 = 2 };
  Kind kind = Kind::Literal;
  uint64_t source_offset = 0;  // where its bytes lie in the source (the lengths before it, summed)
  uint64_t length = 0;         // its bytes in the source
  // Literal: the bytes, verbatim, at `offset` in the container.
  uint64_t offset = 0;
  uint32_t crc = 0;
  // Tensor.
  std::string name;
  ValueFormat format;          // the number format (docs/format.md section 4.1)
  DType dtype = DType::Raw;    // format.dtype(): BF16/F16/F32 for format ids 1..3, Raw for the others
  std::vector<uint64_t> dims;
  uint64_t value_count = 0;
  std::vector<ChunkEntry> chunks;

  bool is_tensor() const { return kind != Kind::Literal; }  // dense or 2:4
  bool is_sparse24() const { return kind == Kind::Sparse24; }
  uint64_t index_bytes() const;  // size of this segment's record in the index
};

struct Index {
  SourceKind source_kind = SourceKind::Opaque;
  uint64_t source_size = 0;
  std::vector<Segment> segments;
};

std::vector<uint8_t> serialize_index(const Index& index);
// Parses and validates an index whose chunks and literals must lie in [region_begin, region_end).
// Throws ws::FormatError naming the problem and the tensor and chunk it is in.
Index parse_index(const uint8_t* data, size_t size, uint64_t region_begin, uint64_t region_end);

// ---------------------------------------------------------------------------------------------
// Writer: header first, then segments in source order as they are produced, index and footer last.
// Misuse (segments that do not tile the source, a chunk outside a tensor) throws std::logic_error.

class ContainerWriter {
 public:
  ContainerWriter(ByteSink& out, SourceKind kind, uint64_t source_size);
  void begin_literal();
  void literal_bytes(const uint8_t* data, size_t n);
  void end_literal();
  // sparse24: the tensor's chunks are encode_sparse24_chunk() results (whole rows, one matrix each).
  void begin_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& dims,
                    bool sparse24 = false);
  void begin_tensor(const std::string& name, const ValueFormat& format, const std::vector<uint64_t>& dims,
                    bool sparse24 = false);
  void add_chunk(const std::vector<uint8_t>& chunk);  // an encode_chunk() / encode_sparse24_chunk() result
  void end_tensor();
  uint64_t finish();  // writes index and footer; returns the container's size

 private:
  void put(const uint8_t* data, size_t n);
  ByteSink& out_;
  Index index_;
  uint64_t written_ = 0;
  uint64_t source_done_ = 0;
  enum class State { Idle, Literal, Tensor, Done } state_ = State::Idle;
};

// ---------------------------------------------------------------------------------------------
// Reader: validates header, footer and index on construction; then random access by tensor and chunk.

class ContainerReader {
 public:
  explicit ContainerReader(std::unique_ptr<const ByteSource> source);  // throws ws::FormatError
  static ContainerReader open(const std::string& path);                // + IoError
  static ContainerReader from_memory(const uint8_t* data, size_t size);

  const Index& index() const { return index_; }
  uint64_t file_size() const { return source_->size(); }
  uint64_t index_offset() const { return index_offset_; }
  uint64_t index_size() const { return index_size_; }

  const Segment* find_tensor(const std::string& name) const;  // nullptr if absent
  const Segment& tensor(const std::string& name) const;       // throws ws::FormatError if absent

  std::vector<uint8_t> chunk_bytes(const Segment& tensor, size_t chunk) const;
  // The chunk's values, bytes as in the source; every check of the format and the CRC done. Errors
  // read "tensor 'wq' chunk 3: checksum mismatch". Thread-safe.
  std::vector<uint8_t> decode_chunk(const Segment& tensor, size_t chunk) const;
  std::vector<uint8_t> decode_tensor(const std::string& name) const;
  // n bytes of a literal segment from `at` within it (unchecked), and a CRC check of all of it.
  void read_literal(const Segment& literal, uint64_t at, uint8_t* dst, size_t n) const;
  void verify_literal(const Segment& literal) const;

 private:
  std::unique_ptr<const ByteSource> source_;
  Index index_;
  uint64_t index_offset_ = 0, index_size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// What a source file holds, as segments that tile it (format detection: safetensors, llama2.c, or
// opaque). Coded tensors become tensor segments; everything else (headers, gaps, other dtypes)
// becomes literal segments, adjacent ones merged.

struct PlannedSegment {
  bool tensor = false;
  uint64_t source_offset = 0;
  uint64_t length = 0;
  std::string name;
  ValueFormat format;
  std::vector<uint64_t> dims;
};

struct SourcePlan {
  SourceKind kind = SourceKind::Opaque;
  uint64_t size = 0;
  std::vector<PlannedSegment> segments;
};

// Throws ws::FormatError for a file that claims to be safetensors but has a bad header.
SourcePlan plan_source(const ByteSource& source);

constexpr uint64_t kDefaultChunkValues = 65536;
constexpr uint64_t kMaxChunkValues = uint64_t(1) << 24;

// Values per chunk of a tensor: chunk_values rounded down to whole rows of the last dimension when at
// least one row fits, else chunk_values itself.
uint64_t chunk_values_for(const std::vector<uint64_t>& dims, uint64_t chunk_values);

// ---------------------------------------------------------------------------------------------
// Whole-file operations. They stream: input is read a chunk (or 1 MiB of literal) at a time, a pool of
// `threads` workers codes chunks (0 = hardware concurrency) and results are written in order, with a
// bounded number in flight. Progress gets (source bytes done, source bytes in all).

using Progress = std::function<void(uint64_t done, uint64_t total)>;

struct CompressOptions {
  ChunkOptions chunk;
  uint64_t chunk_values = kDefaultChunkValues;  // 1 .. kMaxChunkValues (kept values for 2:4 chunks)
  // Store every tensor that qualifies as 2:4 (ws/sparse24_chunk.hpp); false = everything dense.
  bool sparse24 = true;
  unsigned threads = 0;
  Progress progress;
};

struct CompressResult {
  SourceKind kind = SourceKind::Opaque;
  uint64_t source_bytes = 0;
  uint64_t container_bytes = 0;
  uint64_t tensors = 0;  // tensor segments
  uint64_t sparse24_tensors = 0;  // of which stored 2:4
  uint64_t chunks = 0;
};

// Throws std::invalid_argument for bad options, ws::FormatError for a bad safetensors header.
CompressResult compress(const ByteSource& in, ByteSink& out, const CompressOptions& options);
void decompress(const ContainerReader& in, ByteSink& out, unsigned threads = 0, const Progress& progress = {});

// `inspect`: decodes every chunk (checking every CRC) to measure what the scheme achieved against the
// order-0 entropy bound of the same scheme. The scheme gives every chunk its own table, so its bound is
// per chunk: n_c * H0(symbols of chunk c) + n_c * raw bits, summed over the chunks. (The tensor-wide
// H0 is not a bound: on a tensor whose statistics drift, such as an embedding table sorted by token
// frequency, per-chunk tables beat it.)
struct TensorReport {
  const Segment* segment = nullptr;
  uint64_t compressed_bytes = 0;  // its chunks plus its index record
  tans::Histogram histogram{};    // of all its symbols (exponents; of the kept values for 2:4)
  double bound_bits = 0;          // sum over chunks of n_c * H0(chunk symbols) + n_c * raw bits
  // 2:4 tensors: the two sub-streams apart. bound_bits = value_bound_bits + meta_bound_bits.
  bool sparse24 = false;
  uint64_t value_bytes = 0, meta_bytes = 0;  // value / meta sub-chunks (the rest: chunk headers, index)
  uint64_t stored_values = 0, stored_groups = 0;  // kept values and nibbles, padding included
  double value_bound_bits = 0;    // per chunk: n_kept * H0(exponents) + n_kept * raw bits
  double meta_bound_bits = 0;     // per chunk: n_groups * H0(nibbles)
};

struct InspectReport {
  uint64_t file_bytes = 0;
  std::vector<TensorReport> tensors;
  uint64_t literal_segments = 0;
  uint64_t literal_bytes = 0;       // stored verbatim, bound 8 bits each
  uint64_t header_footer_bytes = 0;
  uint64_t index_other_bytes = 0;   // index bytes not in a tensor record: fixed fields, literal records
  uint64_t other_bytes() const { return literal_bytes + header_footer_bytes + index_other_bytes; }
};

InspectReport inspect(const ContainerReader& in, unsigned threads = 0, const Progress& progress = {});

}  // namespace ws
