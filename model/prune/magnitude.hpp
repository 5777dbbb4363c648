// Magnitude 2:4 pruning: the simplest importance, |w|, applied to a single matrix (esparse.hpp prunes
// whole models by magnitude, Wanda or E-Sparse).
#pragma once

#include <cstdint>
#include <vector>

namespace ws {

// In every group of 4 columns of W' = W[:, perm] (perm empty = identity), keeps the 2 largest |w|
// (ties go to the lower column of W') and zeroes the rest. Returns W in original channel order. NaN
// weights are a ws::FormatError.
std::vector<float> prune24_magnitude(const std::vector<float>& w, int rows, int cols,
                                     const std::vector<int32_t>& perm = {});

}  // namespace ws
