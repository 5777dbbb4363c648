// The handshake both DiJiang units share, as rtl/ws_dijiang_frame.sv: LOAD (d elements), BUSY (a
// fixed number of cycles), OUT (d results); configuration only in LOAD before the first element, and
// winning over a first element offered in the same cycle; an element the unit cannot take dropped;
// vectors framed by count; the error cause of the cycle in the frame's priority, held by the sticky
// error flag the frame keeps.
#pragma once

#include <cstdint>

#include "core/ws_pkg.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

class DiJiangFrame {
 public:
  DiJiangFrame(int head_size, int busy_cycles) : d_(head_size), busy_(busy_cycles) {}
  void reset() {
    st_ = St::Load;
    idx_ = left_ = 0;
    err_.reset();
  }
  // The frame's pins of a unit's outputs (all but out_data).
  template <class Out>
  void outputs(Out& out, bool cfg_valid) const {
    out.cfg_ready = cfg_ready();
    out.in_ready = in_ready(cfg_valid);
    out.out_valid = out_valid();
    out.out_last = out_last();
    out.err = err_.err;
    out.err_cause = pkg::dij_err_e(err_.cause);
  }
  bool cfg_ready() const { return st_ == St::Load && idx_ == 0; }
  bool in_ready(bool cfg_valid) const { return st_ == St::Load && !(idx_ == 0 && cfg_valid); }
  bool out_valid() const { return st_ == St::Out; }
  bool out_last() const { return st_ == St::Out && idx_ == d_ - 1; }
  int idx() const { return idx_; }  // element index in LOAD, result index in OUT

  struct Edge {
    uint8_t cause = pkg::DIJ_ERR_NONE;
    bool taken = false;     // an element was taken, at index idx() before the edge
    bool complete = false;  // and it was the vector's last: BUSY follows
  };
  // One rising edge: cfg_fire / in_fire are the transfers of the cycle; in_ok whether the offered
  // element can be taken; cfg_bad, in_range the unit's own checks; err_clear the clear input.
  Edge tick(bool cfg_fire, bool cfg_bad, bool in_fire, bool in_ok, bool in_last, bool in_range, bool out_ready,
            bool err_clear) {
    Edge e;
    if (cfg_fire && cfg_bad) e.cause = pkg::DIJ_ERR_CONFIG;
    else if (in_fire && !in_ok) e.cause = pkg::DIJ_ERR_NOT_LOADED;
    else if (in_fire && in_last != (idx_ == d_ - 1)) e.cause = pkg::DIJ_ERR_FRAME;
    else if (in_fire && in_range) e.cause = pkg::DIJ_ERR_RANGE;
    switch (st_) {
      case St::Load:
        if (in_fire && in_ok) {
          e.taken = true;
          if (++idx_ == d_) {
            e.complete = true;
            idx_ = 0;
            st_ = St::Busy;
            left_ = busy_;
          }
        }
        break;
      case St::Busy:
        if (--left_ == 0) st_ = St::Out;
        break;
      case St::Out:
        if (out_ready && ++idx_ == d_) {
          idx_ = 0;
          st_ = St::Load;
        }
        break;
    }
    err_.tick(err_clear, e.cause);
    return e;
  }

 private:
  enum class St { Load, Busy, Out };
  int d_, busy_;
  St st_ = St::Load;
  int idx_ = 0, left_ = 0;
  StickyError err_;
};

}  // namespace ws
