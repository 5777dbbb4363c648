// The token factory: DRAM -> weight fetcher -> input buffer -> decoders -> broadcast bus -> N
// processors, each with its own port to DRAM for its KV cache. run() elaborates it, simulates
// cfg.tokens passes and reports what happened next to the roofline.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "dram.hpp"
#include "processor.hpp"
#include "roofline.hpp"
#include "workload.hpp"

namespace wsim {

struct Report {
  Config cfg;
  Roofline roof;
  // Workload of one pass.
  uint64_t chunks = 0, dense_values = 0, stream_values = 0, stream_bytes = 0;
  double compression = 0;
  uint64_t kv_read_per_token = 0, kv_write_per_token = 0;  // the KV port: the KV cache, or DiJiang's state
  bool state_on_chip = false;  // DiJiang: the state fits the processor's SRAM (cfg.state_sram_bytes)
  // The whole model: its pass when the simulated one is a layer sample (cfg.layers), else the same.
  struct Whole {
    int layers = 0, kv_dim = 0, heads = 0, head_size = 0;
    uint64_t state_bytes = 0;  // DiJiang: one token's state, every layer (at cfg.state_bytes_per_value)
    uint64_t chunks = 0, dense_values = 0, stream_bytes = 0;
    uint64_t kv_read_per_token = 0, kv_write_per_token = 0;
    Roofline roof;
    double tokens_per_s = 0;  // its roofline scaled by the simulated / roofline ratio of the sample
  } model;
  // Simulated.
  double sim_s = 0, host_s = 0;
  double tokens_per_s = 0;        // steady state: passes 3..P-1 (fill and drain left out); the whole
                                  // run when P < 4
  double tokens_per_s_total = 0;  // all tokens over the whole run, pipeline fill included
  DramStats weights, kv;          // DRAM traffic of the fetcher and of all KV ports
  double dram_bytes_per_token = 0;
  double dram_busy = 0;           // fraction of the run the channel was occupied
  uint64_t decoder_cycles = 0;    // summed over the units
  std::vector<uint64_t> chunk_cycles;  // decoder clocks of every chunk, in stream order
  uint64_t symbols_checked = 0, symbol_mismatches = 0;  // pin-level engines against the functional decode
  uint64_t bus_beats = 0, bus_full_cycles = 0;
  double dec_cycles_per_host_s = 0;  // simulated decoder clocks per host second
  std::vector<ProcessorStats> processors;
  std::vector<DramRequest> weight_requests;  // cfg.log_reads only
  uint64_t errors() const;  // wrong weights at the processors, and decoder symbol mismatches
};

// Elaborates and simulates once; SystemC allows one elaboration per process.
Report run_token_factory(const Config& cfg, const Workload& w);

nlohmann::json to_json(const Report& r);
Report report_from_json(const nlohmann::json& j);  // the fields the tests read back

}  // namespace wsim
