#include "ops/prune_model.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "ops/report.hpp"
#include "prune/calib.hpp"

namespace ws {
namespace {

// A model that does not load is that file's fault.
LlamaWeights load(const std::string& path) {
  try {
    return load_llama(path);
  } catch (const FormatError& e) {
    throw FileError(path, e.what());
  }
}

}  // namespace

std::string prune_model(const PruneModelOptions& o) {
  const PruneOptions& opt = o.prune;
  if (opt.block < 8 || opt.block % 4 != 0) throw FileError("", "--block must be a multiple of 4, at least 8");
  const LlamaWeights dense = load(o.in);
  if (o.calib_len > dense.config.seq_len)
    throw FileError("", "--calib-len " + std::to_string(o.calib_len) + " exceeds the model's seq_len " +
                               std::to_string(dense.config.seq_len));

  Calibration cal;
  if (opt.method != PruneMethod::magnitude) cal = calibrate(dense, sample_sequences(dense, o.calib, o.calib_len, o.seed));
  PruneReport report;
  const LlamaWeights pruned = prune(dense, cal, opt, &report);

  std::map<std::string, std::string> md = {
      {"sparsity", "2:4"}, {"prune_method", method_name(opt.method)}, {"prune_shuffle", shuffle_name(opt.shuffle)}};
  std::string calib_desc = "none";
  if (opt.method != PruneMethod::magnitude) {
    calib_desc = std::to_string(o.calib) + " x " + std::to_string(o.calib_len) + " tokens, seed " + std::to_string(o.seed);
    md["prune_calibration"] = calib_desc;
  }
  if (opt.method == PruneMethod::esparse) {
    md["prune_alpha"] = strprintf("%g", opt.alpha);
    md["prune_bins"] = std::to_string(opt.bins);
  }
  if (opt.shuffle == ShuffleMode::global_local) md["prune_block"] = std::to_string(opt.block);
  save_llama(pruned, o.out, md);

  std::string out = strprintf("pruned %s -> %s: method %s, shuffle %s", o.in.c_str(), o.out.c_str(),
                              method_name(opt.method), shuffle_name(opt.shuffle));
  if (opt.method == PruneMethod::esparse) out += strprintf(", alpha %g, bins %d", opt.alpha, opt.bins);
  if (opt.shuffle == ShuffleMode::global_local) out += strprintf(", block %d", opt.block);
  out += strprintf("\ncalibration: %s\n", calib_desc.c_str());
  out += "importance kept by the 2:4 mask (fraction of the layer's total, summed over layers):\n";
  out += strprintf("  %-5s %12s %12s\n", "layer", "unshuffled", "kept");
  for (int k = 0; k < kLayerLinears; ++k)
    out += strprintf("  %-5s %12.4f %12.4f\n", linear_name(LinearKind(k)),
                     report.kept_unshuffled[size_t(k)] / report.total[size_t(k)],
                     report.kept[size_t(k)] / report.total[size_t(k)]);
  return out;
}

std::string evaluate_models(const EvalModelsOptions& o) {
  const LlamaWeights dense = load(o.dense);
  std::vector<LlamaWeights> others;
  for (const std::string& p : o.pruned) others.push_back(load(p));
  if (o.len > dense.config.seq_len)
    throw FileError("", "--len " + std::to_string(o.len) + " exceeds the model's seq_len " +
                               std::to_string(dense.config.seq_len));

  std::vector<const LlamaWeights*> models{&dense};
  for (const LlamaWeights& w : others) models.push_back(&w);
  const auto seqs = sample_sequences(dense, o.seqs, o.len, o.seed);
  for (size_t m = 0; m < others.size(); ++m)
    if (!same_config(others[m].config, dense.config))
      throw FileError(o.pruned[m], "not the same model shape as " + o.dense);
  const std::vector<EvalResult> res = evaluate(dense, models, seqs);

  std::string out = strprintf(
      "held-out: %d sequences x %d tokens sampled from %s (temperature 1, seed %llu), %zu predicted tokens\n", o.seqs,
      o.len, o.dense.c_str(), static_cast<unsigned long long>(o.seed), res[0].tokens);
  std::vector<std::string> names{o.dense + " (dense)"};
  names.insert(names.end(), o.pruned.begin(), o.pruned.end());
  int width = 5;
  for (const std::string& n : names) width = std::max(width, int(n.size()));
  out += strprintf("%-*s %12s %16s\n", width, "model", "perplexity", "KL nats/token");
  for (size_t m = 0; m < models.size(); ++m)
    out += strprintf("%-*s %12.4f %16.6f\n", width, names[m].c_str(), res[m].perplexity(), res[m].kl());
  return out;
}

}  // namespace ws
