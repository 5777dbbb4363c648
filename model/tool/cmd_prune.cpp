// `weightstream prune`, `eval`, `lte-experts`, `dijiang-init` and `sample`: their options, and the calls into ops/.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "ops/dijiang_init.hpp"
#include "ops/lte_experts.hpp"
#include "ops/prune_model.hpp"
#include "ops/sample_tokens.hpp"
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
  prune->add_option("--lte", po.lte, "LTE side file: shuffle w2's channels only inside its experts, so that "
                                     "`compress --lte` takes the pruned model")
      ->check(CLI::ExistingFile);
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
  eval->add_option("--lte", ea->lte, "LTE side file(s): one for every model (DENSE if none given) or one per model")
      ->check(CLI::ExistingFile);
  eval->add_option("--lte-norm", ea->lte_norm, "with a grouping-only side file: the activation-norm baseline at these fractions of experts off")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0));
  eval->add_option("--lte-dump", ea->lte_dump, "with one model and one gate: its decisions per token and layer (a bit per expert) into this safetensors file");
  eval->add_option("--dijiang", ea->dijiang, "DiJiang side file(s) (docs/dijiang.md): one for every model (DENSE if none given) or one per model")
      ->check(CLI::ExistingFile);

  auto la = std::make_shared<ws::LteExpertsOptions>();
  CLI::App* lte = app.add_subcommand("lte-experts", "group each FFN's neurons into LTE experts (balanced k-means on w1 rows) into a side file");
  lte->add_option("IN", la->in, "llama model")->required()->check(CLI::ExistingFile);
  lte->add_option("-o,--output", la->out, "side file (safetensors, docs/lte.md)")->required();
  lte->add_option("--expert-size", la->expert_size, "neurons per expert")->capture_default_str()->check(CLI::Range(1, 1 << 18));
  lte->add_option("--seed", la->seed, "k-means++ seed (layer l uses seed + l)")->capture_default_str();
  lte->callback([la] { guarded(la->in, [&] { return ws::lte_experts_file(*la); }); });

  auto da = std::make_shared<ws::DiJiangInitOptions>();
  CLI::App* dij = app.add_subcommand("dijiang-init", "an untrained DiJiang side file for a llama model's shape (docs/dijiang.md)");
  dij->add_option("MODEL", da->in, "llama model (GGUF, safetensors, llama2.c .bin)")->required()->check(CLI::ExistingFile);
  dij->add_option("-o,--output", da->out, "side file (safetensors, docs/dijiang.md)")->required();
  dij->add_option("--seed", da->seed, "seed of the sampling weights (or P) and the gate")->capture_default_str();
  dij->add_flag("--random-features", da->random_features,
                "the random-feature baseline (a Gaussian P, Performer-style) instead of DiJiang's weighted DCT");
  dij->callback([da] { guarded(da->in, [&] { return ws::dijiang_init_file(*da); }); });

  auto sa = std::make_shared<ws::SampleTokensOptions>();
  CLI::App* sample = app.add_subcommand("sample", "token sequences sampled from a llama model, or windows of real text, into safetensors (training data of train/)");
  sample->add_option("MODEL", sa->model, "llama model")->required()->check(CLI::ExistingFile);
  sample->add_option("-o,--output", sa->out, "tokens (safetensors: I32 [seqs][len + 1])")->required();
  sample->add_option("--text", sa->text, "windows of this text's calibration part instead of sampled sequences (model needs a tokenizer)")
      ->check(CLI::ExistingFile);
  sample->add_option("--seqs", sa->seqs, "sequences (with --text, 0 = every window that fits)")->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  sample->add_option("--len", sa->len, "tokens per sequence after its first")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sample->add_option("--seed", sa->seed, "sampler seed")->capture_default_str();
  sample->add_option("--temperature", sa->temperature, "softmax temperature (0: greedy)")->capture_default_str()
      ->check(CLI::Range(0.0f, 100.0f));
  sample->callback([sa] { guarded(sa->model, [&] { return ws::sample_tokens(*sa); }); });
  eval->callback([ea] { guarded(ea->dense, [&] { return ws::evaluate_models(*ea); }); });
}

}  // namespace cli
