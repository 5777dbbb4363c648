#include "ops/prune_model.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"
#include "core/threads.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "llm/dijiang.hpp"
#include "llm/lte.hpp"
#include "ops/model_text.hpp"
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

// Sampled sequences start with the file's BOS: its tokenizer's, else llama2.c's.
int start_token(const std::string& path) {
  const std::optional<Tokenizer> tok = tokenizer_of(path);
  return tok && tok->bos() >= 0 ? tok->bos() : kBosToken;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The process's peak resident memory so far, in MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace

std::string prune_model(const PruneModelOptions& o) {
  const PruneOptions& opt = o.prune;
  const NmPattern np = opt.pattern;
  if (opt.block < 2 * np.m || opt.block % np.m != 0)
    throw FileError("", "--block must be a multiple of " + std::to_string(np.m) + ", at least " + std::to_string(2 * np.m));
  const LlamaWeights dense = load(o.in);
  if (o.calib_len > dense.config.seq_len)
    throw FileError("", "--calib-len " + std::to_string(o.calib_len) + " exceeds the model's seq_len " +
                               std::to_string(dense.config.seq_len));
  const unsigned threads = resolve_threads(o.threads);

  using clock = std::chrono::steady_clock;
  Calibration cal;
  std::string calib_desc = "none";
  double calib_seconds = 0.0;
  if (opt.method != PruneMethod::magnitude) {
    const auto t0 = clock::now();
    std::vector<std::vector<int>> seqs;
    if (!o.text.empty()) {
      int bos = -1;
      const TextSet ts = model_text_set(o.in, o.text, bos);
      seqs = text_part_windows(ts.calibration, o.calib, o.calib_len, bos, o.text, "calibration part");
      calib_desc = strprintf("%d x %d tokens of the calibration part of %s (%zu of its %zu tokens)", o.calib,
                             o.calib_len, o.text.c_str(), seqs.size() * seqs[0].size(), ts.calibration.size());
    } else {
      seqs = sample_sequences(dense, o.calib, o.calib_len, o.seed, 1.0f, start_token(o.in));
      calib_desc = std::to_string(o.calib) + " x " + std::to_string(o.calib_len) + " tokens, seed " + std::to_string(o.seed);
    }
    cal = calibrate(dense, seqs, threads);
    calib_seconds = seconds_since(t0);
  }
  const auto t1 = clock::now();
  PruneOptions popt = opt;
  popt.threads = threads;
  if (!o.lte.empty()) {  // w2's channel shuffle inside the side file's experts (docs/lte.md)
    try {
      const LteSide side = load_lte(o.lte);
      side.check_model(dense.config);
      popt.expert_order = side.order;
      popt.expert_bounds = side.bounds();
      for (size_t e = 0; e + 1 < popt.expert_bounds.size(); ++e)  // groups of m must not straddle two experts
        if ((popt.expert_bounds[e + 1] - popt.expert_bounds[e]) % np.m != 0)
          throw FormatError("expert " + std::to_string(e) + " has " +
                            std::to_string(popt.expert_bounds[e + 1] - popt.expert_bounds[e]) +
                            " neurons, not a multiple of " + std::to_string(np.m) + ": " + pattern_name(np) +
                            " groups would straddle experts");
    } catch (const FormatError& e) {
      throw FileError(o.lte, e.what());
    }
  }
  PruneReport report;
  const LlamaWeights pruned = prune(dense, cal, popt, &report);
  const double prune_seconds = seconds_since(t1);

  std::map<std::string, std::string> md = {{"sparsity", pattern_name(np)},
                                           {"prune_method", method_name(opt.method)},
                                           {"prune_shuffle", shuffle_name(opt.shuffle)}};
  if (opt.method != PruneMethod::magnitude) md["prune_calibration"] = calib_desc;
  if (opt.method == PruneMethod::esparse) {
    md["prune_alpha"] = strprintf("%g", opt.alpha);
    md["prune_bins"] = std::to_string(opt.bins);
  }
  if (opt.shuffle == ShuffleMode::global_local) md["prune_block"] = std::to_string(opt.block);
  if (!o.lte.empty()) md["prune_lte_experts"] = o.lte;
  save_llama(pruned, o.out, md);

  std::string out = strprintf("pruned %s -> %s: %s, method %s, shuffle %s", o.in.c_str(), o.out.c_str(),
                              pattern_name(np).c_str(), method_name(opt.method), shuffle_name(opt.shuffle));
  if (opt.method == PruneMethod::esparse) out += strprintf(", alpha %g, bins %d", opt.alpha, opt.bins);
  if (opt.shuffle == ShuffleMode::global_local) out += strprintf(", block %d", opt.block);
  if (!o.lte.empty()) out += strprintf(", w2 shuffled inside the experts of %s", o.lte.c_str());
  out += strprintf("\ncalibration: %s\n", calib_desc.c_str());
  out += strprintf("importance kept by the %s mask (fraction of the layer's total, summed over layers):\n",
                   pattern_name(np).c_str());
  out += strprintf("  %-5s %12s %12s\n", "layer", "unshuffled", "kept");
  for (int k = 0; k < kLayerLinears; ++k)
    out += strprintf("  %-5s %12.4f %12.4f\n", linear_name(LinearKind(k)),
                     report.kept_unshuffled[size_t(k)] / report.total[size_t(k)],
                     report.kept[size_t(k)] / report.total[size_t(k)]);
  out += strprintf("time: calibration %.2f s, pruning %.2f s (%u threads); peak memory %.0f MiB (ru_maxrss)\n",
                   calib_seconds, prune_seconds, threads, peak_rss_mib());
  return out;
}

namespace {

// eval --lte-dump: the gate's decisions (llm/lte.hpp gate_decisions) as safetensors: U8
// lte.decisions [tokens][layers][ceil(experts / 8)], and in __metadata__ the shape and where they come from.
void dump_decisions(const std::string& path, const LlamaWeights& w, FfnGate& gate,
                    const std::vector<std::vector<int>>& seqs, const LteSide& side, const std::string& source) {
  const std::vector<uint8_t> bits = gate_decisions(w, gate, seqs);
  const uint64_t per = uint64_t(side.experts() + 7) / 8, layers = uint64_t(side.n_layers);
  const uint64_t tokens = bits.size() / (per * layers);
  const std::map<std::string, std::string> md = {
      {"format", "weightstream-lte-decisions"}, {"version", "1"},
      {"n_layers", std::to_string(layers)},     {"experts", std::to_string(side.experts())},
      {"expert_size", std::to_string(side.expert_size)}, {"hidden_dim", std::to_string(side.hidden_dim)},
      {"sequences", std::to_string(seqs.size())}, {"tokens", std::to_string(tokens)}, {"source", source}};
  const std::vector<uint8_t> header = make_safetensors_header(md, {{"lte.decisions", "U8", {tokens, layers, per}}});
  AtomicFileSink out(path);
  out.write(header.data(), header.size());
  out.write(bits.data(), bits.size());
  out.commit();
}

}  // namespace

std::string evaluate_models(const EvalModelsOptions& o) {
  std::vector<std::vector<int>> seqs;
  std::string what;
  unsigned threads = resolve_threads(o.threads);
  std::optional<Evaluator> ev;
  {
    const LlamaWeights dense = load(o.dense);
    if (o.len > dense.config.seq_len)
      throw FileError("", "--len " + std::to_string(o.len) + " exceeds the model's seq_len " +
                                 std::to_string(dense.config.seq_len));
    if (!o.text.empty()) {
      int bos = -1;
      const TextSet ts = model_text_set(o.dense, o.text, bos);
      seqs = text_part_windows(ts.held_out, o.seqs, o.len, bos, o.text, "held-out part");
      what = strprintf("%zu windows x %d tokens of the held-out part of %s (%zu bytes, %zu tokens; calibration part "
                       "%zu bytes, %zu tokens)", seqs.size(), o.len, o.text.c_str(), ts.held_out_text.size(),
                       ts.held_out.size(), ts.calibration_text.size(), ts.calibration.size());
    } else {
      if (o.seqs < 1) throw FileError("", "--seqs must be at least 1 without --text");
      seqs = sample_sequences(dense, o.seqs, o.len, o.seed, 1.0f, start_token(o.dense));
      what = strprintf("%d sequences x %d tokens sampled from %s (temperature 1, seed %llu)", o.seqs, o.len,
                       o.dense.c_str(), static_cast<unsigned long long>(o.seed));
    }
    ev.emplace(dense, seqs, threads);
  }  // the dense weights go; its logits stay in the evaluator

  std::vector<EvalResult> res{ev->reference_result()};
  std::vector<std::string> names{o.dense + " (dense)"};
  std::vector<std::string> off{"", ""};  // experts off, FFN neurons off
  const std::vector<std::string> with_side = o.pruned.empty() ? std::vector<std::string>{o.dense} : o.pruned;
  auto side_of = [&](const std::vector<std::string>& sides, size_t m, const char* option) -> const std::string& {
    if (sides.size() != 1 && sides.size() != with_side.size())
      throw FileError("", std::string(option) + ": give one side file for all models or one per model (" +
                              std::to_string(with_side.size()) + ")");
    return sides.size() == 1 ? sides[0] : sides[m];
  };
  if (!o.lte.empty() && !o.dijiang.empty()) throw FileError("", "--lte and --dijiang: one at a time");
  if (!o.dijiang.empty()) {
    for (size_t m = 0; m < with_side.size(); ++m) {
      const std::string& side_path = side_of(o.dijiang, m, "--dijiang");
      const LlamaWeights w = load(with_side[m]);
      if (!same_config(w.config, ev->config())) throw FileError(with_side[m], "not the same model shape as " + o.dense);
      DiJiangSide side;
      try {
        side = load_dijiang(side_path);
        side.check_model(w.config);
      } catch (const FormatError& e) {
        throw FileError(side_path, e.what());
      }
      DiJiangAttention att(side, w.config);
      res.push_back(ev->score(w, nullptr, &att));
      names.push_back(with_side[m] + " + DiJiang (" + feature_map_name(side.feature_map) + ") " + side_path);
    }
  } else if (!o.lte.empty()) {
    const std::vector<std::string>& models = with_side;
    if (!o.lte_dump.empty() && (models.size() != 1 || o.lte_norm.size() > 1))
      throw FileError("", "--lte-dump: give one model and one gate (its routers, or one --lte-norm fraction)");
    for (size_t m = 0; m < models.size(); ++m) {
      const std::string& side_path = side_of(o.lte, m, "--lte");
      LteSide side;
      try {
        side = load_lte(side_path);
      } catch (const FormatError& e) {
        throw FileError(side_path, e.what());
      }
      if (!side.has_router() && o.lte_norm.empty())
        throw FileError(side_path, "has no routers (a grouping only): give --lte-norm fractions for the baseline");
      const LlamaWeights raw = load(models[m]);
      if (!same_config(raw.config, ev->config())) throw FileError(models[m], "not the same model shape as " + o.dense);
      LlamaWeights w;
      try {
        w = expert_ordered(raw, side);
      } catch (const FormatError& e) {
        throw FileError(side_path, std::string(e.what()) + " (model " + models[m] + ")");
      }
      auto row = [&](const std::string& name, FfnGate* gate, const GateCounts* c) {
        res.push_back(ev->score(w, gate));
        names.push_back(name);
        off.push_back(c ? strprintf("%.1f%%", 100.0 * c->experts_off_fraction()) : "0.0%");
        off.push_back(c ? strprintf("%.1f%%", 100.0 * c->neurons_off_fraction()) : "0.0%");
      };
      row(models[m] + ", expert order, all on", nullptr, nullptr);
      if (side.has_router()) {
        RouterGate gate(side);
        row(models[m] + " + LTE " + side_path, &gate, &gate.counts());
        if (!o.lte_dump.empty()) {
          RouterGate fresh(side);
          dump_decisions(o.lte_dump, w, fresh, seqs, side, models[m] + " + LTE " + side_path);
        }
      } else {
        for (double f : o.lte_norm) {
          NormGate gate(w, side.bounds(), f);
          row(models[m] + strprintf(" + norm oracle %.0f%%", 100.0 * f), &gate, &gate.counts());
          if (!o.lte_dump.empty()) {
            NormGate fresh(w, side.bounds(), f);
            dump_decisions(o.lte_dump, w, fresh, seqs, side, models[m] + strprintf(" + norm oracle %.0f%%", 100.0 * f));
          }
        }
      }
    }
  } else {
    for (const std::string& p : o.pruned) {
      const LlamaWeights w = load(p);
      if (!same_config(w.config, ev->config())) throw FileError(p, "not the same model shape as " + o.dense);
      res.push_back(ev->score(w));
      names.push_back(p);
    }
  }

  std::string out = strprintf("held-out: %s, %zu predicted tokens\n", what.c_str(), res[0].tokens);
  int width = 5;
  for (const std::string& n : names) width = std::max(width, int(n.size()));
  if (o.lte.empty()) {
    out += strprintf("%-*s %12s %16s\n", width, "model", "perplexity", "KL nats/token");
    for (size_t m = 0; m < res.size(); ++m)
      out += strprintf("%-*s %12.4f %16.6f\n", width, names[m].c_str(), res[m].perplexity(), res[m].kl());
    return out;
  }
  out += strprintf("%-*s %12s %16s %12s %12s\n", width, "model", "perplexity", "KL nats/token", "experts off", "neurons off");
  for (size_t m = 0; m < res.size(); ++m)
    out += strprintf("%-*s %12.4f %16.6f %12s %12s\n", width, names[m].c_str(), res[m].perplexity(), res[m].kl(),
                     off[2 * m].c_str(), off[2 * m + 1].c_str());
  return out;
}

}  // namespace ws
