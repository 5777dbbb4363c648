// What the demo programs' end-to-end tests share: a shell command run with its output captured.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace demotest {

namespace fs = std::filesystem;

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs cmd through the shell, its stdout and stderr through files in dir.
inline Outcome run(const std::string& cmd, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const int status = std::system((cmd + " >" + q(out) + " 2>" + q(err)).c_str());
  Outcome r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace demotest
