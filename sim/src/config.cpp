#include "config.hpp"

#include <stdexcept>

#include "beat.hpp"

namespace wsim {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Raw: return "raw";
    case Mode::Compressed: return "compressed";
    case Mode::Sparse: return "sparse";
  }
  return "?";
}

Mode parse_mode(const std::string& s) {
  if (s == "raw") return Mode::Raw;
  if (s == "compressed") return Mode::Compressed;
  if (s == "sparse") return Mode::Sparse;
  throw std::invalid_argument("unknown mode '" + s + "' (raw, compressed, sparse)");
}

const char* attention_name(Attention a) { return a == Attention::Kv ? "kv" : "dijiang"; }

Attention parse_attention(const std::string& s) {
  if (s == "kv") return Attention::Kv;
  if (s == "dijiang") return Attention::DiJiang;
  throw std::invalid_argument("unknown attention '" + s + "' (kv, dijiang)");
}

const char* engine_name(Engine e) {
  switch (e) {
    case Engine::Functional: return "functional";
    case Engine::CycleModel: return "cycle";
    case Engine::Rtl: return "rtl";
  }
  return "?";
}

Engine parse_engine(const std::string& s) {
  if (s == "functional") return Engine::Functional;
  if (s == "cycle") return Engine::CycleModel;
  if (s == "rtl") return Engine::Rtl;
  throw std::invalid_argument("unknown engine '" + s + "' (functional, cycle, rtl)");
}

int Config::kv_burst() const { return kv_burst_bytes ? kv_burst_bytes : burst_bytes; }

void Config::validate() const {
  auto need = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
  };
  need(!model.empty(), "no model file");
  need(processors >= 1, "processors must be >= 1");
  need(tokens >= 1, "tokens must be >= 1");
  need(dram_gbps > 0 && mem_mhz > 0 && dec_mhz > 0 && proc_mhz > 0, "bandwidth and clocks must be > 0");
  need(dram_latency_ns >= 0, "DRAM latency must be >= 0");
  need(burst_bytes >= 4 && burst_bytes % 4 == 0, "burst must be a multiple of 4 bytes");
  need(kv_burst_bytes == 0 || (kv_burst_bytes >= 4 && kv_burst_bytes % 4 == 0), "KV burst must be a multiple of 4 bytes");
  need(outstanding >= 1, "outstanding must be >= 1");
  need(lanes >= 1 && decoders >= 1, "lanes and decoders must be >= 1");
  need(bus_values >= 1 && bus_values <= Beat::kMax, "bus width must be 1..64 values");
  need(array >= 1, "array must be >= 1");
  need(fifo_beats >= 1 && dec_fifo_beats >= 0, "FIFO depths must be >= 1");
  need(context >= 0, "context must be >= 0");
  need(state_bytes_per_value == 2 || state_bytes_per_value == 4, "state bytes per value must be 2 (bf16) or 4 (fp32)");
  need(stall_prob >= 0 && stall_prob <= 1 && stall_max >= 1, "stall probability in [0, 1], stall_max >= 1");
}

}  // namespace wsim
