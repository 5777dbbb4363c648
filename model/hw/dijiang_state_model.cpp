#include "hw/dijiang_state_model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "hw/dijiang_feature_map_model.hpp"

namespace ws {
namespace {

// The low `bits` bits of v as a signed value (the RTL's register width).
int64_t wrap_signed(__int128 v, int bits) {
  const unsigned __int128 m = (static_cast<unsigned __int128>(1) << bits) - 1;
  const unsigned __int128 u = static_cast<unsigned __int128>(v) & m;
  const unsigned __int128 sign = static_cast<unsigned __int128>(1) << (bits - 1);
  return int64_t(static_cast<__int128>(u ^ sign) - static_cast<__int128>(sign));
}

constexpr uint32_t kPhiMask = (1u << pkg::DIJ_PHI_BITS) - 1;

}  // namespace

uint32_t dijiang_delta_fixed(float gamma) {
  const double d = std::nearbyint((1.0 - double(gamma)) * std::ldexp(1.0, pkg::DIJ_DELTA_FRAC));
  if (!(d >= pkg::DIJ_DELTA_MIN && d <= pkg::DIJ_DELTA_MAX))
    throw FormatError("DiJiang state: decay " + std::to_string(gamma) +
                      " outside the hardware's 1 - 2^-9 .. 1 - 2^-5");
  return uint32_t(d);
}

std::vector<int64_t> dijiang_state_step(std::vector<int64_t>& s, uint32_t delta, bool clear,
                                        const std::vector<uint32_t>& phi_k, const std::vector<uint32_t>& phi_q,
                                        const std::vector<uint16_t>& v, int d) {
  const size_t n = static_cast<size_t>(d);
  if (d < 1 || s.size() != n * n || phi_k.size() != n || phi_q.size() != n || v.size() != n)
    throw std::invalid_argument("dijiang_state_step: sizes");
  std::vector<int64_t> vf(n), o(n);
  for (size_t j = 0; j < n; ++j) vf[j] = dijiang_x_fixed(v[j], nullptr);
  const int round = pkg::DIJ_PHI_FRAC + pkg::DIJ_S_FRAC - pkg::DIJ_O_FRAC;
  for (size_t j = 0; j < n; ++j) {
    __int128 acc = 0;
    for (size_t i = 0; i < n; ++i) {
      const int64_t old = clear ? 0 : s[i * n + j];
      const __int128 decay = static_cast<__int128>(old) * int64_t(delta & ((1u << pkg::DIJ_P_BITS) - 1));
      const int64_t floor_part = int64_t(decay >> pkg::DIJ_DELTA_FRAC);  // arithmetic shift: the floor
      const int64_t kv = int64_t(phi_k[i] & kPhiMask) * vf[j];
      const int64_t upd = wrap_signed(static_cast<__int128>(old) - floor_part + kv, pkg::DIJ_S_BITS);
      s[i * n + j] = upd;
      acc += static_cast<__int128>(upd) * int64_t(phi_q[i] & kPhiMask);
    }
    o[j] = wrap_signed((acc + (static_cast<__int128>(1) << (round - 1))) >> round, pkg::DIJ_O_BITS);
  }
  return o;
}

DiJiangStateModel::DiJiangStateModel(int head_size, int heads)
    : d_(head_size), heads_(heads), frame_(head_size, run_cycles(head_size)) {
  if (!(d_ == 8 || d_ == 16 || d_ == 32 || d_ == 64) || heads < 1 || heads > 64)
    throw std::invalid_argument("DiJiangStateModel: head size 8, 16, 32 or 64, heads 1 .. 64");
  reset();
}

void DiJiangStateModel::reset() {
  frame_.reset();
  head_ = 0;
  clear_ = false;
  delta_.assign(size_t(heads_), 0);
  loaded_.assign(size_t(heads_), false);
  s_.assign(size_t(heads_), std::vector<int64_t>(size_t(d_) * size_t(d_), 0));
  phi_k_.assign(size_t(d_), 0);
  phi_q_.assign(size_t(d_), 0);
  v_.assign(size_t(d_), 0);
  o_.assign(size_t(d_), 0);
}

void DiJiangStateModel::eval() {
  if (!in.rst_n) reset();
  frame_.outputs(out, in.cfg_valid);
  out.out_data =
      frame_.out_valid() ? uint64_t(o_[size_t(frame_.idx())]) & ((uint64_t(1) << pkg::DIJ_O_BITS) - 1) : 0;
}

void DiJiangStateModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  eval();
  const bool cfg_fire = in.cfg_valid && out.cfg_ready;
  const uint32_t addr = in.cfg_addr & ((1u << pkg::DIJ_CFG_ADDR_BITS) - 1);
  const uint32_t data = in.cfg_data & ((1u << pkg::DIJ_P_BITS) - 1);
  const bool cfg_ok =
      addr < uint32_t(heads_) && data >= uint32_t(pkg::DIJ_DELTA_MIN) && data <= uint32_t(pkg::DIJ_DELTA_MAX);
  if (cfg_fire && cfg_ok) {
    delta_[addr] = data;
    loaded_[addr] = true;
  }
  const int idx = frame_.idx();
  const uint32_t head = idx == 0 ? in.in_head & 63u : head_;
  const bool head_ok = head < uint32_t(heads_) && loaded_[head];
  bool range = false;
  dijiang_x_fixed(in.in_v, &range);
  const uint32_t pk = in.in_phi_k & kPhiMask, pq = in.in_phi_q & kPhiMask;
  const DiJiangFrame::Edge e = frame_.tick(cfg_fire, !cfg_ok, in.in_valid && out.in_ready, head_ok, in.in_last,
                                           range || pk > 65536 || pq > 65536, in.out_ready, in.err_clear);
  if (e.taken) {
    if (idx == 0) {
      head_ = in.in_head & 63u;
      clear_ = in.in_clear;
    }
    phi_k_[size_t(idx)] = pk;
    phi_q_[size_t(idx)] = pq;
    v_[size_t(idx)] = in.in_v;
  }
  if (e.complete) o_ = dijiang_state_step(s_[head_], delta_[head_], clear_, phi_k_, phi_q_, v_, d_);
  eval();
}

}  // namespace ws
