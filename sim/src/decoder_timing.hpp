// The documented chunk timing of one ws_tans_decoder driven as TansDriver drives it (two table
// banks, each chunk's table loaded behind the chunk before it; docs/token_factory.md section 2),
// written from the timing the decoder shows at its pins, not from the cycle model's code: the
// functional engine schedules its chunks with it and the roofline sums it, and the tests check the
// cycle model and the RTL against it, chunk for chunk. Clocks are counted as rising edges of the
// decoder clock; nothing downstream stalls.
#pragma once

#include <algorithm>
#include <cstdint>

namespace wsim {

class DecoderTiming {
 public:
  // From the previous chunk's last beat to the earliest clock its successor's descriptor is taken.
  static constexpr uint64_t kDescAfterLastBeat = 6;
  // From a descriptor taken to the chunk's first beat: 10 clocks, 9 when the previous chunk had an odd
  // number of beats (the decoder starts a chunk on the first of its two contexts' slots).
  static constexpr uint64_t kFirstBeatAfterDesc = 10;

  struct Chunk {
    uint64_t first = 0;       // clock of its first configuration-port slot
    uint64_t desc = 0;        // clock its descriptor is taken
    uint64_t first_beat = 0;  // clock of its first beat
    uint64_t last_beat = 0;   // clock of its last beat
  };

  // The next chunk: `slots` clocks of the configuration port (its table, one write a clock, after
  // any other decoder's table on a shared port) then its descriptor, then `steps` beats. Its first
  // slot is at `earliest` (the clock it has arrived by) or, when a chunk went before, on the clock
  // after that chunk's descriptor was taken, whichever is later. A chunk of no beats has no timing.
  Chunk next(uint64_t earliest, uint64_t slots, uint64_t steps) const {
    Chunk c;
    c.first = any_ ? std::max(earliest, desc_ + 1) : earliest;
    c.desc = c.first + slots;
    if (any_) c.desc = std::max(c.desc, last_beat_ + kDescAfterLastBeat);
    c.first_beat = c.desc + kFirstBeatAfterDesc - (odd_ ? 1 : 0);
    c.last_beat = c.first_beat + steps - 1;
    return c;
  }
  // Takes a chunk made by next() whose last beat came at `last_beat` (later than planned when the
  // output stalled); returns the clocks it added to the unit's busy time, from its first slot or the
  // previous chunk's last beat, whichever is later, to its own last beat.
  uint64_t take(const Chunk& c, uint64_t steps, uint64_t last_beat) {
    const uint64_t from = std::max(any_ ? last_beat_ : 0, c.first - 1);
    any_ = true;
    desc_ = c.desc;
    last_beat_ = last_beat;
    odd_ = steps % 2 != 0;
    return last_beat - from;
  }

 private:
  bool any_ = false;  // a chunk has gone before
  uint64_t desc_ = 0, last_beat_ = 0;
  bool odd_ = false;  // it had an odd number of beats
};

}  // namespace wsim
