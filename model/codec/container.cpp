#include "codec/container.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"

namespace ws {
namespace {

constexpr char kMagic[4] = {'W', 'S', 'Z', '1'};
constexpr char kEndMagic[4] = {'W', 'S', 'Z', 'E'};
constexpr uint16_t kVersion = 1;
constexpr size_t kLiteralWindow = size_t(1) << 20;  // literal bytes are copied 1 MiB at a time
constexpr uint64_t kLiteralRecord = 1 + 8 + 8 + 4;
constexpr uint64_t kIndexFixed = 1 + 8 + 4;

// A name fit for a one-line error message: control bytes escaped, very long names cut.
std::string quote_name(const std::string& name) {
  std::string s = "'";
  for (size_t i = 0; i < name.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    } else {
      s += char(c);
    }
  }
  if (name.size() > 200) s += "...";
  return s + "'";
}

std::string chunk_where(const Segment& t, size_t j) {
  return "tensor " + quote_name(t.name) + " chunk " + std::to_string(j);
}


// A tensor segment's format; a Segment filled in by hand with only a dtype (as before format ids) has
// the format of that dtype.
ValueFormat format_of(const Segment& s) {
  return s.format.empty() ? ValueFormat::of_dtype(s.dtype) : s.format;
}

// A 2:4 chunk covering `count` values from value `first` of tensor t must hold whole rows (at least
// one) of one matrix: the hardware streams a layer at a time.
void check_sparse24_rows(const Segment& t, uint64_t first, uint64_t count, size_t j) {
  const uint64_t cols = t.dims.back(), rows = t.dims[t.dims.size() - 2];
  if (count == 0 || count % cols != 0 || rows == 0)
    throw FormatError("2:4 chunk does not hold whole rows in " + chunk_where(t, j));
  const uint64_t row = first / cols % rows;  // first row within its matrix
  if (count / cols > rows - row) throw FormatError("2:4 chunk straddles two matrices in " + chunk_where(t, j));
}

unsigned resolve_threads(unsigned threads) {
  if (threads != 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

// A fixed set of worker threads running queued tasks. Destruction drops tasks not yet started.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      queue_.clear();
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  template <class R>
  std::future<R> submit(std::function<R()> f) {
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    std::future<R> result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return result;
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();  // a packaged_task: exceptions land in its future
    }
  }
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
};

// Runs jobs on the pool and hands each result to its consumer in submission order, on the calling
// thread. At most `limit` results are pending, which bounds memory.
template <class R>
class OrderedPipeline {
 public:
  explicit OrderedPipeline(unsigned threads) : limit_(2 * size_t(threads) + 2), pool_(threads) {}
  void run(std::function<R()> work, std::function<void(R&)> consume) {
    push(pool_.submit<R>(std::move(work)), std::move(consume));
  }
  // A result already at hand (literal bytes), consumed in order with the others.
  void ready(R value, std::function<void(R&)> consume) {
    std::promise<R> p;
    p.set_value(std::move(value));
    push(p.get_future(), std::move(consume));
  }
  // An action run in order after everything submitted before it.
  void then(std::function<void()> action) {
    ready(R{}, [action = std::move(action)](R&) { action(); });
  }
  void finish() {
    while (!pending_.empty()) pop();
  }

 private:
  struct Entry {
    std::future<R> result;
    std::function<void(R&)> consume;
  };
  void push(std::future<R> f, std::function<void(R&)> consume) {
    pending_.push_back({std::move(f), std::move(consume)});
    while (pending_.size() > limit_) pop();
  }
  void pop() {
    Entry e = std::move(pending_.front());
    pending_.pop_front();
    R r = e.result.get();  // rethrows a worker's exception
    e.consume(r);
  }
  size_t limit_;
  std::deque<Entry> pending_;  // destroyed after the pool has stopped (declared before it)
  ThreadPool pool_;
};

// Bounds-checked little-endian reader of the index.
class IndexCursor {
 public:
  IndexCursor(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  uint64_t get(int bytes, const std::string& what) {
    need(size_t(bytes), what);
    uint64_t v = load_le(p_, bytes);
    p_ += bytes;
    return v;
  }
  void need(uint64_t bytes, const std::string& what) const {
    if (uint64_t(end_ - p_) < bytes) throw FormatError("index truncated in " + what);
  }
  size_t left() const { return size_t(end_ - p_); }
  const uint8_t* peek() const { return p_; }
  const uint8_t* take(size_t n, const std::string& what) {
    need(n, what);
    const uint8_t* p = p_;
    p_ += n;
    return p;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The format id and its parameters (docs/format.md section 4.1), errors naming the tensor.
ValueFormat parse_format(IndexCursor& c, const std::string& where) {
  const uint8_t* p = c.peek();
  const uint8_t* end = p + c.left();
  try {
    ValueFormat f = ValueFormat::parse(p, end);
    c.take(size_t(p - c.peek()), where);
    return f;
  } catch (const FormatError& e) {
    throw FormatError(std::string(e.what()) + " in " + where);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::vector<uint8_t> ByteSource::read(uint64_t offset, size_t n) const {
  std::vector<uint8_t> out(n);
  read(offset, out.data(), n);
  return out;
}

FileSource::FileSource(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw IoError(path, std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw IoError(path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  size_ = uint64_t(st.st_size);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(uint64_t offset, uint8_t* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset) throw FormatError("read past the end of the file");
  while (n > 0) {
    const ssize_t got = ::pread(fd_, dst, n, off_t(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw IoError(path_, std::string("read failed: ") + std::strerror(errno));
    if (got == 0) throw IoError(path_, "file shrank while being read");
    dst += got;
    offset += uint64_t(got);
    n -= size_t(got);
  }
}

void MemorySource::read(uint64_t offset, uint8_t* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset) throw FormatError("read past the end of the data");
  if (n) std::memcpy(dst, data_ + offset, n);
}

AtomicFileSink::AtomicFileSink(const std::string& path) : path_(path) {
  std::string tmpl = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw IoError(path, std::string("cannot create: ") + std::strerror(errno));
  temp_ = tmpl;
  // mkstemp makes the file private (0600); give it the permissions a plain create would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    const int e = errno;
    ::close(fd);
    ::unlink(temp_.c_str());
    throw IoError(path, std::string("cannot create: ") + std::strerror(e));
  }
  std::setvbuf(file_, nullptr, _IOFBF, size_t(1) << 20);
}

AtomicFileSink::~AtomicFileSink() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileSink::write(const uint8_t* data, size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n)
    throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
}

void AtomicFileSink::commit() {
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fflush(f) != 0 || std::ferror(f)) {
    const int e = errno;
    std::fclose(f);
    throw IoError(path_, std::string("write failed: ") + std::strerror(e));
  }
  if (std::fclose(f) != 0) throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw IoError(path_, std::string("cannot write: ") + std::strerror(errno));
  committed_ = true;
}

// ---------------------------------------------------------------------------------------------

const char* source_kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::Opaque: return "opaque";
    case SourceKind::Safetensors: return "safetensors";
    case SourceKind::Llama2c: return "llama2c";
  }
  return "unknown";
}

uint64_t Segment::index_bytes() const {
  if (!is_tensor()) return kLiteralRecord;
  return 1 + 2 + name.size() + format_of(*this).record_bytes() + 1 + 8 * dims.size() + 8 + 4 + 16 * chunks.size();
}

std::vector<uint8_t> serialize_index(const Index& index) {
  std::vector<uint8_t> out;
  append_le(out, uint8_t(index.source_kind), 1);
  append_le(out, index.source_size, 8);
  append_le(out, index.segments.size(), 4);
  for (const Segment& s : index.segments) {
    append_le(out, uint8_t(s.kind), 1);
    if (!s.is_tensor()) {
      append_le(out, s.length, 8);
      append_le(out, s.offset, 8);
      append_le(out, s.crc, 4);
      continue;
    }
    append_le(out, s.name.size(), 2);
    out.insert(out.end(), s.name.begin(), s.name.end());
    format_of(s).serialize(out);
    append_le(out, s.dims.size(), 1);
    for (uint64_t d : s.dims) append_le(out, d, 8);
    append_le(out, s.value_count, 8);
    append_le(out, s.chunks.size(), 4);
    for (const ChunkEntry& c : s.chunks) {
      append_le(out, c.offset, 8);
      append_le(out, c.size, 4);
      append_le(out, c.value_count, 4);
    }
  }
  return out;
}

Index parse_index(const uint8_t* data, size_t size, uint64_t region_begin, uint64_t region_end) {
  IndexCursor c(data, size);
  Index ix;
  const uint64_t kind = c.get(1, "source kind");
  if (kind > 2) throw FormatError("unknown source kind " + std::to_string(kind));
  ix.source_kind = SourceKind(kind);
  ix.source_size = c.get(8, "source size");
  const uint64_t count = c.get(4, "segment count");
  // The smallest record (a tensor with an empty name, rank 0 and no chunk) takes 17 bytes.
  if (count > c.left() / 17) throw FormatError("index truncated: too short for " + std::to_string(count) + " segments");
  ix.segments.reserve(size_t(count));

  auto in_region = [&](uint64_t offset, uint64_t length) {
    return offset >= region_begin && offset <= region_end && length <= region_end - offset;
  };
  std::set<std::string> names;
  uint64_t source_offset = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string seg = "segment " + std::to_string(i);
    Segment s;
    const uint64_t k = c.get(1, seg);
    if (k == 0) {
      s.kind = Segment::Kind::Literal;
      s.length = c.get(8, seg);
      s.offset = c.get(8, seg);
      s.crc = uint32_t(c.get(4, seg));
      if (!in_region(s.offset, s.length)) throw FormatError("offset out of range in literal " + seg);
    } else if (k == 1 || k == 2) {
      s.kind = k == 1 ? Segment::Kind::Tensor : Segment::Kind::Sparse24;
      const size_t name_len = size_t(c.get(2, seg));
      const uint8_t* name = c.take(name_len, seg + " name");
      s.name.assign(reinterpret_cast<const char*>(name), name_len);
      const std::string where = "tensor " + quote_name(s.name);
      s.format = parse_format(c, where);
      s.dtype = s.format.dtype();
      const uint64_t rank = c.get(1, where);
      c.need(8 * rank, where + " dims");
      bool empty = false;
      uint64_t product = 1;
      bool overflow = false;
      for (uint64_t r = 0; r < rank; ++r) {
        const uint64_t d = c.get(8, where);
        s.dims.push_back(d);
        empty = empty || d == 0;
        if (product != 0 && d > UINT64_MAX / product) overflow = true;
        product *= d;
      }
      s.value_count = c.get(8, where);
      if (empty) product = 0, overflow = false;
      if (overflow || product != s.value_count)
        throw FormatError("dims do not match the value count in " + where);
      const uint64_t chunks = c.get(4, where);
      c.need(16 * chunks, where + " chunk list");
      s.chunks.resize(size_t(chunks));
      const unsigned raw_bits = unsigned(s.format.min_raw_bits());
      if (s.is_sparse24() && s.dtype == DType::Raw) throw FormatError("2:4 " + where + " must be bf16, f16 or f32");
      if (s.is_sparse24() && !sparse24_shape_ok(s.dtype, s.dims))
        throw FormatError("2:4 " + where + " needs rank >= 2 and a last dim that is a multiple of 4");
      uint64_t values = 0;
      for (uint64_t j = 0; j < chunks; ++j) {
        ChunkEntry& e = s.chunks[size_t(j)];
        e.offset = c.get(8, where);
        e.size = uint32_t(c.get(4, where));
        e.value_count = uint32_t(c.get(4, where));
        if (!in_region(e.offset, e.size))
          throw FormatError("offset out of range in " + chunk_where(s, size_t(j)));
        // Every value puts raw_bits into the raw stream (a 2:4 chunk keeps at least half of them), so
        // a chunk cannot be smaller than that; this also bounds what a reader allocates by the file's size.
        const uint64_t coded = s.is_sparse24() ? e.value_count / 2 : e.value_count;
        if (coded * raw_bits > uint64_t(e.size) * 8)
          throw FormatError("chunk too small for its value count in " + chunk_where(s, size_t(j)));
        // Formats whose symbols may take no raw bit: the compressor's chunk limit bounds allocation.
        if (raw_bits == 0 && e.value_count > kMaxChunkValues)
          throw FormatError("more than 2^24 values in " + chunk_where(s, size_t(j)));
        if (s.is_sparse24()) check_sparse24_rows(s, values, e.value_count, size_t(j));
        values += e.value_count;  // < 2^64: at most 2^32 chunks of < 2^32 values
      }
      if (values != s.value_count)
        throw FormatError("chunk value counts add up to " + std::to_string(values) + ", not " +
                          std::to_string(s.value_count) + ", in " + where);
      if (s.value_count > UINT64_MAX / s.format.value_bytes()) throw FormatError("absurd value count in " + where);
      s.length = s.value_count * s.format.value_bytes();
      if (!names.insert(s.name).second) throw FormatError("duplicate " + where);
    } else {
      throw FormatError("unknown kind " + std::to_string(k) + " of " + seg);
    }
    if (s.length > UINT64_MAX - source_offset) throw FormatError("segment lengths overflow");
    s.source_offset = source_offset;
    source_offset += s.length;
    ix.segments.push_back(std::move(s));
  }
  if (c.left() != 0) throw FormatError("trailing bytes in index");
  if (source_offset != ix.source_size)
    throw FormatError("segments cover " + std::to_string(source_offset) + " bytes, but the source size is " +
                      std::to_string(ix.source_size));
  return ix;
}

// ---------------------------------------------------------------------------------------------

ContainerWriter::ContainerWriter(ByteSink& out, SourceKind kind, uint64_t source_size) : out_(out) {
  index_.source_kind = kind;
  index_.source_size = source_size;
  std::vector<uint8_t> header(kMagic, kMagic + 4);
  append_le(header, kVersion, 2);
  append_le(header, 0, 2);  // flags
  append_le(header, 0, 8);  // reserved
  put(header.data(), header.size());
}

void ContainerWriter::put(const uint8_t* data, size_t n) {
  out_.write(data, n);
  written_ += n;
}

void ContainerWriter::begin_literal() {
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: begin_literal inside a segment");
  state_ = State::Literal;
  Segment s;
  s.kind = Segment::Kind::Literal;
  s.source_offset = source_done_;
  s.offset = written_;
  s.crc = 0;  // a running CRC-32 of the literal bytes, which starts at 0
  index_.segments.push_back(std::move(s));
}

void ContainerWriter::literal_bytes(const uint8_t* data, size_t n) {
  if (state_ != State::Literal) throw std::logic_error("ContainerWriter: literal bytes outside a literal");
  Segment& s = index_.segments.back();
  put(data, n);
  s.crc = crc32_update(s.crc, data, n);
  s.length += n;
  source_done_ += n;
}

void ContainerWriter::end_literal() {
  if (state_ != State::Literal) throw std::logic_error("ContainerWriter: end_literal outside a literal");
  state_ = State::Idle;
}

void ContainerWriter::begin_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& dims,
                                   bool sparse24) {
  if (dtype == DType::Raw) throw std::logic_error("ContainerWriter: tensor dtype is not coded");
  begin_tensor(name, ValueFormat::of_dtype(dtype), dims, sparse24);
}

void ContainerWriter::begin_tensor(const std::string& name, const ValueFormat& format,
                                   const std::vector<uint64_t>& dims, bool sparse24) {
  const DType dtype = format.dtype();
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: begin_tensor inside a segment");
  if (format.empty()) throw std::logic_error("ContainerWriter: tensor without a format");
  if (name.size() > 0xffff || dims.size() > 255) throw std::logic_error("ContainerWriter: name or rank too long");
  if (sparse24 && !sparse24_shape_ok(dtype, dims)) throw std::logic_error("ContainerWriter: no 2:4 shape");
  state_ = State::Tensor;
  Segment s;
  s.kind = sparse24 ? Segment::Kind::Sparse24 : Segment::Kind::Tensor;
  s.source_offset = source_done_;
  s.name = name;
  s.format = format;
  s.dtype = dtype;
  s.dims = dims;
  index_.segments.push_back(std::move(s));
}

void ContainerWriter::add_chunk(const std::vector<uint8_t>& chunk) {
  if (state_ != State::Tensor) throw std::logic_error("ContainerWriter: chunk outside a tensor");
  if (chunk.size() < 4 || chunk.size() > UINT32_MAX) throw std::logic_error("ContainerWriter: bad chunk size");
  Segment& s = index_.segments.back();
  ChunkEntry e;
  e.offset = written_;
  e.size = uint32_t(chunk.size());
  // A dense chunk starts with its value count, a 2:4 chunk with its row count.
  const uint64_t count = load_le(chunk.data(), 4) * (s.is_sparse24() ? s.dims.back() : 1);
  if (count > UINT32_MAX) throw std::logic_error("ContainerWriter: chunk too large");
  e.value_count = uint32_t(count);
  put(chunk.data(), chunk.size());
  s.chunks.push_back(e);
  s.value_count += e.value_count;
  s.length += uint64_t(e.value_count) * s.format.value_bytes();
  source_done_ += uint64_t(e.value_count) * s.format.value_bytes();
}

void ContainerWriter::end_tensor() {
  if (state_ != State::Tensor) throw std::logic_error("ContainerWriter: end_tensor outside a tensor");
  const Segment& s = index_.segments.back();
  uint64_t product = 1;
  for (uint64_t d : s.dims) product *= d;
  if (product != s.value_count) throw std::logic_error("ContainerWriter: chunks do not cover tensor " + s.name);
  state_ = State::Idle;
}

uint64_t ContainerWriter::finish() {
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: finish inside a segment");
  if (source_done_ != index_.source_size) throw std::logic_error("ContainerWriter: segments do not tile the source");
  const std::vector<uint8_t> index = serialize_index(index_);
  const uint64_t index_offset = written_;
  put(index.data(), index.size());
  std::vector<uint8_t> footer;
  append_le(footer, index_offset, 8);
  append_le(footer, index.size(), 8);
  append_le(footer, crc32_of(index.data(), index.size()), 4);
  footer.insert(footer.end(), kEndMagic, kEndMagic + 4);
  put(footer.data(), footer.size());
  state_ = State::Done;
  return written_;
}

// ---------------------------------------------------------------------------------------------

ContainerReader::ContainerReader(std::unique_ptr<const ByteSource> source) : source_(std::move(source)) {
  const uint64_t size = source_->size();
  if (size < kHeaderBytes + kFooterBytes)
    throw FormatError("too short for a .wsz container (" + std::to_string(size) + " bytes)");
  uint8_t h[kHeaderBytes];
  source_->read(0, h, sizeof h);
  if (std::memcmp(h, kMagic, 4) != 0) throw FormatError("bad magic (not a .wsz container)");
  const uint64_t version = load_le(h + 4, 2);
  if (version != kVersion) throw FormatError("unsupported version " + std::to_string(version));
  if (load_le(h + 6, 2) != 0) throw FormatError("unknown flags in header");
  if (load_le(h + 8, 8) != 0) throw FormatError("reserved header field is not zero");

  uint8_t f[kFooterBytes];
  source_->read(size - kFooterBytes, f, sizeof f);
  if (std::memcmp(f + 20, kEndMagic, 4) != 0) throw FormatError("bad magic at end of file (truncated?)");
  index_offset_ = load_le(f, 8);
  index_size_ = load_le(f + 8, 8);
  const uint32_t index_crc = uint32_t(load_le(f + 16, 4));
  const uint64_t end = size - kFooterBytes;
  if (index_offset_ < kHeaderBytes || index_offset_ > end || index_size_ != end - index_offset_)
    throw FormatError("index offset out of range");
  const std::vector<uint8_t> index = source_->read(index_offset_, size_t(index_size_));
  if (crc32_of(index.data(), index.size()) != index_crc) throw FormatError("index checksum mismatch");
  index_ = parse_index(index.data(), index.size(), kHeaderBytes, index_offset_);
}

ContainerReader ContainerReader::open(const std::string& path) {
  return ContainerReader(std::make_unique<FileSource>(path));
}

ContainerReader ContainerReader::from_memory(const uint8_t* data, size_t size) {
  return ContainerReader(std::make_unique<MemorySource>(data, size));
}

const Segment* ContainerReader::find_tensor(const std::string& name) const {
  for (const Segment& s : index_.segments)
    if (s.is_tensor() && s.name == name) return &s;
  return nullptr;
}

const Segment& ContainerReader::tensor(const std::string& name) const {
  const Segment* s = find_tensor(name);
  if (!s) throw FormatError("no tensor " + quote_name(name));
  return *s;
}

std::vector<uint8_t> ContainerReader::chunk_bytes(const Segment& t, size_t j) const {
  if (!t.is_tensor() || j >= t.chunks.size()) throw std::out_of_range("ContainerReader: no such chunk");
  return source_->read(t.chunks[j].offset, t.chunks[j].size);
}

std::vector<uint8_t> ContainerReader::decode_chunk(const Segment& t, size_t j) const {
  const std::vector<uint8_t> bytes = chunk_bytes(t, j);
  const ChunkEntry& e = t.chunks[j];
  std::vector<uint8_t> out(size_t(e.value_count) * t.format.value_bytes());
  try {
    const uint64_t held = t.is_sparse24() ? uint64_t(parse_sparse24_chunk(bytes.data(), bytes.size()).rows) * t.dims.back()
                                          : parse_chunk(bytes.data(), bytes.size()).value_count;
    if (held != e.value_count)
      throw FormatError("holds " + std::to_string(held) + " values, the index says " +
                        std::to_string(e.value_count));
    if (t.is_sparse24())
      decode_sparse24_chunk(bytes.data(), bytes.size(), t.dtype, t.dims.back(), out.data(), out.size());
    else
      ws::decode_chunk(bytes.data(), bytes.size(), t.format, out.data(), out.size());
  } catch (const FormatError& err) {
    throw FormatError(chunk_where(t, j) + ": " + err.what());
  }
  return out;
}

std::vector<uint8_t> ContainerReader::decode_tensor(const std::string& name) const {
  const Segment& t = tensor(name);
  std::vector<uint8_t> out;
  out.reserve(size_t(t.length));
  for (size_t j = 0; j < t.chunks.size(); ++j) {
    const std::vector<uint8_t> v = decode_chunk(t, j);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void ContainerReader::read_literal(const Segment& s, uint64_t at, uint8_t* dst, size_t n) const {
  if (s.is_tensor() || at > s.length || n > s.length - at) throw std::out_of_range("ContainerReader: literal range");
  source_->read(s.offset + at, dst, n);
}

void ContainerReader::verify_literal(const Segment& s) const {
  std::vector<uint8_t> buf(size_t(std::min<uint64_t>(s.length, kLiteralWindow)));
  uint32_t crc = 0;
  for (uint64_t at = 0; at < s.length; at += buf.size()) {
    const size_t n = size_t(std::min<uint64_t>(buf.size(), s.length - at));
    read_literal(s, at, buf.data(), n);
    crc = crc32_update(crc, buf.data(), n);
  }
  if (crc != s.crc)
    throw FormatError("checksum mismatch in the literal segment at source offset " + std::to_string(s.source_offset));
}

// ---------------------------------------------------------------------------------------------

uint64_t chunk_values_for(const std::vector<uint64_t>& dims, uint64_t chunk_values) {
  const uint64_t row = dims.empty() ? 1 : dims.back();
  if (row != 0 && row <= chunk_values) return chunk_values / row * row;
  return chunk_values;
}

namespace {

// Appends a piece of the source to the plan, merging neighbouring literals.
void add_literal(SourcePlan& plan, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!plan.segments.empty() && !plan.segments.back().tensor) {
    plan.segments.back().length += length;
    return;
  }
  PlannedSegment s;
  s.source_offset = offset;
  s.length = length;
  plan.segments.push_back(s);
}

void add_tensor(SourcePlan& plan, uint64_t offset, uint64_t length, const std::string& name, const ValueFormat& format,
                const std::vector<uint64_t>& dims) {
  PlannedSegment s;
  s.tensor = true;
  s.source_offset = offset;
  s.length = length;
  s.name = name;
  s.format = format;
  s.dims = dims;
  plan.segments.push_back(s);
}

}  // namespace

SourcePlan plan_source(const ByteSource& src) {
  SourcePlan plan;
  plan.size = src.size();
  uint8_t first[kLlama2cHeaderBytes] = {};
  const size_t n = size_t(std::min<uint64_t>(plan.size, sizeof first));
  src.read(0, first, n);

  if (looks_like_safetensors(first, n, plan.size)) {
    const uint64_t json_size = load_le(first, 8);
    if (json_size > kSafetensorsMaxHeader)
      throw FormatError("safetensors header of " + std::to_string(json_size) + " bytes is above the 100 MB limit");
    const std::vector<uint8_t> json = src.read(8, size_t(json_size));
    const SafetensorsFile st = parse_safetensors_header(json.data(), json.size(), plan.size);
    plan.kind = SourceKind::Safetensors;
    uint64_t at = 0;
    for (const SafetensorsTensor& t : st.tensors) {
      add_literal(plan, at, t.offset - at);  // header and any gap before the tensor
      const auto key = st.metadata.find(safetensors_format_key(t.name));
      const ValueFormat f = safetensors_value_format(t.dtype, key == st.metadata.end() ? "" : key->second, t.name);
      if (f.empty())
        add_literal(plan, t.offset, t.size);
      else
        add_tensor(plan, t.offset, t.size, t.name, f, t.shape);
      at = t.offset + t.size;
    }
    add_literal(plan, at, plan.size - at);
    return plan;
  }

  if (n == kLlama2cHeaderBytes) {
    try {
      const Llama2cFile f = parse_llama2c(first, plan.size);
      plan.kind = SourceKind::Llama2c;
      add_literal(plan, 0, kLlama2cHeaderBytes);
      for (const Llama2cArray& a : f.arrays) add_tensor(plan, a.offset, a.byte_size(), a.name, ValueFormat::of_dtype(DType::F32), a.shape);
      return plan;
    } catch (const FormatError&) {
      // Not a llama2.c model after all: nothing in an opaque file certifies the format.
    }
  }

  plan.kind = SourceKind::Opaque;
  add_literal(plan, 0, plan.size);
  return plan;
}

// ---------------------------------------------------------------------------------------------

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

}  // namespace

CompressResult compress(const ByteSource& in, ByteSink& out, const CompressOptions& opt) {
  const int lanes = opt.chunk.lanes;
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8) throw std::invalid_argument("lanes must be 1, 2, 4 or 8");
  if (opt.chunk.table_log < tans::kMinTableLog || opt.chunk.table_log > tans::kMaxTableLog)
    throw std::invalid_argument("table log must be 5..12");
  if (opt.chunk_values < 1 || opt.chunk_values > kMaxChunkValues)
    throw std::invalid_argument("chunk must be 1.." + std::to_string(kMaxChunkValues) + " values");

  const SourcePlan plan = plan_source(in);
  CompressResult result;
  result.kind = plan.kind;
  result.source_bytes = plan.size;
  ContainerWriter w(out, plan.kind, plan.size);
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
    const bool sparse = opt.sparse24 && qualifies_sparse24(in, s);
    pipe.then([&w, &s, sparse] { w.begin_tensor(s.name, s.format, s.dims, sparse); });
    ++result.tensors;
    const size_t width = s.format.value_bytes();
    const uint64_t count = s.length / width;
    if (sparse) {
      // Whole rows of one matrix per chunk, at most chunk_values kept values (at least one row).
      ++result.sparse24_tensors;
      const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
      const uint64_t per = std::max<uint64_t>(1, opt.chunk_values / (2 * uint64_t(sparse24_stored_groups(cols))));
      const ChunkOptions vopt{opt.chunk.lanes, kSparse24ValueTableLog};
      const DType dtype = s.format.dtype();
      for (uint64_t m = 0; m < count / cols; m += rows)
        for (uint64_t r = 0; r < rows; r += per) {
          const uint32_t n = uint32_t(std::min(per, rows - r));
          const uint64_t bytes = n * cols * width;
          auto values = std::make_shared<Bytes>(in.read(s.source_offset + (m + r) * cols * width, size_t(bytes)));
          ++result.chunks;
          pipe.run([values, n, cols, dtype, vopt] { return encode_sparse24_chunk(values->data(), n, cols, dtype, vopt); },
                   [&w, &advance, bytes](Bytes& chunk) {
                     w.add_chunk(chunk);
                     advance(bytes);
                   });
        }
      pipe.then([&w] { w.end_tensor(); });
      continue;
    }
    const uint64_t per = chunk_values_for(s.dims, opt.chunk_values);
    for (uint64_t v = 0; v < count; v += per) {
      const size_t n = size_t(std::min<uint64_t>(per, count - v));
      auto values = std::make_shared<Bytes>(in.read(s.source_offset + v * width, n * width));
      const ValueFormat format = s.format;
      const ChunkOptions copt = opt.chunk;
      ++result.chunks;
      pipe.run([values, n, format, copt] { return encode_chunk(values->data(), n, format, copt); },
               [&w, &advance, n, width](Bytes& chunk) {
                 w.add_chunk(chunk);
                 advance(n * width);
               });
    }
    pipe.then([&w] { w.end_tensor(); });
  }
  pipe.finish();
  result.container_bytes = w.finish();
  return result;
}

void decompress(const ContainerReader& in, ByteSink& out, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  uint64_t done = 0;
  auto emit = [&](const std::vector<uint8_t>& b) {
    out.write(b.data(), b.size());
    done += b.size();
    if (progress) progress(done, ix.source_size);
  };

  using Bytes = std::vector<uint8_t>;
  OrderedPipeline<Bytes> pipe(resolve_threads(threads));
  uint32_t crc = 0;  // of the literal being written; consumers run one at a time, in order
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      for (size_t j = 0; j < s.chunks.size(); ++j)
        pipe.run([&in, &s, j] { return in.decode_chunk(s, j); }, [&emit](Bytes& b) { emit(b); });
      continue;
    }
    pipe.then([&crc] { crc = 0; });  // a running CRC-32 starts at 0
    for (uint64_t at = 0; at < s.length; at += kLiteralWindow) {
      Bytes b(size_t(std::min<uint64_t>(kLiteralWindow, s.length - at)));
      in.read_literal(s, at, b.data(), b.size());
      pipe.ready(std::move(b), [&crc, &emit](Bytes& b) {
        crc = crc32_update(crc, b.data(), b.size());
        emit(b);
      });
    }
    pipe.then([&crc, &s] {
      if (crc != s.crc)
        throw FormatError("checksum mismatch in the literal segment at source offset " +
                          std::to_string(s.source_offset));
    });
  }
  pipe.finish();
}

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

}  // namespace

InspectReport inspect(const ContainerReader& in, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  InspectReport r;
  r.file_bytes = in.file_size();
  r.header_footer_bytes = kHeaderBytes + kFooterBytes;
  r.index_other_bytes = kIndexFixed;
  uint64_t done = 0;
  auto advance = [&](uint64_t n) {
    done += n;
    if (progress) progress(done, ix.source_size);
  };

  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      TensorReport t;
      t.segment = &s;
      t.compressed_bytes = s.index_bytes();
      for (const ChunkEntry& c : s.chunks) t.compressed_bytes += c.size;
      r.tensors.push_back(t);
    } else {
      ++r.literal_segments;
      r.literal_bytes += s.length;
      r.index_other_bytes += s.index_bytes();
    }
  }

  struct ChunkMeasure {
    tans::Histogram histogram{};
    double entropy_bits = 0;  // n_c * H0 of the chunk's symbols
    // 2:4 chunks: the sub-chunks' sizes, what they hold, and the metadata's n_groups * H0(nibbles)
    uint64_t value_bytes = 0, meta_bytes = 0, stored_values = 0, stored_groups = 0;
    double meta_entropy_bits = 0;
  };
  OrderedPipeline<ChunkMeasure> pipe(resolve_threads(threads));
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    t.sparse24 = s.is_sparse24();
    for (size_t j = 0; j < s.chunks.size(); ++j) {
      pipe.run(
          [&in, &s, j] {
            const std::vector<uint8_t> dense = in.decode_chunk(s, j);  // every check, the CRC included
            ChunkMeasure m;
            if (!s.is_sparse24()) {
              count_symbols(dense, s.format, m.histogram);
            } else {
              const std::vector<uint8_t> bytes = in.chunk_bytes(s, j);
              const Sparse24ChunkView v = parse_sparse24_chunk(bytes.data(), bytes.size());
              const Sparse24Stored st = decode_sparse24_stored(bytes.data(), bytes.size(), s.dtype, s.dims.back());
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
            advance(uint64_t(s.chunks[j].value_count) * s.format.value_bytes());
          });
    }
  }
  pipe.finish();
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) continue;
    in.verify_literal(s);
    advance(s.length);
  }
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    if (!t.sparse24) {
      t.bound_bits += raw_bits_of(t.histogram, s.format);
      continue;
    }
    t.value_bound_bits = t.bound_bits + raw_bits_of(t.histogram, s.format);
    t.bound_bits = t.value_bound_bits + t.meta_bound_bits;
  }
  return r;
}

}  // namespace ws
