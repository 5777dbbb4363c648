#include "roofline.hpp"

#include <algorithm>

#include "dram.hpp"

namespace wsim {
namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// docs/tans_decoder.md section 4: the descriptor is taken on the clock after the table's last entry,
// the first step on the next, its beat valid on the one after.
constexpr uint64_t kDescriptorToFirstBeat = 2;

}  // namespace

uint64_t decoder_chunk_cycles(const StreamChunk& c, const Config& cfg) {
  if (!c.coded) return ceil_div(c.values, uint64_t(cfg.bus_values));  // the unpacker: a bus beat a clock
  // A tANS decoder: one step of `lanes` symbols a clock (--lanes is the functional engine's; the
  // cycle model and the RTL have the chunk's).
  const uint64_t lanes = uint64_t(cfg.engine == Engine::Functional ? cfg.lanes : c.lanes);
  uint64_t steps = ceil_div(c.values, lanes);
  // A 2:4 chunk: its nibbles (one per group of 2 values) go through the metadata decoder alongside
  // (docs/weight_pipeline.md sections 1 and 6), and a beat needs both.
  if (c.sparse) steps = std::max(steps, ceil_div(c.values / 2, uint64_t(c.meta_lanes)));
  // Per chunk, each table one entry a clock (value and metadata share the configuration port), then
  // the fill; a double-buffered table (--table-preload, functional engine) loads behind the previous
  // chunk, and back to back the fill is hidden too (0 lost clocks, tans_decoder.md section 4).
  if (cfg.table_preload && cfg.engine == Engine::Functional) return steps;
  const uint64_t tables = c.table_entries + c.meta_table_entries;
  return steps + (tables ? tables + kDescriptorToFirstBeat : 0);
}

uint64_t kv_read_bytes(const Workload& w, const Config& cfg) {
  return uint64_t(w.kv_layers) * uint64_t(cfg.context) * uint64_t(w.kv_dim) * 2 * 2;
}
uint64_t kv_write_bytes(const Workload& w, const Config& cfg) {
  return cfg.context ? uint64_t(w.kv_layers) * uint64_t(w.kv_dim) * 2 * 2 : 0;
}

Roofline roofline(const Workload& w, const Config& cfg) {
  Roofline r;
  const double n = cfg.processors;
  uint64_t requests = 0, dec_cycles = 0, bus_beats = 0, proc_cycles = 0;
  const uint64_t bus = uint64_t(cfg.bus_values), arr = uint64_t(cfg.array);
  for (const StreamChunk& c : w.chunks) {
    requests += split_bursts(c.addr, c.bytes, uint32_t(cfg.burst_bytes)).size();
    dec_cycles += decoder_chunk_cycles(c, cfg);
    const uint64_t full = c.values / bus, rest = c.values % bus;
    bus_beats += full + (rest ? 1 : 0);
    proc_cycles += full * ((bus + arr - 1) / arr) + (rest + arr - 1) / arr;
  }
  const uint64_t kv = kv_read_bytes(w, cfg) + kv_write_bytes(w, cfg);
  r.dram_bytes_per_pass = w.stream_bytes + uint64_t(cfg.processors) * kv;
  r.dram = double(r.dram_bytes_per_pass) / (cfg.dram_gbps * 1e9);
  const double round_trip = cfg.dram_latency_ns * 1e-9 + cfg.burst_bytes / (cfg.dram_gbps * 1e9);
  r.fetch = double(requests) * std::max(1 / (cfg.mem_mhz * 1e6), round_trip / cfg.outstanding);
  r.decoder = double(dec_cycles) / cfg.decoders / (cfg.dec_mhz * 1e6);
  r.bus = double(bus_beats) / (cfg.dec_mhz * 1e6);
  r.proc = double(proc_cycles) / (cfg.proc_mhz * 1e6);
  const std::pair<double, const char*> terms[] = {
      {r.dram, "dram"}, {r.fetch, "fetch"}, {r.decoder, "decoder"}, {r.bus, "bus"}, {r.proc, "processor"}};
  for (const auto& [t, name] : terms)
    if (t > r.pass) {
      r.pass = t;
      r.bound = name;
    }
  r.tokens_per_s = n / r.pass;
  r.dram_bytes_per_token = double(r.dram_bytes_per_pass) / n;
  return r;
}

}  // namespace wsim
