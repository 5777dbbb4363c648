// Channel shuffling for 2:4 pruning (E-Sparse section 3.3): spread important channels over the groups
// of 4 so that fewer of them compete for the two places a group keeps.
#include "prune/shuffle.hpp"

#include <algorithm>
#include <stdexcept>

namespace ws {
namespace {

// Sum of the two largest of four values.
inline double top2(double a, double b, double c, double d) {
  double hi1 = std::max(a, b), lo1 = std::min(a, b), hi2 = std::max(c, d), lo2 = std::min(c, d);
  return std::max(hi1, hi2) + std::max(std::min(hi1, hi2), std::max(lo1, lo2));
}

void check_shape(const std::vector<double>& imp, int out, int in) {
  if (out < 0 || in < 0 || in % 4 != 0)
    throw std::invalid_argument("2:4 pruning needs in_features to be a multiple of 4, got " + std::to_string(in));
  if (imp.size() != size_t(out) * size_t(in)) throw std::invalid_argument("importance matrix has the wrong size");
}

// Importance transposed to [channel][row], so a group's four columns are four contiguous rows.
std::vector<double> by_channel(const std::vector<double>& imp, int out, int in) {
  std::vector<double> t(imp.size());
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t c = 0; c < size_t(in); ++c) t[c * size_t(out) + i] = imp[i * size_t(in) + c];
  return t;
}

// Kept importance of one group made of channels c0..c3, summed over rows.
double group_kept(const std::vector<double>& t, int out, int32_t c0, int32_t c1, int32_t c2, int32_t c3) {
  const double *a = &t[size_t(c0) * size_t(out)], *b = &t[size_t(c1) * size_t(out)];
  const double *c = &t[size_t(c2) * size_t(out)], *d = &t[size_t(c3) * size_t(out)];
  double s = 0.0;
  for (int i = 0; i < out; ++i) s += top2(a[i], b[i], c[i], d[i]);
  return s;
}

}  // namespace

const char* shuffle_name(ShuffleMode m) {
  switch (m) {
    case ShuffleMode::none: return "none";
    case ShuffleMode::global: return "global";
    case ShuffleMode::global_local: return "global+local";
  }
  return "?";
}

ShuffleMode parse_shuffle(const std::string& s) {
  if (s == "none") return ShuffleMode::none;
  if (s == "global") return ShuffleMode::global;
  if (s == "global+local") return ShuffleMode::global_local;
  throw std::invalid_argument("unknown shuffle '" + s + "' (none, global, global+local)");
}

std::vector<uint8_t> mask_24(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm) {
  check_shape(imp, out, in);
  std::vector<uint8_t> mask(imp.size(), 0);
  for (size_t i = 0; i < size_t(out); ++i) {
    const double* row = &imp[i * size_t(in)];
    for (size_t g = 0; g < size_t(in); g += 4) {
      double v[4];
      for (size_t r = 0; r < 4; ++r) v[r] = row[perm[g + r]];
      size_t first = 0;  // strictly greater: ties keep the lower column
      for (size_t r = 1; r < 4; ++r)
        if (v[r] > v[first]) first = r;
      size_t second = first == 0 ? 1 : 0;
      for (size_t r = 0; r < 4; ++r)
        if (r != first && v[r] > v[second]) second = r;
      mask[i * size_t(in) + g + first] = 1;
      mask[i * size_t(in) + g + second] = 1;
    }
  }
  return mask;
}

double kept_importance(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm) {
  check_shape(imp, out, in);
  const std::vector<double> t = by_channel(imp, out, in);
  double s = 0.0;
  for (size_t g = 0; g < size_t(in); g += 4) s += group_kept(t, out, perm[g], perm[g + 1], perm[g + 2], perm[g + 3]);
  return s;
}

std::vector<int32_t> global_shuffle(const std::vector<double>& imp, int out, int in) {
  check_shape(imp, out, in);
  std::vector<double> total(size_t(in), 0.0);
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t c = 0; c < size_t(in); ++c) total[c] += imp[i * size_t(in) + c];
  std::vector<int32_t> order = identity_perm(in);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return total[size_t(a)] > total[size_t(b)]; });
  const size_t groups = size_t(in) / 4;
  std::vector<int32_t> perm(static_cast<size_t>(in));
  for (size_t r = 0; r < size_t(in); ++r) perm[4 * (r % groups) + r / groups] = order[r];
  return perm;
}

void local_shuffle(const std::vector<double>& imp, int out, int in, int block, std::vector<int32_t>& perm) {
  check_shape(imp, out, in);
  if (block < 8 || block % 4 != 0) throw std::invalid_argument("local shuffle block must be a multiple of 4, >= 8");
  if (perm.size() != size_t(in)) throw std::invalid_argument("permutation has the wrong size");
  const std::vector<double> t = by_channel(imp, out, in);
  for (size_t b0 = 0; b0 < size_t(in); b0 += size_t(block)) {
    const size_t b1 = std::min(size_t(in), b0 + size_t(block));
    const size_t ng = (b1 - b0) / 4;
    std::vector<double> kept(ng);
    auto eval = [&](const int32_t* p) { return group_kept(t, out, p[0], p[1], p[2], p[3]); };
    for (size_t g = 0; g < ng; ++g) kept[g] = eval(&perm[b0 + 4 * g]);
    // Greedy best-improvement; each applied swap raises the block's kept importance by more than a
    // relative 1e-12, so the loop ends (and float noise cannot make it cycle).
    for (;;) {
      double block_kept = 0.0;
      for (double k : kept) block_kept += k;
      double best_gain = 1e-12 * std::max(block_kept, 1e-300);
      size_t best_a = 0, best_b = 0;
      double best_ka = 0.0, best_kb = 0.0;
      for (size_t ga = 0; ga < ng; ++ga) {
        for (size_t gb = ga + 1; gb < ng; ++gb) {
          int32_t* pa = &perm[b0 + 4 * ga];
          int32_t* pb = &perm[b0 + 4 * gb];
          for (size_t ra = 0; ra < 4; ++ra) {
            for (size_t rb = 0; rb < 4; ++rb) {
              std::swap(pa[ra], pb[rb]);
              double ka = eval(pa), kb = eval(pb);
              std::swap(pa[ra], pb[rb]);
              double gain = ka + kb - kept[ga] - kept[gb];
              if (gain > best_gain) {
                best_gain = gain;
                best_a = b0 + 4 * ga + ra;
                best_b = b0 + 4 * gb + rb;
                best_ka = ka;
                best_kb = kb;
              }
            }
          }
        }
      }
      if (best_a == best_b) break;  // no swap found
      std::swap(perm[best_a], perm[best_b]);
      kept[(best_a - b0) / 4] = best_ka;
      kept[(best_b - b0) / 4] = best_kb;
    }
  }
}

std::vector<int32_t> channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                         int block) {
  check_shape(imp, out, in);
  if (mode == ShuffleMode::none) return identity_perm(in);
  std::vector<int32_t> perm = global_shuffle(imp, out, in);
  if (mode == ShuffleMode::global_local) local_shuffle(imp, out, in, block, perm);
  return perm;
}

}  // namespace ws
