// Functional and cycle models of the 2:4 sparse and the dense MAC arrays (docs/mac_array.md).
#include "hw/mac_array_model.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ws {
namespace {

int log2_exact(int v) {
  int k = 0;
  while ((1 << k) < v) ++k;
  return k;
}
bool is_pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

int MacArrayParams::k_bits() const { return log2_exact(max_k); }

// Cycles from accepting a row's last beat (cycle t) to its result's push, as ws_mac_ctrl counts
// them: S1, S2 (the column RAMs' read), S3 (the select), the multipliers, the tree levels, the
// partial sum's read (MAC_ACC_READ_STAGES) and adder (the row's end, ToWrite), then the combine's 8 pair reads and its
// four levels (ToPush).
int MacArrayParams::result_latency() const {
  const int add = pkg::MAC_ADD_STAGES, mul = pkg::MAC_MUL_STAGES;
  const int to_write = 3 + mul + add * log2_exact(lanes()) + pkg::MAC_ACC_READ_STAGES - 1 + add;
  const int to_push = 9 + 4 * add;
  return to_write + to_push;
}

void MacArrayParams::check() const {
  if (rows < 1 || !is_pow2(groups_per_cycle) || !is_pow2(max_k) || max_k < 2 * cols_per_beat() || max_k > 8192)
    throw std::invalid_argument("MacArrayParams: need rows >= 1, GroupsPerCycle and MaxK powers of two, "
                                "MaxK from twice the columns per beat to 8192");
}

uint32_t mac_ctrl_word(MacMode mode, int row_beats) {
  return uint32_t(pkg::mac_ctrl_t::row_beats.put(uint64_t(row_beats)) | pkg::mac_ctrl_t::mode.put(uint64_t(mode)));
}

uint32_t mac_perm_addr(const MacArrayParams& p, int j) { return (1u << p.k_bits()) | uint32_t(j); }

void bits_put(Bits& v, int lsb, int width, uint32_t value) {
  for (int i = 0; i < width; ++i) {
    const int b = lsb + i;
    if (size_t(b / 32) >= v.size()) v.resize(size_t(b / 32) + 1, 0);
    const uint32_t m = 1u << (b % 32);
    v[size_t(b / 32)] = ((value >> i) & 1u) ? (v[size_t(b / 32)] | m) : (v[size_t(b / 32)] & ~m);
  }
}

uint32_t bits_get(const Bits& v, int lsb, int width) {
  uint32_t r = 0;
  for (int i = 0; i < width; ++i) {
    const int b = lsb + i;
    if (size_t(b / 32) < v.size() && ((v[size_t(b / 32)] >> (b % 32)) & 1u)) r |= 1u << i;
  }
  return r;
}

std::vector<uint32_t> sparse_matvec(const Sparse24& layer, const std::vector<uint16_t>& x, MacMode mode,
                                    int groups_per_cycle) {
  validate_sparse24(layer);
  const int cols_per_beat = 4 * groups_per_cycle;
  if (!is_pow2(groups_per_cycle) || layer.cols % cols_per_beat != 0 || x.size() != size_t(layer.cols))
    throw std::invalid_argument("sparse_matvec: columns must fill whole beats and x must have cols entries");
  std::vector<uint32_t> y(static_cast<size_t>(layer.rows));
  std::vector<uint32_t> p(static_cast<size_t>(2 * groups_per_cycle));
  for (int r = 0; r < layer.rows; ++r) {
    MacRowSum row(mode);
    for (int b = 0; b < layer.cols / cols_per_beat; ++b) {
      for (int g = 0; g < groups_per_cycle; ++g) {
        const int group = b * groups_per_cycle + g;
        const uint8_t m = layer.meta_at(r, group);
        p[size_t(2 * g)] = mac_mul(mode, layer.value(r, group, 0), x[size_t(layer.perm[size_t(4 * group + sparse24_idx0(m))])]);
        p[size_t(2 * g + 1)] = mac_mul(mode, layer.value(r, group, 1), x[size_t(layer.perm[size_t(4 * group + sparse24_idx1(m))])]);
      }
      row.add_beat(mac_tree(mode, p.data(), int(p.size())));
    }
    y[size_t(r)] = row.result();
  }
  return y;
}

std::vector<uint32_t> dense_matvec(const std::vector<uint16_t>& w, int rows, int cols,
                                   const std::vector<uint16_t>& x, MacMode mode, int lanes) {
  if (!is_pow2(lanes) || rows < 0 || cols < 0 || cols % lanes != 0 || w.size() != size_t(rows) * cols ||
      x.size() != size_t(cols))
    throw std::invalid_argument("dense_matvec: columns must fill whole beats and the sizes must match");
  std::vector<uint32_t> y(static_cast<size_t>(rows));
  std::vector<uint32_t> p(static_cast<size_t>(lanes));
  for (int r = 0; r < rows; ++r) {
    MacRowSum row(mode);
    for (int b = 0; b < cols / lanes; ++b) {
      for (int l = 0; l < lanes; ++l) {
        const size_t j = size_t(b * lanes + l);
        p[size_t(l)] = mac_mul(mode, w[size_t(r) * cols + j], x[j]);
      }
      row.add_beat(mac_tree(mode, p.data(), lanes));
    }
    y[size_t(r)] = row.result();
  }
  return y;
}

std::vector<Bits> sparse_weight_beats(const Sparse24& layer, const MacArrayParams& p) {
  using G36 = pkg::sparse_group_t;
  const int G = p.groups_per_cycle;
  if (p.kind != MacArrayKind::Sparse || layer.rows % p.rows != 0 || layer.cols % p.cols_per_beat() != 0)
    throw std::invalid_argument("sparse_weight_beats: layer shape does not fill whole row blocks and beats");
  std::vector<Bits> beats;
  for (int rb = 0; rb < layer.rows / p.rows; ++rb)
    for (int b = 0; b < layer.cols / p.cols_per_beat(); ++b) {
      Bits v(size_t((p.weight_bits() + 31) / 32), 0);
      for (int r = 0; r < p.rows; ++r)
        for (int g = 0; g < G; ++g) {
          const int row = rb * p.rows + r, group = b * G + g, at = (r * G + g) * G36::BITS;
          bits_put(v, at + G36::v0.lsb, G36::v0.bits, layer.value(row, group, 0));
          bits_put(v, at + G36::v1.lsb, G36::v1.bits, layer.value(row, group, 1));
          bits_put(v, at + G36::meta.lsb, G36::meta.bits, layer.meta_at(row, group));
        }
      beats.push_back(v);
    }
  return beats;
}

std::vector<Bits> dense_weight_beats(const std::vector<uint16_t>& w, int rows, int cols, const MacArrayParams& p) {
  const int L = p.lanes();
  if (p.kind != MacArrayKind::Dense || rows % p.rows != 0 || cols % L != 0 || w.size() != size_t(rows) * cols)
    throw std::invalid_argument("dense_weight_beats: matrix shape does not fill whole row blocks and beats");
  std::vector<Bits> beats;
  for (int rb = 0; rb < rows / p.rows; ++rb)
    for (int b = 0; b < cols / L; ++b) {
      Bits v(size_t((p.weight_bits() + 31) / 32), 0);
      for (int r = 0; r < p.rows; ++r)
        for (int l = 0; l < L; ++l)
          bits_put(v, (r * L + l) * 16, 16, w[size_t(rb * p.rows + r) * cols + size_t(b * L + l)]);
      beats.push_back(v);
    }
  return beats;
}

// ---------------------------------------------------------------------------------------------
// Cycle model. State names follow ws_mac_ctrl's registers; tick() computes every next value from
// the current state, as the flip-flops do at one rising edge.

MacArrayModel::MacArrayModel(const MacArrayParams& p) : p_(p) {
  p_.check();
  // Block RAM contents are not reset; Verilator starts them at zero, and so does the model.
  for (auto& b : xbuf_) b.assign(size_t(p_.max_k), 0);
  table_.assign(size_t(p_.max_k), 0);
  reset();
  eval();
}

void MacArrayModel::reset() {
  cycle_ = 0;
  mode_bf16_ = false;
  row_beats_ = 1;
  cfg_q_ = CfgWrite{};
  init_count_ = 0;
  init_done_ = p_.kind == MacArrayKind::Dense;
  in_vector_ = false;
  act_ptr_ = load_bank_ = 0;
  loaded_ = {};
  pending_ = {};
  bank_bf16_ = {};
  bank_rb_ = {{1, 1}};
  a_ = {};
  a5_last_ = false;
  a5_bank_ = 0;
  stream_bank_ = beat_ = out_count_ = pace_ = 0;
  pop_q_ = false;
  rows_.clear();
  in_flight_.clear();
  queue_.clear();
  out_valid_ = out_last_ = false;
  out_data_.assign(size_t(p_.rows), 0);
  err_.reset();
  cause_q_ = 0;
}

bool MacArrayModel::idle() const {
  bool loading = a5_last_;
  for (const Load& a : a_) loading = loading || a.valid;
  return !loading && in_flight_.empty() && queue_.empty() && !out_valid_;
}

void MacArrayModel::eval() {
  if (!in.rst_n) reset();  // asynchronous reset
  // A result taken frees its credit for w_ready one cycle after the cycle it leaves (pop_q_).
  const bool credit_ok = out_count_ + (pop_q_ ? 1 : 0) != MacArrayParams::kQueueDepth + 1, pace_ok = pace_ == 0;
  out.cfg_ready = init_done_ && !in_vector_ && !a_[1].valid;
  out.act_ready = init_done_ && !loaded_[size_t(load_bank_)] && !pending_[size_t(load_bank_)] && !in.cfg_valid;
  out.w_ready = loaded_[size_t(stream_bank_)] && (!(row_end() || in.w_last) || (credit_ok && pace_ok));
  out.out_valid = out_valid_;
  out.out_data = out_data_;
  out.out_last = out_last_;
  out.err = err_.err;
  out.err_cause = err_.cause;
}

std::vector<uint32_t> MacArrayModel::beat_sums(const Bits& w) const {
  using G36 = pkg::sparse_group_t;
  const int G = p_.groups_per_cycle, L = p_.lanes();
  const MacMode mode = bank_bf16_[size_t(stream_bank_)] ? MacMode::Bf16 : MacMode::Int8;
  const std::vector<uint16_t>& x = xbuf_[size_t(stream_bank_)];
  const size_t base = size_t(beat_) * size_t(p_.cols_per_beat());
  std::vector<uint32_t> sums(static_cast<size_t>(p_.rows));
  std::vector<uint32_t> prod(static_cast<size_t>(L));
  for (int r = 0; r < p_.rows; ++r) {
    for (int l = 0; l < L; ++l) {
      uint16_t wv, xv;
      if (p_.kind == MacArrayKind::Sparse) {
        const int g = l / 2, slot = l % 2, at = (r * G + g) * G36::BITS;
        wv = uint16_t(bits_get(w, at + (slot ? G36::v1.lsb : G36::v0.lsb), 16));
        const uint32_t meta = bits_get(w, at + G36::meta.lsb, G36::meta.bits);
        // The RTL selects with the nibble as it is, valid or not; so does the model.
        const int idx = slot ? int(meta >> 2) : int(meta & 3u);
        xv = x[base + size_t(4 * g + idx)];
      } else {
        wv = uint16_t(bits_get(w, (r * L + l) * 16, 16));
        xv = x[base + size_t(l)];
      }
      prod[size_t(l)] = mac_mul(mode, wv, xv);
    }
    sums[size_t(r)] = mac_tree(mode, prod.data(), L);
  }
  return sums;
}

void MacArrayModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  using G36 = pkg::sparse_group_t;
  eval();  // the readies of this cycle
  const bool sparse = p_.kind == MacArrayKind::Sparse;
  const int kb = p_.k_bits(), cols = p_.cols_per_beat();
  const bool cfg_fire = in.cfg_valid && out.cfg_ready;
  const bool act_fire = in.act_valid && out.act_ready;
  const bool w_fire = in.w_valid && out.w_ready;
  const bool row_fire = w_fire && (row_end() || in.w_last);
  const bool pop = out_valid_ && in.out_ready;
  uint8_t cause = pkg::MAC_ERR_NONE;  // lowest code of this cycle wins
  auto raise = [&](uint8_t c) {
    if (cause == pkg::MAC_ERR_NONE || c < cause) cause = c;
  };

  // Configuration: a write is checked in its cycle and takes effect one cycle later (the RTL's
  // registered write strobes, ctrl_we_q and the table's write port); the table's sweep after reset.
  const CfgWrite cfg_now = cfg_q_;
  cfg_q_ = CfgWrite{};
  if (cfg_fire) {
    const uint32_t j = in.cfg_addr & ((1u << kb) - 1u);
    if ((in.cfg_addr >> kb) & 1u) {
      if (!sparse || in.cfg_data >= uint32_t(p_.max_k))
        raise(pkg::MAC_ERR_CONFIG);
      else
        cfg_q_ = CfgWrite{false, true, in.cfg_data, j};  // perm[j] = i: column j reads x[i]
    } else {
      const uint32_t rb = uint32_t(pkg::mac_ctrl_t::row_beats.get(in.cfg_data));
      if (j != 0 || rb == 0 || rb > uint32_t(p_.max_row_beats()))
        raise(pkg::MAC_ERR_CONFIG);
      else
        cfg_q_ = CfgWrite{true, false, in.cfg_data, 0};
    }
  }
  if (!init_done_) {
    table_[size_t(init_count_)] = uint32_t(init_count_);
    init_done_ = init_count_ == p_.max_k - 1;
    ++init_count_;
  }

  // Activations: the loading pipeline moves one stage (A1 reads the table, A4 writes the bank, A5
  // makes a vector's bank readable).
  if (a5_last_) {
    loaded_[size_t(a5_bank_)] = true;
    pending_[size_t(a5_bank_)] = false;
  }
  a5_last_ = a_[4].valid && a_[4].last;
  a5_bank_ = a_[4].bank;
  if (a_[4].valid) xbuf_[size_t(a_[4].bank)][a_[4].col] = a_[4].data;
  a_[4] = a_[3];
  a_[3] = a_[2];
  a_[2] = a_[1];
  a_[2].col = sparse ? table_[a_[1].ptr] : a_[1].ptr;
  if (cfg_now.perm) table_[cfg_now.data] = cfg_now.col;  // never the address A1 reads now
  a_[1] = Load{};
  if (act_fire) {
    a_[1] = Load{true, in.act_last, load_bank_, uint32_t(act_ptr_), 0, in.act_data};
    const bool overflow = !in.act_last && act_ptr_ == p_.max_k - 1;
    const bool short_vector = in.act_last && act_ptr_ + 1 != row_beats_ * cols;
    if (overflow || short_vector) raise(pkg::MAC_ERR_ACT);
    act_ptr_ = (in.act_last || overflow) ? 0 : act_ptr_ + 1;
    in_vector_ = !in.act_last;
    if (in.act_last) {  // the bank takes the vector's configuration and fills up
      pending_[size_t(load_bank_)] = true;
      bank_bf16_[size_t(load_bank_)] = mode_bf16_;
      bank_rb_[size_t(load_bank_)] = row_beats_;
      load_bank_ ^= 1;
    }
  }

  // A CTRL write of the cycle before: a vector that ends in this cycle took the CTRL before it.
  if (cfg_now.ctrl) {
    mode_bf16_ = pkg::mac_ctrl_t::mode.get(cfg_now.data) == pkg::MAC_BF16;
    row_beats_ = int(pkg::mac_ctrl_t::row_beats.get(cfg_now.data));
  }

  // Weights: a row's value is known when its last beat is accepted; it enters the queue later.
  if (w_fire) {
    if (sparse)
      for (int k = 0; k < p_.rows * p_.groups_per_cycle; ++k)
        if (!sparse24_meta_valid(uint8_t(bits_get(in.w_data, k * G36::BITS + G36::meta.lsb, G36::meta.bits))))
          raise(pkg::MAC_ERR_META);
    if (in.w_last && !row_end()) raise(pkg::MAC_ERR_FRAME);
    const MacMode mode = bank_bf16_[size_t(stream_bank_)] ? MacMode::Bf16 : MacMode::Int8;
    if (beat_ == 0) rows_.assign(size_t(p_.rows), MacRowSum(mode));
    const std::vector<uint32_t> sums = beat_sums(in.w_data);
    for (int r = 0; r < p_.rows; ++r) rows_[size_t(r)].add_beat(sums[size_t(r)]);
    if (row_fire) {
      Result res{cycle_ + uint64_t(p_.result_latency()), {}, in.w_last};
      for (const MacRowSum& row : rows_) res.y.push_back(row.result());
      in_flight_.push_back(res);
    }
    beat_ = row_fire ? 0 : beat_ + 1;
    if (in.w_last) {
      loaded_[size_t(stream_bank_)] = false;
      stream_bank_ ^= 1;
    }
  }
  out_count_ += (row_fire ? 1 : 0) - (pop ? 1 : 0);
  pop_q_ = pop;
  pace_ = row_fire ? MacArrayParams::kRowPace - 1 : std::max(pace_ - 1, 0);

  // The result queue: the output register takes the oldest entry when free; then this cycle's push.
  if (!queue_.empty() && (!out_valid_ || in.out_ready)) {
    out_valid_ = true;
    out_data_ = queue_.front().y;
    out_last_ = queue_.front().last;
    queue_.pop_front();
  } else if (in.out_ready) {
    out_valid_ = false;
  }
  if (!in_flight_.empty() && in_flight_.front().cycle == cycle_) {
    queue_.push_back(in_flight_.front());
    in_flight_.pop_front();
  }

  err_.tick(in.err_clear, cause_q_);
  cause_q_ = cause;
  ++cycle_;
  eval();
}

}  // namespace ws
