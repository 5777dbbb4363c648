// Cycle-accurate model of rtl/ws_bf16_unpacker.sv (docs/numfmt.md section 6.1): the number unpacker
// of the bf16 format alone, on ws_num_unpacker's pins (NumUnpackerPins), cycle for cycle. The
// functional model is ws::numfmt::decode_tensor with Format::builtin("bf16"). Per clock cycle: set
// `in`; eval(); read `out`; tick() (the rising edge with `in`, then eval()).
#pragma once

#include <array>
#include <cstdint>

#include "hw/num_unpacker_model.hpp"
#include "hw/skid_buffer_model.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

class Bf16UnpackerModel : public UnpackerModel {
 public:
  explicit Bf16UnpackerModel(int lanes);  // 1, 2, 4 or 8
  void reset() override;
  // sym_ready and raw_ready are registers (the input slices'); out_ready reaches only the output
  // slice's registers.
  void eval() override;
  void tick() override;
  int lanes() const override { return k_; }
  static constexpr int kLatency = 2;  // cycles from a symbol transfer to its output beat, word ready

 private:
  struct SymBeat {
    std::array<uint8_t, kNumMaxLanes> sym{};
    int count = 0;
    bool last = false;
  };
  struct RawWord {
    uint64_t data = 0;
    bool last = false;
  };
  struct OutBeat {
    std::array<uint32_t, kNumMaxLanes> data{};
    int count = 0;
    bool last = false;
  };
  struct Step {  // the combinational values of one cycle
    bool fire = false, need_word = false, pop_word = false, raw_pop = false;
    uint8_t cause = 0;
    OutBeat beat;  // what enters the output slice on a fire
  };
  Step step() const;

  int k_, word_bits_, slots_;
  SkidBufferModel<SymBeat> sym_slice_;  // u_sym_slice: sym_ready is a register
  SkidBufferModel<RawWord> raw_slice_;  // u_raw_slice: raw_ready is a register
  SkidBufferModel<OutBeat> out_slice_;  // u_out_slice
  StickyError err_;
  uint8_t cause_q_ = 0;  // the priority of runs_out_q, left_over_q, bad_cfg_q (each cause registered once)
  int slot_ = 0;       // slot_q: the next beat's slot in the current raw word
  bool ended_ = false;  // ended_q: the chunk's raw words ended before its last beat
  bool open_ = false;   // open_q: the chunk has taken a whole word that was not its last
};

// Whether ws_bf16_unpacker refuses a configuration write (cause 4): an entry other than the bf16
// table's, a mode other than fp32, an unknown address.
bool bf16_cfg_write_bad(uint32_t addr, uint32_t data);

}  // namespace ws
