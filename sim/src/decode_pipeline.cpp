#include "decode_pipeline.hpp"

#include <stdexcept>
#include <string>

#include "cycle_model_decoder.hpp"
#include "functional_decoder.hpp"
#include "rtl_decoder.hpp"

namespace wsim {

using namespace sc_core;

DecodePipeline::DecodePipeline(sc_module_name name, const Workload& w, InputBuffer& buffer, const Config& cfg)
    : sc_module(name), w_(w), buffer_(buffer) {
  // A unit's output buffer must hold a whole chunk for the units to overlap (the bus drains one at
  // a time); one unit needs only a few beats.
  int out_beats = cfg.dec_fifo_beats;
  if (out_beats == 0)
    out_beats = cfg.decoders == 1 ? 8 : int((w.max_chunk_values + uint64_t(cfg.bus_values) - 1) / uint64_t(cfg.bus_values)) + 8;
  // The pin-level engines take what the RTL decoder takes: layout-2 chunks of one lane count.
  const bool pins = cfg.mode != Mode::Raw && cfg.engine != Engine::Functional;
  const int lanes = w.chunks.front().lanes;
  for (const StreamChunk& c : w.chunks)
    if (pins && c.coded && (!c.per_state || c.lanes != lanes))
      throw std::invalid_argument(std::string("engine '") + engine_name(cfg.engine) + "' takes layout-2 chunks " +
                                  "(container version 3) of one lane count; chunk of tensor '" +
                                  w.tensors[size_t(c.tensor)].name + "' is " +
                                  (c.per_state ? std::to_string(c.lanes) + " lanes" : "in layout 1"));
  for (int i = 0; i < cfg.decoders; ++i) {
    const std::string n = "decoder_" + std::to_string(i);
    if (cfg.mode == Mode::Raw) {  // no tANS decoder: the unpacker passes a beat per clock
      units_.push_back(std::make_unique<FunctionalDecoder>(n.c_str(), w, buffer, cfg.bus_values, out_beats,
                                                           cfg.dec_mhz, cfg.bus_values));
      continue;
    }
    switch (cfg.engine) {
      case Engine::Functional:
        units_.push_back(std::make_unique<FunctionalDecoder>(n.c_str(), w, buffer, cfg.bus_values, out_beats,
                                                             cfg.dec_mhz, cfg.lanes));
        break;
      case Engine::Rtl:
#ifdef WS_SIM_RTL
        if (lanes != RtlDecoder::kLanes)
          throw std::invalid_argument("engine 'rtl' is built with " + std::to_string(RtlDecoder::kLanes) +
                                      " lanes; the chunks have " + std::to_string(lanes));
        units_.push_back(std::make_unique<RtlDecoder>(n.c_str(), w, buffer, cfg.bus_values, out_beats, cfg.dec_mhz));
        break;
#else
        throw std::invalid_argument("engine 'rtl' is not built in (configure with WS_SIM_RTL=ON)");
#endif
      case Engine::CycleModel:
        units_.push_back(std::make_unique<CycleModelDecoder>(n.c_str(), w, buffer, cfg.bus_values, out_beats,
                                                             cfg.dec_mhz, lanes));
        break;
    }
  }
  SC_HAS_PROCESS(DecodePipeline);
  SC_THREAD(dispatcher);
}

void DecodePipeline::dispatcher() {
  for (;;) {
    std::unique_ptr<FetchedChunk> c = buffer_.next();
    int best = 0;
    for (size_t u = 1; u < units_.size(); ++u)
      if (units_[u]->backlog() < units_[size_t(best)]->backlog()) best = int(u);
    DecoderUnit& u = *units_[size_t(best)];
    u.assign(w_.chunks[c->index].values);
    c->assigned = sc_time_stamp();
    u.jobs.write(c.release());
    order_.push_back(best);
    dispatched_.notify(SC_ZERO_TIME);
  }
}

sc_fifo<Beat>& DecodePipeline::next_source() {
  while (order_.empty()) wait(dispatched_);
  return units_[size_t(order_.front())]->out;
}

void DecodePipeline::source_done() { order_.pop_front(); }

}  // namespace wsim
