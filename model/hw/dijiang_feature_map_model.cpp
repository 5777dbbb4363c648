#include "hw/dijiang_feature_map_model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace ws {
namespace {

constexpr int kEntries = 1 << pkg::DIJ_EXP_INDEX_BITS;
constexpr uint32_t kMaxEntry = 1u << 16;  // T[0]: 1.0 with 16 fraction bits
constexpr int kQuotBits = pkg::DIJ_RECIP_LOG - 15;  // 18: the sum is at least 2^16 with a real table
constexpr int64_t kSat = (int64_t(1) << (pkg::DIJ_X_BITS - 1)) - 1;

int log2_exact(int v) {
  int b = 0;
  while ((1 << b) < v) ++b;
  return b;
}

// The busy phases' cycles: PROD (d^2 / lanes + 5), MAX (d + 1), EXP (d + 3), DIV (18), NORM (d + 3).
int feature_map_busy(int d, int lanes) {
  return d * d / (lanes > 0 ? lanes : 1) + 5 + (d + 1) + (d + 3) + kQuotBits + (d + 3);
}

bool valid_shape(int d, int lanes) {
  return (d == 8 || d == 16 || d == 32 || d == 64) && lanes >= 1 && lanes <= d && (lanes & (lanes - 1)) == 0;
}

int32_t sign_extend(uint32_t v, int bits) {
  const uint32_t m = 1u << (bits - 1);
  v &= (1u << bits) - 1;
  return int32_t(v ^ m) - int32_t(m);
}

}  // namespace

int32_t dijiang_x_fixed(uint16_t h, bool* range_error) {
  const int e = (h >> 7) & 0xFF;
  const uint32_t m = 0x80u | (h & 0x7Fu);
  const bool range = e >= 136;  // 2^9 and above, infinities and NaNs
  int64_t mag = 0;
  if (range) {
    mag = kSat;
  } else if (e >= 126) {
    mag = int64_t(m) << (e - 126);
  } else if (e >= 118) {  // right shifts of 1 .. 8, rounded to nearest even; smaller values give 0
    const int sh = 126 - e;
    const uint32_t rem = m & ((1u << sh) - 1), half = 1u << (sh - 1);
    mag = m >> sh;
    if (rem > half || (rem == half && (mag & 1))) ++mag;
  }
  if (range_error) *range_error = range;
  return int32_t((h & 0x8000) ? -mag : mag);
}

std::vector<uint32_t> dijiang_exp_table() {
  std::vector<uint32_t> t(kEntries);
  for (int r = 0; r < kEntries; ++r) t[size_t(r)] = uint32_t(std::llround(std::exp2(16.0 - r / 256.0)));
  return t;
}

std::vector<int32_t> dijiang_projection_fixed(const std::vector<float>& p, int d) {
  if (d < 1 || p.size() != size_t(d) * size_t(d)) throw std::invalid_argument("dijiang_projection_fixed: P must be d x d");
  const double scale = std::ldexp(1.0 / std::log(2.0), pkg::DIJ_P_FRAC);  // log2(e) 2^12
  std::vector<int32_t> q(p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const double v = std::nearbyint(double(p[k]) * scale);  // the default rounding: to nearest even
    if (!(std::fabs(v) <= double((1 << (pkg::DIJ_P_BITS - 1)) - 1)))
      throw FormatError("DiJiang feature map: P[" + std::to_string(k / size_t(d)) + "][" +
                        std::to_string(k % size_t(d)) + "] = " + std::to_string(p[k]) +
                        " does not fit the hardware's 18-bit P' (|P| < 22)");
    q[k] = int32_t(v);
  }
  return q;
}

std::vector<uint32_t> dijiang_features(const std::vector<int32_t>& p, const std::vector<uint32_t>& table, int d,
                                       const std::vector<uint16_t>& x) {
  if (d < 1 || p.size() != size_t(d) * size_t(d) || table.size() != size_t(kEntries) || x.size() != size_t(d))
    throw std::invalid_argument("dijiang_features: sizes");
  const int round_bits = pkg::DIJ_X_FRAC + pkg::DIJ_P_FRAC - pkg::DIJ_EXP_INDEX_BITS;
  const size_t n_feat = static_cast<size_t>(d);
  std::vector<int64_t> f(n_feat), xf(n_feat);
  for (int i = 0; i < d; ++i) xf[size_t(i)] = dijiang_x_fixed(x[size_t(i)], nullptr);
  for (int j = 0; j < d; ++j) {
    int64_t acc = 0;  // exact: 36-bit products, d of them
    for (int i = 0; i < d; ++i) acc += xf[size_t(i)] * int64_t(p[size_t(i) * size_t(d) + size_t(j)]);
    f[size_t(j)] = (acc + (int64_t(1) << (round_bits - 1))) >> round_bits;  // floor: arithmetic shift
  }
  int64_t m = f[0];
  for (int64_t v : f) m = v > m ? v : m;
  std::vector<uint32_t> e(n_feat);
  uint64_t sum = 0;
  for (int j = 0; j < d; ++j) {
    const int64_t t = m - f[size_t(j)];
    const int64_t n = t >> pkg::DIJ_EXP_INDEX_BITS;
    e[size_t(j)] = n > 16 ? 0 : (table[size_t(t & (kEntries - 1))] & ((1u << pkg::DIJ_EXP_BITS) - 1)) >> n;
    sum += e[size_t(j)];
  }
  // Restoring division as the RTL runs it, with its register widths.
  const int sum_bits = pkg::DIJ_EXP_BITS + log2_exact(d);
  const uint64_t mask = (uint64_t(1) << sum_bits) - 1;
  uint64_t rem = uint64_t(1) << (pkg::DIJ_RECIP_LOG - kQuotBits), quot = 0;
  for (int b = 0; b < kQuotBits; ++b) {
    const uint64_t rem2 = rem << 1;
    const bool bit = rem2 >= sum;
    rem = (bit ? rem2 - sum : rem2) & mask;
    quot = quot << 1 | uint64_t(bit);
  }
  const uint64_t recip = (quot >> (kQuotBits - 1)) & 1 ? (uint64_t(1) << 17) - 1 : quot;
  std::vector<uint32_t> phi(n_feat);
  for (int j = 0; j < d; ++j)
    phi[size_t(j)] = uint32_t(((uint64_t(e[size_t(j)]) * recip + (uint64_t(1) << 16)) >> 17) &
                              ((1u << pkg::DIJ_PHI_BITS) - 1));
  return phi;
}

DiJiangFeatureMapModel::DiJiangFeatureMapModel(int head_size, int lanes)
    : d_(head_size), lanes_(lanes), frame_(head_size, feature_map_busy(head_size, lanes)) {
  if (!valid_shape(head_size, lanes))
    throw std::invalid_argument("DiJiangFeatureMapModel: head size 8, 16, 32 or 64 and lanes a power of 2 up to it");
  reset();
}

void DiJiangFeatureMapModel::reset() {
  frame_.reset();
  p_next_ = t_next_ = 0;
  p_.assign(size_t(d_) * size_t(d_), 0);
  table_.assign(size_t(kEntries), 0);
  x_.assign(size_t(d_), 0);
  phi_.assign(size_t(d_), 0);
}

int DiJiangFeatureMapModel::busy_cycles() const { return feature_map_busy(d_, lanes_); }

bool DiJiangFeatureMapModel::loaded() const { return p_next_ == d_ * d_ && t_next_ == kEntries; }

void DiJiangFeatureMapModel::eval() {
  if (!in.rst_n) reset();  // asynchronous reset
  frame_.outputs(out, in.cfg_valid);
  out.out_data = frame_.out_valid() ? phi_[size_t(frame_.idx())] : 0;
}

void DiJiangFeatureMapModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  eval();
  // Configuration: each region in address order from its first address.
  const bool cfg_fire = in.cfg_valid && out.cfg_ready;
  bool cfg_bad = false;
  if (cfg_fire) {
    const uint32_t addr = in.cfg_addr & ((1u << pkg::DIJ_CFG_ADDR_BITS) - 1);
    const uint32_t data = in.cfg_data & ((1u << pkg::DIJ_P_BITS) - 1);
    const uint32_t t_off = addr - uint32_t(pkg::DIJ_CFG_EXP_BASE);
    if (addr < uint32_t(d_ * d_)) {
      const bool ok = addr == 0 || addr == uint32_t(p_next_);
      if (ok) p_[addr] = sign_extend(data, pkg::DIJ_P_BITS);
      p_next_ = ok ? int(addr) + 1 : 0;
      cfg_bad = !ok;
    } else if (addr >= uint32_t(pkg::DIJ_CFG_EXP_BASE) && t_off < uint32_t(kEntries)) {
      const bool ok = (t_off == 0 || t_off == uint32_t(t_next_)) && data <= kMaxEntry;
      if (ok) table_[t_off] = data;
      t_next_ = ok ? int(t_off) + 1 : 0;
      cfg_bad = !ok;
    } else {
      cfg_bad = true;
    }
  }
  bool range = false;
  dijiang_x_fixed(in.in_data, &range);
  const int idx = frame_.idx();
  const DiJiangFrame::Edge e = frame_.tick(cfg_fire, cfg_bad, in.in_valid && out.in_ready, loaded(), in.in_last,
                                           range, in.out_ready, in.err_clear);
  if (e.taken) x_[size_t(idx)] = in.in_data;
  if (e.complete) phi_ = dijiang_features(p_, table_, d_, x_);
  eval();
}

}  // namespace ws
