// The broadcast bus: one beat per clock from the decoders (in chunk order) into every processor's
// FIFO at once. A beat moves only when every FIFO has room, so the slowest processor sets the pace.
#pragma once

#include <systemc>
#include <vector>

#include "beat.hpp"
#include "decode_pipeline.hpp"

namespace wsim {

class BroadcastBus : public sc_core::sc_module {
 public:
  BroadcastBus(sc_core::sc_module_name name, DecodePipeline& source, std::vector<sc_core::sc_fifo<Beat>*> sinks,
               double mhz, int64_t fault_beat = -1);
  uint64_t beats() const { return beats_; }
  uint64_t full_cycles() const { return full_cycles_; }  // clocks a beat waited for a full FIFO

 private:
  void thread();

  DecodePipeline& source_;
  std::vector<sc_core::sc_fifo<Beat>*> sinks_;
  sc_core::sc_time period_;
  int64_t fault_beat_;
  uint64_t beats_ = 0, full_cycles_ = 0;
};

}  // namespace wsim
