// One processor of the factory: a MAC array that consumes `array` stream values per clock from its
// FIFO (a beat takes ceil(values / array) clocks, at least one), working on its own token, and its
// own DRAM port for its KV cache: two token buffers, so token p+1's cache loads while token p runs
// (the DRAM serves the weight stream first; KV requests fill its gaps).
// It checks every chunk it receives against the container: order, value count, CRC-32 of the values
// (a 2:4 chunk: also of its metadata nibbles), so "every weight exactly once, in order" is verified,
// not assumed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <vector>

#include "beat.hpp"
#include "workload.hpp"

namespace wsim {

struct ProcessorParams {
  int passes = 1;
  int array = 16;
  double mhz = 250;
  int fifo_beats = 32;
  double stall_prob = 0;
  int stall_max = 16;
  uint64_t seed = 1;
  // KV cache traffic per token.
  uint64_t kv_base = 0;       // this processor's region
  uint64_t kv_read_bytes = 0;
  uint64_t kv_write_bytes = 0;
  int burst_bytes = 64;
  int kv_outstanding = 4;
};

struct ProcessorStats {
  uint64_t values = 0, dense_values = 0, beats = 0, chunks = 0, errors = 0;
  uint64_t busy_cycles = 0, stall_cycles = 0;
  std::vector<double> pass_end_s;  // when each pass (token) finished
  std::string first_error;
};

class Processor : public sc_core::sc_module {
 public:
  sc_core::sc_fifo<Beat> in;
  tlm_utils::simple_initiator_socket<Processor> kv_socket;

  Processor(sc_core::sc_module_name name, const Workload& w, const ProcessorParams& p,
            std::function<void()> on_finish);
  const ProcessorStats& stats() const { return stats_; }

 private:
  struct KvRequest {
    uint32_t token;
    uint64_t addr;
    uint32_t len;
    bool write;
  };
  void thread();
  void kv_planner();
  void kv_worker();
  void error(const std::string& what);

  const Workload& w_;
  ProcessorParams p_;
  std::function<void()> on_finish_;
  sc_core::sc_time period_;
  std::mt19937_64 rng_;
  ProcessorStats stats_;
  // KV port: token p's loads may start once the processor starts token p - 1.
  int kv_started_ = 0, kv_done_ = 0;
  uint64_t kv_pending_ = 0;
  std::deque<KvRequest> kv_queue_;
  sc_core::sc_event kv_start_ev_, kv_queued_ev_, kv_drained_ev_, kv_done_ev_;
  std::vector<uint8_t> kv_scratch_;
};

}  // namespace wsim
