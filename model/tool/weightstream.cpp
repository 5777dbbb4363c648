// weightstream: compress, decompress, inspect and convert LLM weight files (docs/tool.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/source_kind.hpp"
#include "ops/compress.hpp"
#include "ops/convert.hpp"
#include "ops/decompress.hpp"
#include "ops/inspect.hpp"

namespace {

// ---- Failure handling: one line on stderr, exit 1, no half-written output.

// The temporary output file, removed if a signal stops the run (unlink is async-signal-safe).
char g_temp_path[4096];

void on_signal(int sig) {
  if (g_temp_path[0]) ::unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void track_temp(const std::string& path) {
  std::snprintf(g_temp_path, sizeof g_temp_path, "%s", path.c_str());
}

// Opens the output as a temporary file, renamed into place by commit().
struct Output {
  explicit Output(const std::string& path) : sink(path) { track_temp(sink.temp_path()); }
  ~Output() { g_temp_path[0] = '\0'; }
  void commit() {
    sink.commit();
    g_temp_path[0] = '\0';
  }
  ws::AtomicFileSink sink;
};

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int fail(const std::string& file, const std::string& what) {
  std::fprintf(stderr, "error: %s: %s\n", file.c_str(), one_line(what).c_str());
  return 1;
}

// ---- Progress bar on stderr, only when stderr is a terminal.

class ProgressBar {
 public:
  explicit ProgressBar(const char* label) : label_(label), enabled_(::isatty(2) == 1) {}
  ~ProgressBar() { clear(); }
  // Erases the bar, so what follows starts on a clean line.
  void clear() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }
  ws::Progress callback() {
    if (!enabled_) return {};
    return [this](uint64_t done, uint64_t total) { update(done, total); };
  }

 private:
  void update(uint64_t done, uint64_t total) {
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
  const char* label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// ---- compress / decompress

// --format: the input converted in memory (docs/tool.md); what the container then restores.
std::vector<uint8_t> convert_in_memory(const std::string& in, const std::string& format, bool round) {
  ws::FileSource src(in);
  const ws::ValueFormat f = ws::ValueFormat::named(format);
  ws::VectorSink sink;
  const ws::ConvertResult r = ws::convert_to_format(src, sink, f, round);
  std::printf("%s: converted %" PRIu64 " of %" PRIu64 " tensors to %s (%" PRIu64 " values rounded)\n", in.c_str(),
              r.converted, r.tensors, f.name().c_str(), r.rounded);
  return std::move(sink.bytes);
}

int run_compress(const std::string& in, const std::string& out, int lanes, int table_log, uint64_t chunk,
                 unsigned threads, bool no_sparse, const std::string& format, bool round) {
  std::vector<uint8_t> converted;
  std::unique_ptr<ws::ByteSource> src_ptr;
  if (format.empty()) {
    src_ptr = std::make_unique<ws::FileSource>(in);
  } else {
    converted = convert_in_memory(in, format, round);
    src_ptr = std::make_unique<ws::MemorySource>(converted.data(), converted.size());
  }
  const ws::ByteSource& src = *src_ptr;
  Output o(out);
  ProgressBar bar("compress");
  ws::CompressOptions opt;
  opt.chunk.lanes = lanes;
  opt.chunk.table_log = table_log;
  opt.chunk_values = chunk;
  opt.threads = threads;
  opt.sparse24 = !no_sparse;
  opt.progress = bar.callback();
  const ws::CompressResult r = ws::compress(src, o.sink, opt);
  o.commit();
  bar.clear();
  std::printf("%s: %s, %" PRIu64 " bytes -> %s: %" PRIu64 " bytes (%.3f:1), %" PRIu64 " tensors in %" PRIu64
              " chunks, ",
              in.c_str(), ws::source_kind_name(r.kind), r.source_bytes, out.c_str(), r.container_bytes,
              r.container_bytes ? double(r.source_bytes) / double(r.container_bytes) : 0.0, r.tensors, r.chunks);
  if (no_sparse)
    std::printf("all stored dense (--no-sparse)\n");
  else
    std::printf("%" PRIu64 " stored 2:4\n", r.sparse24_tensors);
  return 0;
}

int run_decompress(const std::string& in, const std::string& out, unsigned threads) {
  const ws::ContainerReader reader = ws::ContainerReader::open(in);
  Output o(out);
  ProgressBar bar("decompress");
  ws::decompress(reader, o.sink, threads, bar.callback());
  o.commit();
  bar.clear();
  std::printf("%s -> %s: %" PRIu64 " bytes (%s), every checksum verified\n", in.c_str(), out.c_str(),
              reader.index().source_size, ws::source_kind_name(reader.index().source_kind));
  return 0;
}

// ---- inspect

std::string shape_text(const std::vector<uint64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

// a / b, or JSON null when b is 0.
nlohmann::ordered_json ratio_or_null(double a, double b) {
  if (b == 0) return nullptr;
  return a / b;
}

int run_inspect(const std::string& in, bool as_json, unsigned threads) {
  const ws::ContainerReader reader = ws::ContainerReader::open(in);
  ws::InspectReport r;
  {
    ProgressBar bar("inspect");
    r = ws::inspect(reader, threads, bar.callback());
  }
  const ws::Index& ix = reader.index();

  uint64_t values = 0;
  double bound = 8.0 * double(r.literal_bytes);
  for (const auto& t : r.tensors) {
    values += t.segment->value_count;
    bound += t.bound_bits;
  }
  const double achieved = 8.0 * double(r.file_bytes);

  if (as_json) {
    using J = nlohmann::ordered_json;
    J tensors = J::array();
    for (const auto& t : r.tensors) {
      const ws::Segment& s = *t.segment;
      const double bits = 8.0 * double(t.compressed_bytes);
      const double n = double(s.value_count);
      J sparse = nullptr;  // 2:4 tensors: values and metadata apart, per original (dense) weight
      if (t.sparse24)
        sparse = {{"value_bytes", t.value_bytes},
                  {"meta_bytes", t.meta_bytes},
                  {"stored_values", t.stored_values},
                  {"stored_groups", t.stored_groups},
                  {"value_bits_per_weight", ratio_or_null(8.0 * double(t.value_bytes), n)},
                  {"meta_bits_per_weight", ratio_or_null(8.0 * double(t.meta_bytes), n)},
                  {"value_bound_bits", t.value_bound_bits},
                  {"meta_bound_bits", t.meta_bound_bits},
                  {"value_bound_bits_per_weight", ratio_or_null(t.value_bound_bits, n)},
                  {"meta_bound_bits_per_weight", ratio_or_null(t.meta_bound_bits, n)}};
      tensors.push_back({{"name", s.name},
                         {"dtype", s.format.name()},
                         {"format", s.format.name()},
                         {"shape", s.dims},
                         {"values", s.value_count},
                         {"chunks", s.chunks.size()},
                         {"compressed_bytes", t.compressed_bytes},
                         {"bits_per_weight", ratio_or_null(bits, double(s.value_count))},
                         {"bound_bits", t.bound_bits},
                         {"bound_bits_per_weight", ratio_or_null(t.bound_bits, double(s.value_count))},
                         {"overhead", t.bound_bits > 0 ? J(bits / t.bound_bits - 1) : J(nullptr)},
                         {"sparse24", sparse}});
    }
    const J doc = {
        {"file", in},
        {"file_bytes", r.file_bytes},
        {"source_kind", ws::source_kind_name(ix.source_kind)},
        {"source_bytes", ix.source_size},
        {"ratio", ratio_or_null(double(ix.source_size), double(r.file_bytes))},
        {"tensors", tensors},
        {"literal", {{"segments", r.literal_segments}, {"bytes", r.literal_bytes}}},
        {"other_bytes",
         {{"header_footer", r.header_footer_bytes},
          {"index_other", r.index_other_bytes},
          {"literal", r.literal_bytes},
          {"total", r.other_bytes()}}},
        {"total",
         {{"values", values},
          {"compressed_bytes", r.file_bytes},
          {"bits_per_weight", ratio_or_null(achieved, double(values))},
          {"bound_bits", bound},
          {"bound_bits_per_weight", ratio_or_null(bound, double(values))},
          {"overhead", bound > 0 ? J(achieved / bound - 1) : J(nullptr)}}}};
    std::printf("%s\n", doc.dump(2).c_str());
    return 0;
  }

  size_t name_w = 6, shape_w = 5, format_w = 6;
  for (const auto& t : r.tensors) {
    name_w = std::max(name_w, t.segment->name.size());
    format_w = std::max(format_w, t.segment->format.name().size());
    shape_w = std::max(shape_w, shape_text(t.segment->dims).size());
  }
  std::printf("%s: %" PRIu64 " bytes, source %s of %" PRIu64 " bytes, ratio %.3f:1\n", in.c_str(), r.file_bytes,
              ws::source_kind_name(ix.source_kind), ix.source_size,
              r.file_bytes ? double(ix.source_size) / double(r.file_bytes) : 0.0);
  std::printf("%-*s %-*s %-*s %10s %6s %10s %8s %8s %9s\n", int(name_w), "tensor", int(format_w), "format", int(shape_w), "shape",
              "values", "chunks", "bytes", "bits/w", "bound/w", "overhead");
  bool any_sparse = false;
  for (const auto& t : r.tensors) {
    const ws::Segment& s = *t.segment;
    const double n = double(s.value_count), bits = 8.0 * double(t.compressed_bytes);
    std::printf("%-*s %-*s %-*s %10" PRIu64 " %6zu %10" PRIu64 " %8.3f %8.3f %8.2f%%%s\n", int(name_w), s.name.c_str(),
                int(format_w), s.format.name().c_str(), int(shape_w), shape_text(s.dims).c_str(), s.value_count, s.chunks.size(),
                t.compressed_bytes, n ? bits / n : 0.0, n ? t.bound_bits / n : 0.0,
                t.bound_bits > 0 ? 100.0 * (bits / t.bound_bits - 1) : 0.0, t.sparse24 ? "  2:4" : "");
    any_sparse = any_sparse || t.sparse24;
  }
  // 2:4 tensors: bits per original (dense) weight of the value and metadata sub-chunks, and their bounds.
  if (any_sparse)
    std::printf("2:4 tensors, bits per original weight: values (bound), metadata (bound)\n");
  for (const auto& t : r.tensors) {
    if (!t.sparse24) continue;
    const double n = double(t.segment->value_count);
    std::printf("  2:4 %-*s values %7.3f (%7.3f)  meta %6.3f (%6.3f)\n", int(name_w), t.segment->name.c_str(),
                n ? 8.0 * double(t.value_bytes) / n : 0.0, n ? t.value_bound_bits / n : 0.0,
                n ? 8.0 * double(t.meta_bytes) / n : 0.0, n ? t.meta_bound_bits / n : 0.0);
  }
  std::printf("other: %" PRIu64 " bytes (header+footer %" PRIu64 ", index outside tensors %" PRIu64 ", literal %" PRIu64
              " in %" PRIu64 " segments)\n",
              r.other_bytes(), r.header_footer_bytes, r.index_other_bytes, r.literal_bytes, r.literal_segments);
  std::printf("total: %" PRIu64 " values, %" PRIu64 " bytes, %.3f bits/weight, bound %.3f bits/weight, overhead %.2f%%\n",
              values, r.file_bytes, values ? achieved / double(values) : 0.0, values ? bound / double(values) : 0.0,
              bound > 0 ? 100.0 * (achieved / bound - 1) : 0.0);
  return 0;
}

// convert --to anything but bf16: ws::convert_to_format (exact unless --round).
int run_convert_format(const std::string& in, const std::string& out, const std::string& to, bool round) {
  ws::FileSource src(in);
  const ws::ValueFormat f = ws::ValueFormat::named(to);
  Output o(out);
  ProgressBar bar("convert");
  const ws::ConvertResult r = ws::convert_to_format(src, o.sink, f, round, bar.callback());
  o.commit();
  bar.clear();
  std::printf("%s -> %s: %" PRIu64 " tensors (%" PRIu64 " converted to %s), %" PRIu64 " values, %" PRIu64
              " bytes, %" PRIu64 " values rounded\n",
              in.c_str(), out.c_str(), r.tensors, r.converted, f.name().c_str(), r.values, r.bytes, r.rounded);
  return 0;
}

int run_convert(const std::string& in, const std::string& out) {
  ws::FileSource src(in);
  Output o(out);
  ProgressBar bar("convert");
  const ws::ConvertResult r = ws::convert_to_bf16(src, o.sink, bar.callback());
  o.commit();
  bar.clear();
  std::printf("%s -> %s: %" PRIu64 " tensors, %" PRIu64 " values, %" PRIu64 " bytes (bf16, round to nearest even)\n",
              in.c_str(), out.c_str(), r.tensors, r.values, r.bytes);
  return 0;
}

}  // namespace

// Subcommands defined beside this file (model/tool/cmd_*.cpp). They run as CLI11 callbacks inside
// parse(), report their own errors ("error: <file>: <what>") and leave through CLI::RuntimeError.
void add_prune_commands(CLI::App& app);   // prune, eval
void add_numfmt_command(CLI::App& app);   // numfmt

int main(int argc, char** argv) {
  CLI::App app{"weightstream: lossless tANS compression of LLM weights (.wsz), see docs/tool.md"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");

  std::string in, out, to;
  int lanes = 4, table_log = ws::tans::kDefaultTableLog;
  uint64_t chunk = ws::kDefaultChunkValues;
  unsigned threads = 0;
  bool as_json = false, no_sparse = false, round = false;
  std::string format;
  auto threads_option = [&](CLI::App* c) {
    c->add_option("--threads", threads, "Worker threads (0 = one per core)")->check(CLI::Range(0u, 1024u));
  };

  CLI::App* compress = app.add_subcommand("compress", "Compress a safetensors, llama2.c .bin or any file to .wsz");
  compress->add_option("input", in, "Input file")->required();
  compress->add_option("-o,--output", out, "Output .wsz file")->required();
  compress->add_option("--lanes", lanes, "Interleaved tANS lanes per chunk (1, 2, 4, 8)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2, 4, 8}));
  compress->add_option("--table-log", table_log, "tANS table log L (table size 2^L)")
      ->capture_default_str()
      ->check(CLI::Range(5, 12));
  compress->add_option("--chunk", chunk, "Values per chunk (rounded down to whole rows when a row fits)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), ws::kMaxChunkValues));
  compress->add_flag("--no-sparse", no_sparse, "Store every tensor dense, even those that qualify as 2:4");
  CLI::Option* format_opt = compress->add_option(
      "--format", format, "Convert float tensors to this number format first (e4m3, e5m2, int8, int4, posit16_1, ...)");
  compress->add_flag("--round", round, "With --format: round inexact values to nearest even instead of failing")
      ->needs(format_opt);
  threads_option(compress);

  CLI::App* decompress = app.add_subcommand("decompress", "Restore the original file from a .wsz, byte for byte");
  decompress->add_option("input", in, "Input .wsz file")->required();
  decompress->add_option("-o,--output", out, "Output file")->required();
  threads_option(decompress);

  CLI::App* inspect = app.add_subcommand("inspect", "Per-tensor sizes, bits per weight and the entropy bound");
  inspect->add_option("input", in, "Input .wsz file")->required();
  inspect->add_flag("--json", as_json, "Print JSON");
  threads_option(inspect);

  CLI::App* convert = app.add_subcommand("convert", "Convert a safetensors or llama2.c .bin model's float tensors to a number format");
  convert->add_option("--to", to, "Target format: bf16 (always rounds), or fp16, fp32, e4m3, e5m2, int8, int4, posit<n>_<es>")->required();
  convert->add_flag("--round", round, "Round inexact values to nearest even instead of failing (formats other than bf16)");
  convert->add_option("input", in, "Input file")->required();
  convert->add_option("-o,--output", out, "Output .safetensors file")->required();

  add_prune_commands(app);
  add_numfmt_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {  // a callback subcommand failed and has said why
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return fail("command line", std::string(e.what()) + " (see weightstream --help)");
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);

  // Which file an error is about: an IoError names its own; anything else is about the input.
  try {
    if (*compress) return run_compress(in, out, lanes, table_log, chunk, threads, no_sparse, format, round);
    if (*decompress) return run_decompress(in, out, threads);
    if (*inspect) return run_inspect(in, as_json, threads);
    if (*convert) return to == "bf16" ? run_convert(in, out) : run_convert_format(in, out, to, round);
  } catch (const ws::IoError& e) {
    return fail(e.path(), e.what());
  } catch (const ws::FormatError& e) {
    return fail(in, e.what());
  } catch (const std::exception& e) {
    return fail(in, e.what());
  }
  return 0;  // one of the callback subcommands ran and succeeded
}
