// Cycle-accurate model of rtl/ws_tans_decoder.sv. Every register of the RTL has a field here with
// the same name (without _q); compute() is the RTL's combinational logic, tick() its clock edge.
#include "hw/tans_decoder_model.hpp"

#include <stdexcept>

namespace ws {
namespace {

int clog2(uint64_t v) {  // $clog2: ceil(log2(v)), 0 for v <= 1
  int n = 0;
  while ((uint64_t(1) << n) < v) ++n;
  return n;
}

uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }

using Entry = pkg::tans_entry_t;  // a table word: {next_base, nb_bits, symbol}

}  // namespace

int TansDecoderParams::buffer_words() const {
  // BufferWords = 2 ** $clog2((StepBits + 2 * WordBits - 2) / WordBits + 1)
  return 1 << clog2(uint64_t((step_bits() + 2 * word_bits - 2) / word_bits + 1));
}

std::vector<uint32_t> TansDescriptor::pack(const TansDecoderParams& p) const {
  using Head = pkg::tans_desc_head_t;
  const int count_lsb = pkg::TANS_DESC_HEAD_BITS, states_lsb = count_lsb + p.count_bits;
  const int bits = states_lsb + pkg::TANS_STATE_BITS * p.lanes;
  std::vector<uint32_t> w(size_t((bits + 31) / 32), 0);
  auto put = [&](int pos, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      if ((v >> i) & 1) w[size_t((pos + i) / 32)] |= 1u << ((pos + i) % 32);
  };
  put(0, Head::table_log.put(table_log) | Head::no_stream.put(no_stream), pkg::TANS_DESC_HEAD_BITS);
  put(count_lsb, count & low_mask(p.count_bits), p.count_bits);
  for (int j = 0; j < p.lanes; ++j)
    put(states_lsb + pkg::TANS_STATE_BITS * j, states[size_t(j)], pkg::TANS_STATE_BITS);
  return w;
}

TansDecoderModel::TansDecoderModel(const TansDecoderParams& p) : p_(p) {
  if (p.lanes != 1 && p.lanes != 2 && p.lanes != 4 && p.lanes != 8)
    throw std::invalid_argument("TansDecoderModel: lanes must be 1, 2, 4 or 8");
  if (p.max_table_log < pkg::TANS_MIN_TABLE_LOG || p.max_table_log > pkg::TANS_MAX_TABLE_LOG)
    throw std::invalid_argument("TansDecoderModel: max_table_log must be 5..12");
  if (p.word_bits != 32 && p.word_bits != 64)
    throw std::invalid_argument("TansDecoderModel: word_bits must be 32 or 64");
  if (p.count_bits < 1 || p.count_bits > 32)
    throw std::invalid_argument("TansDecoderModel: count_bits must be 1..32");
  ring_size_bits_ = uint32_t(p.buffer_words() * p.word_bits);
  entry_mask_ = (1u << p.max_table_log) - 1;
  ram_.assign(size_t(1) << p.max_table_log, 0);  // Verilator starts memories at zero
  ring_.assign(size_t(p.buffer_words()), 0);
  reset_state();
  eval();
}

void TansDecoderModel::reset_state() {
  // The registers with a reset in the RTL; datapath registers keep their value.
  wr_ = rp_ = 0;
  cur_bits_ = nxt_bits_ = cur_pad_ = nxt_pad_ = 0;
  cur_end_ = nxt_end_ = skip_ = false;
  run_ = false;
  rem_ = 0;
  nostream_ = false;
  abort_ = 0;
  early_ = early_cont_ = false;
  start_ev_ = 0;
  cfg_ev_ = false;
  loaded_ = false;
  fin_chk_ = false;
  out_valid_ = false;
  err_.reset();
}

uint32_t TansDecoderModel::ring_bits(uint32_t pos, int n) const {
  uint32_t v = 0;
  const int W = p_.word_bits;
  for (int i = 0; i < n; ++i) {
    uint32_t b = (pos + uint32_t(i)) % ring_size_bits_;
    v |= uint32_t((ring_[b / uint32_t(W)] >> (b % uint32_t(W))) & 1) << i;
  }
  return v;
}

// All combinational signals of one cycle, named as in the RTL.
struct TansDecoderModel::Comb {
  // bit reader
  bool in_ready = false, take = false, store = false;
  uint32_t in_pad = 0;
  // decoder
  bool is_last = false;
  uint32_t act = 0;
  std::array<uint32_t, 8> field{}, raddr{};
  std::array<uint8_t, 8> syms{};
  uint32_t base0 = 0, total = 0, avail = 0;
  bool out_free = false, ended = false, aborting = false, rd_ok = false, fire = false;
  bool chunk_end = false, early_d = false, rd_done = false;
  uint32_t rd_consume = 0;
  bool cfg_ready = false, cfg_we = false, cfg_bad = false;
  uint32_t cfg_entry = 0;
  bool desc_ready = false, desc_take = false, start = false;
  uint8_t d_err = 0;
  bool fin_idle_bad_d = false, left_bad_d = false, fin_bad = false;
  uint8_t ev = 0;
};

void TansDecoderModel::compute(Comb& c) const {
  const int K = p_.lanes, ML = p_.max_table_log, W = p_.word_bits;
  const int step_bits = p_.step_bits();
  const int lgk = clog2(uint64_t(K));
  const int cw = clog2(uint64_t(K) + 1);
  const int avw = clog2(uint64_t(ring_size_bits_) + 1);
  const uint64_t count_mask = low_mask(p_.count_bits);

  // ---- bit reader outputs (registers only)
  const uint32_t used_bits = (rp_ % uint32_t(W)) + cur_bits_ + nxt_bits_;
  const bool full = used_bits == ring_size_bits_;
  c.in_ready = skip_ || (!full && !nxt_end_);
  c.take = in.in_valid && c.in_ready;
  {
    uint64_t w = in.in_data & low_mask(W);
    int msb = -1;
    for (int i = 0; i < W; ++i)
      if ((w >> i) & 1) msb = i;
    c.in_pad = msb < 0 ? uint32_t(W - 1) : uint32_t(W - 1 - msb);
  }

  // ---- configuration port
  c.cfg_ready = !run_;
  c.cfg_we = in.cfg_valid && c.cfg_ready;
  {
    const uint32_t nb = uint32_t(Entry::nb_bits.get(in.cfg_data)), base = uint32_t(Entry::next_base.get(in.cfg_data));
    c.cfg_bad = nb > uint32_t(ML) || (base >> ML) != 0 || (base & ~(~0u << nb) & uint32_t(Entry::next_base.mask())) != 0;
    c.cfg_entry = uint32_t(Entry::next_base.put(base & entry_mask_) | Entry::nb_bits.put(c.cfg_bad ? 0 : nb) |
                           Entry::symbol.put(in.cfg_data));
  }

  // ---- step datapath
  c.is_last = (rem_ >> lgk) == 0 || rem_ == uint64_t(K);
  for (int j = 0; j < K; ++j)
    if (!c.is_last || (rem_ & low_mask(cw)) > uint64_t(j)) c.act |= 1u << j;

  // ---- step control (registers and inputs)
  c.out_free = !out_valid_ || in.out_ready;
  c.ended = nostream_ || cur_end_;
  c.avail = nostream_ ? 0 : cur_bits_;
  c.aborting = abort_ != 0 || early_cont_;
  c.rd_ok = !skip_ && (c.aborting || c.ended || cur_bits_ >= uint32_t(step_bits));
  c.fire = run_ && c.out_free && c.rd_ok;
  c.chunk_end = c.aborting || c.is_last;
  c.desc_ready = !in.cfg_valid && (!run_ || (c.fire && c.chunk_end));
  c.desc_take = in.desc_valid && c.desc_ready;
  const uint64_t d_count = in.desc.count & count_mask;
  c.start = c.desc_take && d_count != 0;
  {
    const uint32_t log = uint32_t(pkg::tans_desc_head_t::table_log.get(in.desc.table_log));
    const uint32_t state_mask = (1u << pkg::TANS_STATE_BITS) - 1, hi_mask = (state_mask << log) & state_mask;
    bool d_bad = log < uint32_t(pkg::TANS_MIN_TABLE_LOG) || log > uint32_t(ML);
    for (int j = 0; j < K; ++j)
      if ((in.desc.states[size_t(j)] & hi_mask) != 0) d_bad = true;
    c.d_err = !loaded_ ? pkg::TANS_ERR_NO_TABLE : d_bad ? pkg::TANS_ERR_BAD_DESC : pkg::TANS_ERR_NONE;
  }

  // ---- lanes: fields, next addresses, bits read
  uint32_t p = 0;
  for (int j = 0; j < K; ++j) {
    const uint32_t e = ent_[size_t(j)];
    const uint32_t nb = uint32_t(Entry::nb_bits.get(e)), base = uint32_t(Entry::next_base.get(e)) & entry_mask_;
    c.syms[size_t(j)] = uint8_t(Entry::symbol.get(e));
    if (base == 0) c.base0 |= 1u << j;
    // field_at(window, p) & mask: the window holds step_bits bits; p + nb <= step_bits here.
    const int n = nb > uint32_t(ML) ? ML : int(nb);
    uint32_t f = 0;
    for (int i = 0; i < n; ++i)
      if (p + uint32_t(i) < uint32_t(step_bits)) f |= ring_bits(rp_ + p + uint32_t(i), 1) << i;
    c.field[size_t(j)] = f;
    c.raddr[size_t(j)] = c.start ? (in.desc.states[size_t(j)] & entry_mask_) : (base | f);
    p += nb;
    if ((c.act >> j) & 1) c.total += nb;
  }
  c.early_d = c.fire && c.ended && c.total > c.avail;
  c.rd_consume = (c.fire && !nostream_) ? c.total : 0;
  c.rd_done = c.fire && c.chunk_end && !nostream_;

  // ---- checks
  c.left_bad_d = !c.ended || ((c.avail - c.total) & uint32_t(low_mask(avw))) > cur_pad_;
  for (int j = 0; j < K; ++j)
    if (!((c.act >> j) & 1) && state_[size_t(j)] != 0) c.fin_idle_bad_d = true;
  c.fin_bad = fin_idle_bad_;
  for (int j = 0; j < K; ++j)
    if (((fin_act_ >> j) & 1) && (!((fin_base0_ >> j) & 1) || fin_field_[size_t(j)] != 0))
      c.fin_bad = true;
  c.ev = early_                    ? pkg::TANS_ERR_ENDS_EARLY
         : (fin_chk_ && c.fin_bad) ? pkg::TANS_ERR_FINAL_STATE
         : (fin_chk_ && left_bad_) ? pkg::TANS_ERR_LEFT_OVER
         : start_ev_ != 0          ? pkg::tans_err_e(start_ev_)
         : cfg_ev_                 ? pkg::TANS_ERR_BAD_ENTRY
                                   : pkg::TANS_ERR_NONE;
}

void TansDecoderModel::eval() {
  if (!in.rst_n) reset_state();  // asynchronous reset
  Comb c;
  compute(c);
  out.cfg_ready = c.cfg_ready;
  out.desc_ready = c.desc_ready;
  out.in_ready = c.in_ready;
  out.out_valid = out_valid_;
  out.out_data = out_data_;
  out.out_count = out_count_;
  out.out_last = out_last_;
  out.err = err_.err;
  out.err_cause = pkg::tans_err_e(err_.cause);
}

void TansDecoderModel::tick() {
  if (!in.rst_n) {
    reset_state();
    eval();
    return;
  }
  Comb c;
  compute(c);
  const int K = p_.lanes, W = p_.word_bits;
  const uint64_t count_mask = low_mask(p_.count_bits);
  const int cw = clog2(uint64_t(K) + 1);

  // ---- bit reader
  {
    const uint32_t cons = c.rd_consume > cur_bits_ ? cur_bits_ : c.rd_consume;
    const bool store_keep = c.take && !skip_;
    const bool store_done = c.take && !skip_ && cur_end_;
    const bool store = c.rd_done ? store_done : store_keep;
    uint32_t rp_d, cur_bits_d, cur_pad_d, nxt_bits_d;
    bool cur_end_d, nxt_end_d, skip_d;
    if (c.rd_done) {
      rp_d = rp_ + cur_bits_;
      cur_bits_d = nxt_bits_ + (store_done ? uint32_t(W) : 0);
      cur_end_d = nxt_end_ || (store_done && in.in_last);
      cur_pad_d = nxt_end_ ? nxt_pad_ : c.in_pad;
      nxt_bits_d = 0;
      nxt_end_d = false;
      skip_d = (skip_ || !cur_end_) && !(c.take && in.in_last);
    } else {
      rp_d = rp_ + cons;
      cur_bits_d = cur_bits_ - cons + ((store_keep && !cur_end_) ? uint32_t(W) : 0);
      cur_end_d = cur_end_ || (store_keep && in.in_last);
      cur_pad_d = cur_end_ ? cur_pad_ : c.in_pad;
      nxt_bits_d = nxt_bits_ + ((store_keep && cur_end_) ? uint32_t(W) : 0);
      nxt_end_d = nxt_end_ || (store_keep && cur_end_ && in.in_last);
      skip_d = skip_ && !(c.take && in.in_last);
    }
    const uint32_t nxt_pad_d = nxt_end_ ? nxt_pad_ : c.in_pad;
    if (store) ring_[wr_] = in.in_data & low_mask(W);
    wr_ = (wr_ + (store ? 1 : 0)) % uint32_t(p_.buffer_words());
    rp_ = rp_d % ring_size_bits_;
    cur_bits_ = cur_bits_d;
    cur_end_ = cur_end_d;
    cur_pad_ = cur_pad_d;
    nxt_bits_ = nxt_bits_d;
    nxt_end_ = nxt_end_d;
    nxt_pad_ = nxt_pad_d;
    skip_ = skip_d;
  }

  // ---- table RAMs: read port (old contents), then the write port
  if (c.start || c.fire) {
    for (int j = 0; j < K; ++j) ent_[size_t(j)] = ram_[c.raddr[size_t(j)]];
    for (int j = 0; j < K; ++j) state_[size_t(j)] = c.raddr[size_t(j)];
  }
  if (c.cfg_we) ram_[in.cfg_addr & entry_mask_] = c.cfg_entry;

  // ---- decoder control
  bool run_d = run_, nostream_d = nostream_;
  uint64_t rem_d = rem_;
  uint8_t abort_d = early_cont_ ? uint8_t(pkg::TANS_ERR_ENDS_EARLY) : abort_;
  if (c.fire && c.chunk_end) {
    run_d = false;
    abort_d = 0;
  } else if (c.fire) {
    rem_d = (rem_ - uint64_t(K)) & count_mask;
  }
  if (c.start) {
    run_d = true;
    rem_d = in.desc.count & count_mask;
    nostream_d = in.desc.no_stream;
    abort_d = c.d_err;
  }

  // ---- output register
  if (c.fire) {
    out_valid_ = true;
    out_data_.fill(0);
    for (int j = 0; j < K; ++j) out_data_[size_t(j)] = c.syms[size_t(j)];
    out_count_ = c.aborting ? 0 : c.is_last ? int(rem_ & low_mask(cw)) : K;
    out_last_ = c.chunk_end;
  } else if (in.out_ready) {
    out_valid_ = false;
  }

  // ---- sticky error
  err_.tick(in.err_clear, c.ev);

  early_cont_ = c.early_d && !c.is_last;
  early_ = c.early_d;
  start_ev_ = c.start ? c.d_err : 0;
  cfg_ev_ = c.cfg_we && c.cfg_bad;
  loaded_ = loaded_ || c.cfg_we;
  fin_chk_ = c.fire && c.is_last && !c.aborting;
  fin_field_ = c.field;
  fin_base0_ = c.base0;
  fin_act_ = c.act;
  fin_idle_bad_ = c.fin_idle_bad_d;
  left_bad_ = c.left_bad_d;
  run_ = run_d;
  rem_ = rem_d;
  nostream_ = nostream_d;
  abort_ = abort_d;
  eval();
}

}  // namespace ws
