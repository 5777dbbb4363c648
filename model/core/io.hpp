// Byte sources and sinks: what every whole-file operation reads from and writes to. Files are read
// with pread, so several threads can read one source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
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
  // The n bytes at offset in place, without a copy, when the source is in memory or mapped (nullptr
  // otherwise: then read() them). Throws ws::FormatError if the range passes the end.
  virtual const uint8_t* view(uint64_t offset, size_t n) const;
};

// An operating-system error on a named file (open, read, write, rename).
class IoError : public FileError {
 public:
  using FileError::FileError;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);  // throws IoError (missing, unreadable, a directory)
  // An open descriptor of a regular file, which the source then owns; `name` is for messages.
  FileSource(int fd, const std::string& name);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  uint64_t size() const override { return size_; }
  using ByteSource::read;
  void read(uint64_t offset, uint8_t* dst, size_t n) const override;
  const uint8_t* view(uint64_t offset, size_t n) const override;  // the file is mapped read-only

 private:
  void map();
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  const uint8_t* map_ = nullptr;  // the whole file, or nullptr (empty, or mmap refused)
};

// Bytes in memory; they must outlive the source.
class MemorySource final : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  using ByteSource::read;
  void read(uint64_t offset, uint8_t* dst, size_t n) const override;
  const uint8_t* view(uint64_t offset, size_t n) const override;

 private:
  const uint8_t* data_;
  size_t size_;
};

// An input named on the command line: a file, or "-" for standard input. Every reader needs random
// access (a container's index is at its end, a model's header says where its tensors are), so standard
// input is read in place when it is a regular file (`< file`) and otherwise (a pipe, a terminal)
// spooled first to an unlinked temporary file in $TMPDIR (or /tmp): disk, not memory.
std::unique_ptr<ByteSource> open_input(const std::string& path);

// The identity (device, inode) of a file, to tell whether an output is one of the inputs.
struct FileId {
  uint64_t dev = 0, ino = 0;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
};
// The identity of `path` ("-": standard input's), following symlinks; false when it does not exist.
bool file_id(const std::string& path, FileId& id);

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const uint8_t* data, size_t n) = 0;
  // The whole output will be `total` bytes (a hint: a sink may ignore it).
  virtual void expect_size(uint64_t /*total*/) {}
};

// Where a command writes its result: commit() when everything is written; destroyed without a commit
// (an error on the way), a regular file's temporary is removed.
class OutputSink : public ByteSink {
 public:
  virtual void commit() = 0;
  virtual std::string temp_path() const { return ""; }  // the temporary a signal handler removes
};

struct OutputPolicy {
  bool force = false;               // overwrite an existing regular file (-f); without it, an error
  std::vector<std::string> inputs;  // files that the output must not be ("-" for standard input)
};

// Opens an output named on the command line (docs/tool.md "Outputs"):
//   "-"                              standard output, written in place as a stream;
//   a symlink                        followed: its target is what gets written (the link stays);
//   a FIFO, a device, a socket       (after following) opened and written in place as a stream;
//   a regular file or a new name     written atomically: a temporary beside it, renamed on commit;
//                                    an existing file only with policy.force.
// Refused with IoError: a directory; an output that is one of policy.inputs (same device and inode).
std::unique_ptr<OutputSink> open_output(const std::string& path, const OutputPolicy& policy);

class VectorSink final : public ByteSink {
 public:
  void write(const uint8_t* data, size_t n) override { bytes.insert(bytes.end(), data, data + n); }
  std::vector<uint8_t> bytes;
};

// Writes to a temporary file beside `path`; commit() renames it to `path`. Destroyed without a commit
// (an error on the way), it removes the temporary, so a failed run leaves no half-written file.
class AtomicFileSink final : public OutputSink {
 public:
  explicit AtomicFileSink(const std::string& path);  // throws IoError
  ~AtomicFileSink() override;
  AtomicFileSink(const AtomicFileSink&) = delete;
  AtomicFileSink& operator=(const AtomicFileSink&) = delete;
  void write(const uint8_t* data, size_t n) override;  // throws IoError
  // Allocates the file's blocks at once (fallocate): cheaper than block by block as the writes come,
  // and ext4 then has no delayed allocation to flush when the rename replaces an existing file.
  void expect_size(uint64_t total) override;
  void commit() override;                              // throws IoError
  std::string temp_path() const override { return temp_; }

 private:
  std::string path_, temp_;
  int fd_ = -1;
  std::vector<uint8_t> buf_;
  uint64_t written_ = 0, reserved_ = 0;
  bool committed_ = false;
};

// Writes in place to an open descriptor (standard output, a FIFO, a device): what is written stays
// written, even if the command fails later. Owns (closes) the descriptor when `owned`.
class StreamSink final : public OutputSink {
 public:
  StreamSink(int fd, const std::string& name, bool owned);
  ~StreamSink() override;
  StreamSink(const StreamSink&) = delete;
  StreamSink& operator=(const StreamSink&) = delete;
  void write(const uint8_t* data, size_t n) override;  // throws IoError
  void commit() override;

 private:
  std::string name_;
  int fd_;
  bool owned_;
  std::vector<uint8_t> buf_;
};

// write(2) of all n bytes (EINTR retried); throws IoError naming path.
void write_all(int fd, const uint8_t* data, size_t n, const std::string& path);

// How far a streaming operation over a source has got: (source bytes done, source bytes in all).
using Progress = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace ws
