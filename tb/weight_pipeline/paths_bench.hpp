// What the paths' bench reports to scripts/bench_hw.py: a full-speed layer's WS_BENCH line
// ("bench":"weight_pipeline_paths", test_weight_pipeline.cpp's FullSpeedThroughput format) and the
// compressed bytes it streamed. Shared by the stories260K and the SmolLM2 tests.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "paths_driver.hpp"
#include "stimulus.hpp"

namespace tbwp {

// The compressed bytes of a layer's chunks (value and metadata).
inline size_t stream_bytes(const std::vector<std::vector<uint8_t>>& values, const std::vector<MetaChunk>& meta) {
  size_t n = 0;
  for (const auto& b : values) n += b.size();
  for (const MetaChunk& m : meta) n += m.stream.size();
  return n;
}

// Layer li of run r: streaming cycles from the first weight beat of any path to the last of any.
// model: the layers' source when it is not stories260K (a "model" field: bench_hw.py keeps the
// sources apart).
inline void print_paths_bench(const std::string& layer, int rows, int cols, const wp::PathsResult& r, size_t li,
                              size_t bytes, const std::string& model = "") {
  const wp::LayerResult& R = r.layers.at(li);
  const std::string source = model.empty() ? "" : ",\"model\":\"" + model + "\"";
  std::printf("WS_BENCH {\"bench\":\"weight_pipeline_paths\"%s,\"layer\":\"%s\",\"rows\":%d,\"cols\":%d,"
              "\"beats\":%llu,\"stream_cycles\":%llu,\"dense\":%llu,\"cycles\":%llu,\"stream_bytes\":%zu}\n",
              source.c_str(), layer.c_str(), rows, cols, (unsigned long long)R.beats,
              (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), (unsigned long long)R.dense,
              (unsigned long long)r.cycles, bytes);
}

}  // namespace tbwp
