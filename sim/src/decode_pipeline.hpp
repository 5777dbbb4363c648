// The decompression stage: `decoders` units of one implementation working on different chunks. The
// dispatcher hands each fetched chunk, in order, to the unit with the least work queued (values
// assigned and not yet emitted), waiting for that unit's job slot: a unit with a free slot but more
// work would take it later; the bus then drains the units in chunk order (next_source / source_done).
#pragma once

#include <deque>
#include <memory>
#include <systemc>
#include <vector>

#include "config.hpp"
#include "decoder_unit.hpp"

namespace wsim {

class DecodePipeline : public sc_core::sc_module {
 public:
  DecodePipeline(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, const Config& cfg);

  // The unit holding the next chunk in order (waits until one is dispatched).
  sc_core::sc_fifo<Beat>& next_source();
  void source_done();  // its last beat has been taken

  const std::vector<std::unique_ptr<DecoderUnit>>& units() const { return units_; }

 private:
  void dispatcher();

  const Workload& w_;
  InputBuffer& buffer_;
  std::vector<std::unique_ptr<DecoderUnit>> units_;
  std::deque<int> order_;  // unit of each dispatched chunk not yet drained
  sc_core::sc_event dispatched_;
};

}  // namespace wsim
