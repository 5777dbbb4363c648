// Clock domains without sc_clock: a process waits whole periods and, after waking on an event,
// realigns to its next rising edge (edges at k * period).
#pragma once

#include <cmath>
#include <cstdint>
#include <systemc>

namespace wsim {

inline sc_core::sc_time period_of(double mhz) { return sc_core::sc_time(1e3 / mhz, sc_core::SC_NS); }

// Waits until the next edge of `period` (not at all when already on one).
inline void align(const sc_core::sc_time& period) {
  const uint64_t now = sc_core::sc_time_stamp().value(), p = period.value();
  if (const uint64_t r = now % p) sc_core::wait(sc_core::sc_time::from_value(p - r));
}

}  // namespace wsim
