#include "prune/magnitude.hpp"

#include <cmath>
#include <string>

#include "codec/sparse24.hpp"
#include "core/error.hpp"

namespace ws {

std::vector<float> prune24_magnitude(const std::vector<float>& w, int rows, int cols,
                                     const std::vector<int32_t>& perm_in) {
  validate_sparse24_shape(rows, cols, w.size());
  const std::vector<int32_t> perm = perm_in.empty() ? identity_perm(cols) : perm_in;
  validate_perm(perm, cols);
  std::vector<float> out(w.size(), 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < cols / 4; ++g) {
      size_t at[4];
      float mag[4];
      for (int i = 0; i < 4; ++i) {
        at[i] = size_t(r) * cols + size_t(perm[size_t(4 * g + i)]);
        if (std::isnan(w[at[i]])) throw FormatError("2:4 pruning: NaN weight in row " + std::to_string(r) + " group " + std::to_string(g));
        mag[i] = std::fabs(w[at[i]]);
      }
      // Rank each position: the number of positions that beat it (larger, or equal and lower).
      for (int i = 0; i < 4; ++i) {
        int beaten_by = 0;
        for (int k = 0; k < 4; ++k)
          if (k != i && (mag[k] > mag[i] || (mag[k] == mag[i] && k < i))) ++beaten_by;
        if (beaten_by < 2) out[at[i]] = w[at[i]];
      }
    }
  return out;
}

}  // namespace ws
