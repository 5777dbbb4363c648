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
  std::string method, shuffle = "none";
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
  CLI::App* prune = app.add_subcommand("prune", "2:4-prune a llama2.c model (.bin or safetensors) into safetensors");
  prune->add_option("IN", po.in, "llama2.c model")->required()->check(CLI::ExistingFile);
  prune->add_option("-o,--output", po.out, "pruned model (safetensors)")->required();
  prune->add_option("--method", pa->method, "importance score")
      ->required()
      ->check(CLI::IsMember({"magnitude", "wanda", "esparse"}));
  prune->add_option("--shuffle", pa->shuffle, "channel shuffle")->capture_default_str()
      ->check(CLI::IsMember({"none", "global", "global+local"}));
  prune->add_option("--calib", po.calib, "calibration sequences")->capture_default_str()->check(CLI::Range(1, 100000));
  prune->add_option("--calib-len", po.calib_len, "tokens per calibration sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--alpha", po.prune.alpha, "E-Sparse: importance |W| * (H / alpha + ||X||)")->capture_default_str()
      ->check(CLI::Range(1e-300, 1e300));
  prune->add_option("--bins", po.prune.bins, "E-Sparse: entropy histogram bins")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  prune->add_option("--block", po.prune.block, "local shuffle block, channels")->capture_default_str();
  prune->add_option("--seed", po.seed, "calibration sampling seed")->capture_default_str();
  prune->callback([pa] {
    guarded(pa->opt.in, [&] {
      pa->opt.prune.method = ws::parse_method(pa->method);
      pa->opt.prune.shuffle = ws::parse_shuffle(pa->shuffle);
      return ws::prune_model(pa->opt);
    });
  });

  auto ea = std::make_shared<ws::EvalModelsOptions>();
  CLI::App* eval = app.add_subcommand("eval", "perplexity and KL from the dense model on held-out sampled sequences");
  eval->add_option("DENSE", ea->dense, "dense llama2.c model; samples the held-out sequences")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("PRUNED", ea->pruned, "models to compare with it")->check(CLI::ExistingFile);
  eval->add_option("--seqs", ea->seqs, "held-out sequences")->capture_default_str()->check(CLI::Range(1, 100000));
  eval->add_option("--len", ea->len, "tokens per sequence")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  eval->add_option("--seed", ea->seed, "held-out sampling seed")->capture_default_str();
  eval->callback([ea] { guarded(ea->dense, [&] { return ws::evaluate_models(*ea); }); });
}

}  // namespace cli
