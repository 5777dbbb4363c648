// Cycle model of ws_bf16_unpacker: its registers (two register slices, the sticky error, the slot
// and the chunk's word state), updated once per tick() from the values they and the inputs had
// before the edge.
#include "hw/bf16_unpacker_model.hpp"

#include <stdexcept>

#include "numfmt/numfmt.hpp"

namespace ws {

bool bf16_cfg_write_bad(uint32_t addr, uint32_t data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    const numfmt::Format f = numfmt::Format::builtin("bf16");
    for (unsigned s = 0; s < 256; ++s) t[s] = f.entry(s).pack();
    return t;
  }();
  addr &= (1u << pkg::UNP_CFG_ADDR_BITS) - 1;
  data &= (1u << pkg::UNP_ENTRY_BITS) - 1;
  if (addr < 256) return data != table[addr];
  return addr != uint32_t(pkg::UNP_CFG_MODE) || data != 0;  // the mode: fp32 only
}

Bf16UnpackerModel::Bf16UnpackerModel(int lanes)
    : k_(lanes), word_bits_(pkg::raw_word_bits(lanes)), slots_(pkg::raw_word_bits(lanes) / (8 * lanes)) {
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8)
    throw std::invalid_argument("Bf16UnpackerModel: lanes must be 1, 2, 4 or 8");
  reset();
  eval();
}

void Bf16UnpackerModel::reset() {
  sym_slice_.reset();
  raw_slice_.reset();
  out_slice_.reset();
  err_.reset();
  cause_q_ = 0;
  slot_ = 0;
  ended_ = open_ = false;
}

Bf16UnpackerModel::Step Bf16UnpackerModel::step() const {
  Step st;
  const bool err = err_.err;
  const RawWord& w = raw_slice_.out();
  const SymBeat& b = sym_slice_.out();
  const int count = b.count;
  const bool need_bits = count != 0;
  const bool last_slot = slot_ == slots_ - 1;
  st.need_word = !err && !ended_ && (need_bits || (b.last && (slot_ != 0 || open_)));
  st.fire = sym_slice_.out_valid() && out_slice_.in_ready() && (!st.need_word || raw_slice_.out_valid());
  st.pop_word = st.fire && st.need_word && (last_slot || b.last);
  st.raw_pop = err ? raw_slice_.out_valid() : st.pop_word;

  // The bytes after the beat's last field, to the end of its word, must be zero.
  bool tail_nonzero = false;
  for (int b = slot_ * k_ + count; b < word_bits_ / 8; ++b) tail_nonzero |= (w.data >> (8 * b) & 0xff) != 0;
  if (st.fire && !err && ended_ && need_bits) {
    st.cause = pkg::UNP_ERR_RUNS_OUT;
  } else if (st.pop_word && b.last && (!w.last || (slot_ == 0 && !need_bits) || tail_nonzero)) {
    st.cause = pkg::UNP_ERR_LEFT_OVER;
  } else if (in.cfg_valid && bf16_cfg_write_bad(in.cfg_addr, in.cfg_data)) {
    st.cause = pkg::UNP_ERR_BAD_CFG;
  }

  // fp32 words: sign (the field's top bit), the symbol as the exponent, the field's 7 bits as the
  // mantissa's top.
  st.beat.count = (err || ended_) ? 0 : count;
  st.beat.last = b.last;
  const uint64_t fields = w.data >> (slot_ * 8 * k_);
  for (int j = 0; j < st.beat.count; ++j) {
    const uint32_t field = uint32_t(fields >> (8 * j) & 0xff);
    st.beat.data[size_t(j)] = (field >> 7) << 31 | uint32_t(b.sym[size_t(j)]) << 23 | (field & 0x7f) << 16;
  }
  return st;
}

void Bf16UnpackerModel::eval() {
  if (!in.rst_n) reset();  // asynchronous reset
  out.cfg_ready = true;
  out.sym_ready = sym_slice_.in_ready();
  out.raw_ready = raw_slice_.in_ready();
  out.out_valid = out_slice_.out_valid();
  out.out_data = out_slice_.out().data;
  out.out_count = out_slice_.out().count;
  out.out_last = out_slice_.out().last;
  out.err = err_.err;
  out.err_cause = pkg::unp_err_e(err_.cause);
}

void Bf16UnpackerModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  const Step st = step();
  const bool err = err_.err, word_last = raw_slice_.out().last, beat_last = sym_slice_.out().last;  // before the edge
  out_slice_.tick(st.fire, st.beat, in.out_ready);
  SymBeat sb;
  sb.sym = in.sym;
  sb.count = in.sym_count;
  sb.last = in.sym_last;
  sym_slice_.tick(in.sym_valid, sb, st.fire);
  const uint64_t mask = word_bits_ < 64 ? (uint64_t(1) << word_bits_) - 1 : ~uint64_t(0);
  raw_slice_.tick(in.raw_valid, RawWord{in.raw_data & mask, in.raw_last}, st.raw_pop);
  err_.tick(in.err_clear, cause_q_);
  cause_q_ = st.cause;
  if (err || in.err_clear) {  // after an error the next chunk starts afresh
    slot_ = 0;
    ended_ = open_ = false;
  } else if (st.fire) {
    if (beat_last) {
      slot_ = 0;
      ended_ = open_ = false;
    } else if (st.pop_word) {
      slot_ = 0;
      ended_ = word_last;
      open_ = !word_last;
    } else if (st.need_word) {
      ++slot_;
    }
  }
  eval();
}

}  // namespace ws
