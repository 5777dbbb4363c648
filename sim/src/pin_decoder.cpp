#include "pin_decoder.hpp"

#include <string>

#include "clock.hpp"

namespace wsim {

using namespace sc_core;

PinDecoder::PinDecoder(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values, int out_beats,
                       double mhz, int lanes)
    : DecoderUnit(name, w, buffer, bus_values, out_beats, mhz), lanes_(lanes), driver_(lanes) {}

void PinDecoder::take(FetchedChunk* c) {
  const StreamChunk& sc = w_.chunks[c->index];
  if (!sc.coded) SC_REPORT_FATAL("decoder", "a raw chunk sent to a tANS decoder");
  if (sc.values == 0) {  // a descriptor of no symbols: nothing for the decoder to do
    if (chunks_.empty()) {
      begin_output(c);
      end_output(c, 0);
      return;
    }
    SC_REPORT_FATAL("decoder", "a chunk of no values behind another");  // the workload has none
  }
  // The metadata decoder's table goes over the shared configuration port first.
  driver_.add(ws::parse_chunk(c->bytes.data() + sc.value_chunk_offset, sc.value_chunk_bytes),
              sc.meta_table_entries);
  chunks_.push_back(c);
  if (chunks_.size() == 1) begin_output(c);
}

void PinDecoder::run() {
  for (;;) {
    if (chunks_.empty()) {  // idle: wait for work, then start on a rising edge
      FetchedChunk* c = nullptr;
      jobs.read(c);
      align(period_);
      take(c);
      clocks_ = 0;
      continue;
    }
    // Inputs are decided at the falling edge, where nothing else touches the output FIFO (the bus
    // reads it at rising edges): both implementations see the same backpressure. out_ready only
    // when a whole step fits, so emit() below never waits.
    wait(period_ / 2);
    FetchedChunk* next = nullptr;
    if (chunks_.size() < 2 && driver_.ready_for_next() && jobs.nb_read(next)) take(next);
    const ws::TansDecoderInputs in = driver_.drive(can_emit(lanes_));
    const size_t emitted = symbols_.size();
    bool last = false;
    try {
      last = driver_.edge(in, cycle(in), symbols_);
    } catch (const std::exception& e) {
      SC_REPORT_FATAL("decoder", e.what());
    }
    ++clocks_;
    const std::vector<uint16_t>& values = chunk_values();
    for (size_t i = emitted; i < symbols_.size(); ++i, ++checked_)
      mismatches_ += i >= values.size() || symbols_[i] != ((values[i] >> 7) & 0xff);
    if (symbols_.size() > emitted) emit(int(symbols_.size() - emitted));
    if (last) {
      if (symbols_.size() != values.size()) SC_REPORT_FATAL("decoder", "a chunk ended early");
      end_output(chunks_.front(), clocks_);
      chunks_.pop_front();
      symbols_.clear();
      clocks_ = 0;
      if (!chunks_.empty()) begin_output(chunks_.front());
    }
  }
}

}  // namespace wsim
