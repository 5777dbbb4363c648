#include "core/io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace ws {

const uint8_t* ByteSource::view(uint64_t, size_t) const { return nullptr; }

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
  map();
}

// Maps the whole file read-only and populated: readers then take chunks in place (view) instead of
// copying them. Not mapped (read with pread, a chunk at a time) when it is empty, larger than
// kMapLimit (so the resident memory of a huge file stays a few chunks, docs/tool.md), or mmap refuses.
void FileSource::map() {
  constexpr uint64_t kMapLimit = uint64_t(1) << 30;
  if (size_ == 0 || size_ > kMapLimit) return;
  void* p = ::mmap(nullptr, size_t(size_), PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, 0);
  if (p == MAP_FAILED) return;
  ::madvise(p, size_t(size_), MADV_SEQUENTIAL);
  map_ = static_cast<const uint8_t*>(p);
}

const uint8_t* FileSource::view(uint64_t offset, size_t n) const {
  if (offset > size_ || n > size_ - offset) throw FormatError("read past the end of the file");
  return map_ ? map_ + offset : nullptr;
}

const uint8_t* MemorySource::view(uint64_t offset, size_t n) const {
  if (offset > size_ || n > size_ - offset) throw FormatError("read past the end of the data");
  return data_ + offset;
}

FileSource::FileSource(int fd, const std::string& name) : path_(name), fd_(fd) {
  struct stat st;
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw IoError(name, "not a regular file");
  }
  size_ = uint64_t(st.st_size);
  map();
}

FileSource::~FileSource() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_t(size_));
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

namespace {

constexpr size_t kSinkBufferBytes = size_t(1) << 16;

// Small writes (headers, index records) gather in buf; large pieces go straight to the descriptor.
void buffered_write(int fd, std::vector<uint8_t>& buf, const uint8_t* data, size_t n, const std::string& name) {
  if (buf.size() + n <= kSinkBufferBytes) {
    buf.insert(buf.end(), data, data + n);
    return;
  }
  write_all(fd, buf.data(), buf.size(), name);
  buf.clear();
  if (n < kSinkBufferBytes)
    buf.assign(data, data + n);
  else
    write_all(fd, data, n, name);
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Standard input copied to an unlinked temporary file.
int spool_stdin() {
  const char* dir = std::getenv("TMPDIR");
  std::string d = dir && *dir ? dir : "/tmp";
  int fd = ::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // a file system without O_TMPFILE: a named temporary, unlinked at once
    std::string tmpl = d + "/weightstream-stdin-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) throw IoError("-", errno_text(("cannot create a temporary file in " + d).c_str()));
    ::unlink(tmpl.c_str());
  }
  std::vector<uint8_t> buf(size_t(1) << 20);
  for (;;) {
    const ssize_t got = ::read(0, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string e = errno_text("read failed");
      ::close(fd);
      throw IoError("-", e);
    }
    if (got == 0) break;
    try {
      write_all(fd, buf.data(), size_t(got), "-");
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  return fd;
}

}  // namespace

std::unique_ptr<ByteSource> open_input(const std::string& path) {
  if (path != "-") return std::make_unique<FileSource>(path);
  struct stat st;
  if (::fstat(0, &st) != 0) throw IoError("-", errno_text("cannot stat standard input"));
  if (S_ISREG(st.st_mode)) {
    const int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) throw IoError("-", errno_text("cannot read standard input"));
    return std::make_unique<FileSource>(fd, "-");
  }
  return std::make_unique<FileSource>(spool_stdin(), "-");
}

bool file_id(const std::string& path, FileId& id) {
  struct stat st;
  if ((path == "-" ? ::fstat(0, &st) : ::stat(path.c_str(), &st)) != 0) return false;
  id.dev = uint64_t(st.st_dev);
  id.ino = uint64_t(st.st_ino);
  return true;
}

namespace {

// Where a symlink chain ends, also when its last target does not exist yet (then that name is created).
std::string follow_symlinks(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string target(4096, '\0');
    const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
    if (n < 0) throw IoError(path, errno_text("cannot read symlink"));
    target.resize(size_t(n));
    if (target.empty() || target[0] != '/') {
      const size_t slash = p.rfind('/');
      if (slash != std::string::npos) target = p.substr(0, slash + 1) + target;
    }
    p = target;
  }
  throw IoError(path, "too many levels of symbolic links");
}

}  // namespace

std::unique_ptr<OutputSink> open_output(const std::string& path, const OutputPolicy& policy) {
  if (path == "-") {
    FileId out;
    if (file_id("/dev/stdout", out))
      for (const std::string& in : policy.inputs) {
        FileId a;
        struct stat st;
        if (::fstat(1, &st) == 0 && S_ISREG(st.st_mode) && file_id(in, a) && a == out)
          throw IoError("-", "standard output is the input file: refusing to overwrite it");
      }
    const int fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) throw IoError("-", errno_text("cannot write standard output"));
    return std::make_unique<StreamSink>(fd, "-", true);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {  // a new name, or a symlink to one: created where the link points
    if (errno != ENOENT) throw IoError(path, errno_text("cannot open"));
    return std::make_unique<AtomicFileSink>(follow_symlinks(path));
  }
  for (const std::string& in : policy.inputs) {
    FileId a;
    if (file_id(in, a) && a == FileId{uint64_t(st.st_dev), uint64_t(st.st_ino)})
      throw IoError(path, "is the input file" + std::string(in == "-" ? " (standard input)" : "") +
                              ": refusing to overwrite it");
  }
  if (S_ISDIR(st.st_mode)) throw IoError(path, "is a directory");
  if (!S_ISREG(st.st_mode)) {  // a FIFO, a device, a socket: written in place, never replaced
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw IoError(path, errno_text("cannot open"));
    return std::make_unique<StreamSink>(fd, path, true);
  }
  if (!policy.force) throw IoError(path, "already exists (use -f to overwrite it)");
  // An existing regular file, maybe behind symlinks: replaced where it is, the links left as they are.
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) throw IoError(path, errno_text("cannot resolve"));
  const std::string target = real;
  std::free(real);
  return std::make_unique<AtomicFileSink>(target);
}

StreamSink::StreamSink(int fd, const std::string& name, bool owned) : name_(name), fd_(fd), owned_(owned) {
  buf_.reserve(kSinkBufferBytes);
}

StreamSink::~StreamSink() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void StreamSink::write(const uint8_t* data, size_t n) { buffered_write(fd_, buf_, data, n, name_); }

void StreamSink::commit() {
  write_all(fd_, buf_.data(), buf_.size(), name_);
  buf_.clear();
  if (owned_) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && errno != EINTR) throw IoError(name_, errno_text("write failed"));
  }
}

AtomicFileSink::AtomicFileSink(const std::string& path) : path_(path) {
  std::string tmpl = path + ".tmp-XXXXXX";
  fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd_ < 0) throw IoError(path, std::string("cannot create: ") + std::strerror(errno));
  temp_ = tmpl;
  // mkstemp makes the file private (0600); give it the permissions a plain create would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  buf_.reserve(kSinkBufferBytes);
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileSink::write(const uint8_t* data, size_t n) {
  buffered_write(fd_, buf_, data, n, path_);
  written_ += n;
}

void AtomicFileSink::expect_size(uint64_t total) {
  // A file system without fallocate (or a full disk, which the writes then report) just goes without.
  if (total > 0 && written_ == 0 && ::fallocate(fd_, 0, 0, off_t(total)) == 0) reserved_ = total;
}

void AtomicFileSink::commit() {
  write_all(fd_, buf_.data(), buf_.size(), path_);
  buf_.clear();
  if (written_ < reserved_ && ::ftruncate(fd_, off_t(written_)) != 0)  // a hint larger than the output
    throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw IoError(path_, std::string("cannot write: ") + std::strerror(errno));
  committed_ = true;
}

void write_all(int fd, const uint8_t* data, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t put = ::write(fd, data, n);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw IoError(path, std::string("write failed: ") + std::strerror(errno));
    data += put;
    n -= size_t(put);
  }
}

}  // namespace ws
