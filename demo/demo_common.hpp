// What the demo programs (ws_demo, ws_demo_lte, ws_demo_llm) share: their error type, the container
// opened and its model decoded by the software decoder, and main's error report.
#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "codec/container_reader.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "ops/decompress.hpp"

namespace demo {

// A demo failure the user must see: printed as "error: <what>", exit 1.
struct DemoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline ws::ContainerReader open_container(const std::string& path) {
  try {
    return ws::ContainerReader::open(path);
  } catch (const ws::FormatError& e) {
    throw DemoError(path + ": " + e.what());
  }
}

// The container's model (`path`) through the software decoder, written to `decoded_path` and loaded.
inline ws::LlamaWeights decoded_model(const ws::ContainerReader& reader, const std::string& path,
                                      const std::string& decoded_path) {
  try {
    ws::AtomicFileSink sink(decoded_path);
    ws::decompress(reader, sink);
    sink.commit();
  } catch (const ws::FormatError& e) {
    throw DemoError(path + ": " + e.what());
  }
  return ws::load_llama(decoded_path);
}

// decoded_model, written as `file_name` beside the report (whose folder is made).
inline ws::LlamaWeights decoded_model(const ws::ContainerReader& reader, const std::string& path,
                                      const std::string& report_path, const std::string& file_name) {
  const std::filesystem::path report_dir = std::filesystem::path(report_path).parent_path();
  std::filesystem::create_directories(report_dir.empty() ? "." : report_dir);
  return decoded_model(reader, path, (report_dir / file_name).string());
}

// Runs main's body; a DemoError, an unreadable file or a malformed one becomes "error: ..." and exit 1.
template <class Body>
int run_reporting_errors(Body&& body) {
  try {
    return body();
  } catch (const DemoError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (const ws::IoError& e) {
    std::fprintf(stderr, "error: %s: %s\n", e.path().c_str(), e.what());
  } catch (const ws::FormatError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}

}  // namespace demo
