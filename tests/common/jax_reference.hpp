// Running the JAX side (train/*/reference.py, which installs JAX itself) from a test and comparing its
// logits with the C++ model's: tests/unit/test_lte.cpp and test_dijiang.cpp.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tool_run.hpp"

namespace wstest {

// A train/ script run with python3, its path quoted for the shell.
inline std::string py(const std::string& script) { return "python3 " + q(std::string(WS_SOURCE_DIR) + "/train/" + script); }

inline void run_ok(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "failed: " << cmd;
}

inline std::vector<float> read_f32(const fs::path& p) {
  const std::vector<uint8_t> b = read_file(p);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// Largest |a - b| at a position relative to b's logit range there, over all positions.
inline double worst_relative(const std::vector<float>& a, const std::vector<float>& b, size_t vocab) {
  double worst = 0.0;
  for (size_t p = 0; p * vocab < b.size(); ++p) {
    const auto lo = std::minmax_element(b.begin() + std::ptrdiff_t(p * vocab), b.begin() + std::ptrdiff_t((p + 1) * vocab));
    double diff = 0.0;
    for (size_t v = p * vocab; v < (p + 1) * vocab; ++v) diff = std::max(diff, std::fabs(double(a[v]) - double(b[v])));
    worst = std::max(worst, diff / (double(*lo.second) - double(*lo.first)));
  }
  return worst;
}

// Token sequences as reference.py's --ids takes them: ids space-separated, sequences comma-separated.
inline std::string ids_arg(const std::vector<std::vector<int>>& seqs) {
  std::string ids;
  for (const std::vector<int>& s : seqs) {
    if (!ids.empty()) ids += ",";
    for (size_t i = 0; i < s.size(); ++i) ids += (i ? " " : "") + std::to_string(s[i]);
  }
  return ids;
}

}  // namespace wstest
