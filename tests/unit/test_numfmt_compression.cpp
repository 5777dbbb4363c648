// Compression of the bundled real model (stories260K) under each number format: every weight encoded
// (rounded where the format cannot hold it) into class symbols plus raw bits, the symbols coded with
// tANS per chunk of 65536 values as the codec does. Prints bits per weight achieved (every byte a
// chunk of docs/format.md section 4 would take) against the order-0 bound of the same scheme
// (sum over chunks of n * H0(symbols) + raw bits), and asserts bound <= achieved. The table is pasted
// into docs/numfmt.md section 8.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "files/llama2c.hpp"
#include "numfmt/numfmt.hpp"

namespace {

using ws::numfmt::Format;

struct Tensor {
  std::string name;
  std::vector<float> values;
};

// Every array of the llama2.c file, in file order.
std::vector<Tensor> stories_tensors() {
  const std::string path = std::string(WS_DATA_DIR) + "/stories260K.bin";
  const ws::Llama2cFile file = ws::read_llama2c(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<Tensor> out;
  for (const ws::Llama2cArray& a : file.arrays) {
    Tensor t{a.name, std::vector<float>(size_t(a.value_count))};
    in.seekg(std::streamoff(a.offset));
    in.read(reinterpret_cast<char*>(t.values.data()), std::streamsize(a.byte_size()));
    out.push_back(std::move(t));
  }
  return out;
}

struct Row {
  std::string label;
  int dtype_bits = 0;
  uint64_t values = 0, exact = 0;
  int symbols_used = 0;
  double h0_bits = 0, raw_bits = 0, achieved_bits = 0;
};

// One chunk as docs/format.md section 4 lays it out (ws::chunk_size).
double chunk_bits(const ws::numfmt::SplitTensor& t, size_t n, Row& row, std::vector<bool>& used) {
  ws::tans::Histogram hist{};
  for (uint8_t s : t.symbols) ++hist[s], used[s] = true;
  const ws::tans::NormalizedCounts nc = ws::tans::normalize(hist);
  const ws::tans::EncodedSymbols enc = ws::tans::encode(t.symbols.data(), n, nc, ws::tans::kDefaultLanes);
  row.h0_bits += ws::tans::entropy_bits(hist);
  row.raw_bits += double(t.raw_bit_count);
  return 8.0 * double(ws::chunk_size(n, nc, enc, t.raw.size()));
}

Row measure(const std::string& label, const Format& f, const std::vector<Tensor>& tensors, int dtype_bits,
            bool int_scaled) {
  Row row;
  row.label = label;
  row.dtype_bits = dtype_bits;
  std::vector<bool> used(256, false);
  const int qmax = f.pattern_bits() >= 32 ? 0 : (1 << (f.pattern_bits() - 1)) - 1;
  for (const Tensor& t : tensors) {
    std::vector<float> v = t.values;
    if (int_scaled) {  // symmetric per-tensor absmax scale onto [-qmax, qmax]
      float mx = 0;
      for (float x : v) mx = std::max(mx, std::fabs(x));
      for (float& x : v) x = mx > 0 ? x / mx * float(qmax) : 0.0f;
    }
    for (size_t i = 0; i < v.size(); i += 65536) {
      const size_t n = std::min<size_t>(65536, v.size() - i);
      const ws::numfmt::SplitTensor st = ws::numfmt::encode_tensor(f, v.data() + i, n, true);
      for (size_t j = 0; j < n; ++j)
        row.exact += f.value(f.encode_float(v[i + j], true)) == double(v[i + j]);
      row.achieved_bits += chunk_bits(st, n, row, used);
      row.values += n;
    }
  }
  for (bool u : used) row.symbols_used += u;
  return row;
}

TEST(NumFmtCompression, StoriesUnderEveryFormat) {
  const std::vector<Tensor> tensors = stories_tensors();
  uint64_t total = 0;
  for (const Tensor& t : tensors) total += t.values.size();
  ASSERT_EQ(total, 264128u);

  struct Spec {
    const char* label;
    const char* format;
    int dtype_bits;
    bool int_scaled;
  };
  const Spec specs[] = {
      {"fp32 (exact)", "fp32", 32, false},   {"bf16", "bf16", 16, false},
      {"fp16", "fp16", 16, false},           {"posit16 (es 2)", "posit16", 16, false},
      {"posit16 (es 1)", "posit16_1", 16, false}, {"fp8 E4M3", "e4m3", 8, false},
      {"fp8 E5M2", "e5m2", 8, false},        {"posit8 (es 2)", "posit8", 8, false},
      {"int8 (absmax/tensor)", "int8", 8, true}, {"int4 (absmax/tensor)", "int4", 4, true},
  };
  std::printf("\nstories260K, %llu weights, chunks of 65536, tANS L=%d K=%d\n\n", (unsigned long long)total,
              ws::tans::kDefaultTableLog, ws::tans::kDefaultLanes);
  std::printf("| format | symbols used | exact %% | H0 symbols | raw bits | bound | achieved | over bound | vs dtype |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Spec& sp : specs) {
    const Row r = measure(sp.label, Format::builtin(sp.format), tensors, sp.dtype_bits, sp.int_scaled);
    const double n = double(r.values);
    const double bound = (r.h0_bits + r.raw_bits) / n, achieved = r.achieved_bits / n;
    std::printf("| %s | %d | %.2f | %.3f | %.3f | %.3f | %.3f | %+.2f%% | %.3f |\n", r.label.c_str(), r.symbols_used,
                100.0 * double(r.exact) / n, r.h0_bits / n, r.raw_bits / n, bound, achieved,
                100.0 * (achieved / bound - 1), achieved / sp.dtype_bits);
    EXPECT_EQ(r.values, total);
    EXPECT_LE(bound, achieved) << r.label;
    EXPECT_LT(achieved, double(sp.dtype_bits) * 1.02) << r.label;  // never much worse than the dtype
  }
  std::printf("\n(bits per weight; bound = sum over chunks of n * H0(symbols) + raw bits)\n");
}

}  // namespace
