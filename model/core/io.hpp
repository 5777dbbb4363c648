// Byte sources and sinks: what every whole-file operation reads from and writes to. Files are read
// with pread, so several threads can read one source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace ws {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies n bytes from offset. Thread-safe. Throws ws::FormatError if the range passes the end.
  virtual void read(uint64_t offset, uint8_t* dst, size_t n) const = 0;
  std::vector<uint8_t> read(uint64_t offset, size_t n) const;
};

// An operating-system error on a named file (open, read, write, rename).
class IoError : public FileError {
 public:
  using FileError::FileError;
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
  static constexpr size_t kBufferBytes = size_t(1) << 16;
  void flush();
  std::string path_, temp_;
  int fd_ = -1;
  std::vector<uint8_t> buf_;
  bool committed_ = false;
};

// write(2) of all n bytes (EINTR retried); throws IoError naming path.
void write_all(int fd, const uint8_t* data, size_t n, const std::string& path);

// How far a streaming operation over a source has got: (source bytes done, source bytes in all).
using Progress = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace ws
