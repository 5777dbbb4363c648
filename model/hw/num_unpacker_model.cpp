// Cycle model of ws_num_unpacker and its ws_bit_reader: the registers of the RTL, updated once per
// tick() from the values they and the inputs had before the edge.
#include "hw/num_unpacker_model.hpp"

#include <stdexcept>

namespace ws {
namespace {

// Zero bits on top of a word of `bits` bits, at most bits - 1 (ws_bit_reader's in_pad).
int top_zeros(uint64_t w, int bits) {
  int z = bits - 1;
  for (int i = 0; i < bits; ++i)
    if (w >> i & 1) z = bits - 1 - i;
  return z;
}

int buffer_words_for(int step_bits, int word_bits) {  // as ws_num_unpacker's BufferWords
  const int need = (step_bits + 2 * word_bits - 2) / word_bits + 1;
  int p = 1;
  while (p < need) p *= 2;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Bit reader

BitReaderModel::BitReaderModel(int window_bits, int buffer_words, int word_bits)
    : window_bits_(window_bits), words_(buffer_words), word_bits_(word_bits), ring_(size_t(buffer_words), 0) {
  if (word_bits != 32 && word_bits != 64) throw std::invalid_argument("BitReaderModel: word_bits must be 32 or 64");
}

void BitReaderModel::reset() {
  wr_ = rp_ = cur_bits_ = cur_pad_ = nxt_bits_ = nxt_pad_ = 0;
  cur_end_ = nxt_end_ = skip_ = false;
}

bool BitReaderModel::in_ready() const {
  const bool full = rp_ % word_bits_ + cur_bits_ + nxt_bits_ == words_ * word_bits_;
  return skip_ || (!full && !nxt_end_);
}

uint64_t BitReaderModel::window(int offset, int nbits) const {
  const int ring_bits = words_ * word_bits_;
  uint64_t v = 0;
  for (int i = 0; i < nbits; ++i) {
    const int b = (rp_ + offset + i) % ring_bits;
    v |= (ring_[size_t(b / word_bits_)] >> (b % word_bits_) & 1) << i;
  }
  return v;
}

void BitReaderModel::tick(bool in_valid, uint64_t in_data, bool in_last, int consume, bool done) {
  const int ring_bits = words_ * word_bits_;
  if (word_bits_ < 64) in_data &= (uint64_t(1) << word_bits_) - 1;  // the port's width
  const bool take = in_valid && in_ready();
  int rp = (rp_ + consume) % ring_bits, cur_bits = cur_bits_ - consume, cur_pad = cur_pad_;
  int nxt_bits = nxt_bits_, nxt_pad = nxt_pad_, wr = wr_;
  bool cur_end = cur_end_, nxt_end = nxt_end_, skip = skip_;
  if (done) {  // jump past the chunk's buffered words; the next chunk becomes current
    rp = (rp_ + cur_bits_) % ring_bits;
    cur_bits = nxt_bits_;
    cur_end = nxt_end_;
    cur_pad = nxt_pad_;
    nxt_bits = 0;
    nxt_end = false;
    skip = skip_ || !cur_end_;
  }
  if (take) {
    if (skip) {
      if (in_last) skip = false;
    } else {
      ring_[size_t(wr_)] = in_data;
      wr = (wr_ + 1) % words_;
      if (!cur_end) {
        cur_bits += word_bits_;
        cur_end = in_last;
        if (in_last) cur_pad = top_zeros(in_data, word_bits_);
      } else {
        nxt_bits += word_bits_;
        nxt_end = in_last;
        if (in_last) nxt_pad = top_zeros(in_data, word_bits_);
      }
    }
  }
  if (consume > cur_bits_) throw std::logic_error("BitReaderModel: consumed more bits than available");
  rp_ = rp, wr_ = wr, cur_bits_ = cur_bits, cur_pad_ = cur_pad, nxt_bits_ = nxt_bits, nxt_pad_ = nxt_pad;
  cur_end_ = cur_end, nxt_end_ = nxt_end, skip_ = skip;
}

// ---------------------------------------------------------------------------------------------
// Unpacker

bool num_cfg_entry_bad(uint32_t w) {
  using E = pkg::unp_entry_t;
  const uint64_t cls = E::cls.get(w), rb = E::raw_bits.get(w), sg = E::sign.get(w);
  const bool known_cls = cls <= pkg::UNP_CLASS_INF_NAN, known_sign = sg <= pkg::UNP_SIGN_MINUS;
  return cls != pkg::UNP_CLASS_NONE &&
         (!known_cls || !known_sign || rb > 24 || (sg != pkg::UNP_SIGN_RAW && rb > 23) || (sg == pkg::UNP_SIGN_RAW && rb == 0));
}

NumUnpackerModel::NumUnpackerModel(int lanes)
    : k_(lanes),
      reader_(24 * lanes, buffer_words_for(24 * lanes, pkg::raw_word_bits(lanes)), pkg::raw_word_bits(lanes)) {
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8)
    throw std::invalid_argument("NumUnpackerModel: lanes must be 1, 2, 4 or 8");
  reset();
  eval();
}

void NumUnpackerModel::reset() {
  reader_.reset();
  mode_int_ = false;
  err_.reset();
  used_ = false;
  r0_valid_ = r1_valid_ = r2_valid_ = p_valid_ = w_valid_ = v_valid_ = x_valid_ = c_valid_ = false;
  a_slice_.reset();
  out_slice_.reset();
}

NumUnpackerModel::Step NumUnpackerModel::step() const {
  Step st;
  st.c_adv = c_valid_ && out_slice_.in_ready();
  const bool c_free = !c_valid_ || out_slice_.in_ready();
  st.x_adv = x_valid_ && c_free;
  const bool x_free = !x_valid_ || c_free;
  st.v_adv = v_valid_ && x_free;
  const bool v_free = !v_valid_ || x_free;
  st.w_adv = w_valid_ && v_free;
  const bool w_free = !w_valid_ || v_free;
  // P: widths, offsets and the total from the beat's entries; fields at those offsets.
  int off = 0;
  for (int j = 0; j < k_; ++j) {
    const uint32_t e = p_.ent[size_t(j)];
    const bool act = j < p_.count;
    const int rb = act ? int(pkg::unp_entry_t::raw_bits.get(e)) : 0;
    if (act && pkg::unp_entry_t::cls.get(e) == pkg::UNP_CLASS_NONE) st.unknown = true;
    st.raw[size_t(j)] = uint32_t(reader_.window(off, rb));
    off += rb;
  }
  st.need = off;
  const bool rd_ok = !reader_.skip() && (reader_.avail() >= st.need || reader_.ended());
  st.fire = p_valid_ && w_free && (err_.err || st.unknown || rd_ok);
  st.runs_out = reader_.ended() && reader_.avail() < st.need;
  st.null_beat = err_.err || st.unknown || st.runs_out;
  st.used_now = used_ || st.need != 0;
  const bool left_bad = !reader_.ended() || reader_.avail() - st.need > reader_.pad();
  if (st.fire && !err_.err) {
    st.ev = st.unknown ? pkg::UNP_ERR_UNKNOWN : st.runs_out ? pkg::UNP_ERR_RUNS_OUT
            : (p_.last && st.used_now && left_bad) ? pkg::UNP_ERR_LEFT_OVER : pkg::UNP_ERR_NONE;
  }
  st.consume = st.fire && !st.null_beat ? st.need : 0;
  // After an error, end every chunk the reader holds words of (not one it has none of yet).
  st.done = err_.err ? (reader_.avail() != 0 || reader_.ended()) : st.fire && (st.null_beat || (p_.last && st.used_now));
  st.p_free = !p_valid_ || st.fire;
  st.a_adv = a_slice_.out_valid() && st.p_free;
  st.ram_ce = !r2_valid_ || a_slice_.in_ready();  // R0, R1 and R2 move together, from registers
  st.sym_ready = st.ram_ce && !in.cfg_valid;
  return st;
}

void NumUnpackerModel::eval() {
  if (!in.rst_n) reset();  // asynchronous reset
  out.cfg_ready = pipeline_empty();
  out.sym_ready = step().sym_ready;
  out.raw_ready = reader_.in_ready();
  out.out_valid = out_slice_.out_valid();
  out.out_data = out_slice_.out().data;
  out.out_count = out_slice_.out().count;
  out.out_last = out_slice_.out().last;
  out.err = err_.err;
  out.err_cause = pkg::unp_err_e(err_.cause);
}

void NumUnpackerModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  const Step st = step();
  const bool cfg_we = in.cfg_valid && pipeline_empty();
  const uint32_t addr = in.cfg_addr & ((1u << pkg::UNP_CFG_ADDR_BITS) - 1);
  const uint32_t data = in.cfg_data & ((1u << pkg::UNP_ENTRY_BITS) - 1);
  const bool cfg_tab = addr < uint32_t(table_.size());
  const bool cfg_bad = cfg_tab ? num_cfg_entry_bad(data) : addr != uint32_t(pkg::UNP_CFG_MODE);
  const bool sym_take = in.sym_valid && st.sym_ready;

  // Every stage loads from the one before as it was before the edge: update from the output back.
  OutBeat c_beat;
  for (int j = 0; j < kNumMaxLanes; ++j) c_beat.data[size_t(j)] = j < c_count_ ? c_word_[size_t(j)] : 0;
  c_beat.count = c_count_;
  c_beat.last = c_last_;
  out_slice_.tick(c_valid_, c_beat, in.out_ready);

  if (st.x_adv) {
    const numfmt::Kind kind = mode_int_ ? numfmt::Kind::Int : numfmt::Kind::Float;
    for (int j = 0; j < k_; ++j)
      c_word_[size_t(j)] = numfmt::output_word(numfmt::Entry::unpack(x_.ent[size_t(j)]), x_.raw[size_t(j)], kind);
    c_count_ = x_.count;
    c_last_ = x_.last;
  }
  c_valid_ = st.x_adv || (c_valid_ && !st.c_adv);

  if (st.v_adv) {
    x_ = v_;
  }
  x_valid_ = st.v_adv || (x_valid_ && !st.x_adv);

  if (st.w_adv) {
    v_ = w_;
  }
  v_valid_ = st.w_adv || (v_valid_ && !st.v_adv);

  if (st.fire) {
    w_ = FieldBeat{p_.ent, st.raw, st.null_beat ? 0 : p_.count, p_.last};
    used_ = !p_.last && st.used_now;
  }
  w_valid_ = st.fire || (w_valid_ && !st.w_adv);

  if (st.a_adv) {
    p_ = a_slice_.out();
  }
  p_valid_ = st.a_adv || (p_valid_ && !st.fire);

  a_slice_.tick(r2_valid_, r2_, st.p_free);

  // R0, R1, R2 and the RAMs (a read sees the table before this edge's write; they never coincide anyway)
  if (st.ram_ce) {
    r2_ = r1_;
    r2_valid_ = r1_valid_;
    r1_ = r0_;
    r1_valid_ = r0_valid_;
    for (int j = 0; j < k_; ++j) r0_.ent[size_t(j)] = table_[in.sym[size_t(j)]];
    r0_.count = in.sym_count;
    r0_.last = in.sym_last;
    r0_valid_ = sym_take;
  }

  if (cfg_we && cfg_tab) table_[addr] = cfg_bad ? 0 : data;
  if (cfg_we && !cfg_tab && !cfg_bad) mode_int_ = (data & 1) != 0;

  err_.tick(in.err_clear, st.ev != pkg::UNP_ERR_NONE ? st.ev
                         : (cfg_we && cfg_bad)     ? pkg::UNP_ERR_BAD_CFG
                                                   : pkg::UNP_ERR_NONE);
  reader_.tick(in.raw_valid, in.raw_data, in.raw_last, st.consume, st.done);
  eval();
}

}  // namespace ws
