#include "ops/inspect.hpp"

#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/threads.hpp"

namespace ws {
namespace {

// Adds the class symbols of the values (bytes as in the source) to h: for bf16/f16/f32 the exponents
// (docs/format.md section 3), for other formats the table's symbols.
void count_symbols(const std::vector<uint8_t>& v, const ValueFormat& f, tans::Histogram& h) {
  const size_t width = f.value_bytes();
  if (f.dtype() != DType::Raw) {
    const Split sp = split_of(f.dtype());
    for (size_t i = 0; i + width <= v.size(); i += width)
      ++h[(uint32_t(load_le(&v[i], int(width))) >> sp.exponent_shift) & sp.exponent_mask];
    return;
  }
  for (size_t i = 0; i + width <= v.size(); i += width) ++h[f.split_code(uint32_t(load_le(&v[i], int(width)))) & 0xff];
}

// The raw bits the symbols of histogram h carry: each symbol's raw_bits, from the format's table.
double raw_bits_of(const tans::Histogram& h, const ValueFormat& f) {
  double bits = 0;
  for (size_t s = 0; s < h.size(); ++s) bits += double(h[s]) * f.format().entry(unsigned(s)).raw_bits;
  return bits;
}

}  // namespace

InspectReport inspect(const ContainerReader& in, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  InspectReport r;
  r.file_bytes = in.file_size();
  r.header_footer_bytes = kHeaderBytes + kFooterBytes;
  r.index_other_bytes = kIndexFixedBytes;
  uint64_t done = 0;
  auto advance = [&](uint64_t n) {
    done += n;
    if (progress) progress(done, ix.source_size);
  };

  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      TensorReport t;
      t.segment = &s;
      t.compressed_bytes = s.index_bytes();
      for (const ChunkEntry& c : s.chunks) t.compressed_bytes += c.size;
      r.tensors.push_back(t);
    } else {
      ++r.literal_segments;
      r.literal_bytes += s.length;
      r.index_other_bytes += s.index_bytes();
    }
  }

  struct ChunkMeasure {
    tans::Histogram histogram{};
    double entropy_bits = 0;  // n_c * H0 of the chunk's symbols
    // 2:4 chunks: the sub-chunks' sizes, what they hold, and the metadata's n_groups * H0(nibbles)
    uint64_t value_bytes = 0, meta_bytes = 0, stored_values = 0, stored_groups = 0;
    double meta_entropy_bits = 0;
  };
  OrderedPipeline<ChunkMeasure> pipe(resolve_threads(threads));
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    t.sparse24 = s.is_sparse24();
    for (size_t j = 0; j < s.chunks.size(); ++j) {
      pipe.run(
          [&in, &s, j] {
            const std::vector<uint8_t> dense = in.decode_chunk(s, j);  // every check, the CRC included
            ChunkMeasure m;
            if (!s.is_sparse24()) {
              count_symbols(dense, s.format, m.histogram);
            } else {
              const std::vector<uint8_t> bytes = in.chunk_bytes(s, j);
              const Sparse24ChunkView v = parse_sparse24_chunk(bytes.data(), bytes.size());
              const Sparse24Stored st = decode_sparse24_stored(bytes.data(), bytes.size(), s.dtype, s.dims.back());
              count_symbols(st.values, s.format, m.histogram);
              tans::Histogram nibbles{};
              for (uint8_t n : st.meta) ++nibbles[n];
              m.meta_entropy_bits = tans::entropy_bits(nibbles);
              m.value_bytes = v.value_chunk_bytes;
              m.meta_bytes = v.meta_chunk_bytes;
              m.stored_values = v.values.value_count;
              m.stored_groups = v.meta.value_count;
            }
            m.entropy_bits = tans::entropy_bits(m.histogram);
            return m;
          },
          [&t, &advance, &s, j](ChunkMeasure& m) {
            for (size_t k = 0; k < m.histogram.size(); ++k) t.histogram[k] += m.histogram[k];
            t.bound_bits += m.entropy_bits;
            t.value_bytes += m.value_bytes;
            t.meta_bytes += m.meta_bytes;
            t.stored_values += m.stored_values;
            t.stored_groups += m.stored_groups;
            t.meta_bound_bits += m.meta_entropy_bits;
            advance(uint64_t(s.chunks[j].value_count) * s.format.value_bytes());
          });
    }
  }
  pipe.finish();
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) continue;
    in.verify_literal(s);
    advance(s.length);
  }
  for (TensorReport& t : r.tensors) {
    const Segment& s = *t.segment;
    if (!t.sparse24) {
      t.bound_bits += raw_bits_of(t.histogram, s.format);
      continue;
    }
    t.value_bound_bits = t.bound_bits + raw_bits_of(t.histogram, s.format);
    t.bound_bits = t.value_bound_bits + t.meta_bound_bits;
  }
  return r;
}


}  // namespace ws
