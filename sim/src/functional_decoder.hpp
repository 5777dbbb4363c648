// The decoder at a parameterised rate: `rate` symbols per clock, after loading the chunk's decode
// table one entry per clock and the descriptor-to-first-beat fill, as the RTL does (unless
// `load_table` is off: a double-buffered table that loads while the previous chunk decodes). A 2:4
// chunk goes no faster than its metadata decoder: 2 values per nibble, `meta_lanes` nibbles per
// clock. Stands in for the cycle model and the RTL, and is the raw path's unpacker (rate = a beat
// per clock, no table).
#pragma once

#include "decoder_unit.hpp"

namespace wsim {

class FunctionalDecoder : public DecoderUnit {
 public:
  FunctionalDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                    int out_beats, double mhz, int rate, bool load_table);

 private:
  // Clocks per chunk beyond the table and the steps, as the RTL takes them (descriptor, output register).
  static constexpr uint64_t kOverhead = 2;
  void run_chunk(const StreamChunk& c, const std::vector<uint8_t>& bytes) override;
  int rate_;
  int bus_values_;
};

}  // namespace wsim
