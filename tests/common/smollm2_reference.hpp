// The real SmolLM2 GGUF (WS_SMOLLM2_GGUF, from `make deps`) and the independent reference
// tests/e2e/smollm2_reference.py (numpy forward pass on gguf-py's dequantized tensors, HF tokenizers,
// jinja2 chat template), which the SmolLM2 tests compare with.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "tool_run.hpp"

namespace wstest {

inline std::string smollm2() {
  const std::string path = WS_SMOLLM2_GGUF;
  if (path.empty()) ADD_FAILURE() << "SmolLM2 GGUF not found (make deps, then reconfigure)";
  return path;
}

// Runs the reference in `mode` with `args` (quoted) on SmolLM2, stdout to dir/reference.out; returns
// that output, failing the test if the script fails.
inline std::string reference(const std::string& mode, const std::string& args, const fs::path& dir) {
  const fs::path out = dir / "reference.out";
  const std::string cmd = "python3 " + q(std::string(WS_SOURCE_DIR) + "/tests/e2e/smollm2_reference.py") + " " + mode +
                          " --gguf " + q(smollm2()) + " " + args + " >" + q(out);
  const int st = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "reference failed: " << cmd;
  return text_of(out);
}

}  // namespace wstest
