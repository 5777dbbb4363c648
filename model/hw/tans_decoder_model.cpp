// Cycle-accurate model of rtl/ws_tans_decoder.sv. Every register of the RTL has a field here with the
// same name (without _q; the lanes' and state buffers' in Lane and Buffer); compute() is the RTL's
// combinational logic, tick() its clock edge. Registers without a reset start at 0, as Verilator's do
// in the benches (tb/common/verilated_dut.hpp).
#include "hw/tans_decoder_model.hpp"

#include <algorithm>
#include <stdexcept>

namespace ws {
namespace {

int clog2(uint64_t v) {  // $clog2: ceil(log2(v)), 0 for v <= 1
  int n = 0;
  while ((uint64_t(1) << n) < v) ++n;
  return n;
}

uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }
bool bit(uint64_t v, int i) { return (v >> i) & 1; }

// The chunk's state and the slot kinds, as the RTL's localparams.
enum : uint32_t { ST_IDLE, ST_TAKEN, ST_WAIT, ST_RUN, ST_ABORT, ST_END };
enum : uint32_t { SL_IDLE, SL_PRIME, SL_PSA, SL_PSB, SL_BEAT, SL_TAIL, SL_DONE };

}  // namespace

std::vector<uint32_t> TansDescriptor::pack(const TansDecoderParams& p) const {
  using Head = pkg::tans_desc_head_t;
  const int bits = pkg::TANS_DESC_HEAD_BITS + p.count_bits;
  std::vector<uint32_t> w(size_t((bits + 31) / 32), 0);
  const uint64_t v = Head::table_log.put(table_log) | Head::bank.put(bank) |
                     (uint64_t(count) & low_mask(p.count_bits)) << pkg::TANS_DESC_HEAD_BITS;
  for (size_t i = 0; i < w.size(); ++i) w[i] = uint32_t(v >> (32 * i));
  return w;
}

TansDecoderModel::TansDecoderModel(const TansDecoderParams& p) : p_(p) {
  if (p.lanes != 1 && p.lanes != 2 && p.lanes != 4 && p.lanes != 8)
    throw std::invalid_argument("TansDecoderModel: lanes must be 1, 2, 4 or 8");
  if (p.max_table_log < pkg::TANS_MIN_TABLE_LOG || p.max_table_log > pkg::TANS_MAX_TABLE_LOG)
    throw std::invalid_argument("TansDecoderModel: max_table_log must be 5..12");
  if (p.count_bits < 4 || p.count_bits > 32) throw std::invalid_argument("TansDecoderModel: count_bits must be 4..32");
  if (p.chunk_bits < 4 || p.chunk_bits > p.count_bits)
    throw std::invalid_argument("TansDecoderModel: chunk_bits must be 4..count_bits");
  lo_bits_ = clog2(uint64_t(8 * p.lanes));
  cb_ = p.chunk_bits > lo_bits_ ? p.chunk_bits : lo_bits_ + 1;
  slots_ = p.max_table_log <= 8 ? 3 : 4;  // ws_tans_lane's Slots: a window reaches h1 only above 8
  mem_.assign(size_t(2) << p.max_table_log, 0);
  lane_.assign(size_t(p.lanes), Lane{});
  reset_state();
  eval();
}

// The registers with an asynchronous reset.
void TansDecoderModel::reset_state() {
  cfg_in_ = cfg_msk_ = cfg_chk_ = cfg_we_ = cfg_ev_ = false;
  loaded_ = 0;
  st_ = ST_IDLE;
  pend_ = SL_DONE;
  adv_ = phase_ = primed_ = s_pseudo_ = s_beat_ = s_init_ = false;
  s_pop0_ = s_pop1_ = s_fin0_ = s_fin1_ = done0_ = done1_ = abort0_ = abort1_ = 0;
  wait_ = end_wait_ = ready_all_ = 0;
  last_out_ = rem_small_ = false;
  err_early_ = err_final_ = err_left_ = err_init_ = false;
  desc_ev_ = ev_ = 0;
  any_early_ = any_final_ = any_left_ = any_init_ = false;
  out_v_ = skid_v_ = false;
  err_.reset();
  for (Lane& l : lane_) {
    l.chk = l.st2 = false;
    l.early = l.final_ = l.left = l.bad_init = false;
    for (Buffer& b : l.buf) {
      b.valid = 1;
      b.ended = b.drain = b.ok = false;
    }
  }
}

struct TansDecoderModel::Comb {
  bool cfg_ready, cfg_take, desc_ready, desc_take, start;
  uint8_t d_err;
  // Per lane and context
  struct BufComb {
    bool pop, copy, flush, take, in_ready;  // copy: w0 loads h0 (its only load: before its pop, or while empty)
    std::array<bool, 4> move;  // slot k loads slot k + 1; the entry slot loads the port
  };
  std::array<std::array<BufComb, 2>, 8> b;
  std::array<uint32_t, 8> addr, nb, coarse, src;
  std::array<uint8_t, 8> symbol;
  std::array<bool, 8> live, fin;
  uint32_t lane_ready0, lane_ready1;  // per lane, context 0 / 1
  // Sequencer
  uint32_t ready_all_d, next_kind, next_fin, flush0, flush1, next_live;
  uint64_t le;     // "rem <= t", t < 4 Lanes, from qle and rle
  uint32_t qle_d;
  bool take_out, push_beat, room_next, phase_next, ext_ready, adv_d, abort_go, push_empty, push;
  uint8_t chunk_ev;
  uint32_t new_count;
  bool new_last;
};

void TansDecoderModel::compute(Comb& c) const {
  const int K = p_.lanes, ML = p_.max_table_log;
  const uint32_t kmask = uint32_t(low_mask(K));
  // Configuration and descriptors
  c.cfg_ready = st_ == ST_IDLE || bank_ != in.cfg_bank;
  c.cfg_take = in.cfg_valid && c.cfg_ready;
  c.desc_ready = st_ == ST_IDLE && !(in.cfg_valid && in.cfg_bank == in.desc.bank);
  c.desc_take = in.desc_valid && c.desc_ready;
  c.start = st_ == ST_TAKEN && cnt_nz();
  c.d_err = no_table_                ? pkg::TANS_ERR_NO_TABLE
            : log_bad_ || cnt_big_ ? pkg::TANS_ERR_BAD_DESC
                                   : pkg::TANS_ERR_NONE;

  // Output room (needs only registers and out_ready), then the abort, which the lanes see.
  c.take_out = out_v_ && in.out_ready;
  c.push_beat = adv_ && s_beat_;
  const uint32_t out_n = uint32_t(out_v_) + uint32_t(skid_v_);
  c.room_next = (out_n + uint32_t(c.push_beat) - uint32_t(c.take_out)) <= 1;
  c.abort_go = st_ == ST_ABORT && !adv_ && (last_out_ || out_n <= 1);
  c.push_empty = c.abort_go && !last_out_;
  c.push = c.push_beat || c.push_empty;

  // Lanes
  c.lane_ready0 = c.lane_ready1 = 0;
  for (int j = 0; j < K; ++j) {
    const Lane& l = lane_[size_t(j)];
    const bool pop_sel[2] = {bit(s_pop0_, j), bit(s_pop1_, j)};
    const bool fin_sel[2] = {bit(s_fin0_, j), bit(s_fin1_, j)};
    const bool abort[2] = {bit(abort0_, j), bit(abort1_, j)};
    const bool shift = bit(l.sum, 4);
    const uint64_t entry = l.rdata;
    c.nb[size_t(j)] = uint32_t(entry >> (8 + 2 * ML)) & 15;
    // This decode's position passes 16 (a slot that decodes no symbol sets it to 16).
    const bool dec_shift = !s_beat_ || l.cur + c.nb[size_t(j)] >= 16;
    for (int ctx = 0; ctx < 2; ++ctx) {
      const Buffer& b = l.buf[size_t(ctx)];
      Comb::BufComb& bc = c.b[size_t(j)][size_t(ctx)];
      const int s = ctx * K + j;
      bc.pop = adv_ && pop_sel[ctx] && shift;
      // w0 loads h0 when the context's next extraction starts at 16 or more, at its decode or while
      // it waits to extract, and whenever w0 is empty; its pop moves only the other slots and the
      // flags (ws_tans_lane, issue 12's dec34).
      bc.copy = !bit(b.valid, 0) || (adv_ ? int(phase_) == ctx && dec_shift : int(phase_) != ctx && shift);
      bc.flush = (adv_ && fin_sel[ctx]) || abort[ctx];
      const int e = slots_ - 1;  // the entry slot
      for (int k = 0; k < e; ++k) bc.move[size_t(k)] = bc.pop || (!bit(b.valid, k) && bit(b.valid, k + 1));
      const bool free = !bit(b.valid, e) || !bit(b.valid, e - 1);  // never counts on the pop
      bc.in_ready = b.drain || (free && !b.ended);
      bc.take = in.in_valid[size_t(s)] && bc.in_ready;
      bc.move[size_t(e)] = bc.take && !b.drain;
    }
    c.lane_ready0 |= uint32_t(l.buf[0].ok) << j;
    c.lane_ready1 |= uint32_t(l.buf[1].ok) << j;

    const uint32_t ml_mask = uint32_t(low_mask(ML));
    c.symbol[size_t(j)] = uint8_t(entry);
    const uint32_t base = uint32_t(entry >> 8) & ml_mask;
    const uint32_t mask = uint32_t(entry >> (8 + ML)) & ml_mask;
    const uint32_t window = (l.coarse >> l.fine) & ml_mask;
    c.addr[size_t(j)] = s_pseudo_ ? window : (base | (window & mask));
    // The shifter on the extracting context's units as they are now: w0 (a copy of h0 from 16 on),
    // whose unit the checks read, and above it h0 (h1 from 16 on, above MaxTableLog 8), then by 4 *
    // sum[3:2]; the decode takes the window at sum[1:0] from it.
    const Buffer& xb = l.buf[phase_ ? 0 : 1];
    const uint64_t hi = (ML > 8 && shift ? xb.data[2] : xb.data[1]) & low_mask(ML - 1);
    const uint64_t half = hi << 16 | xb.data[0];
    c.coarse[size_t(j)] = uint32_t(half >> (4 * ((l.sum >> 2) & 3))) & uint32_t(low_mask(ML + 3));
    c.src[size_t(j)] = uint32_t(half) & 0xffff;
    c.live[size_t(j)] = pop_sel[0] || pop_sel[1] || fin_sel[0] || fin_sel[1];
    c.fin[size_t(j)] = fin_sel[0] || fin_sel[1];
  }

  // Sequencer
  c.ready_all_d = 3;
  for (int j = 0; j < K; ++j) {
    if (!(bit(c.lane_ready0, j) || bit(done0_, j))) c.ready_all_d &= ~1u;
    if (!(bit(c.lane_ready1, j) || bit(done1_, j))) c.ready_all_d &= ~2u;
  }
  c.flush0 = (adv_ ? s_fin0_ : 0) | (c.abort_go ? ~done0_ & kmask : 0);
  c.flush1 = (adv_ ? s_fin1_ : 0) | (c.abort_go ? ~done1_ & kmask : 0);
  // "rem <= a Lanes + b": fewer than a whole beats left, or a and rem mod Lanes <= b.
  // At 1 lane the RTL takes it from rem_small and rem's low bits (LeFromRem).
  c.le = 0;
  for (int t = 0; t < 4 * K; ++t) {
    const int a = t / K, b = t % K;
    const bool le = K == 1 ? rem_small_ && (rem_ & low_mask(lo_bits_)) <= uint64_t(t)
                           : (a > 0 && bit(qle_, a - 1)) || (bit(qle_, a) && bit(rle_, b));
    c.le |= uint64_t(le) << t;
  }
  switch (pend_) {
    case SL_IDLE: c.next_kind = phase_ ? SL_IDLE : SL_PRIME; break;
    case SL_PRIME: c.next_kind = SL_PSA; break;
    case SL_PSA: c.next_kind = SL_PSB; break;
    case SL_PSB: c.next_kind = SL_BEAT; break;
    case SL_BEAT: c.next_kind = bit(c.le, K) ? SL_TAIL : SL_BEAT; break;
    default: c.next_kind = SL_DONE;
  }
  c.next_live = c.next_kind == SL_IDLE || c.next_kind == SL_DONE ? 0
                : phase_ ? ~(done1_ | c.flush1) & kmask : ~(done0_ | c.flush0) & kmask;
  const bool beat_running = pend_ == SL_BEAT;
  c.next_fin = 0;
  for (int j = 0; j < K; ++j) {
    bool f = false;
    if (c.next_kind == SL_PSA) f = bit(c.le, j);
    else if (c.next_kind == SL_PSB) f = bit(c.le, K + j);
    else if (c.next_kind == SL_BEAT) f = bit(c.le, (beat_running ? 3 * K : 2 * K) + j);
    c.next_fin |= uint32_t(f) << j;
  }
  const uint64_t lo_mask = low_mask(lo_bits_);
  const uint64_t rem_lo = rem_ & lo_mask;
  // qle's next value: "whole beats left <= i", i < 4; a beat moves each flag down one.
  const int kb = clog2(uint64_t(K));
  c.qle_d = 0;
  for (int i = 0; i < 4; ++i) {
    bool q;
    if (st_ == ST_TAKEN) q = cnt_small() && ((cnt_ & lo_mask) >> kb) <= uint64_t(i);
    else if (c.push_beat) q = i < 3 ? bit(qle_, i + 1) : rem_small_ && (rem_lo >> kb) <= 4;
    else q = bit(qle_, i);
    c.qle_d |= uint32_t(q) << i;
  }
  c.phase_next = phase_ != adv_;
  c.ext_ready = c.phase_next ? bit(ready_all_, 0) : bit(ready_all_, 1);
  c.adv_d = st_ == ST_RUN && !any_early_ && !any_init_ && c.ext_ready && c.room_next;

  c.chunk_ev = st_ == ST_END && end_wait_ == 0
                   ? (err_early_   ? pkg::TANS_ERR_ENDS_EARLY
                      : err_init_  ? pkg::TANS_ERR_BAD_DESC
                      : err_final_ ? pkg::TANS_ERR_FINAL_STATE
                      : err_left_  ? pkg::TANS_ERR_LEFT_OVER
                                   : pkg::TANS_ERR_NONE)
                   : pkg::TANS_ERR_NONE;
  const uint32_t cw_mask = uint32_t(low_mask(clog2(uint64_t(K + 1))));
  c.new_count = c.push_empty ? 0 : bit(c.le, K - 1) ? uint32_t(rem_lo) & cw_mask : uint32_t(K);
  c.new_last = c.push_empty || bit(c.le, K);
}

void TansDecoderModel::eval() {
  if (!in.rst_n) reset_state();
  Comb c;
  compute(c);
  const int K = p_.lanes;
  out.cfg_ready = c.cfg_ready;
  out.desc_ready = c.desc_ready;
  out.in_ready.fill(false);
  for (int j = 0; j < K; ++j)
    for (int ctx = 0; ctx < 2; ++ctx) out.in_ready[size_t(ctx * K + j)] = c.b[size_t(j)][size_t(ctx)].in_ready;
  out.out_valid = out_v_;
  out.out_data.fill(0);
  for (int j = 0; j < K; ++j) out.out_data[size_t(j)] = out_data_[size_t(j)];
  out.out_count = int(out_count_);
  out.out_last = out_last_;
  out.err = err_.err;
  out.err_cause = pkg::tans_err_e(err_.cause);
}

void TansDecoderModel::tick() {
  if (!in.rst_n) reset_state();
  Comb c;
  compute(c);
  const int K = p_.lanes, ML = p_.max_table_log;
  const uint32_t kmask = uint32_t(low_mask(K));

  // The lanes' check outputs as they are before this edge (the sequencer registers them).
  bool l_early = false, l_final = false, l_left = false, l_init = false;
  for (const Lane& l : lane_) {
    l_early = l_early || l.early;
    l_final = l_final || l.final_;
    l_left = l_left || l.left;
    l_init = l_init || l.bad_init;
  }

  // Lanes: the state buffers, the RAM, the decode and extract registers, the checks.
  for (int j = 0; j < K; ++j) {
    Lane& l = lane_[size_t(j)];
    const bool adv = adv_;
    // The RAM reads the array as it was before this edge's write.
    if (adv) {
      l.rdata = l.read;
      l.read = mem_[(size_t(bank_) << ML) | c.addr[size_t(j)]];
    }
    // Checks, from the registers as they are now.
    const bool above_any = [&] {
      bool a = false;
      for (uint32_t n = 0; n < 4; ++n) {
        if (n == l.from_hi) a = a || bit(l.nib_above, int(n));
        else if (n > l.from_hi) a = a || bit(l.nib_any, int(n));
      }
      return a;
    }();
    const bool early = l.st2 && l.st2_early;
    const bool final_ = l.st2 && l.st2_final;
    const bool left = l.st2 && (l.st2_left || (l.st2_pad && above_any));
    const bool bad_init = l.st2 && l.st2_init && above_any;
    const bool p_zero = l.chk_sum == 0, p_upto16 = l.chk_sum <= 16;
    const bool st2 = l.chk;
    const bool st2_early = l.chk_ended && (p_zero ? false : p_upto16 ? !bit(l.chk_valid, 0) : !bit(l.chk_valid, 1));
    const bool st2_left = l.chk_fin && (!l.chk_ended || (p_zero     ? bit(l.chk_valid, 0)
                                                         : p_upto16 ? bit(l.chk_valid, 1)
                                                                    : bit(l.chk_valid, 2)));
    const bool st2_final = l.chk_fin && l.chk_nz_addr;
    const bool st2_init = l.chk_init;
    const bool st2_pad = l.chk_fin && (l.chk_sum & 15) != 0;
    const uint32_t from_hi = (l.chk_from >> 2) & 3;
    uint32_t nib_any = 0, nib_above = 0;
    for (int n = 0; n < 4; ++n) {
      const uint32_t nib = (l.chk_unit >> (4 * n)) & 15;
      nib_any |= uint32_t(nib != 0) << n;
      nib_above |= uint32_t((nib >> (l.chk_from & 3)) != 0) << n;
    }
    const int ext_ctx = phase_ ? 0 : 1;
    const Buffer& eb = l.buf[size_t(ext_ctx)];
    l.early = early, l.final_ = final_, l.left = left, l.bad_init = bad_init;
    l.st2 = st2, l.st2_early = st2_early, l.st2_left = st2_left, l.st2_final = st2_final;
    l.st2_init = st2_init, l.st2_pad = st2_pad, l.from_hi = from_hi, l.nib_any = nib_any, l.nib_above = nib_above;
    l.chk_init = s_init_;
    l.chk_fin = c.fin[size_t(j)];
    l.chk_ended = eb.ended;
    l.chk_valid = eb.valid & 7;
    l.chk_nz_addr = l.addr != 0;
    l.chk_sum = l.sum;
    l.chk_unit = c.src[size_t(j)];
    l.chk_from = s_init_ ? log_ : l.sum & 15;
    l.chk = adv && c.live[size_t(j)];
    if (adv) {
      const uint32_t sum = l.sum;
      l.addr = c.addr[size_t(j)];
      l.sum = s_beat_ ? l.cur + c.nb[size_t(j)] : 16;
      l.coarse = c.coarse[size_t(j)];
      l.fine = sum & 3;
      l.cur = sum & 15;
    }
    // The state buffers.
    for (int ctx = 0; ctx < 2; ++ctx) {
      Buffer& b = l.buf[size_t(ctx)];
      const Comb::BufComb& bc = c.b[size_t(j)][size_t(ctx)];
      const int s = ctx * K + j;
      const bool last = in.in_last[size_t(s)];
      const bool ended = b.ended;
      const uint8_t v = b.valid;
      const int e = slots_ - 1;
      if (bc.copy) b.data[0] = b.data[1];
      for (int k = 1; k < e; ++k) {
        if (bc.move[size_t(k)]) b.data[size_t(k)] = b.data[size_t(k + 1)];
      }
      if (bc.move[size_t(e)]) b.data[size_t(e)] = in.in_data[size_t(s)];
      const uint8_t below = uint8_t(low_mask(e));
      const bool ok = ended || ((v & below) == below && (bit(v, e) || bc.move[size_t(e)]));
      if (bc.flush) {
        b.valid = 1;
        b.ended = false;
        b.drain = !ended && !(bc.take && last);
      } else {
        uint8_t nv = uint8_t(bc.move[0] ? bit(v, 1) : bit(v, 0));
        for (int k = 1; k < e; ++k) {
          nv |= uint8_t(bc.move[size_t(k)] ? bit(v, k + 1) : (bit(v, k) && !bc.move[size_t(k - 1)])) << k;
        }
        nv |= uint8_t(bc.move[size_t(e)] || (bit(v, e) && !bc.move[size_t(e - 1)])) << e;
        b.valid = nv;
        b.ended = ended || (bc.move[size_t(e)] && last);
        b.drain = b.drain && !(bc.take && last);
      }
      b.ok = ok;
    }
  }
  // The RAM write (every lane's copy), after the reads above.
  if (cfg_we_) mem_[cfg_addr_] = cfg_word_;

  // Old values the sticky error's cause register reads.
  const uint8_t desc_ev = desc_ev_;
  const bool cfg_ev = cfg_ev_;
  const uint32_t loaded_before_cfg = loaded_;

  // Configuration pipeline (each register from the one before it, as it was before this edge)
  {
    const uint32_t ml_mask = uint32_t(low_mask(ML));
    const uint32_t nb = (cfg_in_data_ >> 8) & 15, next_base = (cfg_in_data_ >> 12) & 0xfff, sym = cfg_in_data_ & 0xff;
    const bool ev = cfg_chk_ && cfg_bad_;
    cfg_we_ = cfg_chk_;
    cfg_chk_ = cfg_msk_;
    cfg_msk_ = cfg_in_;
    cfg_in_ = c.cfg_take;
    if (c.cfg_take) loaded_ |= 1u << unsigned(in.cfg_bank);
    cfg_word_ = uint64_t(cfg_bad_ ? 0 : (cfg_pre_ >> (ML + 8)) & 15) << (8 + 2 * ML) |
                uint64_t(cfg_bad_ ? 0 : cfg_mask_) << (8 + ML) | (cfg_pre_ & uint32_t(low_mask(ML + 8)));
    cfg_addr_ = cfg_chk_addr_;
    cfg_bad_ = cfg_big_ || (cfg_base_ & cfg_low_) != 0;
    cfg_mask_ = cfg_low_ & ml_mask;
    cfg_pre_ = cfg_msk_pre_;
    cfg_chk_addr_ = cfg_msk_addr_;
    cfg_big_ = nb > uint32_t(ML) || (next_base >> ML) != 0;
    cfg_base_ = next_base;
    cfg_low_ = ~(0xfffu << nb) & 0xfff;
    cfg_msk_pre_ = nb << (ML + 8) | (next_base & ml_mask) << 8 | sym;
    cfg_msk_addr_ = cfg_in_addr_;
    cfg_in_data_ = in.cfg_data & 0xffffff;
    cfg_in_addr_ = uint32_t(in.cfg_bank) << ML | (in.cfg_addr & ml_mask);
    cfg_ev_ = ev;
  }

  // Sequencer (from the registers as they were before this edge)
  const bool start = c.start;
  const bool taken = st_ == ST_TAKEN;  // the chunk's counters load whether or not n is 0
  const uint32_t st = st_, dec_fin = dec_fin_;
  const bool adv = adv_, phase = phase_, primed = primed_, s_pseudo = s_pseudo_, s_beat = s_beat_;
  const bool any_early = any_early_, any_init = any_init_, any_final = any_final_, any_left = any_left_;
  const uint32_t pend = pend_;
  const uint64_t le = c.le;
  adv_ = c.adv_d;
  phase_ = c.phase_next;
  ready_all_ = c.ready_all_d;
  rem_small_ = taken && K > 1 ? cnt_small() : (rem_ >> lo_bits_) == 0;  // 1 lane: no load (RTL)
  desc_ev_ = start ? c.d_err : uint8_t(pkg::TANS_ERR_NONE);
  if (adv) {
    pend_ = c.next_kind;
    primed_ = !s_pseudo && !s_beat;
    s_pseudo_ = c.next_kind == SL_PSA || c.next_kind == SL_PSB;
    s_beat_ = c.next_kind == SL_BEAT;
    s_init_ = c.next_kind == SL_PRIME || c.next_kind == SL_PSA;
    s_pop0_ = phase ? 0 : c.next_live & ~dec_fin & kmask;
    s_pop1_ = phase ? c.next_live & ~dec_fin & kmask : 0;
    s_fin0_ = phase ? 0 : c.next_live & dec_fin;
    s_fin1_ = phase ? c.next_live & dec_fin : 0;
  }
  abort0_ = c.abort_go ? ~done0_ & kmask : 0;
  abort1_ = c.abort_go ? ~done1_ & kmask : 0;
  done0_ = taken ? 0 : (done0_ | c.flush0) & kmask;
  done1_ = taken ? 0 : (done1_ | c.flush1) & kmask;
  if ((c.push_beat && bit(le, K)) || c.push_empty) last_out_ = true;
  err_early_ = err_early_ || any_early;
  err_final_ = err_final_ || any_final;
  err_left_ = err_left_ || any_left;
  err_init_ = err_init_ || any_init;
  switch (st) {
    case ST_IDLE:
      if (c.desc_take) st_ = ST_TAKEN;
      break;
    case ST_TAKEN:
      st_ = !cnt_nz() ? ST_IDLE : c.d_err != pkg::TANS_ERR_NONE ? ST_ABORT : ST_WAIT;
      wait_ = 2;
      last_out_ = false;
      err_early_ = err_final_ = err_left_ = err_init_ = false;
      break;
    case ST_WAIT:  // the lanes' ready flags take two cycles to show the new chunk
      wait_ = (wait_ - 1) & 3;
      if (wait_ == 0) {  // it was 1
        const bool prime = c.phase_next && primed;
        st_ = ST_RUN;
        pend_ = prime ? SL_PRIME : SL_IDLE;
        s_pseudo_ = s_beat_ = false;
        s_init_ = prime;
        s_pop0_ = prime ? kmask : 0;
        s_pop1_ = s_fin0_ = s_fin1_ = 0;
      }
      break;
    case ST_RUN:
      if (any_early || any_init) st_ = ST_ABORT;
      else if (adv && pend == SL_TAIL) st_ = ST_END;
      end_wait_ = 4;
      break;
    case ST_ABORT:
      if (c.abort_go) st_ = ST_END;
      end_wait_ = 4;
      break;
    default:  // ST_END: the last extraction's checks take five cycles to come through
      if (end_wait_ == 0) st_ = ST_IDLE;
      end_wait_ = (end_wait_ - 1) & 7;
  }
  if (st == ST_WAIT) dec_fin_ = 0;
  else if (adv) dec_fin_ = c.next_fin;
  if (taken) rem_ = cnt_;
  else if (c.push_beat) rem_ = (rem_ - uint64_t(K)) & low_mask(cb_);
  qle_ = c.qle_d;
  if (taken) {
    rle_ = 0;
    for (int b = 0; b < K; ++b) rle_ |= uint32_t((cnt_ & uint64_t(K - 1)) <= uint64_t(b)) << b;
  }
  any_early_ = l_early, any_final_ = l_final, any_left_ = l_left, any_init_ = l_init;

  // Descriptor (taken only in ST_IDLE, so nothing above saw these change). Its tests and count are
  // registered every cycle: they are read only in ST_TAKEN, the cycle after the take.
  {
    const uint64_t count = uint64_t(in.desc.count) & low_mask(p_.count_bits);
    const uint32_t table_log = in.desc.table_log & 15;
    if (c.desc_take) {
      bank_ = in.desc.bank;
      log_ = table_log;
    }
    cnt_ = count & low_mask(cb_);
    const uint64_t low = count & low_mask(p_.chunk_bits);
    cnt_big_ = (count >> p_.chunk_bits) != 0;
    cnt_lo_nz_ = (low & low_mask(lo_bits_)) != 0;
    cnt_mid_z_ = (low >> lo_bits_) == 0;
    log_bad_ = table_log < uint32_t(pkg::TANS_MIN_TABLE_LOG) || table_log > uint32_t(p_.max_table_log);
    no_table_ = !bit(loaded_before_cfg, in.desc.bank);
  }

  // Output register and its skid register
  std::array<uint8_t, 8> new_data{};
  for (int j = 0; j < K; ++j) new_data[size_t(j)] = c.symbol[size_t(j)];
  const bool out_v = out_v_, skid_v = skid_v_;
  if (!out_v || c.take_out) {
    out_data_ = skid_v ? skid_data_ : new_data;
    out_count_ = skid_v ? skid_count_ : c.new_count;
    out_last_ = skid_v ? skid_last_ : c.new_last;
    out_v_ = skid_v || c.push;
    skid_v_ = skid_v && c.push;
  } else if (c.push) {
    skid_v_ = true;
  }
  if (!skid_v || in.out_ready) {  // the skid register's enable (it takes the beat that pushes)
    skid_data_ = new_data;
    skid_count_ = c.new_count;
    skid_last_ = c.new_last;
  }

  // Sticky error: a chunk's verdict, a descriptor's error, a bad table entry, registered once more.
  err_.tick(in.err_clear, ev_);
  ev_ = c.chunk_ev != pkg::TANS_ERR_NONE ? c.chunk_ev
        : desc_ev != pkg::TANS_ERR_NONE  ? desc_ev
        : cfg_ev                         ? uint8_t(pkg::TANS_ERR_BAD_ENTRY)
                                         : uint8_t(pkg::TANS_ERR_NONE);

  if (!in.rst_n) reset_state();
  eval();
}

}  // namespace ws
