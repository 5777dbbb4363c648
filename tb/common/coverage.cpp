// Coverage builds only (WS_COVERAGE, `make coverage`, docs/coverage.md): what the bound
// ws_coverage_hook (ws_coverage_hook.sv) calls from every module instance when the bench calls a
// Verilated model's final(). The hook under the top writes the counts of the model's context and
// clears them; the others return. The counts go to this process's file,
// <build>/coverage/<program>-<pid>.dat, one Verilator coverage write appended per model:
// verilator_coverage adds up repeated points when it reads. No bench code is involved.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "svdpi.h"
#include "verilated.h"
#include "verilated_cov.h"

extern "C" void ws_coverage_final() {
  const auto* scope = static_cast<const VerilatedScope*>(svGetScope());
  const std::string name = scope->name();  // "<model>.<top>.u_ws_coverage_hook" under the top
  if (std::count(name.begin(), name.end(), '.') != 2) return;
  VerilatedContext* ctx = scope->symsp()->_vm_contextp__;

  namespace fs = std::filesystem;
  const fs::path dir = fs::path(WS_BUILD_DIR) / "coverage";
  fs::create_directories(dir);
  const std::string program = fs::read_symlink("/proc/self/exe").filename().string();
  const fs::path file = dir / (program + "-" + std::to_string(getpid()) + ".dat");
  const fs::path part = fs::path(file).concat(".part");
  ctx->coveragep()->write(part.c_str());
  ctx->coveragep()->clear();  // written once, even if final() runs again
  {
    std::ifstream in(part, std::ios::binary);
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << in.rdbuf();
  }
  fs::remove(part);
}
