// The decoder as its documented timing (DecoderTiming): each chunk's tables over the configuration
// port one entry a clock, behind the chunk before it, then `rate` symbols a clock from the first beat
// on. A 2:4 chunk goes no faster than its metadata decoder: 2 values per nibble, `meta_lanes` nibbles
// per clock. Stands in for the cycle model and the RTL, and is the raw path's unpacker (a chunk
// that is not tANS-coded: `rate` = a beat per clock, no table).
#pragma once

#include "decoder_timing.hpp"
#include "decoder_unit.hpp"

namespace wsim {

class FunctionalDecoder : public DecoderUnit {
 public:
  FunctionalDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                    int out_beats, double mhz, int rate);

 private:
  void run() override;
  // Emits the current chunk's n values at `rate` a clock, the first `rate` on clock `first` (or
  // later when the output is full); returns the clock of the last.
  uint64_t emit_at_rate(uint64_t n, uint64_t rate, uint64_t first);
  uint64_t clock_now() const;  // the current rising edge (the thread is on one)

  int rate_;
  int bus_values_;
  DecoderTiming timing_;
};

}  // namespace wsim
