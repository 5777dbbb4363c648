// The harness of the Verilator + GoogleTest benches: random valid and ready patterns and a scoreboard,
// beside the environment (ws_env.hpp: TB_SEED, WS_DEPTH, data paths, TRACE=1 waveforms), whose
// names it brings into namespace tb. One Verilated top: verilated_dut.hpp.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <sstream>
#include <string>

#include "ws_env.hpp"

namespace tb {

using wsenv::data_path;
using wsenv::depth;
using wsenv::long_run;
using wsenv::minilm_path;
using wsenv::seed;
using wsenv::seed_text;
using wsenv::stories_path;
using wsenv::waves_path;

class Rng {
 public:
  explicit Rng(uint64_t s) : g_(s) {}
  uint64_t next() { return g_(); }
  // Uniform in [lo, hi].
  uint64_t range(uint64_t lo, uint64_t hi) {
    return lo + std::uniform_int_distribution<uint64_t>(0, hi - lo)(g_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g_) < p; }
  double real() { return std::uniform_real_distribution<double>(0, 1)(g_); }
  std::mt19937_64& engine() { return g_; }

 private:
  std::mt19937_64 g_;
};

// When a source offers a beat (valid gaps) or a sink takes one (ready backpressure).
class Pattern {
 public:
  enum Kind { Always, Random, Bursty };
  Pattern() = default;
  Pattern(Kind k, double p) : kind_(k), p_(p) {}
  static Pattern always() { return Pattern(Always, 1.0); }
  // Always, random with p in [0.2, 0.9], or bursts (mean on/off lengths from 1 to 16).
  static Pattern pick(Rng& r) {
    switch (r.range(0, 2)) {
      case 0:
        return always();
      case 1:
        return Pattern(Random, 0.2 + 0.7 * r.real());
      default:
        return Pattern(Bursty, 0.2 + 0.7 * r.real());
    }
  }
  bool next(Rng& r) {
    switch (kind_) {
      case Always:
        return true;
      case Random:
        return r.chance(p_);
      case Bursty:
        if (left_ == 0) {
          on_ = !on_;
          left_ = r.range(1, on_ ? uint64_t(2 + 30 * p_) : uint64_t(2 + 30 * (1 - p_)));
        }
        --left_;
        return on_;
    }
    return true;
  }
  std::string describe() const {
    std::ostringstream o;
    o << (kind_ == Always ? "always" : kind_ == Random ? "random" : "bursty") << "(" << p_ << ")";
    return o.str();
  }

 private:
  Kind kind_ = Always;
  double p_ = 1.0;
  bool on_ = false;
  uint64_t left_ = 0;
};

// Expected transfers in order; check() pops the oldest. The owner must see empty() at the end.
template <class T>
class Scoreboard {
 public:
  void push(const T& t) { q_.push_back(t); }
  bool empty() const { return q_.empty(); }
  size_t size() const { return q_.size(); }
  const T& front() const { return q_.front(); }
  T pop() {
    T t = q_.front();
    q_.pop_front();
    return t;
  }

 private:
  std::deque<T> q_;
};

}  // namespace tb
