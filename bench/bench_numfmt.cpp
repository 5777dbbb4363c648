// bench_numfmt: bits per weight of a llama2.c model under each number format (docs/numfmt.md
// section 8), with the round trip checked. The same scheme and accounting as
// tests/unit/test_numfmt_compression.cpp:
//   every weight encoded with rounding (int8/int4 after a symmetric per-tensor absmax scale) into
//   class symbols plus raw bits (ws::numfmt::encode_tensor); chunks of 65536 values; the symbols
//   coded with tANS (table log 11, 4 lanes, ws::tans as the codec does);
//   achieved = every byte the chunk takes in a .wsz (fixed fields, counts, initial states, both
//   streams padded to words); bound = sum over chunks of n * H0(symbols) + raw bits (the order-0
//   bound of the scheme); also the order-0 entropy of the stored patterns per chunk (the bound of any
//   per-value memoryless coder of the rounded values; only for formats of at most 16 bits, since with
//   65536 values per chunk the estimate of a 32-bit pattern's entropy says nothing).
// Round trip, per chunk: the tANS stream is decoded (ws::tans::decode) back to the symbols, and the
// symbols with the raw stream are unpacked by the RTL unpacker's functional model
// (ws::numfmt::decode_tensor); every output word must equal Format::output_bits of the weight's
// rounded code, and for float formats the word's value must equal the code's value.
//
// Usage: bench_numfmt [--model stories260K.bin] [--json out.json] [--formats fp32,bf16,...]
// Exit status 0 when every round trip matched, 1 otherwise, 2 on a usage or input error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "files/llama2c.hpp"
#include "numfmt/numfmt.hpp"

namespace {

using ws::numfmt::Format;

struct Tensor {
  std::string name;
  std::vector<float> values;
};

std::vector<Tensor> read_tensors(const std::string& path) {
  const ws::Llama2cFile file = ws::read_llama2c(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<Tensor> out;
  for (const ws::Llama2cArray& a : file.arrays) {
    Tensor t{a.name, std::vector<float>(size_t(a.value_count))};
    in.seekg(std::streamoff(a.offset));
    in.read(reinterpret_cast<char*>(t.values.data()), std::streamsize(a.byte_size()));
    if (!in) throw std::runtime_error(path + ": short read in " + a.name);
    out.push_back(std::move(t));
  }
  return out;
}

struct Spec {
  std::string label, format;
  int dtype_bits;
  bool int_scaled;
};

const std::vector<Spec> kSpecs = {
    {"fp32 (exact)", "fp32", 32, false},        {"bf16", "bf16", 16, false},
    {"fp16", "fp16", 16, false},                {"posit16 (es 2)", "posit16", 16, false},
    {"posit16 (es 1)", "posit16_1", 16, false}, {"fp8 E4M3", "e4m3", 8, false},
    {"fp8 E5M2", "e5m2", 8, false},             {"posit8 (es 2)", "posit8", 8, false},
    {"int8 (absmax/tensor)", "int8", 8, true},  {"int4 (absmax/tensor)", "int4", 4, true},
};

struct Row {
  uint64_t values = 0, exact = 0, chunks = 0;
  int symbols_used = 0;
  double h0_bits = 0, raw_bits = 0, achieved_bits = 0, pattern_h0_bits = 0;
  uint64_t roundtrip_checked = 0, roundtrip_mismatches = 0;
  std::string first_mismatch;
};

double h0_of_counts(const std::unordered_map<uint32_t, uint64_t>& counts, uint64_t n) {
  double bits = 0;
  for (const auto& [p, c] : counts) bits += double(c) * std::log2(double(n) / double(c));
  return bits;
}

uint32_t float_bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

Row measure(const Spec& sp, const std::vector<Tensor>& tensors) {
  const Format f = Format::builtin(sp.format);
  Row row;
  std::vector<bool> used(256, false);
  const int qmax = f.pattern_bits() >= 32 ? 0 : (1 << (f.pattern_bits() - 1)) - 1;
  for (const Tensor& t : tensors) {
    std::vector<float> v = t.values;
    if (sp.int_scaled) {  // symmetric per-tensor absmax scale onto [-qmax, qmax]
      float mx = 0;
      for (float x : v) mx = std::max(mx, std::fabs(x));
      for (float& x : v) x = mx > 0 ? x / mx * float(qmax) : 0.0f;
    }
    for (size_t i = 0; i < v.size(); i += 65536) {
      const size_t n = std::min<size_t>(65536, v.size() - i);
      const ws::numfmt::SplitTensor st = ws::numfmt::encode_tensor(f, v.data() + i, n, true);
      std::vector<ws::numfmt::Code> codes(n);
      std::unordered_map<uint32_t, uint64_t> patterns;
      for (size_t j = 0; j < n; ++j) {
        codes[j] = f.encode_float(v[i + j], true);
        row.exact += f.value(codes[j]) == double(v[i + j]);
        ++patterns[f.join(codes[j])];
      }
      if (f.pattern_bits() <= 16) row.pattern_h0_bits += h0_of_counts(patterns, n);

      // tANS over the symbols, as the codec codes a chunk
      ws::tans::Histogram hist{};
      for (uint8_t s : st.symbols) ++hist[s], used[s] = true;
      const ws::tans::NormalizedCounts nc = ws::tans::normalize(hist);
      const ws::tans::EncodedSymbols enc = ws::tans::encode(st.symbols.data(), n, nc, ws::tans::kDefaultLanes);
      row.h0_bits += ws::tans::entropy_bits(hist);
      row.raw_bits += double(st.raw_bit_count);
      row.achieved_bits += 8.0 * double(ws::chunk_size(n, nc, enc, st.raw.size()));
      row.values += n;
      ++row.chunks;

      // Round trip: tANS decode, then the unpacker's functional model.
      std::vector<uint8_t> sym(n);
      ws::tans::decode(enc, ws::tans::build_decode_table(nc), nc.table_log, sym.data(), n);
      const std::vector<uint32_t> words = ws::numfmt::decode_tensor(f, sym.data(), n, st.raw.data(), st.raw.size());
      for (size_t j = 0; j < n; ++j) {
        bool ok = sym[j] == st.symbols[j] && words.size() == n && words[j] == f.output_bits(codes[j]);
        if (ok && f.kind() == ws::numfmt::Kind::Float) {
          float w;
          std::memcpy(&w, &words[j], 4);
          const double cv = f.value(codes[j]);
          ok = std::isnan(cv) ? std::isnan(w) : double(w) == cv;
        }
        ++row.roundtrip_checked;
        if (!ok) {
          if (row.roundtrip_mismatches++ == 0) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "%s[%zu]: value 0x%08x symbol %u/%u word 0x%08x expected 0x%08x",
                          t.name.c_str(), i + j, float_bits(v[i + j]), unsigned(sym[j]), unsigned(st.symbols[j]),
                          j < words.size() ? words[j] : 0u, f.output_bits(codes[j]));
            row.first_mismatch = buf;
          }
        }
      }
    }
  }
  for (bool u : used) row.symbols_used += u;
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, json_out, only;
#ifdef WS_DATA_DIR
  model = std::string(WS_DATA_DIR) + "/stories260K.bin";
#endif
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_numfmt: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model = next();
    else if (a == "--json") json_out = next();
    else if (a == "--formats") only = "," + next() + ",";
    else {
      std::fprintf(stderr, "usage: bench_numfmt [--model FILE.bin] [--json OUT] [--formats fp32,bf16,...]\n");
      return 2;
    }
  }
  std::vector<Tensor> tensors;
  try {
    tensors = read_tensors(model);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_numfmt: %s\n", e.what());
    return 2;
  }
  uint64_t total = 0;
  for (const Tensor& t : tensors) total += t.values.size();
  std::printf("%s: %zu arrays, %llu weights; chunks of 65536, tANS table log %d, %d lanes\n\n", model.c_str(),
              tensors.size(), (unsigned long long)total, ws::tans::kDefaultTableLog, ws::tans::kDefaultLanes);
  std::printf("| format | symbols used | exact %% | H0 symbols | raw bits | bound | achieved | over bound | "
              "pattern H0 | vs dtype | round trip |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
  nlohmann::json out = {{"model", model}, {"weights", total}, {"chunk_values", 65536},
                        {"table_log", ws::tans::kDefaultTableLog}, {"lanes", ws::tans::kDefaultLanes},
                        {"formats", nlohmann::json::array()}};
  uint64_t bad = 0;
  for (const Spec& sp : kSpecs) {
    if (!only.empty() && only.find("," + sp.format + ",") == std::string::npos) continue;
    Row r;
    try {
      r = measure(sp, tensors);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_numfmt: %s: %s\n", sp.format.c_str(), e.what());
      return 1;
    }
    const double n = double(r.values);
    const double bound = (r.h0_bits + r.raw_bits) / n, achieved = r.achieved_bits / n;
    const bool has_ph0 = Format::builtin(sp.format).pattern_bits() <= 16;
    char ph0[32] = "-";
    if (has_ph0) std::snprintf(ph0, sizeof ph0, "%.3f", r.pattern_h0_bits / n);
    std::printf("| %s | %d | %.2f | %.3f | %.3f | %.3f | %.3f | %+.2f%% | %s | %.3f | %llu/%llu |\n",
                sp.label.c_str(), r.symbols_used, 100.0 * double(r.exact) / n, r.h0_bits / n, r.raw_bits / n, bound,
                achieved, 100.0 * (achieved / bound - 1), ph0, achieved / sp.dtype_bits,
                (unsigned long long)(r.roundtrip_checked - r.roundtrip_mismatches),
                (unsigned long long)r.roundtrip_checked);
    if (r.roundtrip_mismatches)
      std::printf("  round trip FAILED for %s: %llu mismatches, first %s\n", sp.format.c_str(),
                  (unsigned long long)r.roundtrip_mismatches, r.first_mismatch.c_str());
    bad += r.roundtrip_mismatches;
    out["formats"].push_back({{"label", sp.label},
                              {"format", sp.format},
                              {"dtype_bits", sp.dtype_bits},
                              {"int_scaled_absmax_per_tensor", sp.int_scaled},
                              {"values", r.values},
                              {"chunks", r.chunks},
                              {"symbols_used", r.symbols_used},
                              {"exact_fraction", double(r.exact) / n},
                              {"h0_symbol_bits_per_weight", r.h0_bits / n},
                              {"raw_bits_per_weight", r.raw_bits / n},
                              {"bound_bits_per_weight", bound},
                              {"achieved_bits_per_weight", achieved},
                              {"over_bound", achieved / bound - 1},
                              {"pattern_h0_bits_per_weight", has_ph0 ? nlohmann::json(r.pattern_h0_bits / n) : nlohmann::json()},
                              {"vs_dtype", achieved / sp.dtype_bits},
                              {"roundtrip_checked", r.roundtrip_checked},
                              {"roundtrip_mismatches", r.roundtrip_mismatches}});
  }
  std::printf("\n(bits per weight; bound = sum over chunks of n * H0(symbols) + raw bits; pattern H0 = sum over "
              "chunks of n * H0(stored patterns); round trip = values whose tANS + unpacker decode matched)\n");
  out["roundtrip_ok"] = bad == 0;
  if (!json_out.empty()) {
    std::ofstream o(json_out);
    o << out.dump(2) << "\n";
    if (!o) {
      std::fprintf(stderr, "bench_numfmt: cannot write %s\n", json_out.c_str());
      return 2;
    }
  }
  return bad == 0 ? 0 : 1;
}
