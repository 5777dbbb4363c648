// `weightstream compress --paths N` (codec/chunk.hpp chunk_rows_for): every matrix's chunks a multiple
// of N, split by ws::split_layer_rows into runs of the same rows (within one) for the multi-path top;
// --paths 1 (the default) exactly the one-path cut; decompress byte-exact; a bad N refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24_chunk.hpp"
#include "hw/stream_program.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

namespace fs = std::filesystem;
using namespace wstest;

const std::string kStories = std::string(WS_DATA_DIR) + "/stories260K.bin";

// compress IN with `options` into dir/NAME, decompress it, and expect the input back byte for byte.
fs::path compress_round_trip(const fs::path& in, const fs::path& dir, const std::string& name, const std::string& options) {
  const fs::path wsz = dir / name, back = dir / (name + ".back");
  const ToolRun c = tool_ok("compress " + q(in) + " -o " + q(wsz) + " --threads 1 " + options, dir);
  std::printf("%s", c.out.c_str());
  tool_ok("decompress " + q(wsz) + " -o " + q(back), dir);
  const bool same = read_file(in) == read_file(back);
  std::printf("%s %s: decompress %s\n", in.filename().c_str(), options.c_str(), same ? "byte-identical" : "DIFFERS");
  EXPECT_TRUE(same) << options;
  return wsz;
}

// A 2:4 matrix's chunk j holds value_count / K rows (the index counts dense values).
uint64_t rows_of_chunk(const ws::Segment& t, size_t j) { return t.chunks[j].value_count / t.dims.back(); }

// A 2:4 matrix of K columns as the top's layer: chunk pairs of the given rows (split_layer_rows reads
// only the counts: K8 / 2 kept values and K8 / 4 nibbles a row).
ws::PipelineLayer layer_of_rows(const std::vector<uint64_t>& rows, uint64_t k) {
  ws::PipelineLayer L;
  L.k = int(k);
  for (uint64_t r : rows) {
    ws::ChunkView v, m;
    v.value_count = uint32_t(r * uint64_t(L.k8()) / 2);
    m.value_count = uint32_t(r * uint64_t(L.k8()) / 4);
    L.values.push_back(v);
    L.meta.push_back(m);
    L.rows += int(r);
  }
  return L;
}

// Every tensor of rank >= 2 of the container at wsz cut for `paths` paths: dense ones in a multiple of
// it; every matrix of a 2:4 one too, and split_layer_rows hands each path the same rows within one.
// Returns how many 2:4 matrices were split.
int expect_cut_for_paths(const fs::path& wsz, int paths) {
  const ws::ContainerReader r = ws::ContainerReader::open(wsz.string());
  int split = 0;
  for (const ws::Segment& t : r.index().segments) {
    if (!t.is_tensor() || t.is_quant() || t.dims.size() < 2) continue;
    if (!t.is_sparse24()) {
      EXPECT_EQ(t.chunks.size() % size_t(paths), 0u) << t.name << ": " << t.chunks.size() << " dense chunks";
      continue;
    }
    const uint64_t rows = t.dims[t.dims.size() - 2];
    size_t j = 0;
    for (uint64_t m = 0; j < t.chunks.size(); ++m) {
      std::vector<uint64_t> chunk_rows;
      for (uint64_t got = 0; got < rows && j < t.chunks.size(); ++j) {
        chunk_rows.push_back(rows_of_chunk(t, j));
        got += chunk_rows.back();
      }
      EXPECT_EQ(chunk_rows.size() % size_t(paths), 0u) << t.name << " matrix " << m;
      const std::vector<ws::PipelineLayer> parts = ws::split_layer_rows(layer_of_rows(chunk_rows, t.dims.back()), paths);
      int lo = parts.at(0).rows, hi = lo;
      std::string text;
      for (const ws::PipelineLayer& p : parts) {
        lo = std::min(lo, p.rows);
        hi = std::max(hi, p.rows);
        text += (text.empty() ? "" : " + ") + std::to_string(p.rows);
      }
      if (m == 0)
        std::printf("%s (%llu rows a matrix): %zu chunk pairs, split_layer_rows %s rows\n", t.name.c_str(),
                    (unsigned long long)rows, chunk_rows.size(), text.c_str());
      EXPECT_LE(hi - lo, 1) << t.name << " matrix " << m << ": " << text;
      ++split;
    }
  }
  return split;
}

// The one-path cut, stated on its own as the oracle for --paths 1: dense chunks of chunk_values_for
// values (the last what is left), 2:4 ones of max(1, chunk / (2 S)) rows of each matrix.
void expect_one_path_cut(const fs::path& wsz, uint64_t chunk) {
  const ws::ContainerReader r = ws::ContainerReader::open(wsz.string());
  for (const ws::Segment& t : r.index().segments) {
    if (!t.is_tensor() || t.is_quant()) continue;
    std::vector<uint64_t> want;
    if (t.is_sparse24()) {
      const uint64_t k = t.dims.back(), rows = t.dims[t.dims.size() - 2];
      const uint64_t per = std::max<uint64_t>(1, chunk / (2 * uint64_t(ws::sparse24_stored_groups(k))));
      for (uint64_t m = 0; m < t.value_count / (rows * k); ++m)
        for (uint64_t at = 0; at < rows; at += per) want.push_back(std::min(per, rows - at) * k);
    } else {
      const uint64_t per = ws::chunk_values_for(t.dims, chunk);
      for (uint64_t at = 0; at < t.value_count; at += per) want.push_back(std::min(per, t.value_count - at));
    }
    std::vector<uint64_t> got;
    for (const ws::ChunkEntry& c : t.chunks) got.push_back(c.value_count);
    EXPECT_EQ(got, want) << t.name;
  }
}

TEST(ToolPaths, PrunedStories260KForTwoPaths) {
  const fs::path dir = test_dir();
  const fs::path pruned = dir / "pruned.safetensors", bf16 = dir / "pruned_bf16.safetensors";
  tool_ok("prune " + q(kStories) + " --method esparse --shuffle global+local -o " + q(pruned), dir);
  tool_ok("convert --to bf16 " + q(pruned) + " -o " + q(bf16), dir);

  const fs::path two = compress_round_trip(bf16, dir, "two.wsz", "--paths 2 --table-log 10");
  EXPECT_EQ(expect_cut_for_paths(two, 2), 7 * 5);  // 7 linears of 5 layers, each its own matrices
  const fs::path small = compress_round_trip(bf16, dir, "two_small.wsz", "--paths 2 --table-log 10 --chunk 1000");
  EXPECT_GT(expect_cut_for_paths(small, 2), 0);
  const fs::path four = compress_round_trip(bf16, dir, "four.wsz", "--paths 4 --chunk 1000");
  EXPECT_GT(expect_cut_for_paths(four, 4), 0);

  // --paths 1 is the default and the one-path cut, at both chunk sizes.
  const fs::path one = compress_round_trip(bf16, dir, "one.wsz", "--paths 1 --chunk 1000");
  const fs::path dflt = compress_round_trip(bf16, dir, "default.wsz", "--chunk 1000");
  EXPECT_TRUE(read_file(one) == read_file(dflt));
  expect_one_path_cut(one, 1000);
  expect_one_path_cut(compress_round_trip(bf16, dir, "default64k.wsz", ""), ws::kDefaultChunkValues);
}

TEST(ToolPaths, Stories260KDenseForTwoPaths) {
  const fs::path dir = test_dir();
  const fs::path src = kStories;
  EXPECT_EQ(expect_cut_for_paths(compress_round_trip(src, dir, "two.wsz", "--paths 2 --table-log 10"), 2), 0);
  EXPECT_EQ(expect_cut_for_paths(compress_round_trip(src, dir, "two_small.wsz", "--paths 2 --chunk 1000"), 2), 0);
  expect_one_path_cut(compress_round_trip(src, dir, "one.wsz", "--chunk 1000"), 1000);
}

TEST(ToolPaths, BadPathsRefused) {
  const fs::path dir = test_dir();
  for (const char* n : {"0", "5", "-1", "two"}) {
    const fs::path out = dir / "out.wsz";
    const ToolRun r = tool("compress " + q(kStories) + " -o " + q(out) + " --paths " + n, dir);
    std::printf("--paths %s: exit %d, %s", n, r.code, r.err.c_str());
    expect_error(r, "command line", "--paths");
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
