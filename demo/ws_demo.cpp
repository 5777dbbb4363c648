// `make demo`, the main job (docs/demo.md): a 2:4-pruned, compressed llama2.c model generates tokens
// while every pruned linear layer's matrix-vector product is computed by the Verilated
// ws_weight_pipeline from the layer's compressed chunks, each product checked bit for bit against
// the golden model of the same arithmetic (ws::sparse_matvec on the functionally decoded layer) and
// cycle for cycle against the pipeline's cycle model. The classifier (the shared, unpruned embedding
// table) runs on the host in fp32.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "demo_common.hpp"
#include "driver.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "hw/mac_array_model.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_model.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "ops/inspect.hpp"

namespace {

constexpr int kGroupsPerCycle = 2;  // the pipeline's MAC array: 1 row x 2 groups (docs/weight_pipeline.md)

using demo::DemoError;

// One pruned linear layer as the hardware streams it, and as the golden model computes it.
struct Layer {
  ws::LinearKind kind{};
  int layer = 0;
  int out = 0, in = 0;
  ws::Sparse24Matrix matrix;  // its 2:4 chunks, parsed, and the packed layer (padded to 8 columns)
  ws::Sparse24 golden;        // matrix.packed with the model's channel permutation
  // Totals over the run
  uint64_t products = 0, values = 0, mismatches = 0, cycle_mismatches = 0;
  uint64_t cycles = 0, config_cycles = 0, stream_cycles = 0;
};

std::string layer_name(const Layer& l) {
  return std::string(ws::linear_name(l.kind)) + " layer " + std::to_string(l.layer);
}

// Every pruned layer through the stream program once, before anything else: each chunk read,
// decoded and checked (CRC included), so a damaged container stops the demo at once with the tensor,
// layer and chunk named.
std::vector<Layer> read_layers(const ws::ContainerReader& reader, const std::string& path) {
  std::vector<Layer> layers;
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    const auto kind = ws::LinearKind(k);
    const std::string name = ws::linear_name(kind);
    std::vector<ws::Sparse24Matrix> matrices;
    try {
      matrices = ws::sparse24_matrices(reader, name);
    } catch (const ws::Sparse24ChunkError& e) {
      throw DemoError(path + ": " + name + " layer " + std::to_string(e.matrix) + " chunk " + std::to_string(e.chunk) +
                      ": " + e.detail);
    } catch (const ws::FormatError& e) {
      throw DemoError(path + ": tensor " + name + ": " + e.what() +
                      " (the demo needs a model pruned to 2:4: weightstream prune, convert --to bf16, compress)");
    }
    for (ws::Sparse24Matrix& m : matrices) {
      Layer L;
      L.kind = kind;
      L.layer = int(m.matrix);
      L.matrix = std::move(m);
      layers.push_back(std::move(L));
    }
  }
  return layers;
}

// The model's shapes and channel permutations, from the decoded model file.
void attach_model(std::vector<Layer>& layers, const ws::LlamaWeights& w, const std::string& path) {
  for (Layer& L : layers) {
    const int k = int(L.kind);
    L.out = ws::linear_out(w.config, L.kind);
    L.in = ws::linear_in(w.config, L.kind);
    if (L.matrix.rows != L.out || L.matrix.cols != L.in)
      throw DemoError(path + ": " + layer_name(L) + ": shape differs from the model's config");
    L.golden = L.matrix.packed;
    const auto& p = w.perm[size_t(k)];
    for (int j = 0; j < L.in && !p.empty(); ++j) L.golden.perm[size_t(j)] = p[size_t(L.layer) * size_t(L.in) + size_t(j)];
  }
}

// What the pruned layers cost in the container, against dense bf16 and the entropy bound.
void print_storage(const ws::ContainerReader& reader, const std::string& path) {
  const ws::InspectReport rep = ws::inspect(reader);
  uint64_t weights = 0, bytes = 0;
  double bound = 0, value_bits = 0, meta_bits = 0;
  for (const ws::TensorReport& t : rep.tensors) {
    if (!t.sparse24) continue;
    weights += t.segment->value_count;
    bytes += t.compressed_bytes;
    bound += t.bound_bits;
    value_bits += 8.0 * double(t.value_bytes);
    meta_bits += 8.0 * double(t.meta_bytes);
  }
  const double w = double(weights);
  std::printf("%s: %" PRIu64 " bytes; the 7 pruned linear tensors: %" PRIu64 " weights in %" PRIu64 " bytes\n", path.c_str(),
              reader.file_size(), weights, bytes);
  std::printf("  %.3f bits per original weight (values %.3f + metadata %.3f + headers), %.2fx smaller than dense bf16 (16 bits);"
              " entropy bound %.3f, overhead %.2f%%\n",
              8.0 * double(bytes) / w, value_bits / w, meta_bits / w, 16.0 * w / (8.0 * double(bytes)), bound / w,
              100.0 * (8.0 * double(bytes) - bound) / bound);
}

// One row per kind of layer (the 5 layers of a kind have the same shape; their per-layer figures are
// in the JSON report): cycles per product, averaged over the layers and tokens.
void print_layer_table(const std::vector<Layer>& layers) {
  std::printf("\nper product (full speed: no input gaps, no output backpressure):\n");
  std::printf("%-5s %6s %9s %11s %11s %11s %18s %10s\n", "layer", "layers", "shape", "config cyc", "stream cyc",
              "total cyc", "dense weights/cyc", "mismatches");
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    uint64_t n = 0, products = 0, config = 0, stream = 0, mism = 0;
    const Layer* first = nullptr;
    for (const Layer& l : layers)
      if (int(l.kind) == k) {
        first = first ? first : &l;
        ++n;
        products += l.products;
        config += l.config_cycles;
        stream += l.stream_cycles;
        mism += l.mismatches + l.cycle_mismatches;
      }
    if (!first || products == 0) continue;
    const double dense = double(first->out) * double(first->in);
    std::printf("%-5s %6" PRIu64 " %4dx%-4d %11.1f %11.1f %11.1f %18.3f %10" PRIu64 "\n", ws::linear_name(first->kind), n,
                first->out, first->in, double(config) / double(products), double(stream) / double(products),
                double(config + stream) / double(products), dense * double(products) / double(stream), mism);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weightstream demo: generate tokens with every pruned linear layer computed by the Verilated pipeline"};
  std::string model_path, dense_path, report_path = "build/reports/demo.json", trace_path;
  int tokens = 32;
  uint64_t seed = 42;
  float temperature = 0.0f;
  app.add_option("model", model_path, "2:4-pruned bf16 model, compressed (.wsz)")->required();
  app.add_option("--dense", dense_path, "the dense fp32 model the KL divergence is measured from")->required();
  app.add_option("--tokens", tokens, "tokens to generate")->check(CLI::Range(1, 256));
  app.add_option("--seed", seed, "sampler seed");
  app.add_option("--temperature", temperature, "sampling temperature (0: argmax)")->check(CLI::Range(0.0, 2.0));
  app.add_option("--report", report_path, "JSON report");
  app.add_option("--trace", trace_path, "FST waveform of the first token's products");
  CLI11_PARSE(app, argc, argv);

  return demo::run_reporting_errors([&] {
    const ws::ContainerReader reader = demo::open_container(model_path);
    std::vector<Layer> layers = read_layers(reader, model_path);
    // The model's other tensors (embedding, RMS weights, permutations) through the software decoder.
    const ws::LlamaWeights pruned = demo::decoded_model(reader, model_path, report_path, "demo_model.safetensors");
    const ws::LlamaWeights dense = ws::load_llama(dense_path);
    if (!ws::same_config(pruned.config, dense.config)) throw DemoError(model_path + ": not the same model as " + dense_path);

    attach_model(layers, pruned, model_path);
    print_storage(reader, model_path);
    std::map<std::pair<int, int>, Layer*> by_kind_layer;
    for (Layer& l : layers) by_kind_layer[{int(l.kind), l.layer}] = &l;

    // The first token's products go through a traced driver when a waveform is asked for.
    std::unique_ptr<wp::Driver> traced = trace_path.empty() ? nullptr : std::make_unique<wp::Driver>(trace_path);
    wp::Driver untraced;
    int token_index = 0;

    // Products that share an input (wq, wk, wv; w1, w3) run back to back in one wp::Driver::run(), so
    // that the next one's tables, permutation and activations load while the one before streams
    // (docs/weight_pipeline.md section 6). The later ones' y wait here for their own hook call, which
    // must bring the same x (else that product runs again, on its own).
    struct Pending {
      std::vector<uint16_t> x;
      std::vector<uint32_t> y;
    };
    std::map<std::pair<int, int>, Pending> pending;
    auto shares_input = [](ws::LinearKind k) {
      using K = ws::LinearKind;
      return k == K::wq ? std::vector<K>{K::wk, K::wv} : k == K::w1 ? std::vector<K>{K::w3} : std::vector<K>{};
    };

    // Every pruned product through the hardware; y is what the hardware computed.
    auto hook = [&](const ws::LinearView& lv, const float* x, float* y) {
      if (lv.kind == ws::LinearKind::cls) return ws::matvec(lv, x, y);
      Layer& L = *by_kind_layer.at({int(lv.kind), lv.layer});
      std::vector<uint16_t> xb = ws::fp32_to_bf16(x, size_t(lv.in));
      xb.resize(size_t(L.golden.cols), 0);  // padded with +0 like the columns
      const auto key = std::make_pair(int(lv.kind), lv.layer);
      if (auto it = pending.find(key); it != pending.end()) {
        const bool same = it->second.x == xb;
        if (same) std::memcpy(y, it->second.y.data(), size_t(L.out) * 4);
        pending.erase(it);
        if (same) return;
      }
      std::vector<Layer*> group{&L};
      for (ws::LinearKind k : shares_input(L.kind))
        if (auto it = by_kind_layer.find({int(k), L.layer}); it != by_kind_layer.end() && it->second->golden.cols == L.golden.cols)
          group.push_back(it->second);
      std::vector<ws::PipelineLayer> jobs;
      for (const Layer* g : group) jobs.push_back(ws::sparse24_pipeline_layer(g->matrix.views, g->golden.perm, xb));
      wp::Driver& hw = (traced && token_index == 0) ? *traced : untraced;
      const wp::Result r = hw.run(jobs);
      if (r.err || !r.complete)
        throw DemoError(model_path + ": " + layer_name(L) + ": the pipeline " +
                        (r.err ? "raised error " + ws::weight_pipeline_error_text(r.err_cause) : std::string("did not finish")) +
                        " (token " + std::to_string(token_index) + ")");
      L.cycle_mismatches += r.cycle_mismatches + r.transfer_mismatches + r.assertion_errors;
      for (size_t gi = 0; gi < group.size(); ++gi) {
        Layer& G = *group[gi];
        const wp::LayerResult& lr = r.layers.at(gi);
        const std::vector<uint32_t> golden = ws::sparse_matvec(G.golden, xb, ws::MacMode::Bf16, kGroupsPerCycle);
        for (int i = 0; i < G.out; ++i)
          if (lr.y[size_t(i)] != golden[size_t(i)]) ++G.mismatches;
        G.values += uint64_t(G.out);
        ++G.products;
        // Loading: before the product's first beat (the run's first: from its first configuration
        // write; a later one: since the last beat of the one before); streaming: its beats, up to its
        // last y for the run's last product. Over a run they add up to its cycles.
        const uint64_t config = gi == 0 ? lr.load_cycles() : lr.first_w_cycle - r.layers[gi - 1].last_w_cycle - 1;
        const uint64_t stream = gi + 1 == group.size() ? lr.stream_cycles() : lr.last_w_cycle - lr.first_w_cycle + 1;
        G.cycles += config + stream;
        G.config_cycles += config;
        G.stream_cycles += stream;
        if (gi == 0) {
          for (int i = 0; i < G.out; ++i) std::memcpy(&y[i], &lr.y[size_t(i)], 4);
        } else {
          pending[{int(G.kind), G.layer}] = Pending{xb, lr.y};
        }
      }
    };

    ws::Llama hw_model(pruned), sw_model(pruned), dense_model(dense);
    hw_model.set_hook(hook);
    ws::Sampler sampler(seed);
    std::vector<int> seq{ws::kBosToken};
    double kl_hw = 0, kl_sw = 0, kl_hw_sw = 0;
    std::printf("generating %d tokens from BOS (seed %" PRIu64 ", temperature %.2f); each token is one pass over the %zu pruned layers\n",
                tokens, seed, double(temperature), layers.size());
    for (int pos = 0; pos < tokens; ++pos) {
      token_index = pos;
      const std::vector<float> logits_hw = hw_model.forward(seq.back(), pos);
      if (pos == 0) traced.reset();  // closes the waveform
      const std::vector<float>& logits_sw = sw_model.forward(seq.back(), pos);
      kl_hw_sw += ws::kl_divergence(logits_sw, logits_hw);
      const std::vector<float>& logits_dense = dense_model.forward(seq.back(), pos);
      kl_hw += ws::kl_divergence(logits_dense, logits_hw);
      kl_sw += ws::kl_divergence(logits_dense, logits_sw);
      seq.push_back(sampler.sample(logits_hw, temperature));
    }

    // The dense fp32 model from the same start with the same sampler, for comparison.
    ws::Llama dense_gen(dense);
    ws::Sampler dense_sampler(seed);
    std::vector<int> dense_seq{ws::kBosToken};
    for (int pos = 0; pos < tokens; ++pos) dense_seq.push_back(dense_sampler.sample(dense_gen.forward(dense_seq.back(), pos), temperature));
    std::printf("tokens (hardware path, 2:4 pruned):");
    for (int t : seq) std::printf(" %d", t);
    std::printf("\ntokens (dense fp32 model, same sampler):");
    for (int t : dense_seq) std::printf(" %d", t);
    std::printf("\n");

    uint64_t mism = 0, values = 0, cycles = 0, stream = 0, config = 0, products = 0;
    double dense_weights = 0;
    for (const Layer& l : layers) {
      mism += l.mismatches + l.cycle_mismatches;
      values += l.values;
      cycles += l.cycles;
      stream += l.stream_cycles;
      config += l.config_cycles;
      products += l.products;
      dense_weights += double(l.out) * double(l.in) * double(l.products);
    }
    print_layer_table(layers);
    std::printf("\nproducts on the hardware: %" PRIu64 " (%" PRIu64 " output values), mismatches vs golden model and cycle model: %" PRIu64 "\n",
                products, values, mism);
    std::printf("cycles: %" PRIu64 " (%" PRIu64 " loading tables/permutations, %" PRIu64 " streaming): %.3f dense weights per streaming cycle, %.3f overall\n",
                cycles, config, stream, dense_weights / double(stream), dense_weights / double(cycles));
    std::printf("KL divergence from the dense fp32 model, mean over %d positions (nats/token): hardware path %.6f, pruned model in fp32 on the host %.6f; hardware vs that fp32 pruned model %.6f\n",
                tokens, kl_hw / tokens, kl_sw / tokens, kl_hw_sw / tokens);

    nlohmann::json rep;
    rep["model"] = model_path;
    rep["dense"] = dense_path;
    rep["tokens"] = seq;
    rep["dense_tokens"] = dense_seq;
    rep["seed"] = seed;
    rep["temperature"] = temperature;
    rep["products"] = products;
    rep["values"] = values;
    rep["mismatches"] = mism;
    rep["cycles"] = {{"total", cycles}, {"config", config}, {"stream", stream}};
    rep["kl_nats_per_token"] = {{"hardware_vs_dense", kl_hw / tokens}, {"pruned_fp32_vs_dense", kl_sw / tokens},
                                {"hardware_vs_pruned_fp32", kl_hw_sw / tokens}};
    for (const Layer& l : layers)
      rep["layers"].push_back({{"name", ws::linear_name(l.kind)}, {"layer", l.layer}, {"out", l.out}, {"in", l.in},
                               {"chunks", l.matrix.chunks.size()}, {"products", l.products},
                               {"cycles", l.cycles}, {"config_cycles", l.config_cycles},
                               {"stream_cycles", l.stream_cycles}, {"mismatches", l.mismatches + l.cycle_mismatches}});
    std::ofstream(report_path) << rep.dump(2) << "\n";
    std::printf("report: %s\n", report_path.c_str());
    if (!trace_path.empty()) std::printf("waveform (first token): %s\n", trace_path.c_str());
    if (mism != 0) {
      std::fprintf(stderr, "error: %" PRIu64 " mismatches between the hardware and the golden model\n", mism);
      return 1;
    }
    return 0;
  });
}
