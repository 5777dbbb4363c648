// Test support: SystemC elaborates once per process, so every simulation runs in a forked child
// (through sc_elab_and_sim, as a program would) and sends its report back as JSON.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "core/io.hpp"
#include "token_factory.hpp"
#include "workload.hpp"

namespace wsim::test {

inline std::string model_path() { return std::string(WS_DATA_DIR) + "/stories260K.bin"; }

// A fresh folder, removed with its files when the test is done.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ws_sim_test_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<uint8_t> read_all(const std::string& path) {
  const ws::FileSource f(path);
  return f.read(0, size_t(f.size()));
}

// TB_SEED (default 1), printed once.
inline uint64_t seed() {
  static const uint64_t s = [] {
    const char* e = std::getenv("TB_SEED");
    const uint64_t v = e ? std::strtoull(e, nullptr, 0) : 1;
    std::printf("TB_SEED=%llu\n", (unsigned long long)v);
    return v;
  }();
  return s;
}

inline bool long_depth() {
  const char* d = std::getenv("WS_DEPTH");
  return d && std::string(d) == "long";
}

// The job a forked child runs inside sc_main (harness.cpp), and where it writes the result.
inline std::function<nlohmann::json()>& child_job() {
  static std::function<nlohmann::json()> job;
  return job;
}
inline int& child_fd() {
  static int fd = -1;
  return fd;
}

// Runs job() in a child process, inside sc_main; returns its JSON. Throws what the child threw.
inline nlohmann::json in_child(std::function<nlohmann::json()> job) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    close(fds[0]);
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    child_job() = std::move(job);
    child_fd() = fds[1];
    char arg0[] = "sim_test";
    char* argv[] = {arg0, nullptr};
    sc_core::sc_elab_and_sim(1, argv);
    std::fflush(nullptr);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (text.empty()) throw std::runtime_error("the simulation process died (status " + std::to_string(status) + ")");
  nlohmann::json j = nlohmann::json::parse(text);
  if (j.contains("error")) throw std::runtime_error(j["error"].get<std::string>());
  return j;
}

// Loads the workload of cfg and simulates it in a child; the report as the parent sees it.
inline Report simulate(const Config& cfg) {
  return report_from_json(in_child([cfg] { return to_json(run_token_factory(cfg, load_workload(cfg))); }));
}

inline Config smoke_config(Mode mode, int processors) {
  Config c;
  c.model = model_path();
  c.mode = mode;
  c.processors = processors;
  c.seed = seed();
  return c;
}

}  // namespace wsim::test
