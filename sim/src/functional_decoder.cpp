#include "functional_decoder.hpp"

#include <algorithm>

#include "clock.hpp"

namespace wsim {

using namespace sc_core;

FunctionalDecoder::FunctionalDecoder(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                                     int out_beats, double mhz, int rate, bool load_table)
    : DecoderUnit(name, w, buffer, bus_values, out_beats, mhz, load_table), rate_(rate), bus_values_(bus_values) {}

void FunctionalDecoder::run_chunk(const StreamChunk& c, const std::vector<uint8_t>&) {
  const uint64_t setup = load_tables_ && c.table_entries ? c.table_entries + kOverhead : 0;
  if (setup) {
    wait(period_ * double(setup));
    cycles_ += setup;
  }
  // A beat at a time: the clocks its values take at `rate`, counted from the chunk's start so that
  // a rate that does not divide the beat loses nothing to rounding.
  const uint64_t n = c.values;
  const uint64_t rate = c.sparse ? std::min(uint64_t(rate_), 2 * uint64_t(c.meta_lanes)) : uint64_t(rate_);
  uint64_t done = 0;
  while (done < n) {
    const uint64_t take = std::min<uint64_t>(uint64_t(bus_values_), n - done);
    const uint64_t clocks = (done + take + rate - 1) / rate - (done + rate - 1) / rate;
    if (clocks) wait(period_ * double(clocks));
    cycles_ += clocks;
    const sc_time before = sc_time_stamp();
    emit(int(take));
    if (sc_time_stamp() != before) {  // stalled on a full output: count it, resume on an edge
      align(period_);
      cycles_ += uint64_t((sc_time_stamp() - before) / period_ + 0.5);
    }
    done += take;
  }
}

}  // namespace wsim
