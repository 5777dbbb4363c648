#include "codec/container_reader.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "codec/chunk.hpp"
#include "codec/quant_chunk.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
void check_chunk_layouts(const uint8_t* data, size_t size, const Segment& s, tans::Layout want) {
  const auto check = [want](const uint8_t* p, size_t n) {
    if (chunk_layout(p, n) != want)
      throw FormatError("chunk in layout " + std::to_string(int(chunk_layout(p, n))) +
                        " where the container's version holds layout " + std::to_string(int(want)));
  };
  if (s.is_sparse24()) {
    const Sparse24ChunkView v = parse_sparse24_chunk(data, size);
    check(v.value_chunk, v.value_chunk_bytes);
    check(v.meta_chunk, v.meta_chunk_bytes);
  } else if (s.is_quant()) {
    const QuantChunkView v = parse_quant_chunk(data, size, s.quant);
    for (int k = 0; k < v.streams; ++k) check(v.sub_data[size_t(k)], v.sub_bytes[size_t(k)]);
  } else {
    check(data, size);
  }
}

ContainerReader::ContainerReader(std::unique_ptr<const ByteSource> source) : source_(std::move(source)) {
  const uint64_t size = source_->size();
  if (size < kHeaderBytes + kFooterBytes)
    throw FormatError("too short for a .wsz container (" + std::to_string(size) + " bytes)");
  uint8_t h[kHeaderBytes];
  source_->read(0, h, sizeof h);
  if (std::memcmp(h, kContainerMagic, 4) != 0) throw FormatError("bad magic (not a .wsz container)");
  const uint64_t version = load_le(h + 4, 2);
  if (!container_version_known(version)) throw FormatError("unsupported version " + std::to_string(version));
  if (load_le(h + 6, 2) != 0) throw FormatError("unknown flags in header");
  if (load_le(h + 8, 8) != 0) throw FormatError("reserved header field is not zero");

  uint8_t f[kFooterBytes];
  source_->read(size - kFooterBytes, f, sizeof f);
  if (std::memcmp(f + 20, kContainerEndMagic, 4) != 0) throw FormatError("bad magic at end of file (truncated?)");
  index_offset_ = load_le(f, 8);
  index_size_ = load_le(f + 8, 8);
  const uint32_t index_crc = uint32_t(load_le(f + 16, 4));
  const uint64_t end = size - kFooterBytes;
  if (index_offset_ < kHeaderBytes || index_offset_ > end || index_size_ != end - index_offset_)
    throw FormatError("index offset out of range");
  const std::vector<uint8_t> index = source_->read(index_offset_, size_t(index_size_));
  if (crc32_of(index.data(), index.size()) != index_crc) throw FormatError("index checksum mismatch");
  index_ = parse_index(index.data(), index.size(), kHeaderBytes, index_offset_, uint16_t(version));
}

ContainerReader ContainerReader::open(const std::string& path) {
  return ContainerReader(std::make_unique<FileSource>(path));
}

ContainerReader ContainerReader::from_memory(const uint8_t* data, size_t size) {
  return ContainerReader(std::make_unique<MemorySource>(data, size));
}

const Segment* ContainerReader::find_tensor(const std::string& name) const {
  for (const Segment& s : index_.segments)
    if (s.is_tensor() && s.name == name) return &s;
  return nullptr;
}

const Segment& ContainerReader::tensor(const std::string& name) const {
  const Segment* s = find_tensor(name);
  if (!s) throw FormatError("no tensor " + quote_name(name));
  return *s;
}

std::vector<uint8_t> ContainerReader::chunk_bytes(const Segment& t, size_t j) const {
  if (!t.is_tensor() || j >= t.chunks.size()) throw std::out_of_range("ContainerReader: no such chunk");
  return source_->read(t.chunks[j].offset, t.chunks[j].size);
}

void ContainerReader::chunk_bytes(const Segment& t, size_t j, std::vector<uint8_t>& buf) const {
  if (!t.is_tensor() || j >= t.chunks.size()) throw std::out_of_range("ContainerReader: no such chunk");
  buf.resize(t.chunks[j].size);
  source_->read(t.chunks[j].offset, buf.data(), buf.size());
}

Checksum ContainerReader::chunk_checksum(const Segment& t, size_t j) const {
  return ws::chunk_checksum(index_.version, t, j);
}

std::vector<uint8_t> ContainerReader::decode_chunk(const Segment& t, size_t j) const {
  std::vector<uint8_t> out(size_t(t.source_bytes(t.chunks.at(j).value_count)));
  decode_chunk_into(t, j, out.data(), out.size());
  return out;
}

void ContainerReader::decode_chunk_into(const Segment& t, size_t j, uint8_t* out, size_t out_size,
                                        uint64_t* digest) const {
  thread_local std::vector<uint8_t> copy;  // the coded chunk when the source cannot lend it in place
  if (!t.is_tensor() || j >= t.chunks.size()) throw std::out_of_range("ContainerReader: no such chunk");
  const ChunkEntry& e = t.chunks[j];
  const uint8_t* at = source_->view(e.offset, e.size);
  if (!at) {
    chunk_bytes(t, j, copy);
    at = copy.data();
  }
  if (out_size != t.source_bytes(e.value_count)) throw std::invalid_argument("decode_chunk_into: wrong output size");
  const Checksum sum = chunk_checksum(t, j).with_digest(digest);
  try {
    check_chunk_layouts(at, e.size, t, layout_of_version(index_.version));
    const uint64_t held = t.is_sparse24() ? uint64_t(parse_sparse24_chunk(at, e.size).rows) * t.sparse24_cols(j)
                          : t.is_quant()  ? parse_quant_chunk(at, e.size, t.quant).value_count
                                          : parse_chunk(at, e.size).value_count;
    if (held != e.value_count)
      throw FormatError("holds " + std::to_string(held) + " values, the index says " +
                        std::to_string(e.value_count));
    if (t.is_sparse24())
      decode_sparse24_chunk(at, e.size, t.dtype, t.sparse24_cols(j), out, out_size, sum);
    else if (t.is_quant())
      decode_quant_chunk(at, e.size, t.quant, out, out_size, sum);
    else
      ws::decode_chunk(at, e.size, t.format, out, out_size, sum);
  } catch (const FormatError& err) {
    throw FormatError(chunk_where(t, j) + ": " + err.what());
  }
}

std::vector<uint8_t> ContainerReader::decode_tensor(const std::string& name) const {
  const Segment& t = tensor(name);
  std::vector<uint8_t> out(size_t(t.length));
  const uint64_t matrix_bytes = t.matrices() ? t.length / t.matrices() : 0;
  for (size_t j = 0; j < t.chunks.size(); ++j) {
    const std::vector<uint8_t> v = decode_chunk(t, j);
    if (t.experts == Segment::Experts::Columns)
      place_expert_chunk(t, j, v.data(), out.data() + t.chunks[j].matrix * matrix_bytes);
    else
      std::copy(v.begin(), v.end(), out.begin() + std::ptrdiff_t(t.source_bytes(t.chunks[j].first_value)));
  }
  return out;
}

void place_expert_chunk(const Segment& t, size_t j, const uint8_t* chunk, uint8_t* matrix_bytes) {
  const ChunkEntry& e = t.chunks.at(j);
  if (t.experts != Segment::Experts::Columns) throw std::logic_error("place_expert_chunk: not a column block");
  const uint64_t rows = t.dims[t.dims.size() - 2], cols = t.dims.back();
  const size_t run = size_t(t.source_bytes(e.count));
  for (uint64_t r = 0; r < rows; ++r)
    std::copy(chunk + r * run, chunk + (r + 1) * run, matrix_bytes + t.source_bytes(r * cols + e.first));
}

size_t expert_chunk(const Segment& t, uint64_t matrix, uint32_t expert) {
  if (!t.has_experts()) throw FormatError("tensor " + quote_name(t.name) + " has no expert chunks");
  const auto key = [](const ChunkEntry& e) { return std::make_pair(uint64_t(e.matrix), e.expert); };
  const auto it = std::lower_bound(t.chunks.begin(), t.chunks.end(), std::make_pair(matrix, expert),
                                   [&](const ChunkEntry& e, const std::pair<uint64_t, uint32_t>& k) { return key(e) < k; });
  if (it == t.chunks.end() || key(*it) != std::make_pair(matrix, expert))
    throw FormatError("tensor " + quote_name(t.name) + " has no expert " + std::to_string(expert) + " in matrix " +
                      std::to_string(matrix));
  return size_t(it - t.chunks.begin());
}

std::vector<ExpertBlock> fetch_experts(const ContainerReader& reader, const Segment& t, uint64_t matrix,
                                       const std::vector<uint8_t>& active) {
  if (!t.has_experts()) throw FormatError("tensor " + quote_name(t.name) + " has no expert chunks");
  if (matrix >= t.matrices())
    throw FormatError("tensor " + quote_name(t.name) + " has no matrix " + std::to_string(matrix));
  const size_t first = expert_chunk(t, matrix, 0);
  size_t experts = 0;
  while (first + experts < t.chunks.size() && t.chunks[first + experts].matrix == matrix) ++experts;
  if (active.size() != experts)
    throw FormatError("tensor " + quote_name(t.name) + " matrix " + std::to_string(matrix) + " has " +
                      std::to_string(experts) + " experts, the decision " + std::to_string(active.size()));
  std::vector<ExpertBlock> out;
  for (size_t e = 0; e < experts; ++e) {
    if (!active[e]) continue;
    const ChunkEntry& c = t.chunks[first + e];
    ExpertBlock b;
    b.expert = c.expert;
    b.first = c.first;
    b.count = c.count;
    b.chunk = first + e;
    b.coded_bytes = c.size;
    b.values = reader.decode_chunk(t, first + e);
    out.push_back(std::move(b));
  }
  return out;
}

void ContainerReader::read_literal(const Segment& s, uint64_t at, uint8_t* dst, size_t n) const {
  if (s.is_tensor() || at > s.length || n > s.length - at) throw std::out_of_range("ContainerReader: literal range");
  source_->read(s.offset + at, dst, n);
}

void ContainerReader::verify_literal(const Segment& s) const {
  std::vector<uint8_t> buf(size_t(std::min<uint64_t>(s.length, kLiteralWindow)));
  Checksum::Running sum(literal_checksum(index_.version, s));
  for (uint64_t at = 0; at < s.length; at += buf.size()) {
    const size_t n = size_t(std::min<uint64_t>(buf.size(), s.length - at));
    read_literal(s, at, buf.data(), n);
    sum.update(buf.data(), n);
  }
  if (sum.value() != s.crc)
    throw FormatError("checksum mismatch in the literal segment at source offset " + std::to_string(s.source_offset));
}

std::vector<Sparse24ChunkRef> sparse24_chunks(const ContainerReader& reader, const std::string& name) {
  const Segment& s = reader.tensor(name);
  if (!s.is_sparse24()) throw FormatError("tensor '" + name + "' is not stored 2:4");
  if (s.experts == Segment::Experts::Columns)
    throw FormatError("tensor '" + name + "' is cut into expert column blocks, not rows: fetch it by expert");
  const uint64_t cols = s.dims.back(), matrix_rows = s.dims[s.dims.size() - 2];
  std::vector<Sparse24ChunkRef> refs;
  uint64_t row = 0;  // flat row over all matrices
  for (size_t j = 0; j < s.chunks.size(); ++j) {
    Sparse24ChunkRef c;
    c.chunk = j;
    c.matrix = row / matrix_rows;  // the index guarantees whole rows inside one matrix
    c.first_row = row % matrix_rows;
    c.rows = uint32_t(s.chunks[j].value_count / cols);
    c.bytes = reader.chunk_bytes(s, j);
    c.checksum = reader.chunk_checksum(s, j);
    row += c.rows;
    refs.push_back(std::move(c));
  }
  return refs;
}

Sparse24 decode_sparse24_matrix(const ContainerReader& reader, const std::string& name, uint64_t matrix) {
  const Segment& s = reader.tensor(name);
  if (!s.is_sparse24()) throw FormatError("tensor '" + name + "' is not stored 2:4");
  if (s.dtype != DType::BF16)
    throw FormatError("tensor '" + name + "' is " + s.format.name() + ", the MAC array takes bf16");
  const uint64_t cols = s.dims.back(), rows = s.dims[s.dims.size() - 2];
  const uint64_t matrices = rows ? s.value_count / (rows * cols) : 0;
  if (matrix >= matrices) throw FormatError("tensor '" + name + "' has no matrix " + std::to_string(matrix));
  if (rows > INT_MAX || cols > INT_MAX) throw FormatError("tensor '" + name + "' is too large for ws::Sparse24");
  Sparse24 out;
  out.rows = int(rows);
  out.cols = int(cols);
  out.values.resize(size_t(rows * cols / 2));
  out.meta.resize(size_t(rows * cols / 4));
  out.perm = identity_perm(int(cols));
  const uint64_t groups = cols / 4;
  if (s.experts == Segment::Experts::Columns) {  // one expert's row segments: its groups go to its columns
    for (size_t j = 0; j < s.chunks.size(); ++j) {
      const ChunkEntry& e = s.chunks[j];
      if (e.matrix != matrix) continue;
      reader.decode_chunk(s, j);  // every check, the CRC included
      const std::vector<uint8_t> bytes = reader.chunk_bytes(s, j);
      const Sparse24Stored st = decode_sparse24_stored(bytes.data(), bytes.size(), s.dtype, e.count,
                                                       reader.chunk_checksum(s, j));
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t g = 0; g < e.count / 4; ++g) {
          const size_t from = size_t(r * st.groups + g), to = size_t(r * groups + e.first / 4 + g);
          out.meta[to] = st.meta[from];
          for (int k = 0; k < 2; ++k) out.values[2 * to + size_t(k)] = load_le16(&st.values[4 * from + 2 * size_t(k)]);
        }
    }
    return out;
  }
  for (const Sparse24ChunkRef& c : sparse24_chunks(reader, name)) {
    if (c.matrix != matrix) continue;
    reader.decode_chunk(s, c.chunk);  // every check, the CRC included, with tensor and chunk in errors
    const Sparse24Stored st = decode_sparse24_stored(c.bytes.data(), c.bytes.size(), s.dtype, cols, c.checksum);
    for (uint64_t r = 0; r < c.rows; ++r)
      for (uint64_t g = 0; g < groups; ++g) {
        const size_t from = size_t(r * st.groups + g), to = size_t((c.first_row + r) * groups + g);
        out.meta[to] = st.meta[from];
        for (int k = 0; k < 2; ++k)
          out.values[2 * to + size_t(k)] = load_le16(&st.values[4 * from + 2 * size_t(k)]);
      }
  }
  return out;
}

}  // namespace ws
