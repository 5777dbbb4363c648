// weightstream: compress, decompress, inspect and convert LLM weight files (docs/tool.md). This file
// parses the command line and calls ops/; prune, eval, numfmt and generate are in cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "ops/compress.hpp"
#include "ops/convert.hpp"
#include "ops/decompress.hpp"
#include "ops/inspect.hpp"
#include "ops/lte_experts.hpp"
#include "tool/cli.hpp"

namespace {

using cli::Output;
using cli::ProgressBar;

int fail(const std::string& file, const std::string& what) {
  cli::print_error(file + ": " + what);
  return 1;
}

int run_compress(const std::string& in, const std::string& out, const ws::CompressOptions& options,
                 const std::string& format, bool round, bool force, const std::string& lte) {
  std::unique_ptr<ws::ByteSource> src;
  std::FILE* summary = cli::summary_stream(out);
  ws::CompressOptions opt = options;
  ws::LteSource ordered;  // --lte: the model in expert order, what the container restores
  if (!lte.empty()) {
    if (out == "-") return fail(out, "--lte writes its side file beside the container: give a file name");
    ordered = ws::lte_source(in, lte);
    opt.experts = ordered.experts;
    src = std::make_unique<ws::MemorySource>(ordered.bytes.data(), ordered.bytes.size());
  } else {
    src = ws::open_input(in);
  }
  std::vector<uint8_t> converted;  // --format: the input converted in memory, what the container restores
  if (!format.empty()) {
    const ws::ValueFormat f = ws::ValueFormat::named(format);
    ws::VectorSink sink;
    const ws::ConvertResult r = ws::convert_to_format(*src, sink, f, round);
    std::fputs(ws::format_conversion_summary(in, r, f).c_str(), summary);
    converted = std::move(sink.bytes);
    src = std::make_unique<ws::MemorySource>(converted.data(), converted.size());
  }
  Output o(out, force, {in});
  ProgressBar bar("compress");
  opt.progress = bar.callback();
  const ws::CompressResult r = ws::compress(*src, o.sink, opt);
  o.commit();
  bar.clear();
  std::fputs(ws::compress_summary(in, out, r, opt).c_str(), summary);
  if (!lte.empty()) {
    const std::string side = ws::lte_side_path(out);
    ws::save_lte(ordered.side, side);
    std::fprintf(summary, "%s: the FFN in the expert order of %s, w1/w3/w2 cut into %d experts per layer; side file %s\n",
                 out.c_str(), lte.c_str(), ordered.side.experts(), side.c_str());
  }
  std::fputs(ws::opaque_input_note(in, *src, r).c_str(), stderr);
  return 0;
}

int run_decompress(const std::string& in, const std::string& out, unsigned threads, bool force) {
  const ws::ContainerReader reader(ws::open_input(in));
  Output o(out, force, {in});
  ProgressBar bar("decompress");
  ws::decompress(reader, o.sink, threads, bar.callback());
  o.commit();
  bar.clear();
  std::fputs(ws::decompress_summary(in, out, reader).c_str(), cli::summary_stream(out));
  return 0;
}

int run_inspect(const std::string& in, bool as_json, unsigned threads) {
  const ws::ContainerReader reader(ws::open_input(in));
  ws::InspectReport r;
  {
    ProgressBar bar("inspect");
    r = ws::inspect(reader, threads, bar.callback());
  }
  std::fputs((as_json ? ws::inspect_json(in, reader, r) : ws::inspect_text(in, reader, r)).c_str(), stdout);
  return 0;
}

// bf16 always rounds; every other format is exact unless --round.
int run_convert(const std::string& in, const std::string& out, const std::string& to, bool round, bool force) {
  const std::unique_ptr<ws::ByteSource> src = ws::open_input(in);
  const bool bf16 = to == "bf16";
  const ws::ValueFormat f = bf16 ? ws::ValueFormat() : ws::ValueFormat::named(to);
  Output o(out, force, {in});
  ProgressBar bar("convert");
  const ws::ConvertResult r = bf16 ? ws::convert_to_bf16(*src, o.sink, bar.callback())
                                   : ws::convert_to_format(*src, o.sink, f, round, bar.callback());
  o.commit();
  bar.clear();
  std::fputs((bf16 ? ws::convert_bf16_summary(in, out, r) : ws::convert_summary(in, out, r, f)).c_str(),
             cli::summary_stream(out));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weightstream: lossless tANS compression of LLM weights (.wsz), see docs/tool.md"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");

  std::string in, out, to;
  ws::CompressOptions copt;
  unsigned threads = 0;
  bool as_json = false, no_sparse = false, round = false, force = false;
  std::string format, lte;
  auto force_option = [&](CLI::App* c) {
    c->add_flag("-f,--force", force, "Overwrite an existing output file (default: refuse)");
  };
  auto threads_option = [&](CLI::App* c) {
    c->add_option("--threads", threads, "Worker threads (0 = one per core)")->check(CLI::Range(0u, 1024u));
  };

  CLI::App* compress = app.add_subcommand("compress", "Compress a safetensors, llama2.c .bin or any file to .wsz");
  compress->add_option("input", in, "Input file (- for standard input)")->required();
  compress->add_option("-o,--output", out, "Output .wsz file (- for standard output)")->required();
  force_option(compress);
  compress->add_option("--lanes", copt.chunk.lanes, "Interleaved tANS lanes per chunk (1, 2, 4, 8)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2, 4, 8}));
  compress->add_option("--table-log", copt.chunk.table_log, "tANS table log L (table size 2^L)")
      ->capture_default_str()
      ->check(CLI::Range(5, 12));
  compress->add_option("--chunk", copt.chunk_values, "Values per chunk (rounded down to whole rows when a row fits)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), ws::kMaxChunkValues));
  compress->add_option("--paths", copt.paths,
                       "Cut each matrix's chunks for this many paths of the multi-path top: a multiple of it, "
                       "rows balanced (1 = one path)")
      ->capture_default_str()
      ->check(CLI::Range(1, ws::kMaxChunkPaths));
  compress->add_flag("--no-sparse", no_sparse, "Store every tensor dense, even those that qualify as 2:4");
  CLI::Option* format_opt = compress->add_option(
      "--format", format, "Convert float tensors to this number format first (e4m3, e5m2, int8, int4, posit16_1, ...)");
  compress->add_flag("--round", round, "With --format: round inexact values to nearest even instead of failing")
      ->needs(format_opt);
  compress->add_option("--lte", lte, "LTE side file: the FFN in its expert order, one chunk per expert (docs/lte.md)")
      ->check(CLI::ExistingFile);
  threads_option(compress);

  CLI::App* decompress = app.add_subcommand("decompress", "Restore the original file from a .wsz, byte for byte");
  decompress->add_option("input", in, "Input .wsz file (- for standard input)")->required();
  decompress->add_option("-o,--output", out, "Output file (- for standard output)")->required();
  force_option(decompress);
  threads_option(decompress);

  CLI::App* inspect = app.add_subcommand("inspect", "Per-tensor sizes, bits per weight and the entropy bound");
  inspect->add_option("input", in, "Input .wsz file (- for standard input)")->required();
  inspect->add_flag("--json", as_json, "Print JSON");
  threads_option(inspect);

  CLI::App* convert = app.add_subcommand("convert", "Convert a safetensors or llama2.c .bin model's float tensors to a number format");
  convert->add_option("--to", to, "Target format: bf16 (always rounds), or fp16, fp32, e4m3, e5m2, int8, int4, posit<n>_<es>")->required();
  convert->add_flag("--round", round, "Round inexact values to nearest even instead of failing (formats other than bf16)");
  convert->add_option("input", in, "Input file (- for standard input)")->required();
  convert->add_option("-o,--output", out, "Output .safetensors file (- for standard output)")->required();
  force_option(convert);

  cli::add_prune_commands(app);
  cli::add_numfmt_command(app);
  cli::add_generate_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {  // a callback subcommand failed and has said why
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return fail("command line", std::string(e.what()) + " (see weightstream --help)");
  }

  cli::remove_output_on_signals();

  // Which file an error is about: a FileError names its own; anything else is about the input.
  try {
    if (*compress) {
      copt.threads = threads;
      copt.sparse24 = !no_sparse;
      return run_compress(in, out, copt, format, round, force, lte);
    }
    if (*decompress) return run_decompress(in, out, threads, force);
    if (*inspect) return run_inspect(in, as_json, threads);
    if (*convert) return run_convert(in, out, to, round, force);
  } catch (const ws::FileError& e) {  // an IoError: the OS refused a file
    return fail(e.path(), e.what());
  } catch (const std::exception& e) {
    return fail(in, e.what());
  }
  return 0;  // one of the callback subcommands ran and succeeded
}
