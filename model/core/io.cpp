#include "core/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace ws {

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
  fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd_ < 0) throw IoError(path, std::string("cannot create: ") + std::strerror(errno));
  temp_ = tmpl;
  // mkstemp makes the file private (0600); give it the permissions a plain create would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  buf_.reserve(kBufferBytes);
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFileSink::write(const uint8_t* data, size_t n) {
  if (buf_.size() + n <= kBufferBytes) {  // small writes (headers, index) gather in the buffer
    buf_.insert(buf_.end(), data, data + n);
    return;
  }
  flush();
  if (n < kBufferBytes) {
    buf_.assign(data, data + n);
    return;
  }
  write_all(fd_, data, n, path_);  // large pieces go straight to the file, not through a copy
}

void AtomicFileSink::flush() {
  write_all(fd_, buf_.data(), buf_.size(), path_);
  buf_.clear();
}

void AtomicFileSink::commit() {
  flush();
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
