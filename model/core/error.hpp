// Errors the tool reports. It prints what() after "error: <file>: " and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace ws {

// Malformed input.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An error that names the file it is about, so the tool prints that path rather than the command's
// input: IoError (core/io.hpp) for the operating system's, and the failures of commands that read
// several files. An empty path means the command line itself ("error: <what>").
class FileError : public std::runtime_error {
 public:
  FileError(std::string path, const std::string& what) : std::runtime_error(what), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A name fit for a one-line error message: quoted, control bytes escaped, very long names cut.
std::string quote_name(const std::string& name);

// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
// Tensor names must be: every reader of names refuses others ("... is not UTF-8").
bool is_utf8(const std::string& s);

// A name for text output (tables): control bytes (C0, DEL) escaped as \xNN, so a name cannot move the
// cursor or recolour a terminal; nothing cut, no quotes.
std::string printable_name(const std::string& name);

}  // namespace ws
