// `weightstream prune` and `weightstream eval`: their options, and the calls into ops/prune_model.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "ops/prune_model.hpp"
#include "tool/cli.hpp"

namespace cli {
namespace {

struct PruneArgs {
  ws::PruneModelOptions opt;
  std::string method, shuffle = "none", pattern = "2:4";
};

// Runs a command and prints its report; an error not pinned on a file of its own is about `file`.
template <class F>
void guarded(const std::string& file, F&& run) {
  try {
    std::fputs(run().c_str(), stdout);
  } catch (const CLI::Error&) {
    throw;
  } catch (const ws::FileError& e) {
    fail_callback(e.path().empty() ? e.what() : e.path() + ": " + e.what());
  } catch (const std::exception& e) {
    fail_callback(file + ": " + e.what());
  }
}

}  // namespace

void add_prune_commands(CLI::App& app) {
  auto pa = std::make_shared<PruneArgs>();
  ws::PruneModelOptions& po = pa->opt;
  CLI::App* prune = app.add_subcommand("prune", "N:M-prune (2:4, 4:8) a llama model (GGUF, safetensors, llama2.c .bin) into safetensors");
  prune->add_option("IN", po.in, "llama model")->required()->check(CLI::ExistingFile);
  prune->add_option("-o,--output", po.out, "pruned model (safetensors)")->required();
  prune->add_option("--method", pa->method, "importance score")
      ->required()
      ->check(CLI::IsMember({"magnitude", "wanda", "esparse"}));
  prune->add_option("--shuffle", pa->shuffle, "channel shuffle")->capture_default_str()
      ->check(CLI::IsMember({"none", "global", "global+local"}));
  prune->add_option("--sparsity", pa->pattern, "N:M pattern: keep N of every M input channels")->capture_default_str()
      ->check(CLI::IsMember({"2:4", "4:8"}));
  prune->add_option("--text", po.text, "calibrate on windows of this text's calibration part (model needs a tokenizer)")
      ->check(CLI::ExistingFile);
  prune->add_option("--calib", po.calib, "calibration sequences")->capture_default_str()->check(CLI::Range(1, 100000));
  prune->add_option("--calib-len", po.calib_len, "tokens per calibration sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--alpha", po.prune.alpha, "E-Sparse: importance |W| * (H / alpha + ||X||)")->capture_default_str()
      ->check(CLI::Range(1e-300, 1e300));
  prune->add_option("--bins", po.prune.bins, "E-Sparse: entropy histogram bins")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--block", po.prune.block, "local shuffle block, channels")->capture_default_str();
  prune->add_option("--seed", po.seed, "calibration sampling seed (without --text)")->capture_default_str();
  prune->add_option("--threads", po.threads, "calibration and pruning threads (0 = one per core)")
      ->check(CLI::Range(0u, 1024u));
  prune->callback([pa] {
    guarded(pa->opt.in, [&] {
      pa->opt.prune.method = ws::parse_method(pa->method);
      pa->opt.prune.shuffle = ws::parse_shuffle(pa->shuffle);
      pa->opt.prune.pattern = ws::parse_pattern(pa->pattern);
      return ws::prune_model(pa->opt);
    });
  });

  auto ea = std::make_shared<ws::EvalModelsOptions>();
  CLI::App* eval = app.add_subcommand("eval", "perplexity and KL from the dense model on held-out sampled sequences or text");
  eval->add_option("DENSE", ea->dense, "dense model; samples (or tokenizes) the held-out sequences, the KL's reference")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("PRUNED", ea->pruned, "models to compare with it")->check(CLI::ExistingFile);
  eval->add_option("--text", ea->text, "held-out windows of this text's held-out part instead of sampled sequences")
      ->check(CLI::ExistingFile);
  eval->add_option("--seqs", ea->seqs, "held-out sequences (with --text, 0 = all that fit)")->capture_default_str()
      ->check(CLI::Range(0, 100000));
  eval->add_option("--len", ea->len, "predicted tokens per sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  eval->add_option("--seed", ea->seed, "held-out sampling seed (without --text)")->capture_default_str();
  eval->add_option("--threads", ea->threads, "threads (0 = one per core)")->check(CLI::Range(0u, 1024u));
  eval->callback([ea] { guarded(ea->dense, [&] { return ws::evaluate_models(*ea); }); });
}

}  // namespace cli
