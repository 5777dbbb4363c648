// Integer bit-level fp32 adder and bf16 multiplier (docs/mac_array.md section 2). The RTL modules
// ws_fp32_add and ws_bf16_mul follow the same steps.
#include "hw/mac_arith.hpp"

#include <stdexcept>

namespace ws {
namespace {

constexpr uint32_t kSign = 0x80000000u;
constexpr uint32_t kInf = 0x7F800000u;

bool fp32_is_nan(uint32_t v) { return (v & 0x7FFFFFFFu) > kInf; }
bool fp32_is_inf(uint32_t v) { return (v & 0x7FFFFFFFu) == kInf; }

}  // namespace

uint32_t fp32_add(uint32_t a, uint32_t b) {
  if (fp32_is_nan(a) || fp32_is_nan(b)) return kFp32CanonicalNaN;
  if (fp32_is_inf(a)) return (fp32_is_inf(b) && ((a ^ b) & kSign)) ? kFp32CanonicalNaN : a;
  if (fp32_is_inf(b)) return b;
  // Order by magnitude so that |big| >= |small|; the result takes big's sign.
  uint32_t big = a, small = b;
  if ((b & 0x7FFFFFFFu) > (a & 0x7FFFFFFFu)) { big = b; small = a; }
  const uint32_t sign = big & kSign;
  const bool subtract = ((a ^ b) & kSign) != 0;
  const uint32_t eb = (big >> 23) & 0xFFu, es = (small >> 23) & 0xFFu;
  // Significands with the hidden bit, then 3 extra bits (guard, round, sticky).
  const uint32_t mb = ((eb ? 0x800000u : 0u) | (big & 0x7FFFFFu)) << 3;
  uint32_t ms = ((es ? 0x800000u : 0u) | (small & 0x7FFFFFu)) << 3;
  int e = eb ? int(eb) : 1;  // subnormals use exponent 1 with hidden bit 0
  const int d = e - (es ? int(es) : 1);
  if (d >= 27) {
    ms = ms ? 1u : 0u;  // only the sticky bit survives
  } else if (d > 0) {
    const uint32_t lost = ms & ((1u << d) - 1u);
    ms = (ms >> d) | (lost ? 1u : 0u);
  }
  uint32_t s = subtract ? mb - ms : mb + ms;  // 28 bits at most
  if (s == 0) return subtract ? 0u : sign;   // exact cancellation is +0; -0 + -0 = -0
  if (s & (1u << 27)) {                       // carry out: shift right, keep the sticky bit
    s = (s >> 1) | (s & 1u);
    ++e;
  } else {
    while (!(s & (1u << 26)) && e > 1) {  // normalise, but not below exponent 1 (subnormal)
      s <<= 1;
      --e;
    }
  }
  uint32_t mant = s >> 3;
  const uint32_t rest = s & 7u;
  if (rest > 4u || (rest == 4u && (mant & 1u))) ++mant;
  if (mant & (1u << 24)) {  // rounding carried out of the significand
    mant >>= 1;
    ++e;
  }
  if (e >= 255) return sign | kInf;
  const uint32_t field = (mant & 0x800000u) ? uint32_t(e) : 0u;  // no hidden bit: subnormal
  return sign | (field << 23) | (mant & 0x7FFFFFu);
}

uint32_t bf16_mul(uint16_t a, uint16_t b) {
  const uint32_t sign = uint32_t((a ^ b) & 0x8000u) << 16;
  const uint32_t ea = (a >> 7) & 0xFFu, eb = (b >> 7) & 0xFFu;
  const uint32_t fa = a & 0x7Fu, fb = b & 0x7Fu;
  const bool a_nan = ea == 0xFF && fa, b_nan = eb == 0xFF && fb;
  const bool a_inf = ea == 0xFF && !fa, b_inf = eb == 0xFF && !fb;
  const bool a_zero = ea == 0 && !fa, b_zero = eb == 0 && !fb;
  if (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) return kFp32CanonicalNaN;
  if (a_inf || b_inf) return sign | kInf;
  if (a_zero || b_zero) return sign;
  const uint32_t ma = (ea ? 0x80u : 0u) | fa, mb = (eb ? 0x80u : 0u) | fb;
  uint32_t p = ma * mb;  // exact, non-zero, < 2^16
  int lz = 0;
  while (!(p & 0x8000u)) {
    p <<= 1;
    ++lz;
  }
  // value = p * 2^(Ea + Eb - 268 - lz) with p in [2^15, 2^16): fp32 exponent field below.
  const int e = int(ea ? ea : 1) + int(eb ? eb : 1) - 126 - lz;
  const uint32_t m = p << 8;  // 24-bit significand, hidden bit set
  if (e >= 255) return sign | kInf;
  if (e >= 1) return sign | (uint32_t(e) << 23) | (m & 0x7FFFFFu);
  // Below the normal range: shift right by 1 - e and round to nearest even.
  int shift = 1 - e;
  if (shift > 25) shift = 25;  // everything is below half the smallest subnormal: rounds to 0
  uint32_t mant = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (mant & 1u))) ++mant;
  return sign | mant;  // a carry into bit 23 is exponent field 1, as it should be
}

uint32_t mac_mul(MacMode mode, uint16_t w, uint16_t x) {
  if (mode == MacMode::Bf16) return bf16_mul(w, x);
  return uint32_t(int8_lane(w) * int8_lane(x));
}

uint32_t mac_add(MacMode mode, uint32_t a, uint32_t b) {
  if (mode == MacMode::Bf16) return fp32_add(a, b);
  return a + b;  // unsigned arithmetic: wraps modulo 2^32
}

uint32_t mac_tree(MacMode mode, uint32_t* p, int n) {
  if (n < 1 || (n & (n - 1))) throw std::invalid_argument("mac_tree: n must be a power of two");
  for (; n > 1; n /= 2)
    for (int i = 0; i < n / 2; ++i) p[i] = mac_add(mode, p[2 * i], p[2 * i + 1]);
  return p[0];
}

void MacRowSum::add_beat(uint32_t beat_sum) {
  uint32_t& s = s_[size_t(beats_ % kPartials)];
  s = mac_add(mode_, s, beat_sum);
  ++beats_;
}

uint32_t MacRowSum::result() const {
  std::array<uint32_t, kPartials> t = s_;
  return mac_tree(mode_, t.data(), kPartials);
}

}  // namespace ws
