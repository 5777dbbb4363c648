#include "decoder_unit.hpp"

#include <algorithm>

#include "clock.hpp"

namespace wsim {

using namespace sc_core;

DecoderUnit::DecoderUnit(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                         int out_beats, double mhz)
    : sc_module(name), jobs("jobs", 1), out("out", out_beats), w_(w), period_(period_of(mhz)), buffer_(buffer),
      bus_values_(bus_values) {
  SC_HAS_PROCESS(DecoderUnit);
  SC_THREAD(run);
}

void DecoderUnit::begin_output(FetchedChunk* c) {
  unpack_chunk(w_.chunks[c->index], c->bytes.data(), data_, idx_);
  pass_ = c->pass;
  index_ = c->index;
  done_ = 0;
  beat_ = Beat{};
}

void DecoderUnit::end_output(FetchedChunk* c, uint64_t clocks) {
  if (done_ != data_.size()) SC_REPORT_FATAL("decoder", "engine emitted a wrong number of values");
  cycles_ += clocks;
  log_.push_back({c->pass, c->index, clocks});
  buffer_.release(*c);
  delete c;
}

bool DecoderUnit::can_emit(int n) const {
  return beat_.count + n < bus_values_ || out.num_free() > 0;
}

void DecoderUnit::emit(int n) {
  while (n > 0) {
    const int take = std::min(n, bus_values_ - beat_.count);
    for (int i = 0; i < take; ++i, ++done_) {
      beat_.value[size_t(beat_.count)] = data_[done_];
      if (!idx_.empty()) beat_.idx[size_t(beat_.count)] = idx_[done_];
      ++beat_.count;
    }
    n -= take;
    values_ += uint64_t(take);
    backlog_ -= uint64_t(take);
    if (beat_.count == bus_values_ || done_ == data_.size()) {
      beat_.pass = pass_;
      beat_.chunk = index_;
      beat_.last = done_ == data_.size();
      out.write(beat_);  // waits while the FIFO is full
      beat_ = Beat{};
    }
  }
}

}  // namespace wsim
