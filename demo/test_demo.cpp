// The demo program end to end on the real model (stories260K pruned with E-Sparse, bf16, compressed):
// a short run must finish with 0 mismatches, and damaged containers must stop it with an error that
// names the layer and chunk, a non-zero exit and no crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "codec/container_reader.hpp"
#include "codec/sparse24_chunk.hpp"
#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const fs::path kDir = fs::path(WS_BUILD_DIR) / "test-tmp" / "demo";

using demotest::Outcome;
using demotest::q;
using demotest::slurp;

Outcome run(const std::string& cmd) { return demotest::run(cmd, kDir); }

// prune -> convert -> compress, once for the whole suite.
class Demo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kDir);
    fs::create_directories(kDir);
    const std::string tool = q(WS_TOOL), dense = q(fs::path(WS_DATA_DIR) / "stories260K.bin");
    ASSERT_EQ(run(tool + " prune " + dense + " --method esparse --shuffle global+local -o " + q(kDir / "p.safetensors")).code, 0);
    ASSERT_EQ(run(tool + " convert --to bf16 " + q(kDir / "p.safetensors") + " -o " + q(kDir / "p.bf16.safetensors")).code, 0);
    ASSERT_EQ(run(tool + " compress " + q(kDir / "p.bf16.safetensors") + " -o " + q(kDir / "p.wsz")).code, 0);
  }
  static Outcome demo(const fs::path& model, int tokens) {
    return run(q(WS_DEMO) + " " + q(model) + " --dense " + q(fs::path(WS_DATA_DIR) / "stories260K.bin") +
               " --tokens " + std::to_string(tokens) + " --report " + q(kDir / "report.json"));
  }
};

TEST_F(Demo, RealModelRunsWithZeroMismatches) {
  const Outcome r = demo(kDir / "p.wsz", 2);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("products on the hardware: 70 (6000 output values), mismatches vs golden model and cycle model: 0"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("KL divergence from the dense fp32 model"), std::string::npos) << r.out;
}

// A flipped byte in the symbol stream of wq's layer-2 chunk: the container's checks catch it before
// any token is generated, and the message names the tensor, layer and chunk.
TEST_F(Demo, CorruptedChunkIsNamed) {
  Bytes bytes;
  {
    const std::string s = slurp(kDir / "p.wsz");
    bytes.assign(s.begin(), s.end());
  }
  const ws::ContainerReader reader = ws::ContainerReader::open((kDir / "p.wsz").string());
  uint64_t offset = 0;
  size_t chunk = 0;
  for (const auto& seg : reader.index().segments)
    if (seg.name == "wq") {
      for (const auto& ref : ws::sparse24_chunks(reader, "wq"))
        if (ref.matrix == 2) {
          chunk = ref.chunk;
          const ws::Sparse24ChunkView v = ws::parse_sparse24_chunk(ref.bytes.data(), ref.bytes.size());
          offset = seg.chunks[ref.chunk].offset + uint64_t(v.values.symbol_stream - ref.bytes.data()) + 5;
          break;
        }
    }
  ASSERT_NE(offset, 0u);
  bytes[offset] ^= 0x10;
  const fs::path bad = kDir / "flipped.wsz";
  std::ofstream(bad, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const Outcome r = demo(bad, 2);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wq layer 2 chunk " + std::to_string(chunk)), std::string::npos) << r.err;
}

TEST_F(Demo, TruncatedContainerIsAnError) {
  const std::string s = slurp(kDir / "p.wsz");
  const fs::path bad = kDir / "truncated.wsz";
  std::ofstream(bad, std::ios::binary).write(s.data(), std::streamsize(s.size() / 2));
  const Outcome r = demo(bad, 2);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
}

TEST_F(Demo, DenseContainerIsRefusedWithAHint) {
  const fs::path dense = kDir / "dense.wsz";
  ASSERT_EQ(run(q(WS_TOOL) + " compress --no-sparse " + q(kDir / "p.bf16.safetensors") + " -o " + q(dense)).code, 0);
  const Outcome r = demo(dense, 2);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("weightstream prune"), std::string::npos) << r.err;
}

}  // namespace
