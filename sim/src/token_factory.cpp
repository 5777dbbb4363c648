#include "token_factory.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "broadcast_bus.hpp"
#include "decode_pipeline.hpp"
#include "fetcher.hpp"
#include "input_buffer.hpp"

namespace wsim {

using namespace sc_core;

namespace {

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

class TokenFactory : public sc_module {
 public:
  TokenFactory(sc_module_name name, const Config& cfg, const Workload& w)
      : sc_module(name),
        kv_region_(round_up(kv_read_bytes(w, cfg) + kv_write_bytes(w, cfg), 4096)),
        kv_base_(round_up(w.image.size(), 4096)),
        // Each decoder holds two chunks (the one decoding, the next loading its table); one more arrives.
        buffer_(cfg.inbuf_bytes ? cfg.inbuf_bytes : uint64_t(2 * cfg.decoders + 1) * w.max_chunk_bytes),
        dram_("dram", w.image, kv_base_, kv_region_ * uint64_t(cfg.processors),
              DramParams{cfg.dram_gbps, cfg.dram_latency_ns, std::max(cfg.burst_bytes, cfg.kv_burst()), cfg.log_reads}),
        fetcher_("fetcher", w, buffer_, FetcherParams{cfg.tokens, cfg.burst_bytes, cfg.outstanding, cfg.mem_mhz}),
        decode_("decode", w, buffer_, cfg) {
    fetcher_.socket.bind(dram_.socket);  // initiator 0: the DRAM serves it first
    std::vector<sc_fifo<Beat>*> fifos;
    for (int i = 0; i < cfg.processors; ++i) {
      ProcessorParams p;
      p.passes = cfg.tokens;
      p.array = cfg.array;
      p.mhz = cfg.proc_mhz;
      p.fifo_beats = cfg.fifo_beats;
      p.stall_prob = cfg.stall_prob;
      p.stall_max = cfg.stall_max;
      p.seed = cfg.seed * 0x9E3779B97F4A7C15ull + uint64_t(i);
      p.kv_base = kv_base_ + kv_region_ * uint64_t(i);
      p.kv_read_bytes = kv_read_bytes(w, cfg);
      p.kv_write_bytes = kv_write_bytes(w, cfg);
      p.burst_bytes = cfg.kv_burst();
      p.kv_outstanding = cfg.outstanding;
      procs_.push_back(std::make_unique<Processor>(("proc_" + std::to_string(i)).c_str(), w, p, [this, &cfg] {
        if (++finished_ == cfg.processors) sc_stop();
      }));
      procs_.back()->kv_socket.bind(dram_.socket);
      fifos.push_back(&procs_.back()->in);
    }
    bus_ = std::make_unique<BroadcastBus>("bus", decode_, fifos, cfg.dec_mhz, cfg.fault_beat);
  }

  const uint64_t kv_region_, kv_base_;
  InputBuffer buffer_;
  Dram dram_;
  Fetcher fetcher_;
  DecodePipeline decode_;
  std::vector<std::unique_ptr<Processor>> procs_;
  std::unique_ptr<BroadcastBus> bus_;
  int finished_ = 0;
};

}  // namespace

uint64_t Report::errors() const {
  uint64_t e = 0;
  for (const ProcessorStats& p : processors) e += p.errors;
  return e + symbol_mismatches;
}

Report run_token_factory(const Config& cfg, const Workload& w) {
  cfg.validate();
  Report r;
  r.cfg = cfg;
  r.roof = roofline(w, cfg);
  r.chunks = w.chunks.size();
  r.dense_values = w.dense_values;
  r.stream_values = w.stream_values;
  r.stream_bytes = w.stream_bytes;
  r.compression = w.compression();
  r.kv_read_per_token = kv_read_bytes(w, cfg);
  r.kv_write_per_token = kv_write_bytes(w, cfg);
  r.state_on_chip = cfg.attention == Attention::DiJiang && state_on_chip(w, cfg);
  const Workload& whole = w.whole ? *w.whole : w;
  r.model.layers = whole.model_layers;
  r.model.kv_dim = whole.kv_dim;
  r.model.heads = whole.heads;
  r.model.head_size = whole.head_size;
  r.model.state_bytes = state_bytes(whole, cfg);
  r.model.chunks = whole.chunks.size();
  r.model.dense_values = whole.dense_values;
  r.model.stream_bytes = whole.stream_bytes;
  r.model.kv_read_per_token = kv_read_bytes(whole, cfg);
  r.model.kv_write_per_token = kv_write_bytes(whole, cfg);
  r.model.roof = w.whole ? roofline(whole, cfg) : r.roof;

  sc_report_handler::set_actions(SC_INFO, SC_DO_NOTHING);  // "simulation stopped by user"
  TokenFactory top("factory", cfg, w);
  const auto t0 = std::chrono::steady_clock::now();
  sc_start();
  r.host_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (top.finished_ != cfg.processors) throw std::runtime_error("simulation stopped before every token was done");

  r.sim_s = sc_time_stamp().to_seconds();
  const double tokens = double(cfg.processors) * cfg.tokens;
  r.tokens_per_s_total = tokens / r.sim_s;
  // Pass p ends when its last processor finishes it.
  std::vector<double> end(size_t(cfg.tokens), 0.0);
  for (const auto& p : top.procs_) {
    r.processors.push_back(p->stats());
    for (size_t i = 0; i < end.size(); ++i) end[i] = std::max(end[i], p->stats().pass_end_s[i]);
  }
  // Steady state: the mean pass after two warm-up passes (the first fills the pipeline, the second
  // still finds its data prefetched), the last left out (nothing left to prefetch: it drains).
  const size_t p = end.size();
  r.tokens_per_s = p < 4 ? r.tokens_per_s_total : cfg.processors * double(p - 3) / (end[p - 2] - end[1]);
  r.model.tokens_per_s = r.model.roof.tokens_per_s * (r.tokens_per_s / r.roof.tokens_per_s);
  r.weights = top.dram_.stats(0);
  for (int i = 1; i <= cfg.processors; ++i) {
    const DramStats& s = top.dram_.stats(i);
    r.kv.read_bytes += s.read_bytes;
    r.kv.write_bytes += s.write_bytes;
    r.kv.requests += s.requests;
  }
  const DramStats all = top.dram_.total();
  r.dram_bytes_per_token = double(all.read_bytes + all.write_bytes) / tokens;
  r.dram_busy = top.dram_.busy().to_seconds() / r.sim_s;
  std::vector<DecoderUnit::ChunkRecord> log;
  for (const auto& u : top.decode_.units()) {
    r.decoder_cycles += u->cycles();
    r.symbols_checked += u->symbols_checked();
    r.symbol_mismatches += u->symbol_mismatches();
    log.insert(log.end(), u->chunk_log().begin(), u->chunk_log().end());
  }
  std::sort(log.begin(), log.end(), [](const auto& a, const auto& b) {
    return a.pass != b.pass ? a.pass < b.pass : a.index < b.index;
  });
  for (const auto& l : log) r.chunk_cycles.push_back(l.cycles);
  r.bus_beats = top.bus_->beats();
  r.bus_full_cycles = top.bus_->full_cycles();
  r.dec_cycles_per_host_s = r.sim_s * cfg.dec_mhz * 1e6 / r.host_s;
  if (cfg.log_reads)
    for (const DramRequest& q : top.dram_.log())
      if (q.initiator == 0) r.weight_requests.push_back(q);
  return r;
}

static nlohmann::json roofline_json(const Roofline& f) {
  return {{"dram_s", f.dram}, {"fetch_s", f.fetch}, {"decoder_s", f.decoder}, {"bus_s", f.bus},
          {"proc_s", f.proc}, {"pass_s", f.pass}, {"bound", f.bound}, {"tokens_per_s", f.tokens_per_s},
          {"dram_bytes_per_pass", f.dram_bytes_per_pass}, {"dram_bytes_per_token", f.dram_bytes_per_token}};
}

nlohmann::json to_json(const Report& r) {
  using nlohmann::json;
  const Config& c = r.cfg;
  json j;
  j["config"] = {{"model", c.model}, {"pruned", c.pruned}, {"mode", mode_name(c.mode)},
                 {"engine", engine_name(c.engine)}, {"processors", c.processors}, {"tokens", c.tokens},
                 {"dram_gbps", c.dram_gbps}, {"dram_latency_ns", c.dram_latency_ns},
                 {"burst_bytes", c.burst_bytes}, {"outstanding", c.outstanding}, {"mem_mhz", c.mem_mhz},
                 {"dec_mhz", c.dec_mhz}, {"lanes", c.lanes}, {"decoders", c.decoders},
                 {"bus_values", c.bus_values}, {"proc_mhz", c.proc_mhz}, {"array", c.array},
                 {"fifo_beats", c.fifo_beats}, {"chunk_values", c.chunk_values}, {"context", c.context}, {"stall_prob", c.stall_prob},
                 {"stall_max", c.stall_max}, {"seed", c.seed}, {"lte_decisions", c.lte_decisions},
                 {"attention", attention_name(c.attention)}, {"state_bytes_per_value", c.state_bytes_per_value},
                 {"state_sram_bytes", c.state_sram_bytes}, {"kv_burst_bytes", c.kv_burst()}};
  j["workload"] = {{"chunks", r.chunks}, {"dense_values", r.dense_values}, {"stream_values", r.stream_values},
                   {"stream_bytes", r.stream_bytes}, {"compression", r.compression},
                   {"kv_read_per_token", r.kv_read_per_token}, {"kv_write_per_token", r.kv_write_per_token},
                   {"state_on_chip", r.state_on_chip}};
  j["roofline"] = roofline_json(r.roof);
  j["model"] = {{"sampled_layers", c.layers}, {"layers", r.model.layers}, {"kv_dim", r.model.kv_dim},
                {"heads", r.model.heads}, {"head_size", r.model.head_size}, {"state_bytes", r.model.state_bytes},
                {"chunks", r.model.chunks}, {"dense_values", r.model.dense_values},
                {"stream_bytes", r.model.stream_bytes}, {"kv_read_per_token", r.model.kv_read_per_token},
                {"kv_write_per_token", r.model.kv_write_per_token}, {"roofline", roofline_json(r.model.roof)},
                {"tokens_per_s", r.model.tokens_per_s}};
  json procs = json::array();
  for (const ProcessorStats& p : r.processors)
    procs.push_back({{"values", p.values}, {"dense_values", p.dense_values}, {"beats", p.beats},
                     {"chunks", p.chunks}, {"errors", p.errors}, {"first_error", p.first_error},
                     {"busy_cycles", p.busy_cycles}, {"stall_cycles", p.stall_cycles},
                     {"pass_end_s", p.pass_end_s}});
  json reqs = json::array();
  for (const DramRequest& q : r.weight_requests) reqs.push_back(json::array({q.addr, q.len}));
  j["sim"] = {{"sim_s", r.sim_s}, {"host_s", r.host_s}, {"tokens_per_s", r.tokens_per_s},
              {"tokens_per_s_total", r.tokens_per_s_total},
              {"roofline_ratio", r.tokens_per_s / r.roof.tokens_per_s},
              {"weight_read_bytes", r.weights.read_bytes}, {"weight_requests", r.weights.requests},
              {"kv_read_bytes", r.kv.read_bytes}, {"kv_write_bytes", r.kv.write_bytes},
              {"dram_bytes_per_token", r.dram_bytes_per_token}, {"dram_busy", r.dram_busy},
              {"decoder_cycles", r.decoder_cycles}, {"decoder_chunk_cycles", r.chunk_cycles},
              {"decoder_symbols_checked", r.symbols_checked}, {"decoder_symbol_mismatches", r.symbol_mismatches},
              {"bus_beats", r.bus_beats},
              {"bus_full_cycles", r.bus_full_cycles}, {"dec_cycles_per_host_s", r.dec_cycles_per_host_s},
              {"errors", r.errors()}, {"processors", procs}, {"weight_request_log", reqs}};
  return j;
}

Report report_from_json(const nlohmann::json& j) {
  Report r;
  const auto& s = j.at("sim");
  r.roof.tokens_per_s = j.at("roofline").at("tokens_per_s");
  r.roof.bound = j.at("roofline").at("bound");
  r.stream_bytes = j.at("workload").at("stream_bytes");
  r.dense_values = j.at("workload").at("dense_values");
  r.stream_values = j.at("workload").at("stream_values");
  r.chunks = j.at("workload").at("chunks");
  r.kv_read_per_token = j.at("workload").at("kv_read_per_token");
  r.kv_write_per_token = j.at("workload").at("kv_write_per_token");
  const auto& m = j.at("model");
  r.cfg.layers = m.at("sampled_layers").get<std::vector<int>>();
  r.model.layers = m.at("layers");
  r.model.kv_dim = m.at("kv_dim");
  r.model.heads = m.at("heads");
  r.model.head_size = m.at("head_size");
  r.model.state_bytes = m.at("state_bytes");
  r.state_on_chip = j.at("workload").at("state_on_chip");
  r.kv.write_bytes = s.at("kv_write_bytes");
  r.model.chunks = m.at("chunks");
  r.model.dense_values = m.at("dense_values");
  r.model.stream_bytes = m.at("stream_bytes");
  r.model.kv_read_per_token = m.at("kv_read_per_token");
  r.model.kv_write_per_token = m.at("kv_write_per_token");
  r.model.roof.tokens_per_s = m.at("roofline").at("tokens_per_s");
  r.model.roof.dram_bytes_per_pass = m.at("roofline").at("dram_bytes_per_pass");
  r.model.tokens_per_s = m.at("tokens_per_s");
  r.tokens_per_s = s.at("tokens_per_s");
  r.weights.read_bytes = s.at("weight_read_bytes");
  r.weights.requests = s.at("weight_requests");
  r.kv.read_bytes = s.at("kv_read_bytes");
  r.dec_cycles_per_host_s = s.at("dec_cycles_per_host_s");
  r.decoder_cycles = s.at("decoder_cycles");
  r.bus_full_cycles = s.at("bus_full_cycles");
  r.bus_beats = s.at("bus_beats");
  r.chunk_cycles = s.at("decoder_chunk_cycles").get<std::vector<uint64_t>>();
  r.symbols_checked = s.at("decoder_symbols_checked");
  r.symbol_mismatches = s.at("decoder_symbol_mismatches");
  for (const auto& p : s.at("processors")) {
    ProcessorStats ps;
    ps.values = p.at("values");
    ps.dense_values = p.at("dense_values");
    ps.chunks = p.at("chunks");
    ps.errors = p.at("errors");
    ps.first_error = p.at("first_error");
    ps.stall_cycles = p.at("stall_cycles");
    ps.pass_end_s = p.at("pass_end_s").get<std::vector<double>>();
    r.processors.push_back(ps);
  }
  for (const auto& q : s.at("weight_request_log")) r.weight_requests.push_back({0, q.at(0), q.at(1), false});
  return r;
}

}  // namespace wsim
