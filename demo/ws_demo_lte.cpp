// `make demo LTE=1` (docs/demo.md, docs/lte.md): a model compressed with its LTE experts (container
// version 4: w1/w3 one chunk per expert's rows, w2 one chunk per expert's column block) generates
// tokens while its routers decide per token and layer which experts run; every FFN product of the
// active experts runs on the Verilated ws_weight_pipeline from those experts' chunks only (the others
// are neither streamed nor multiplied), each checked bit for bit against the golden model of the
// sparse computation (ws::expert_block_hook with ws::dense_pipeline_y) and cycle for cycle against the
// pipeline's cycle model. The same FFN with every expert on also runs on the pipeline, for the cycles a
// dense FFN takes. Attention, the norms and the classifier run on the host in fp32.
#include <CLI/CLI.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "demo_common.hpp"
#include "driver.hpp"
#include "codec/container_reader.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "hw/error_text.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_model.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"

namespace {

using demo::DemoError;

// One layer's FFN over the run: what streamed under LTE, and what every expert on would have.
struct LayerStats {
  uint64_t decisions = 0, experts_on = 0, neurons_on = 0;
  uint64_t lte_beats = 0, lte_chunk_beats = 0, lte_cycles = 0;
  uint64_t dense_beats = 0, dense_cycles = 0;
  uint64_t products = 0, values = 0, mismatches = 0;  // y values against the golden model, cycle checks
  LayerStats& operator+=(const LayerStats& o) {
    for (auto [to, from] : {std::pair{&decisions, o.decisions}, std::pair{&experts_on, o.experts_on},
                            std::pair{&neurons_on, o.neurons_on}, std::pair{&lte_beats, o.lte_beats},
                            std::pair{&lte_chunk_beats, o.lte_chunk_beats}, std::pair{&lte_cycles, o.lte_cycles},
                            std::pair{&dense_beats, o.dense_beats}, std::pair{&dense_cycles, o.dense_cycles},
                            std::pair{&products, o.products}, std::pair{&values, o.values},
                            std::pair{&mismatches, o.mismatches}})
      *to += from;
    return *this;
  }
};

// The LTE FFN of one model on the pipeline: the expert chunks of w1, w2, w3 per layer.
class LteFfnOnPipeline {
 public:
  LteFfnOnPipeline(const ws::ContainerReader& reader, const std::string& path, const ws::LlamaWeights& w,
                   const std::vector<int>& bounds)
      : w_(w), path_(path), stats_(size_t(w.config.n_layers)) {
    for (const char* t : {"w1", "w2", "w3"}) {
      try {
        mats_.push_back(ws::expert_matrices(reader, t));
      } catch (const ws::Sparse24ChunkError& e) {
        throw DemoError(path + ": " + t + " layer " + std::to_string(e.matrix) + " chunk " + std::to_string(e.chunk) + ": " +
                        e.detail);
      } catch (const ws::FormatError& e) {
        throw DemoError(path + ": " + e.what());
      }
      if (int(mats_.back().size()) != w.config.n_layers) throw DemoError(path + ": " + t + ": not one matrix per layer");
      for (const ws::ExpertMatrix& m : mats_.back())
        for (int e = 0; e < m.experts(); ++e)
          if (m.experts() + 1 != int(bounds.size()) || int(m.first[size_t(e)]) != bounds[size_t(e)] ||
              int(m.first[size_t(e)] + m.count[size_t(e)]) != bounds[size_t(e) + 1])
            throw DemoError(path + ": " + t + " layer " + std::to_string(m.chunks.matrix) +
                            ": its expert chunks are not the side file's experts");
    }
    for (int k : {int(ws::LinearKind::w1), int(ws::LinearKind::w3)})
      if (!w.perm[size_t(k)].empty()) throw DemoError(path + ": w1/w3 with an input permutation: not an LTE model");
  }

  const std::vector<LayerStats>& stats() const { return stats_; }
  int token = 0;  // for messages

  // w1 or w3 rows of a run of active experts: the first call of a layer runs every active expert's
  // w1 and w3 chunks back to back (one input), the later ones take their rows from that run.
  void rows(const ws::LinearView& lv, const float* x, float* y, const std::vector<uint8_t>& active) {
    const int dim = w_.config.dim, hidden = w_.config.hidden_dim;
    const std::vector<uint16_t> xb = ws::fp32_to_bf16(x, size_t(dim));
    if (cached_layer_ != lv.layer) {
      cached_layer_ = lv.layer;
      cached_x_ = xb;
      run_rows(lv.layer, active, xb, true, cached_y_);
    } else if (cached_x_ != xb) {
      throw DemoError("w1/w3 of one layer called with two inputs");
    }
    const float* base = w_.linear[size_t(lv.kind)].data() + size_t(lv.layer) * size_t(hidden) * size_t(dim);
    const size_t r0 = size_t(lv.w - base) / size_t(dim);
    const std::vector<float>& h = cached_y_[lv.kind == ws::LinearKind::w1 ? 0 : 1];
    std::memcpy(y, h.data() + r0, size_t(lv.out) * sizeof(float));
  }

  // w2: one product per active expert's column block, back to back in one run.
  std::vector<std::vector<float>> w2(const ws::W2Blocks& b) {
    cached_layer_ = -1;  // the layer's FFN is done
    std::vector<std::vector<uint16_t>> h;
    for (const std::vector<float>& v : b.h) h.push_back(ws::fp32_to_bf16(v));
    return run_w2(b.layer, b.experts, h, b.views, true);
  }

  // Every expert of the layer on the pipeline (the dense FFN in the same chunks): its cycles and
  // beats, its y checked too. xb: the FFN input of this token and layer.
  void dense_reference(int layer, const float* xb) {
    const int dim = w_.config.dim;
    const int experts = mats_[0][size_t(layer)].experts();
    const std::vector<uint8_t> all(size_t(experts), 1);
    std::vector<std::vector<float>> y13;
    run_rows(layer, all, ws::fp32_to_bf16(xb, size_t(dim)), false, y13);
    std::vector<int> ids;
    std::vector<std::vector<uint16_t>> h;
    std::vector<ws::LinearView> views;
    std::vector<std::vector<float>> wblocks(static_cast<size_t>(experts));
    const ws::ExpertMatrix& m2 = mats_[1][size_t(layer)];
    const float* w2 = w_.linear[size_t(ws::LinearKind::w2)].data() + size_t(layer) * size_t(dim) * size_t(w_.config.hidden_dim);
    for (int e = 0; e < experts; ++e) {
      const int c0 = int(m2.first[size_t(e)]), n = int(m2.count[size_t(e)]);
      std::vector<float> he(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) he[size_t(i)] = ws::silu(y13[0][size_t(c0 + i)]) * y13[1][size_t(c0 + i)];
      h.push_back(ws::fp32_to_bf16(he));
      std::vector<float>& wb = wblocks[size_t(e)];
      for (int r = 0; r < dim; ++r)
        wb.insert(wb.end(), w2 + size_t(r) * size_t(w_.config.hidden_dim) + size_t(c0),
                  w2 + size_t(r) * size_t(w_.config.hidden_dim) + size_t(c0 + n));
      ws::LinearView v;
      v.kind = ws::LinearKind::w2;
      v.layer = layer;
      v.out = dim;
      v.in = n;
      v.w = wb.data();
      views.push_back(v);
      ids.push_back(e);
    }
    run_w2(layer, ids, h, views, false);
  }

  // Call once per token and layer with the gate's decisions.
  void count_decisions(int layer, const std::vector<uint8_t>& active) {
    LayerStats& s = stats_[size_t(layer)];
    const ws::ExpertMatrix& m = mats_[0][size_t(layer)];
    for (int e = 0; e < m.experts(); ++e) {
      ++s.decisions;
      if (active[size_t(e)]) {
        ++s.experts_on;
        s.neurons_on += m.count[size_t(e)];
        for (const auto& t : mats_) s.lte_chunk_beats += t[size_t(layer)].beats(e);
      }
    }
  }

 private:
  // Checks a run and each layer's y against the golden model's; returns the y as floats.
  std::vector<std::vector<float>> check(const wp::Result& r, const std::vector<std::vector<float>>& golden,
                                        const std::string& what, int layer, bool lte) {
    if (r.err || !r.complete)
      throw DemoError(path_ + ": " + what + " layer " + std::to_string(layer) + ": the pipeline " +
                      (r.err ? "raised error " + ws::weight_pipeline_error_text(r.err_cause) : std::string("did not finish")) +
                      " (token " + std::to_string(token) + ")");
    LayerStats& s = stats_[size_t(layer)];
    s.mismatches += r.cycle_mismatches + r.transfer_mismatches + r.assertion_errors;
    (lte ? s.lte_beats : s.dense_beats) += r.w_beats;
    (lte ? s.lte_cycles : s.dense_cycles) += r.cycles;
    std::vector<std::vector<float>> out(golden.size());
    for (size_t i = 0; i < golden.size(); ++i) {
      const std::vector<uint32_t>& y = r.layers.at(i).y;
      if (y.size() != golden[i].size()) throw DemoError(what + ": the pipeline gave " + std::to_string(y.size()) + " values");
      for (size_t j = 0; j < y.size(); ++j) {
        out[i].push_back(ws::fp32_from_bits(y[j]));
        if (y[j] != ws::fp32_bits(golden[i][j])) ++s.mismatches;
      }
      s.values += y.size();
      ++s.products;
    }
    return out;
  }

  void run_rows(int layer, const std::vector<uint8_t>& active, const std::vector<uint16_t>& xb, bool lte,
                std::vector<std::vector<float>>& y_full) {
    const int dim = w_.config.dim, hidden = w_.config.hidden_dim;
    std::vector<ws::PipelineLayer> jobs;
    std::vector<std::vector<float>> golden;
    std::vector<float> x(xb.size());
    for (size_t j = 0; j < xb.size(); ++j) x[j] = ws::bf16_to_fp32(xb[j]);
    for (size_t t : {size_t(0), size_t(2)}) {  // w1, w3
      const ws::ExpertMatrix& m = mats_[t][size_t(layer)];
      jobs.push_back(ws::expert_rows_pipeline_layer(m, active, xb));
      const ws::LinearKind kind = t == 0 ? ws::LinearKind::w1 : ws::LinearKind::w3;
      const float* base = w_.linear[size_t(kind)].data() + size_t(layer) * size_t(hidden) * size_t(dim);
      std::vector<float> g;
      for (int e = 0; e < m.experts(); ++e)
        if (active[size_t(e)]) {
          const std::vector<float> ge =
              ws::dense_pipeline_y(base + size_t(m.first[size_t(e)]) * size_t(dim), int(m.count[size_t(e)]), dim, x.data());
          g.insert(g.end(), ge.begin(), ge.end());
        }
      golden.push_back(std::move(g));
    }
    const std::vector<std::vector<float>> y = check(hw_.run(jobs), golden, "w1/w3", layer, lte);
    // Back into neuron positions (inactive ones stay 0).
    y_full.assign(2, std::vector<float>(size_t(hidden), 0.0f));
    const ws::ExpertMatrix& m = mats_[0][size_t(layer)];
    for (size_t t = 0; t < 2; ++t) {
      size_t at = 0;
      for (int e = 0; e < m.experts(); ++e)
        if (active[size_t(e)])
          for (uint32_t i = 0; i < m.count[size_t(e)]; ++i) y_full[t][m.first[size_t(e)] + i] = y[t][at++];
    }
  }

  std::vector<std::vector<float>> run_w2(int layer, const std::vector<int>& experts, const std::vector<std::vector<uint16_t>>& h,
                                         const std::vector<ws::LinearView>& views, bool lte) {
    std::vector<ws::PipelineLayer> jobs;
    std::vector<std::vector<float>> golden;
    const ws::ExpertMatrix& m = mats_[1][size_t(layer)];
    for (size_t i = 0; i < experts.size(); ++i) {
      jobs.push_back(ws::expert_columns_pipeline_layer(m, experts[i], h[i]));
      std::vector<float> x(h[i].size());
      for (size_t j = 0; j < x.size(); ++j) x[j] = ws::bf16_to_fp32(h[i][j]);
      golden.push_back(ws::dense_pipeline_y(views[i].w, views[i].out, views[i].in, x.data()));
    }
    return check(hw_.run(jobs), golden, "w2", layer, lte);
  }

  const ws::LlamaWeights& w_;
  std::string path_;
  std::vector<std::vector<ws::ExpertMatrix>> mats_;  // w1, w2, w3; per layer
  std::vector<LayerStats> stats_;
  // One driver for the LTE products and the dense reference (two Verilated tops in one context hang
  // on destruction in Verilator 5.006); its first run, a dense reference, also loads the bf16 format.
  wp::Driver hw_;
  int cached_layer_ = -1;
  std::vector<uint16_t> cached_x_;
  std::vector<std::vector<float>> cached_y_;  // w1, w3: hidden values, the active rows filled
};

// The golden model's products: w1/w3 in the pipeline's arithmetic, the rest (attention, classifier)
// on the host, as in the hardware path.
void golden_product(const ws::LinearView& lv, const float* x, float* y) {
  if (lv.kind != ws::LinearKind::w1 && lv.kind != ws::LinearKind::w3 && lv.kind != ws::LinearKind::w2)
    return ws::matvec(lv, x, y);
  const std::vector<float> g = ws::dense_pipeline_y(lv.w, lv.out, lv.in, x);
  std::memcpy(y, g.data(), g.size() * sizeof(float));
}

// A gate that also runs the dense reference (every expert) on the pipeline and counts the decisions,
// for each token and layer the model routes.
class MeasuringGate : public ws::FfnGate {
 public:
  MeasuringGate(ws::CountingGate& inner, LteFfnOnPipeline& ffn) : inner_(inner), ffn_(ffn) {}
  const std::vector<int>& bounds() const override { return inner_.bounds(); }
  void route(int layer, const float* xb, uint8_t* active) override {
    inner_.route(layer, xb, active);
    ffn_.count_decisions(layer, inner_.last_active());
    ffn_.dense_reference(layer, xb);
  }

 private:
  ws::CountingGate& inner_;
  LteFfnOnPipeline& ffn_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weightstream LTE demo: generation with the routers choosing the experts and every active expert's FFN "
               "product on the Verilated pipeline"};
  std::string model_path, side_path, report_path = "build/reports/demo_lte.json";
  double norm_off = -1;
  int tokens = 32;
  uint64_t seed = 42;
  float temperature = 0.0f;
  app.add_option("model", model_path, "bf16 model compressed with its experts (weightstream compress --lte SIDE)")->required();
  app.add_option("--side", side_path, "its LTE side file (default: MODEL.lte.safetensors, written by compress --lte)");
  app.add_option("--lte-norm", norm_off, "a grouping-only side file: the activation-norm gate at this fraction of experts off")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--tokens", tokens, "tokens to generate")->check(CLI::Range(1, 256));
  app.add_option("--seed", seed, "sampler seed");
  app.add_option("--temperature", temperature, "sampling temperature (0: argmax)")->check(CLI::Range(0.0, 2.0));
  app.add_option("--report", report_path, "JSON report");
  CLI11_PARSE(app, argc, argv);
  if (side_path.empty()) side_path = model_path + ".lte.safetensors";

  return demo::run_reporting_errors([&] {
    const ws::ContainerReader reader = demo::open_container(model_path);
    const ws::LlamaWeights model = demo::decoded_model(reader, model_path, report_path, "demo_lte_model.safetensors");  // in expert order
    const ws::LteSide side = ws::load_lte(side_path);
    side.check_model(model.config);
    for (size_t k = 0; k < side.order.size(); ++k)
      if (side.order[k] != int32_t(k % size_t(side.hidden_dim)))
        throw DemoError(side_path + ": its expert order is not the identity; use the side file compress --lte wrote "
                        "beside the container (" + model_path + ".lte.safetensors)");
    if (!side.has_router() && norm_off < 0)
      throw DemoError(side_path + ": a grouping only (no routers): give --lte-norm F for the activation-norm gate");
    auto make_gate = [&]() -> std::unique_ptr<ws::CountingGate> {
      if (side.has_router() && norm_off < 0) return std::make_unique<ws::RouterGate>(side);
      return std::make_unique<ws::NormGate>(model, side.bounds(), norm_off);
    };
    const std::string gate_name = side.has_router() && norm_off < 0 ? "the trained routers"
                                                                    : "the activation-norm gate at " + std::to_string(norm_off);

    LteFfnOnPipeline ffn(reader, model_path, model, side.bounds());
    std::unique_ptr<ws::CountingGate> hw_gate = make_gate(), golden_gate = make_gate(), dense_gate = make_gate();
    MeasuringGate measuring(*hw_gate, ffn);
    ws::Llama hw_model(model), golden_model(model), dense_model(model);
    hw_model.set_ffn_gate(&measuring);
    hw_model.set_hook(ws::expert_block_hook(
        *hw_gate,
        [&](const ws::LinearView& lv, const float* x, float* y) {
          if (lv.kind == ws::LinearKind::w1 || lv.kind == ws::LinearKind::w3) return ffn.rows(lv, x, y, hw_gate->last_active());
          ws::matvec(lv, x, y);
        },
        [&](const ws::W2Blocks& b) { return ffn.w2(b); }));
    golden_model.set_ffn_gate(golden_gate.get());
    golden_model.set_hook(ws::expert_block_hook(*golden_gate, golden_product));

    std::printf("%s: %d layers, %d experts per FFN (sizes", model_path.c_str(), model.config.n_layers, side.experts());
    const std::vector<int> b = side.bounds();
    for (size_t e = 0; e + 1 < b.size(); ++e) std::printf(" %d", b[e + 1] - b[e]);
    std::printf("), gate: %s\n", gate_name.c_str());
    std::printf("generating %d tokens from BOS (seed %" PRIu64 ", temperature %.2f); per token and layer the active experts' "
                "w1, w3 and w2 chunks on the pipeline, and every expert's for the dense reference\n",
                tokens, seed, double(temperature));
    ws::Sampler sampler(seed);
    std::vector<int> seq{ws::kBosToken};
    uint64_t logit_mismatches = 0, logits = 0;
    double kl = 0;
    for (int pos = 0; pos < tokens; ++pos) {
      ffn.token = pos;
      const std::vector<float> hw = hw_model.forward(seq.back(), pos);
      const std::vector<float>& golden = golden_model.forward(seq.back(), pos);
      for (size_t i = 0; i < hw.size(); ++i) logit_mismatches += ws::fp32_bits(hw[i]) != ws::fp32_bits(golden[i]);
      logits += hw.size();
      kl += ws::kl_divergence(dense_model.forward(seq.back(), pos), hw);
      seq.push_back(sampler.sample(hw, temperature));
    }
    std::printf("tokens:");
    for (int t : seq) std::printf(" %d", t);
    std::printf("\n\nper layer, over %d tokens (cycles: whole runs at full speed, loading included; the dense FFN is the same "
                "expert chunks, every expert on):\n", tokens);
    std::printf("%-5s %11s %13s %13s %13s %13s %13s %8s %10s\n", "layer", "experts on", "beats", "active beats",
                "dense beats", "cycles", "dense cycles", "saved", "mismatches");
    LayerStats total;
    nlohmann::json rep_layers = nlohmann::json::array();
    for (size_t l = 0; l < ffn.stats().size(); ++l) {
      const LayerStats& s = ffn.stats()[l];
      const int64_t saved = int64_t(s.dense_cycles) - int64_t(s.lte_cycles);
      std::printf("%-5zu %5" PRIu64 "/%-5" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64
                  " %7.1f%% %10" PRIu64 "\n",
                  l, s.experts_on, s.decisions, s.lte_beats, s.lte_chunk_beats, s.dense_beats, s.lte_cycles, s.dense_cycles,
                  100.0 * double(saved) / double(s.dense_cycles), s.mismatches);
      rep_layers.push_back({{"layer", l}, {"decisions", s.decisions}, {"experts_on", s.experts_on},
                            {"neurons_on", s.neurons_on}, {"beats_streamed", s.lte_beats},
                            {"active_chunk_beats", s.lte_chunk_beats}, {"dense_beats", s.dense_beats},
                            {"cycles", s.lte_cycles}, {"dense_cycles", s.dense_cycles}, {"cycles_saved", saved},
                            {"products", s.products}, {"values", s.values}, {"mismatches", s.mismatches}});
      total += s;
    }
    const int64_t saved = int64_t(total.dense_cycles) - int64_t(total.lte_cycles);
    std::printf("%-5s %5" PRIu64 "/%-5" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64 " %13" PRIu64
                " %7.1f%% %10" PRIu64 "\n",
                "all", total.experts_on, total.decisions, total.lte_beats, total.lte_chunk_beats, total.dense_beats,
                total.lte_cycles, total.dense_cycles, 100.0 * double(saved) / double(total.dense_cycles), total.mismatches);
    const uint64_t beat_errors = total.lte_beats != total.lte_chunk_beats;
    std::printf("\nFFN products on the pipeline: %" PRIu64 " (%" PRIu64 " y values, LTE and dense reference), mismatches vs "
                "the golden model and the cycle model: %" PRIu64 "\n",
                total.products, total.values, total.mismatches);
    std::printf("beats streamed under LTE %" PRIu64 ", the active experts' chunks hold %" PRIu64 " (%s); cycles saved %" PRId64
                " of %" PRIu64 " (%.1f%%)\n",
                total.lte_beats, total.lte_chunk_beats, beat_errors ? "DIFFER" : "equal", saved, total.dense_cycles,
                100.0 * double(saved) / double(total.dense_cycles));
    std::printf("logits against the golden model's forward pass: %" PRIu64 " mismatches of %" PRIu64
                "; KL from the same model dense in fp32 on the host: %.6f nats/token\n",
                logit_mismatches, logits, kl / tokens);

    const nlohmann::json rep = {
        {"model", model_path}, {"side", side_path}, {"gate", gate_name}, {"tokens", seq}, {"seed", seed},
        {"temperature", temperature}, {"expert_bounds", b}, {"dim", model.config.dim}, {"layers", rep_layers},
        {"products", total.products}, {"values", total.values}, {"mismatches", total.mismatches},
        {"logit_mismatches", logit_mismatches}, {"logits", logits},
        {"beats", {{"streamed", total.lte_beats}, {"active_chunks", total.lte_chunk_beats}, {"dense", total.dense_beats}}},
        {"cycles", {{"lte", total.lte_cycles}, {"dense", total.dense_cycles}, {"saved", saved}}},
        {"kl_vs_dense_fp32", kl / tokens}};
    std::ofstream(report_path) << rep.dump(2) << "\n";
    std::printf("report: %s\n", report_path.c_str());
    if (total.mismatches != 0 || logit_mismatches != 0 || beat_errors) {
      std::fprintf(stderr, "error: %" PRIu64 " product and %" PRIu64 " logit mismatches, beats %s\n", total.mismatches,
                   logit_mismatches, beat_errors ? "differ from the active chunks'" : "equal");
      return 1;
    }
    return 0;
  });
}
