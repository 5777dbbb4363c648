// What the number unpacker bench feeds the unpacker: jobs (the format's configuration writes from the
// stream program, then chunks as symbol beats and raw words) with the output beats the functional
// model (ws::numfmt::decode_tensor) expects; real weights, random tables and random codes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tb.hpp"
#include "core/bitstream.hpp"
#include "core/error.hpp"
#include "files/safetensors.hpp"
#include "hw/num_unpacker_model.hpp"
#include "hw/stream_program.hpp"
#include "numfmt/numfmt.hpp"

namespace tbnum {

using ws::numfmt::Class;
using ws::numfmt::Code;
using ws::numfmt::Entry;
using ws::numfmt::Format;
using ws::numfmt::Kind;
using ws::numfmt::Sign;

struct Beat {
  std::array<uint8_t, ws::kNumMaxLanes> sym{};
  int count = 0;
  bool last = false;
};
struct OutBeat {
  std::array<uint32_t, ws::kNumMaxLanes> data{};
  int count = 0;
  bool last = false;
  bool check = true;  // false from the first malformed chunk on
};
struct Job {
  std::vector<ws::CfgWrite> cfg;
  std::vector<Beat> beats;
  std::vector<ws::StreamWord> words;      // raw words
  std::vector<OutBeat> expect;            // the functional model's beats
  bool check_values = true;               // false once a chunk is malformed
  uint8_t expect_cause = ws::pkg::UNP_ERR_NONE;  // named by the functional model
  uint64_t values = 0;
};

// A job that loads format f (257 writes), then carries chunks (add_chunk).
inline Job start_job(const Format& f) {
  Job job;
  job.cfg = ws::unpacker_config(f);
  return job;
}

inline uint8_t cause_of(const std::string& what) {
  if (what == "raw stream runs out") return ws::pkg::UNP_ERR_RUNS_OUT;
  if (what.rfind("unknown symbol", 0) == 0) return ws::pkg::UNP_ERR_UNKNOWN;
  if (what == "raw bits left over") return ws::pkg::UNP_ERR_LEFT_OVER;
  return 0xff;
}

// One chunk: its symbols in beats of K, its raw stream as words (none when it is empty). Expected
// beats come from the functional model; once a chunk is malformed, the rest is not value-checked and
// the model's error becomes the expected cause.
inline void add_chunk(Job& job, int k, const Format& f, const std::vector<uint8_t>& syms,
                      const std::vector<uint8_t>& raw) {
  const size_t n = syms.size();
  std::vector<uint32_t> out;
  if (job.check_values) {
    try {
      out = ws::numfmt::decode_tensor(f, syms.data(), n, raw.data(), raw.size());
    } catch (const ws::FormatError& e) {
      job.check_values = false;
      job.expect_cause = cause_of(e.what());
    }
  }
  for (size_t i = 0; i < n; i += size_t(k)) {
    Beat b;
    OutBeat o;
    b.count = o.count = int(std::min(n - i, size_t(k)));
    b.last = o.last = i + size_t(k) >= n;
    o.check = job.check_values;
    for (int j = 0; j < b.count; ++j) {
      b.sym[size_t(j)] = syms[i + size_t(j)];
      if (job.check_values) o.data[size_t(j)] = out[i + size_t(j)];
    }
    job.beats.push_back(b);
    job.expect.push_back(o);
  }
  const std::vector<ws::StreamWord> words = ws::stream_words(raw.data(), raw.size(), ws::pkg::raw_word_bits(k));
  job.words.insert(job.words.end(), words.begin(), words.end());
  if (job.check_values) job.values += n;
}

// A raw stream one word of the unpacker's port (ws::pkg::raw_word_bits(k) bits) short (words -1) or
// long (+1, a zero word): zero-padded to whole port words first, as stream_words() sends it, so that
// the port sees a whole word less or more (at 64 bits a 32-bit word can fall into the padding).
inline void raw_word_off(std::vector<uint8_t>& raw, int k, int words) {
  const size_t wb = size_t(ws::pkg::raw_word_bits(k) / 8);
  raw.resize((raw.size() + wb - 1) / wb * wb, 0);
  if (words < 0) raw.resize(raw.size() - wb);
  else raw.insert(raw.end(), wb, 0);
}

// Codes -> symbols and raw stream (as the encoder writes them).
inline void add_codes(Job& job, int k, const Format& f, const std::vector<Code>& codes) {
  std::vector<uint8_t> syms, raw;
  ws::BitWriter w(raw);
  for (const Code& c : codes) {
    syms.push_back(c.symbol);
    w.write(c.raw, f.entry(c.symbol).raw_bits);
  }
  w.pad_to_words();
  add_chunk(job, k, f, syms, raw);
}

// fp32 values encoded (rounded) under f, in chunks.
inline void add_values(Job& job, int k, const Format& f, const float* v, size_t n, size_t chunk) {
  for (size_t i = 0; i < n; i += chunk) {
    const size_t m = std::min(chunk, n - i);
    const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, v + i, m, true);
    add_chunk(job, k, f, t.symbols, t.raw);
  }
}

// ---------------------------------------------------------------------------------------------
// Data

inline std::vector<float> stories_weights() {
  std::ifstream in(tb::stories_path(), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 28) return {};
  std::vector<float> w((bytes.size() - 28) / 4);  // after the 7-int32 header
  std::memcpy(w.data(), bytes.data() + 28, w.size() * 4);
  return w;
}

// Up to n fp32 weights of MiniLM's F32 tensors, in file order, at most per_tensor from each.
inline std::vector<float> minilm_weights(size_t n, size_t per_tensor) {
  const std::string path = tb::minilm_path();
  if (path.empty()) return {};
  const ws::SafetensorsFile f = ws::read_safetensors(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<float> out;
  for (const auto& t : f.tensors) {
    if (t.dtype != "F32" || out.size() >= n) continue;
    const size_t m = std::min({size_t(t.value_count), per_tensor, n - out.size()});
    std::vector<float> v(m);
    in.seekg(std::streamoff(t.offset));
    in.read(reinterpret_cast<char*>(v.data()), std::streamsize(m * 4));
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// A random valid table: float or integer, classes, signs, raw widths 0..24 and scales over their
// whole valid range (fp32 subnormal results included), plus a few zero-raw-bit symbols.
inline Format random_format(std::mt19937_64& rng, Kind kind) {
  std::array<Entry, 256> t{};
  const int nsym = 1 + int(rng() % 48);
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  for (int i = 0; i < nsym; ++i) {
    Entry e;
    e.sign = pick(10) < 7 ? Sign::Raw : pick(2) ? Sign::Plus : Sign::Minus;
    const int rs = e.sign == Sign::Raw ? 1 : 0;
    const Class float_classes[] = {Class::Zero, Class::Finite, Class::Finite, Class::Finite,
                                   Class::FiniteNanMax, Class::Inf, Class::NaN, Class::InfNaN};
    e.cls = kind == Kind::Int ? (pick(6) ? Class::Finite : Class::Zero) : float_classes[pick(8)];
    if (e.cls == Class::Zero || e.cls == Class::Inf || e.cls == Class::NaN) {
      e.raw_bits = rs;
    } else if (e.cls == Class::InfNaN) {
      e.raw_bits = 1 + pick(23) + rs;
    } else {
      const int fb = e.cls == Class::FiniteNanMax ? 1 + pick(23) : pick(24);
      e.raw_bits = fb + rs;
      e.implicit_one = pick(4) != 0;
      if (kind == Kind::Int) {
        e.scale = fb + pick(31 - fb);                        // fb .. 30
      } else {
        const int lo = fb - 149, hi = 127;
        e.scale = pick(3) == 0 ? (pick(2) ? lo + pick(4) : hi - pick(4)) : lo + pick(hi - lo + 1);
      }
    }
    t[size_t(pick(256))] = e;
  }
  t[size_t(pick(256))] = Entry{Class::Zero, Sign::Plus, true, 0, 0};  // a symbol without raw bits
  return Format::custom("random", kind, t);
}

inline std::vector<uint8_t> defined_symbols(const Format& f) {
  std::vector<uint8_t> v;
  for (int s = 0; s < 256; ++s)
    if (f.entry(unsigned(s)).cls != Class::None) v.push_back(uint8_t(s));
  return v;
}

inline std::vector<Code> random_codes(std::mt19937_64& rng, const Format& f, size_t n, bool no_raw_only) {
  const std::vector<uint8_t> syms = defined_symbols(f);
  std::vector<uint8_t> pool;
  for (uint8_t s : syms)
    if (!no_raw_only || f.entry(s).raw_bits == 0) pool.push_back(s);
  std::vector<Code> codes;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t s = pool[rng() % pool.size()];
    const int rb = f.entry(s).raw_bits;
    codes.push_back({s, rb ? uint32_t(rng()) & ((rb >= 32 ? 0u : (1u << rb)) - 1) : 0u});
  }
  return codes;
}

inline Job random_job(std::mt19937_64& rng, int k, int chunks) {
  const Format f = random_format(rng, rng() % 4 == 0 ? Kind::Int : Kind::Float);
  Job job = start_job(f);
  for (int c = 0; c < chunks; ++c) {
    const size_t n = 1 + rng() % 200;
    add_codes(job, k, f, random_codes(rng, f, n, rng() % 8 == 0));  // some chunks have no raw stream
  }
  return job;
}

}  // namespace tbnum
