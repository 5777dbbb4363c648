// Cycle model of rtl/ws_skid_buffer.sv: a register slice with an output register and a spare one.
// in_ready() and the output come from the registers alone, as in the RTL; tick() is the rising edge
// with the cycle's inputs. T is the data the slice carries (a struct of the fields it holds).
#pragma once

namespace ws {

template <class T>
class SkidBufferModel {
 public:
  void reset() { out_valid_ = spare_valid_ = false; }
  bool in_ready() const { return !spare_valid_; }
  bool out_valid() const { return out_valid_; }
  const T& out() const { return out_; }
  // One rising edge: a word is offered (in_valid, in) and the output is or is not taken (out_ready).
  void tick(bool in_valid, const T& in, bool out_ready) {
    const bool in_fire = in_valid && !spare_valid_;
    if (!out_valid_ || out_ready) {
      if (spare_valid_) {
        out_ = spare_;
      } else if (in_fire) {
        out_ = in;
      }
      out_valid_ = spare_valid_ || in_fire;
      spare_valid_ = false;
    } else if (in_fire) {
      spare_ = in;
      spare_valid_ = true;
    }
  }

 private:
  bool out_valid_ = false, spare_valid_ = false;
  T out_{}, spare_{};
};

}  // namespace ws
