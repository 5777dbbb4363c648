#include "roofline.hpp"

#include <algorithm>

#include "decoder_timing.hpp"
#include "dram.hpp"

namespace wsim {
namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// A tANS chunk's configuration-port slots and beats (a chunk of no values has neither).
struct ChunkWork {
  uint64_t slots = 0, steps = 0;
};
ChunkWork work_of(const StreamChunk& c, const Config& cfg) {
  ChunkWork k;
  if (c.values == 0) return k;
  // One step of `lanes` symbols a clock (--lanes is the functional engine's; the cycle model and
  // the RTL have the chunk's).
  const uint64_t lanes = uint64_t(cfg.engine == Engine::Functional ? cfg.lanes : c.lanes);
  k.steps = ceil_div(c.values, lanes);
  // A 2:4 chunk: its nibbles (one per group of 2 values) go through the metadata decoder alongside
  // (docs/weight_pipeline.md sections 1 and 6), and a beat needs both.
  if (c.sparse) k.steps = std::max(k.steps, ceil_div(c.values / 2, uint64_t(c.meta_lanes)));
  // Its tables (value and metadata share the configuration port) one entry a clock.
  k.slots = c.meta_table_entries + c.table_entries;
  return k;
}

// Decoder clocks of a pass in the steady state: each chunk in order to the decoder whose last beat
// comes first, each decoder as DecoderTiming has it; the mean pass over 2 x decoders passes after 2.
double decoder_pass_cycles(const Workload& w, const Config& cfg) {
  if (w.chunks.empty()) return 0;
  if (!w.chunks.front().coded) {  // the unpacker: a bus beat a clock, context-free
    uint64_t clocks = 0;
    for (const StreamChunk& c : w.chunks) clocks += ceil_div(c.values, uint64_t(cfg.bus_values));
    return double(clocks) / cfg.decoders;
  }
  std::vector<DecoderTiming> unit(size_t(cfg.decoders));
  std::vector<uint64_t> last(unit.size(), 0);
  const int warm = 2, passes = warm + 2 * cfg.decoders;
  uint64_t start = 0, end = 0;
  for (int p = 0; p < passes; ++p) {
    for (const StreamChunk& c : w.chunks) {
      const ChunkWork k = work_of(c, cfg);
      if (k.steps == 0) continue;
      const size_t u = size_t(std::min_element(last.begin(), last.end()) - last.begin());
      const DecoderTiming::Chunk t = unit[u].next(1, k.slots, k.steps);
      unit[u].take(t, k.steps, t.last_beat);
      last[u] = t.last_beat;
    }
    const uint64_t done = *std::max_element(last.begin(), last.end());
    if (p == warm - 1) start = done;
    end = done;
  }
  return double(end - start) / (passes - warm);
}

}  // namespace

std::vector<uint64_t> decoder_chunk_cycles(const std::vector<StreamChunk>& chunks, const Config& cfg) {
  std::vector<uint64_t> out;
  DecoderTiming timing;
  for (const StreamChunk& c : chunks) {
    const ChunkWork k = work_of(c, cfg);
    if (!c.coded) {  // the unpacker: a bus beat a clock
      out.push_back(ceil_div(c.values, uint64_t(cfg.bus_values)));
    } else if (k.steps == 0) {
      out.push_back(0);
    } else {
      const DecoderTiming::Chunk t = timing.next(1, k.slots, k.steps);
      out.push_back(timing.take(t, k.steps, t.last_beat));
    }
  }
  return out;
}

uint64_t state_bytes(const Workload& w, const Config& cfg) {
  return uint64_t(w.kv_layers) * uint64_t(w.heads) * uint64_t(w.head_size) * uint64_t(w.head_size) *
         uint64_t(cfg.state_bytes_per_value);
}

bool state_on_chip(const Workload& w, const Config& cfg) {
  const Workload& whole = w.whole ? *w.whole : w;
  return cfg.state_sram_bytes > 0 && state_bytes(whole, cfg) <= cfg.state_sram_bytes;
}

uint64_t kv_read_bytes(const Workload& w, const Config& cfg) {
  if (cfg.attention == Attention::DiJiang) return state_on_chip(w, cfg) ? 0 : state_bytes(w, cfg);
  return uint64_t(w.kv_layers) * uint64_t(cfg.context) * uint64_t(w.kv_dim) * 2 * 2;
}
uint64_t kv_write_bytes(const Workload& w, const Config& cfg) {
  if (cfg.attention == Attention::DiJiang) return kv_read_bytes(w, cfg);
  return cfg.context ? uint64_t(w.kv_layers) * uint64_t(w.kv_dim) * 2 * 2 : 0;
}

namespace {

Roofline one_pass(const Workload& w, const Config& cfg) {
  Roofline r;
  const double n = cfg.processors;
  uint64_t requests = 0, bus_beats = 0, proc_cycles = 0;
  const uint64_t bus = uint64_t(cfg.bus_values), arr = uint64_t(cfg.array);
  for (const StreamChunk& c : w.chunks) {
    for (const DmaStream& d : c.dma) requests += split_bursts(d.addr, d.bytes, uint32_t(cfg.burst_bytes)).size();
    const uint64_t full = c.values / bus, rest = c.values % bus;
    bus_beats += full + (rest ? 1 : 0);
    proc_cycles += full * ((bus + arr - 1) / arr) + (rest + arr - 1) / arr;
  }
  const uint64_t kv = kv_read_bytes(w, cfg) + kv_write_bytes(w, cfg);
  r.dram_bytes_per_pass = w.stream_bytes + uint64_t(cfg.processors) * kv;
  r.dram = double(r.dram_bytes_per_pass) / (cfg.dram_gbps * 1e9);
  const double round_trip = cfg.dram_latency_ns * 1e-9 + cfg.burst_bytes / (cfg.dram_gbps * 1e9);
  r.fetch = double(requests) * std::max(1 / (cfg.mem_mhz * 1e6), round_trip / cfg.outstanding);
  r.decoder = decoder_pass_cycles(w, cfg) / (cfg.dec_mhz * 1e6);
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

}  // namespace

Roofline roofline(const Workload& w, const Config& cfg) {
  if (w.passes.empty()) return one_pass(w, cfg);
  // LTE: the passes differ; each pass of the simulation's steady state (the third to the last but one)
  // on its own, their times and bytes averaged.
  const int total = int(w.passes.size());
  const int from = total < 4 ? 0 : 2, to = total < 4 ? total : total - 1;
  Roofline mean;
  double pass_s = 0, bytes = 0;
  for (int p = from; p < to; ++p) {
    Workload sub;
    sub.kv_layers = w.kv_layers, sub.kv_dim = w.kv_dim, sub.model_layers = w.model_layers;
    sub.heads = w.heads, sub.head_size = w.head_size;
    for (uint32_t i : w.passes[size_t(p)]) {
      sub.chunks.push_back(w.chunks[i]);
      sub.stream_bytes += w.chunks[i].bytes;
    }
    const Roofline r = one_pass(sub, cfg);
    mean.dram += r.dram, mean.fetch += r.fetch, mean.decoder += r.decoder, mean.bus += r.bus, mean.proc += r.proc;
    pass_s += r.pass;
    bytes += double(r.dram_bytes_per_pass);
    if (p == from || r.pass > mean.pass) mean.pass = r.pass, mean.bound = r.bound;  // the bound of the slowest pass
  }
  const double k = to - from;
  mean.dram /= k, mean.fetch /= k, mean.decoder /= k, mean.bus /= k, mean.proc /= k;
  mean.pass = pass_s / k;
  mean.dram_bytes_per_pass = uint64_t(bytes / k + 0.5);
  mean.tokens_per_s = cfg.processors / mean.pass;
  mean.dram_bytes_per_token = bytes / k / cfg.processors;
  return mean;
}

}  // namespace wsim
