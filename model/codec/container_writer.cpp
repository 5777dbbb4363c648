#include "codec/container_writer.hpp"

#include <memory>
#include <stdexcept>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"

namespace ws {

ContainerWriter::ContainerWriter(ByteSink& out, SourceKind kind, uint64_t source_size, uint16_t version)
    : out_(out) {
  if (!container_version_known(version)) throw std::logic_error("ContainerWriter: unknown version");
  index_.version = version;
  index_.source_kind = kind;
  index_.source_size = source_size;
  std::vector<uint8_t> header(kContainerMagic, kContainerMagic + 4);
  append_le(header, version, 2);
  append_le(header, 0, 2);  // flags
  append_le(header, 0, 8);  // reserved
  put(header.data(), header.size());
}

void ContainerWriter::put(const uint8_t* data, size_t n) {
  out_.write(data, n);
  written_ += n;
}

void ContainerWriter::begin_literal() {
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: begin_literal inside a segment");
  state_ = State::Literal;
  Segment s;
  s.kind = Segment::Kind::Literal;
  s.source_offset = source_done_;
  s.offset = written_;
  literal_sum_ = std::make_unique<Checksum::Running>(literal_checksum(index_.version, s));
  index_.segments.push_back(std::move(s));
}

void ContainerWriter::literal_bytes(const uint8_t* data, size_t n) {
  if (state_ != State::Literal) throw std::logic_error("ContainerWriter: literal bytes outside a literal");
  Segment& s = index_.segments.back();
  put(data, n);
  literal_sum_->update(data, n);
  s.length += n;
  source_done_ += n;
}

void ContainerWriter::end_literal() {
  if (state_ != State::Literal) throw std::logic_error("ContainerWriter: end_literal outside a literal");
  index_.segments.back().crc = literal_sum_->value();
  if (index_.version >= kVersionBound) content_.add(literal_sum_->digest());
  literal_sum_.reset();
  state_ = State::Idle;
}

Checksum ContainerWriter::chunk_checksum() const {
  if (state_ != State::Tensor) throw std::logic_error("ContainerWriter: chunk_checksum outside a tensor");
  return segment_checksum(index_.version, index_.segments.back().name, source_done_);
}

void ContainerWriter::begin_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& dims,
                                   bool sparse24) {
  if (dtype == DType::Raw) throw std::logic_error("ContainerWriter: tensor dtype is not coded");
  begin_tensor(name, ValueFormat::of_dtype(dtype), dims, sparse24);
}

void ContainerWriter::begin_tensor(const std::string& name, const ValueFormat& format,
                                   const std::vector<uint64_t>& dims, bool sparse24) {
  const DType dtype = format.dtype();
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: begin_tensor inside a segment");
  if (format.empty()) throw std::logic_error("ContainerWriter: tensor without a format");
  if (name.size() > 0xffff || dims.size() > 255) throw std::logic_error("ContainerWriter: name or rank too long");
  if (sparse24 && !sparse24_shape_ok(dtype, dims)) throw std::logic_error("ContainerWriter: no 2:4 shape");
  state_ = State::Tensor;
  Segment s;
  s.kind = sparse24 ? Segment::Kind::Sparse24 : Segment::Kind::Tensor;
  s.source_offset = source_done_;
  s.name = name;
  s.format = format;
  s.dtype = dtype;
  s.dims = dims;
  index_.segments.push_back(std::move(s));
}

void ContainerWriter::begin_quant_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& dims) {
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: begin_quant_tensor inside a segment");
  if (!quant_layout(type)) throw std::logic_error("ContainerWriter: type is not block-coded");
  if (name.size() > 0xffff || dims.size() > 255) throw std::logic_error("ContainerWriter: name or rank too long");
  if (dims.empty() || dims.back() % kQuantBlockValues != 0)
    throw std::logic_error("ContainerWriter: rows of a block-quantized tensor must be whole blocks");
  state_ = State::Tensor;
  Segment s;
  s.kind = Segment::Kind::Quant;
  s.source_offset = source_done_;
  s.name = name;
  s.quant = type;
  s.dims = dims;
  index_.segments.push_back(std::move(s));
}

void ContainerWriter::add_chunk(const std::vector<uint8_t>& chunk, const uint8_t* source, size_t source_size) {
  if (state_ != State::Tensor) throw std::logic_error("ContainerWriter: chunk outside a tensor");
  if (index_.segments.back().has_experts()) throw std::logic_error("ContainerWriter: add_chunk in an expert-chunked tensor");
  add_chunk_keyed(chunk, source, source_size, nullptr);
}

void ContainerWriter::add_chunk_keyed(const std::vector<uint8_t>& chunk, const uint8_t* source, size_t source_size,
                                      const ChunkEntry* key) {
  if (chunk.size() < 4 || chunk.size() > UINT32_MAX) throw std::logic_error("ContainerWriter: bad chunk size");
  Segment& s = index_.segments.back();
  // The container's version names its chunks' layout (sub-chunks included).
  try {
    check_chunk_layouts(chunk.data(), chunk.size(), s, layout_of_version(index_.version));
  } catch (const FormatError& e) {
    throw std::logic_error(std::string("ContainerWriter: ") + e.what());
  }
  ChunkEntry e;
  if (key) e.matrix = key->matrix, e.expert = key->expert, e.first = key->first, e.count = key->count;
  e.offset = written_;
  e.size = uint32_t(chunk.size());
  // A dense chunk starts with its value count, a 2:4 chunk with its row count (of a column block's
  // `count` columns, or of the tensor's last dim).
  const bool block = key && s.experts == Segment::Experts::Columns;
  const uint64_t count = load_le(chunk.data(), 4) * (s.is_sparse24() ? (block ? key->count : s.dims.back()) : 1);
  if (count > UINT32_MAX) throw std::logic_error("ContainerWriter: chunk too large");
  e.value_count = uint32_t(count);
  e.first_value = s.value_count;
  if (index_.version >= kVersionBound) {
    if (source_size != s.source_bytes(count) || (source_size && !source))
      throw std::logic_error("ContainerWriter: a chunk needs the source bytes it restores");
    uint64_t digest = 0;
    segment_checksum(index_.version, s.name, source_done_).with_digest(&digest).of(source, source_size);
    content_.add(digest);
  }
  put(chunk.data(), chunk.size());
  s.chunks.push_back(e);
  s.value_count += e.value_count;
  if (s.is_quant() && e.value_count % kQuantBlockValues != 0)
    throw std::logic_error("ContainerWriter: a block-quantized chunk must hold whole blocks");
  s.length += s.source_bytes(e.value_count);
  source_done_ += s.source_bytes(e.value_count);
}

void ContainerWriter::set_experts(Segment::Experts experts) {
  if (state_ != State::Tensor || index_.segments.back().is_quant() || !index_.segments.back().chunks.empty())
    throw std::logic_error("ContainerWriter: set_experts outside a dense or 2:4 tensor's start");
  if (!index_.segments.back().has_expert_layout(index_.version) && experts != Segment::Experts::None)
    throw std::logic_error("ContainerWriter: expert chunks of this tensor need version " +
                           std::to_string(index_.segments.back().is_sparse24() ? kVersionSparse24Experts : kVersionExperts));
  index_.segments.back().experts = experts;
}

void ContainerWriter::add_expert_chunk(const std::vector<uint8_t>& chunk, const uint8_t* source, size_t source_size,
                                       uint32_t matrix, uint32_t expert, uint32_t first, uint32_t count) {
  if (state_ != State::Tensor || !index_.segments.back().has_experts())
    throw std::logic_error("ContainerWriter: expert chunk outside an expert-chunked tensor");
  ChunkEntry key;
  key.matrix = matrix, key.expert = expert, key.first = first, key.count = count;
  add_chunk_keyed(chunk, source, source_size, &key);
}

void ContainerWriter::end_tensor() {
  if (state_ != State::Tensor) throw std::logic_error("ContainerWriter: end_tensor outside a tensor");
  const Segment& s = index_.segments.back();
  uint64_t product = 1;
  for (uint64_t d : s.dims) product *= d;
  if (product != s.value_count) throw std::logic_error("ContainerWriter: chunks do not cover tensor " + s.name);
  state_ = State::Idle;
}

uint64_t ContainerWriter::finish() {
  if (state_ != State::Idle) throw std::logic_error("ContainerWriter: finish inside a segment");
  if (source_done_ != index_.source_size) throw std::logic_error("ContainerWriter: segments do not tile the source");
  index_.content_checksum = content_.value();
  const std::vector<uint8_t> index = serialize_index(index_);
  const uint64_t index_offset = written_;
  put(index.data(), index.size());
  std::vector<uint8_t> footer;
  append_le(footer, index_offset, 8);
  append_le(footer, index.size(), 8);
  append_le(footer, crc32_of(index.data(), index.size()), 4);
  footer.insert(footer.end(), kContainerEndMagic, kContainerEndMagic + 4);
  put(footer.data(), footer.size());
  state_ = State::Done;
  return written_;
}

}  // namespace ws
