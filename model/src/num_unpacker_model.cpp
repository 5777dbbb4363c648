// Cycle model of ws_num_unpacker and its ws_bit_reader: the registers of the RTL, updated once per
// tick() from the values they and the inputs had before the edge.
#include "ws/num_unpacker_model.hpp"

#include <stdexcept>

namespace ws {
namespace {

constexpr int kWordBits = 32;

// Zero bits on top of a word, at most 31 (ws_bit_reader's top_zeros).
int top_zeros(uint32_t w) {
  int z = kWordBits - 1;
  for (int i = 0; i < kWordBits; ++i)
    if (w >> i & 1) z = kWordBits - 1 - i;
  return z;
}

int buffer_words_for(int step_bits) {  // as ws_num_unpacker's BufferWords
  const int need = (step_bits + 2 * kWordBits - 2) / kWordBits + 1;
  int p = 1;
  while (p < need) p *= 2;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Bit reader

BitReaderModel::BitReaderModel(int window_bits, int buffer_words)
    : window_bits_(window_bits), words_(buffer_words), ring_(size_t(buffer_words), 0) {}

void BitReaderModel::reset() {
  wr_ = rp_ = cur_bits_ = cur_pad_ = nxt_bits_ = nxt_pad_ = 0;
  cur_end_ = nxt_end_ = skip_ = false;
}

bool BitReaderModel::in_ready() const {
  const bool full = rp_ % kWordBits + cur_bits_ + nxt_bits_ == words_ * kWordBits;
  return skip_ || (!full && !nxt_end_);
}

uint64_t BitReaderModel::window(int offset, int nbits) const {
  const int ring_bits = words_ * kWordBits;
  uint64_t v = 0;
  for (int i = 0; i < nbits; ++i) {
    const int b = (rp_ + offset + i) % ring_bits;
    v |= uint64_t(ring_[size_t(b / kWordBits)] >> (b % kWordBits) & 1) << i;
  }
  return v;
}

void BitReaderModel::tick(bool in_valid, uint32_t in_data, bool in_last, int consume, bool done) {
  const int ring_bits = words_ * kWordBits;
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
        cur_bits += kWordBits;
        cur_end = in_last;
        if (in_last) cur_pad = top_zeros(in_data);
      } else {
        nxt_bits += kWordBits;
        nxt_end = in_last;
        if (in_last) nxt_pad = top_zeros(in_data);
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
  const uint32_t cls = w & 7, rb = w >> 3 & 31, sg = w >> 8 & 3;
  return cls != 0 && (cls == 7 || sg == 3 || rb > 24 || (sg != 0 && rb > 23) || (sg == 0 && rb == 0));
}

NumUnpackerModel::NumUnpackerModel(int lanes)
    : k_(lanes), reader_(24 * lanes, buffer_words_for(24 * lanes)) {
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8)
    throw std::invalid_argument("NumUnpackerModel: lanes must be 1, 2, 4 or 8");
  reset();
}

void NumUnpackerModel::reset() {
  reader_.reset();
  mode_int_ = false;
  s1_valid_ = s2_valid_ = out_valid_ = used_ = false;
  err_ = false;
  cause_ = kNumErrNone;
}

NumUnpackerModel::Step NumUnpackerModel::step(const NumUnpackerInputs& in) const {
  Step st;
  const bool out_free = !out_valid_ || in.out_ready;
  const bool s2_free = !s2_valid_ || out_free;
  int off = 0;
  for (int j = 0; j < k_; ++j) {
    const uint32_t e = ent_[size_t(j)];
    const bool act = j < s1_count_;
    const int rb = act ? int(e >> 3 & 31) : 0;
    if (act && (e & 7) == 0) st.unknown = true;
    st.raw[size_t(j)] = uint32_t(reader_.window(off, rb));
    off += rb;
  }
  st.need = off;
  const bool rd_ok = !reader_.skip() && (reader_.avail() >= st.need || reader_.ended());
  st.fire = s1_valid_ && s2_free && (err_ || st.unknown || rd_ok);
  st.runs_out = reader_.ended() && reader_.avail() < st.need;
  st.null_beat = err_ || st.unknown || st.runs_out;
  st.used_now = used_ || st.need != 0;
  const bool left_bad = !reader_.ended() || reader_.avail() - st.need > reader_.pad();
  if (st.fire && !err_) {
    st.ev = st.unknown ? kNumErrUnknown : st.runs_out ? kNumErrRunsOut
            : (s1_last_ && st.used_now && left_bad) ? kNumErrLeftOver : kNumErrNone;
  }
  st.consume = st.fire && !st.null_beat ? st.need : 0;
  st.done = err_ || (st.fire && (st.null_beat || (s1_last_ && st.used_now)));
  st.sym_ready = (!s1_valid_ || st.fire) && !in.cfg_valid;
  return st;
}

NumUnpackerOutputs NumUnpackerModel::outputs(const NumUnpackerInputs& in) const {
  NumUnpackerOutputs o;
  o.cfg_ready = !s1_valid_ && !s2_valid_;
  o.sym_ready = step(in).sym_ready;
  o.raw_ready = reader_.in_ready();
  o.out_valid = out_valid_;
  o.out_data = out_data_;
  o.out_count = out_count_;
  o.out_last = out_last_;
  o.err = err_;
  o.err_cause = cause_;
  return o;
}

void NumUnpackerModel::tick(const NumUnpackerInputs& in) {
  const Step st = step(in);
  const bool out_free = !out_valid_ || in.out_ready;
  const bool cfg_we = in.cfg_valid && !s1_valid_ && !s2_valid_;
  const uint32_t addr = in.cfg_addr & 0x1ff, data = in.cfg_data & 0x1fffff;
  const bool cfg_tab = addr < 256;
  const bool cfg_bad = cfg_tab ? num_cfg_entry_bad(data) : addr != kNumCfgModeAddr;
  const bool ram_re = in.sym_valid && st.sym_ready;
  const bool fired_last = s1_last_;  // the beat S1 held before this edge

  // Output register (from S2 as it was before the edge).
  if (s2_valid_ && out_free) {
    const numfmt::Kind kind = mode_int_ ? numfmt::Kind::Int : numfmt::Kind::Float;
    for (int j = 0; j < kNumMaxLanes; ++j)
      out_data_[size_t(j)] = j < s2_count_ ? numfmt::output_word(numfmt::Entry::unpack(s2_ent_[size_t(j)]),
                                                                  s2_raw_[size_t(j)], kind)
                                           : 0;
    out_count_ = s2_count_;
    out_last_ = s2_last_;
  }
  out_valid_ = (s2_valid_ && out_free) || (out_valid_ && !in.out_ready);

  // S2
  const bool s2_valid_next = st.fire || (s2_valid_ && !out_free);
  if (st.fire) {
    s2_ent_ = ent_;
    s2_raw_ = st.raw;
    s2_count_ = st.null_beat ? 0 : s1_count_;
    s2_last_ = s1_last_;
  }
  s2_valid_ = s2_valid_next;

  // S1 and the RAMs (a read sees the table before this edge's write; they never coincide anyway)
  if (ram_re) {
    for (int j = 0; j < k_; ++j) ent_[size_t(j)] = table_[in.sym[size_t(j)]];
    s1_count_ = in.sym_count;
    s1_last_ = in.sym_last;
  }
  s1_valid_ = ram_re || (s1_valid_ && !st.fire);
  if (st.fire) used_ = !fired_last && st.used_now;

  if (cfg_we && cfg_tab) table_[addr] = cfg_bad ? 0 : data;
  if (cfg_we && !cfg_tab && !cfg_bad) mode_int_ = (data & 1) != 0;

  if (!err_ && (st.ev != kNumErrNone || (cfg_we && cfg_bad))) {
    err_ = true;
    cause_ = st.ev != kNumErrNone ? st.ev : uint8_t(kNumErrBadCfg);
  }
  reader_.tick(in.raw_valid, in.raw_data, in.raw_last, st.consume, st.done);
}

}  // namespace ws
