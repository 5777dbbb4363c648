// What the subcommands of the `weightstream` command line share: how they fail (one line on stderr,
// exit 1, no half-written output) and the progress bar. Everything else is in ops/.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/io.hpp"

namespace cli {

// "error: <what>" on stderr, line breaks in what flattened so the message stays one line.
void print_error(const std::string& what);

// For subcommands that run as CLI11 callbacks inside parse(): prints the error, then leaves by
// CLI::RuntimeError(1), which CLI11 treats as an exit code to return silently.
[[noreturn]] void fail_callback(const std::string& what);

// Removes the temporary output file when SIGINT, SIGTERM or SIGHUP stops the run; SIGBUS (a mapped
// input truncated by another process) becomes a one-line error and exit status 1.
void remove_output_on_signals();

// The output of a command (ws::open_output: "-", FIFOs and devices in place, regular files atomically
// by a temporary renamed on commit(), which a signal removes). Refuses to be one of `inputs`, and an
// existing regular file without `force`.
struct Output {
  Output(const std::string& path, bool force, const std::vector<std::string>& inputs);
  ~Output();
  void commit();
  std::unique_ptr<ws::OutputSink> out;
  ws::OutputSink& sink;
};

// Where a command's summary line goes: stdout, or stderr when stdout carries the output ("-o -").
std::FILE* summary_stream(const std::string& out);

// A progress bar on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(const char* label);
  ~ProgressBar() { clear(); }
  void clear();  // erases the bar, so what follows starts on a clean line
  ws::Progress callback();

 private:
  void update(uint64_t done, uint64_t total);
  const char* label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// Subcommands defined in cmd_*.cpp, as callbacks (they report their own errors).
void add_prune_commands(CLI::App& app);  // prune, eval, lte-experts, dijiang-init, sample
void add_numfmt_command(CLI::App& app);  // numfmt
void add_generate_command(CLI::App& app);  // generate

}  // namespace cli
