#include "broadcast_bus.hpp"

#include "clock.hpp"

namespace wsim {

using namespace sc_core;

BroadcastBus::BroadcastBus(sc_module_name name, DecodePipeline& source, std::vector<sc_fifo<Beat>*> sinks,
                           double mhz, int64_t fault_beat)
    : sc_module(name), source_(source), sinks_(std::move(sinks)), period_(period_of(mhz)), fault_beat_(fault_beat) {
  SC_HAS_PROCESS(BroadcastBus);
  SC_THREAD(thread);
}

void BroadcastBus::thread() {
  sc_event_or_list any_read;
  for (sc_fifo<Beat>* f : sinks_) any_read |= f->data_read_event();
  for (;;) {
    sc_fifo<Beat>& src = source_.next_source();
    bool last = false;
    while (!last) {
      align(period_);
      while (src.num_available() == 0) {
        wait(src.data_written_event());
        align(period_);
      }
      for (;;) {
        bool room = true;
        for (sc_fifo<Beat>* f : sinks_) room = room && f->num_free() > 0;
        if (room) break;
        const sc_time t0 = sc_time_stamp();
        wait(any_read);
        align(period_);
        full_cycles_ += uint64_t((sc_time_stamp() - t0) / period_ + 0.5);
      }
      const Beat b = src.read();
      if (int64_t(beats_) == fault_beat_) {  // fault injection: processor 0 gets a corrupted copy
        Beat bad = b;
        bad.value[0] ^= 1;
        bad.idx[0] ^= 1;  // and in a 2:4 chunk its position
        sinks_[0]->write(bad);
      } else {
        sinks_[0]->write(b);
      }
      for (size_t i = 1; i < sinks_.size(); ++i) sinks_[i]->write(b);
      ++beats_;
      last = b.last;
      wait(period_);
    }
    source_.source_done();
  }
}

}  // namespace wsim
