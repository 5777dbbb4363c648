// N:M selection and channel shuffling (E-Sparse section 3.3): spread important channels over the groups
// of m so that fewer of them compete for the n places a group keeps.
#include "prune/shuffle.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace ws {
namespace {

// Sum of the two largest of four values.
inline double top2(double a, double b, double c, double d) {
  double hi1 = std::max(a, b), lo1 = std::min(a, b), hi2 = std::max(c, d), lo2 = std::min(c, d);
  return std::max(hi1, hi2) + std::max(std::min(hi1, hi2), std::max(lo1, lo2));
}

constexpr int kMaxGroup = 8;  // the largest m parse_pattern accepts

void check_pattern(NmPattern p) {
  if (p.m < 2 || p.m > kMaxGroup || p.n < 1 || p.n >= p.m)
    throw std::invalid_argument("N:M pattern " + pattern_name(p) + " is not supported (2:4, 4:8)");
}

void check_shape(const std::vector<double>& imp, int out, int in, NmPattern p) {
  check_pattern(p);
  if (out < 0 || in < 0 || in % p.m != 0)
    throw std::invalid_argument(pattern_name(p) + " pruning needs in_features to be a multiple of " +
                                std::to_string(p.m) + ", got " + std::to_string(in));
  if (imp.size() != size_t(out) * size_t(in)) throw std::invalid_argument("importance matrix has the wrong size");
}

// Importance transposed to [channel][row], so a group's m columns are m contiguous rows.
std::vector<double> by_channel(const std::vector<double>& imp, int out, int in) {
  std::vector<double> t(imp.size());
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t c = 0; c < size_t(in); ++c) t[c * size_t(out) + i] = imp[i * size_t(in) + c];
  return t;
}

// Kept importance of one group made of channels ch[0 .. m-1], summed over rows.
double group_kept(const std::vector<double>& t, int out, const int32_t* ch, NmPattern p) {
  const double* col[kMaxGroup];
  for (int r = 0; r < p.m; ++r) col[r] = &t[size_t(ch[r]) * size_t(out)];
  double s = 0.0;
  if (p.n == 2 && p.m == 4) {  // the common case, without the sort
    for (int i = 0; i < out; ++i) s += top2(col[0][i], col[1][i], col[2][i], col[3][i]);
    return s;
  }
  double v[kMaxGroup];
  for (int i = 0; i < out; ++i) {
    for (int r = 0; r < p.m; ++r) v[r] = col[r][i];
    std::partial_sort(v, v + p.n, v + p.m, std::greater<double>());
    for (int r = 0; r < p.n; ++r) s += v[r];
  }
  return s;
}

// What a swap's gain needs of one group, per member r and row i. Replacing member r (value v) by u
// changes the row's kept sum by max(u, (n+1)-th largest) - v when r is kept (by the mask's rank), else
// by max(u, n-th largest) - n-th: both max(u, c) - d, so the sum over rows has no branch.
struct GroupRows {
  std::vector<double> c;  // [member][row]
  std::vector<double> d_sum;  // [member]: d summed over the rows
};

GroupRows group_rows(const std::vector<double>& t, int out, const int32_t* ch, NmPattern p) {
  const size_t rows = size_t(out);
  GroupRows g;
  g.c.resize(size_t(p.m) * rows);
  g.d_sum.assign(size_t(p.m), 0.0);
  int order[kMaxGroup];
  double v[kMaxGroup];
  for (size_t i = 0; i < rows; ++i) {
    for (int r = 0; r < p.m; ++r) {
      v[r] = t[size_t(ch[r]) * rows + i];
      order[r] = r;
    }
    // Descending, ties to the lower member: the mask's order.
    std::stable_sort(order, order + p.m, [&](int a, int b) { return v[a] > v[b]; });
    const double nth = v[order[p.n - 1]], next = v[order[p.n]];
    for (int k = 0; k < p.m; ++k) {
      const size_t r = size_t(order[k]);
      const bool kept = k < p.n;
      g.c[r * rows + i] = kept ? next : nth;
      g.d_sum[r] += kept ? v[r] : nth;
    }
  }
  return g;
}

}  // namespace

std::string pattern_name(NmPattern p) { return std::to_string(p.n) + ":" + std::to_string(p.m); }

NmPattern parse_pattern(const std::string& s) {
  if (s == "2:4") return {2, 4};
  if (s == "4:8") return {4, 8};
  throw std::invalid_argument("unknown N:M pattern '" + s + "' (2:4, 4:8)");
}

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

std::vector<uint8_t> nm_mask(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm,
                             NmPattern p) {
  check_shape(imp, out, in, p);
  std::vector<uint8_t> mask(imp.size(), 0);
  const size_t m = size_t(p.m);
  for (size_t i = 0; i < size_t(out); ++i) {
    const double* row = &imp[i * size_t(in)];
    for (size_t g = 0; g < size_t(in); g += m) {
      // Column r is kept when fewer than n columns beat it (more important, or as important and lower).
      for (size_t r = 0; r < m; ++r) {
        const double v = row[perm[g + r]];
        int beaten_by = 0;
        for (size_t k = 0; k < m; ++k) {
          const double u = row[perm[g + k]];
          if (u > v || (u == v && k < r)) ++beaten_by;
        }
        mask[i * size_t(in) + g + r] = beaten_by < p.n;
      }
    }
  }
  return mask;
}

double kept_importance(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm, NmPattern p) {
  check_shape(imp, out, in, p);
  const std::vector<double> t = by_channel(imp, out, in);
  double s = 0.0;
  for (size_t g = 0; g < size_t(in); g += size_t(p.m)) s += group_kept(t, out, &perm[g], p);
  return s;
}

std::vector<int32_t> global_shuffle(const std::vector<double>& imp, int out, int in, NmPattern p) {
  check_shape(imp, out, in, p);
  std::vector<double> total(size_t(in), 0.0);
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t c = 0; c < size_t(in); ++c) total[c] += imp[i * size_t(in) + c];
  std::vector<int32_t> order = identity_perm(in);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return total[size_t(a)] > total[size_t(b)]; });
  const size_t m = size_t(p.m), groups = size_t(in) / m;
  std::vector<int32_t> perm(static_cast<size_t>(in));
  for (size_t r = 0; r < size_t(in); ++r) perm[m * (r % groups) + r / groups] = order[r];
  return perm;
}

void local_shuffle(const std::vector<double>& imp, int out, int in, int block, std::vector<int32_t>& perm, NmPattern p) {
  check_shape(imp, out, in, p);
  const size_t m = size_t(p.m), rows = size_t(out);
  if (block < 2 * p.m || block % p.m != 0)
    throw std::invalid_argument("local shuffle block must be a multiple of " + std::to_string(p.m) + ", at least " +
                                std::to_string(2 * p.m));
  if (perm.size() != size_t(in)) throw std::invalid_argument("permutation has the wrong size");
  const std::vector<double> t = by_channel(imp, out, in);
  for (size_t b0 = 0; b0 < size_t(in); b0 += size_t(block)) {
    const size_t b1 = std::min(size_t(in), b0 + size_t(block));
    const size_t ng = (b1 - b0) / m;
    std::vector<GroupRows> stats(ng);
    std::vector<double> kept(ng);
    for (size_t g = 0; g < ng; ++g) {
      stats[g] = group_rows(t, out, &perm[b0 + m * g], p);
      kept[g] = group_kept(t, out, &perm[b0 + m * g], p);
    }
    // Greedy best-improvement; each applied swap raises the block's kept importance by more than a
    // relative 1e-12, so the loop ends (and float noise cannot make it cycle). A swap's gain is summed
    // from each row's change (GroupRows), without re-ranking the groups.
    for (;;) {
      double block_kept = 0.0;
      for (double k : kept) block_kept += k;
      double best_gain = 1e-12 * std::max(block_kept, 1e-300);
      size_t best_a = 0, best_b = 0;
      for (size_t ga = 0; ga < ng; ++ga) {
        for (size_t gb = ga + 1; gb < ng; ++gb) {
          const GroupRows& sa = stats[ga];
          const GroupRows& sb = stats[gb];
          for (size_t ra = 0; ra < m; ++ra) {
            const double* va = &t[size_t(perm[b0 + m * ga + ra]) * rows];
            const double* ca = &sa.c[ra * rows];
            for (size_t rb = 0; rb < m; ++rb) {
              const double* vb = &t[size_t(perm[b0 + m * gb + rb]) * rows];
              const double* cb = &sb.c[rb * rows];
              double gain = -sa.d_sum[ra] - sb.d_sum[rb];
              for (size_t i = 0; i < rows; ++i) gain += std::max(vb[i], ca[i]) + std::max(va[i], cb[i]);
              if (gain > best_gain) {
                best_gain = gain;
                best_a = b0 + m * ga + ra;
                best_b = b0 + m * gb + rb;
              }
            }
          }
        }
      }
      if (best_a == best_b) break;  // no swap found
      std::swap(perm[best_a], perm[best_b]);
      for (size_t g : {(best_a - b0) / m, (best_b - b0) / m}) {
        stats[g] = group_rows(t, out, &perm[b0 + m * g], p);
        kept[g] = group_kept(t, out, &perm[b0 + m * g], p);
      }
    }
  }
}

std::vector<int32_t> channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                         int block, NmPattern p) {
  check_shape(imp, out, in, p);
  if (mode == ShuffleMode::none) return identity_perm(in);
  std::vector<int32_t> perm = global_shuffle(imp, out, in, p);
  if (mode == ShuffleMode::global_local) local_shuffle(imp, out, in, block, perm, p);
  return perm;
}

std::vector<int32_t> expert_channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                                int block, const int32_t* order, const std::vector<int>& bounds,
                                                NmPattern p) {
  check_shape(imp, out, in, p);
  if (bounds.size() < 2 || bounds.front() != 0 || bounds.back() != in)
    throw std::invalid_argument("expert bounds do not cover the " + std::to_string(in) + " channels");
  std::vector<int32_t> perm(static_cast<size_t>(in));
  for (size_t e = 0; e + 1 < bounds.size(); ++e) {
    const int first = bounds[e], count = bounds[e + 1] - bounds[e];
    if (count <= 0 || count % p.m != 0)
      throw std::invalid_argument("expert " + std::to_string(e) + " has " + std::to_string(count) +
                                  " channels, not a positive multiple of " + std::to_string(p.m) + " (" +
                                  pattern_name(p) + " groups must not straddle experts)");
    std::vector<double> sub(size_t(out) * size_t(count));  // the expert's columns, in expert order
    for (size_t i = 0; i < size_t(out); ++i)
      for (size_t k = 0; k < size_t(count); ++k) sub[i * size_t(count) + k] = imp[i * size_t(in) + size_t(order[first + int(k)])];
    const std::vector<int32_t> local = channel_permutation(sub, out, count, mode, block, p);
    for (size_t k = 0; k < size_t(count); ++k) perm[size_t(first) + k] = order[first + local[k]];
  }
  return perm;
}

}  // namespace ws
