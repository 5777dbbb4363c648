#include "functional_decoder.hpp"

#include <algorithm>

#include "clock.hpp"

namespace wsim {

using namespace sc_core;

FunctionalDecoder::FunctionalDecoder(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                                     int out_beats, double mhz, int rate)
    : DecoderUnit(name, w, buffer, bus_values, out_beats, mhz), rate_(rate), bus_values_(bus_values) {}

uint64_t FunctionalDecoder::clock_now() const { return sc_time_stamp().value() / period_.value(); }

uint64_t FunctionalDecoder::emit_at_rate(uint64_t n, uint64_t rate, uint64_t first) {
  // A bus beat at a time: the clocks its values take at `rate`, counted from the chunk's start so
  // that a rate that does not divide the beat loses nothing to rounding.
  wait(period_ * double(first - 1 - clock_now()));
  uint64_t done = 0;
  while (done < n) {
    const uint64_t take = std::min<uint64_t>(uint64_t(bus_values_), n - done);
    const uint64_t clocks = (done + take + rate - 1) / rate - (done + rate - 1) / rate;
    if (clocks) wait(period_ * double(clocks));
    const sc_time before = sc_time_stamp();
    emit(int(take));
    if (sc_time_stamp() != before) align(period_);  // stalled on a full output: resume on an edge
    done += take;
  }
  return clock_now();
}

void FunctionalDecoder::run() {
  for (;;) {
    FetchedChunk* c = nullptr;
    jobs.read(c);
    align(period_);
    const StreamChunk& sc = w_.chunks[c->index];
    begin_output(c);
    const uint64_t start = clock_now();
    if (!sc.coded) {  // the unpacker: no table, a beat a clock
      end_output(c, emit_at_rate(sc.values, uint64_t(rate_), start + 1) - start);
      continue;
    }
    if (sc.values == 0) {  // a descriptor of no symbols: nothing to time
      end_output(c, 0);
      continue;
    }
    const uint64_t rate = sc.sparse ? std::min(uint64_t(rate_), 2 * uint64_t(sc.meta_lanes)) : uint64_t(rate_);
    const uint64_t steps = (sc.values + rate - 1) / rate;
    // It could start on the clock after it was assigned (the thread may pick it up later, after the
    // chunk before it has gone out).
    const uint64_t arrived = (c->assigned.value() + period_.value() - 1) / period_.value();
    const DecoderTiming::Chunk t = timing_.next(arrived + 1, sc.meta_table_entries + sc.table_entries, steps);
    const uint64_t last = emit_at_rate(sc.values, rate, std::max(t.first_beat, start + 1));
    end_output(c, timing_.take(t, steps, last));
  }
}

}  // namespace wsim
