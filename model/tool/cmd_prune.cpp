// `weightstream prune` (2:4 pruning of a llama2.c model: magnitude, Wanda or E-Sparse, with optional
// channel shuffle, into safetensors) and `weightstream eval` (perplexity and KL on held-out sequences).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "prune/calib.hpp"
#include "prune/esparse.hpp"

namespace {

struct PruneArgs {
  std::string in, out, method, shuffle = "none";
  int calib = 16, calib_len = 256, bins = ws::PruneOptions{}.bins, block = ws::PruneOptions{}.block;
  double alpha = ws::PruneOptions{}.alpha;
  uint64_t seed = 1;
};

struct EvalArgs {
  std::string dense;
  std::vector<std::string> pruned;
  int seqs = 16, len = 256;
  uint64_t seed = 2;  // not prune's default calibration seed: held-out means unseen
};

// Errors print one line, "error: <file>: <what>", and make the tool exit 1: the commands run as CLI11
// callbacks inside parse(), so they report here and leave by CLI::RuntimeError, which CLI11 treats as
// an exit code to return silently.
[[noreturn]] void fail(const std::string& msg) {
  std::string line = msg;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "error: %s\n", line.c_str());
  throw CLI::RuntimeError(1);
}

// Runs a command; an exception that is not already reported is reported as about `file`.
template <class F>
void guarded(const std::string& file, F&& run) {
  try {
    run();
  } catch (const CLI::Error&) {
    throw;
  } catch (const ws::IoError& e) {
    fail(e.path() + ": " + e.what());
  } catch (const std::exception& e) {
    fail(file + ": " + e.what());
  }
}

ws::LlamaWeights load(const std::string& path) {
  try {
    return ws::load_llama(path);
  } catch (const ws::FormatError& e) {
    fail(path + ": " + e.what());
  }
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void run_prune(const PruneArgs& a) {
  ws::PruneOptions opt;
  opt.method = ws::parse_method(a.method);
  opt.shuffle = ws::parse_shuffle(a.shuffle);
  opt.alpha = a.alpha;
  opt.bins = a.bins;
  opt.block = a.block;
  if (opt.block < 8 || opt.block % 4 != 0) fail("--block must be a multiple of 4, at least 8");
  const ws::LlamaWeights dense = load(a.in);
  if (a.calib_len > dense.config.seq_len)
    fail("--calib-len " + std::to_string(a.calib_len) + " exceeds the model's seq_len " +
         std::to_string(dense.config.seq_len));

  ws::Calibration cal;
  if (opt.method != ws::PruneMethod::magnitude)
    cal = ws::calibrate(dense, ws::sample_sequences(dense, a.calib, a.calib_len, a.seed));
  ws::PruneReport report;
  const ws::LlamaWeights pruned = ws::prune(dense, cal, opt, &report);

  std::map<std::string, std::string> md = {
      {"sparsity", "2:4"}, {"prune_method", ws::method_name(opt.method)}, {"prune_shuffle", ws::shuffle_name(opt.shuffle)}};
  std::string calib_desc = "none";
  if (opt.method != ws::PruneMethod::magnitude) {
    calib_desc = std::to_string(a.calib) + " x " + std::to_string(a.calib_len) + " tokens, seed " + std::to_string(a.seed);
    md["prune_calibration"] = calib_desc;
  }
  if (opt.method == ws::PruneMethod::esparse) {
    md["prune_alpha"] = fmt("%g", opt.alpha);
    md["prune_bins"] = std::to_string(opt.bins);
  }
  if (opt.shuffle == ws::ShuffleMode::global_local) md["prune_block"] = std::to_string(opt.block);
  ws::save_llama(pruned, a.out, md);

  std::printf("pruned %s -> %s: method %s, shuffle %s", a.in.c_str(), a.out.c_str(), ws::method_name(opt.method),
              ws::shuffle_name(opt.shuffle));
  if (opt.method == ws::PruneMethod::esparse) std::printf(", alpha %g, bins %d", opt.alpha, opt.bins);
  if (opt.shuffle == ws::ShuffleMode::global_local) std::printf(", block %d", opt.block);
  std::printf("\ncalibration: %s\n", calib_desc.c_str());
  std::printf("importance kept by the 2:4 mask (fraction of the layer's total, summed over layers):\n");
  std::printf("  %-5s %12s %12s\n", "layer", "unshuffled", "kept");
  for (int k = 0; k < ws::kLayerLinears; ++k)
    std::printf("  %-5s %12.4f %12.4f\n", ws::linear_name(ws::LinearKind(k)),
                report.kept_unshuffled[size_t(k)] / report.total[size_t(k)], report.kept[size_t(k)] / report.total[size_t(k)]);
}

void run_eval(const EvalArgs& a) {
  const ws::LlamaWeights dense = load(a.dense);
  std::vector<ws::LlamaWeights> others;
  for (const std::string& p : a.pruned) others.push_back(load(p));
  if (a.len > dense.config.seq_len)
    fail("--len " + std::to_string(a.len) + " exceeds the model's seq_len " + std::to_string(dense.config.seq_len));

  std::vector<const ws::LlamaWeights*> models{&dense};
  for (const ws::LlamaWeights& w : others) models.push_back(&w);
  const auto seqs = ws::sample_sequences(dense, a.seqs, a.len, a.seed);
  for (size_t m = 0; m < others.size(); ++m)
    if (!ws::same_config(others[m].config, dense.config)) fail(a.pruned[m] + ": not the same model shape as " + a.dense);
  const std::vector<ws::EvalResult> res = ws::evaluate(dense, models, seqs);

  std::printf("held-out: %d sequences x %d tokens sampled from %s (temperature 1, seed %llu), %zu predicted tokens\n",
              a.seqs, a.len, a.dense.c_str(), static_cast<unsigned long long>(a.seed), res[0].tokens);
  std::vector<std::string> names{a.dense + " (dense)"};
  names.insert(names.end(), a.pruned.begin(), a.pruned.end());
  int width = 5;
  for (const std::string& n : names) width = std::max(width, int(n.size()));
  std::printf("%-*s %12s %16s\n", width, "model", "perplexity", "KL nats/token");
  for (size_t m = 0; m < models.size(); ++m)
    std::printf("%-*s %12.4f %16.6f\n", width, names[m].c_str(), res[m].perplexity(), res[m].kl());
}

}  // namespace

void add_prune_commands(CLI::App& app) {
  auto pa = std::make_shared<PruneArgs>();
  CLI::App* prune = app.add_subcommand("prune", "2:4-prune a llama2.c model (.bin or safetensors) into safetensors");
  prune->add_option("IN", pa->in, "llama2.c model")->required()->check(CLI::ExistingFile);
  prune->add_option("-o,--output", pa->out, "pruned model (safetensors)")->required();
  prune->add_option("--method", pa->method, "importance score")
      ->required()
      ->check(CLI::IsMember({"magnitude", "wanda", "esparse"}));
  prune->add_option("--shuffle", pa->shuffle, "channel shuffle")->capture_default_str()
      ->check(CLI::IsMember({"none", "global", "global+local"}));
  prune->add_option("--calib", pa->calib, "calibration sequences")->capture_default_str()->check(CLI::Range(1, 100000));
  prune->add_option("--calib-len", pa->calib_len, "tokens per calibration sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--alpha", pa->alpha, "E-Sparse: importance |W| * (H / alpha + ||X||)")->capture_default_str()
      ->check(CLI::Range(1e-300, 1e300));
  prune->add_option("--bins", pa->bins, "E-Sparse: entropy histogram bins")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--block", pa->block, "local shuffle block, channels")->capture_default_str();
  prune->add_option("--seed", pa->seed, "calibration sampling seed")->capture_default_str();
  prune->callback([pa] { guarded(pa->in, [&] { run_prune(*pa); }); });

  auto ea = std::make_shared<EvalArgs>();
  CLI::App* eval = app.add_subcommand("eval", "perplexity and KL from the dense model on held-out sampled sequences");
  eval->add_option("DENSE", ea->dense, "dense llama2.c model; samples the held-out sequences")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("PRUNED", ea->pruned, "models to compare with it")->check(CLI::ExistingFile);
  eval->add_option("--seqs", ea->seqs, "held-out sequences")->capture_default_str()->check(CLI::Range(1, 100000));
  eval->add_option("--len", ea->len, "tokens per sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  eval->add_option("--seed", ea->seed, "held-out sampling seed")->capture_default_str();
  eval->callback([ea] { guarded(ea->dense, [&] { run_eval(*ea); }); });
}
