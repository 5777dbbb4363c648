// What the end-to-end tests of the real `weightstream` binary (WS_TOOL) share: a fresh directory per
// test, running the tool with its output captured, files as bytes, the one-line error convention, and
// reading a safetensors header.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wstest {

namespace fs = std::filesystem;

inline fs::path build_dir() { return fs::path(WS_TOOL).parent_path().parent_path(); }

// A fresh directory under the build tree for this test's files.
inline fs::path test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = build_dir() / "test-tmp" / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A shell word.
inline std::string q(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}
inline std::string q(const fs::path& p) { return q(p.string()); }

inline std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}
inline void write_file(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
inline std::string text_of(const fs::path& p) {
  const std::vector<uint8_t> b = read_file(p);
  return std::string(b.begin(), b.end());
}

struct ToolRun {
  int code = -1;
  std::string out, err;
};

// Runs the tool with `args` (already quoted), capturing stdout and stderr in files of `dir`.
inline ToolRun tool(const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = q(std::string(WS_TOOL)) + " " + args + " >" + q(out) + " 2>" + q(err);
  const int st = std::system(cmd.c_str());
  ToolRun r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
  r.out = text_of(out);
  r.err = text_of(err);
  return r;
}

// Runs the tool and expects it to succeed.
inline ToolRun tool_ok(const std::string& args, const fs::path& dir) {
  const ToolRun r = tool(args, dir);
  EXPECT_EQ(r.code, 0) << args << ": " << r.err;
  return r;
}

// One line on stderr, "error: <file>: ...", exit code 1.
inline void expect_error(const ToolRun& r, const std::string& file, const std::string& what) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: " + file + ": ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not exactly one line: " << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << "want '" << what << "' in: " << r.err;
}

// No output and no temporary left in dir besides the given files.
inline void expect_no_leftovers(const fs::path& dir, const std::vector<std::string>& keep) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name == "stdout.txt" || name == "stderr.txt") continue;
    EXPECT_NE(std::find(keep.begin(), keep.end(), name), keep.end()) << "left behind: " << name;
  }
}

// A safetensors file's JSON header and where its data starts.
struct StHeader {
  nlohmann::json j;
  uint64_t data_offset = 0;
};
inline StHeader read_st_header(const std::vector<uint8_t>& f) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(f[size_t(i)]) << (8 * i);
  return {nlohmann::json::parse(f.begin() + 8, f.begin() + 8 + long(n)), 8 + n};
}
// Where a tensor's data lies in the file: absolute offset and byte count.
struct StSpan {
  uint64_t offset = 0, bytes = 0;
};
inline StSpan st_span(const StHeader& h, const std::string& tensor) {
  const nlohmann::json& offsets = h.j.at(tensor).at("data_offsets");
  return {h.data_offset + offsets[0].get<uint64_t>(), offsets[1].get<uint64_t>() - offsets[0].get<uint64_t>()};
}

}  // namespace wstest
