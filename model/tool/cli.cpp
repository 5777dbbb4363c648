#include "tool/cli.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace cli {
namespace {

// The temporary output file, removed if a signal stops the run (unlink is async-signal-safe).
char g_temp_path[4096];

void on_signal(int sig) {
  if (g_temp_path[0]) ::unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// SIGBUS: a memory-mapped input (core/io) was truncated by another process while being read. One line
// and exit status 1 rather than a crash; write(2) and _exit are async-signal-safe.
void on_input_truncated(int) {
  if (g_temp_path[0]) ::unlink(g_temp_path);
  static const char kMessage[] = "error: an input file shrank while it was being read (changed by another process)\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(1);
}

}  // namespace

void print_error(const std::string& what) {
  std::string line = what;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "error: %s\n", line.c_str());
}

void fail_callback(const std::string& what) {
  print_error(what);
  throw CLI::RuntimeError(1);
}

void remove_output_on_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);
  std::signal(SIGBUS, on_input_truncated);
}

Output::Output(const std::string& path, bool force, const std::vector<std::string>& inputs)
    : out(ws::open_output(path, ws::OutputPolicy{force, inputs})), sink(*out) {
  std::snprintf(g_temp_path, sizeof g_temp_path, "%s", sink.temp_path().c_str());
}

std::FILE* summary_stream(const std::string& out) { return out == "-" ? stderr : stdout; }

Output::~Output() { g_temp_path[0] = '\0'; }

void Output::commit() {
  sink.commit();
  g_temp_path[0] = '\0';
}

ProgressBar::ProgressBar(const char* label) : label_(label), enabled_(::isatty(2) == 1) {}

void ProgressBar::clear() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

ws::Progress ProgressBar::callback() {
  if (!enabled_) return {};
  return [this](uint64_t done, uint64_t total) { update(done, total); };
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  const double f = total ? double(done) / double(total) : 1.0;
  const int width = 30, filled = int(f * width);
  std::fprintf(stderr, "\r%s %3d%% [%s%s] %.1f / %.1f MB", label_, int(f * 100),
               std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), ' ').c_str(),
               double(done) / 1e6, double(total) / 1e6);
  std::fflush(stderr);
}

}  // namespace cli
