#include "codec/container_format.hpp"

#include <set>

#include <cctype>

#include "codec/chunk.hpp"
#include "codec/quant_chunk.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

constexpr uint64_t kLiteralRecord = 1 + 8 + 8 + 4;

// A tensor segment's format; a Segment filled in by hand with only a dtype (as before format ids) has
// the format of that dtype.
ValueFormat format_of(const Segment& s) {
  return s.format.empty() ? ValueFormat::of_dtype(s.dtype) : s.format;
}

// A 2:4 chunk covering `count` values from value `first` of tensor t must hold whole rows (at least
// one) of one matrix: the hardware streams a layer at a time.
void check_sparse24_rows(const Segment& t, uint64_t first, uint64_t count, size_t j) {
  const uint64_t cols = t.dims.back(), rows = t.dims[t.dims.size() - 2];
  if (count == 0 || count % cols != 0 || rows == 0)
    throw FormatError("2:4 chunk does not hold whole rows in " + chunk_where(t, j));
  const uint64_t row = first / cols % rows;  // first row within its matrix
  if (count / cols > rows - row) throw FormatError("2:4 chunk straddles two matrices in " + chunk_where(t, j));
}

// Bounds-checked little-endian reader of the index.
class IndexCursor {
 public:
  IndexCursor(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  uint64_t get(int bytes, const std::string& what) {
    need(size_t(bytes), what);
    uint64_t v = load_le(p_, bytes);
    p_ += bytes;
    return v;
  }
  void need(uint64_t bytes, const std::string& what) const {
    if (uint64_t(end_ - p_) < bytes) throw FormatError("index truncated in " + what);
  }
  size_t left() const { return size_t(end_ - p_); }
  const uint8_t* peek() const { return p_; }
  const uint8_t* take(size_t n, const std::string& what) {
    need(n, what);
    const uint8_t* p = p_;
    p_ += n;
    return p;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The format id and its parameters (docs/format.md section 4.1), errors naming the tensor.
ValueFormat parse_format(IndexCursor& c, const std::string& where) {
  const uint8_t* p = c.peek();
  const uint8_t* end = p + c.left();
  try {
    ValueFormat f = ValueFormat::parse(p, end);
    c.take(size_t(p - c.peek()), where);
    return f;
  } catch (const FormatError& e) {
    throw FormatError(std::string(e.what()) + " in " + where);
  }
}

// A dense (from kVersionExperts) or 2:4 (from kVersionSparse24Experts) tensor's expert layout and, with one, each chunk's key (docs/format.md
// section 4.3). The chunks must tile every matrix in order: matrix 0's experts 0, 1, ... covering its
// rows (or columns) without gap or overlap, then matrix 1's, and so on.
void parse_experts(IndexCursor& c, Segment& s, const std::string& where) {
  const uint64_t mode = c.get(1, where + " expert layout");
  if (mode > 2) throw FormatError("bad expert layout " + std::to_string(mode) + " in " + where);
  s.experts = Segment::Experts(mode);
  if (!s.has_experts()) return;
  if (s.dims.size() < 2) throw FormatError("expert chunks need rank >= 2 in " + where);
  const bool rows = s.experts == Segment::Experts::Rows;
  const uint64_t extent = rows ? s.dims[s.dims.size() - 2] : s.dims.back();  // rows or columns per matrix
  const uint64_t across = rows ? s.dims.back() : s.dims[s.dims.size() - 2];  // values per row or column
  const char* unit = rows ? "rows" : "columns";
  const uint64_t matrices = s.matrices();
  c.need(16 * s.chunks.size(), where + " expert keys");
  uint64_t matrix = 0, next = 0, expert = 0;  // where the next chunk must start
  for (size_t j = 0; j < s.chunks.size(); ++j) {
    ChunkEntry& e = s.chunks[j];
    e.matrix = uint32_t(c.get(4, where));
    e.expert = uint32_t(c.get(4, where));
    e.first = uint32_t(c.get(4, where));
    e.count = uint32_t(c.get(4, where));
    const std::string at = chunk_where(s, j);
    const std::string span = std::string(unit) + " " + std::to_string(e.first) + ".." +
                             std::to_string(uint64_t(e.first) + e.count) + " of matrix " + std::to_string(e.matrix);
    if (e.matrix >= matrices)
      throw FormatError("expert chunk in matrix " + std::to_string(e.matrix) + " out of range (" +
                        std::to_string(matrices) + " matrices) in " + at);
    if (e.matrix != matrix) {  // the matrix before must be complete, and this one the next
      if (e.matrix != matrix + 1 || next != extent)
        throw FormatError("expert chunks leave " + std::string(unit) + " " + std::to_string(next) + ".." +
                          std::to_string(extent) + " of matrix " + std::to_string(matrix) + " uncovered before " + at);
      matrix = e.matrix, next = 0, expert = 0;
    }
    if (e.count == 0) throw FormatError("empty expert chunk (" + span + ") in " + at);
    if (uint64_t(e.first) + e.count > extent)
      throw FormatError("expert chunk " + span + " out of range (" + std::to_string(extent) + " " + unit + ") in " + at);
    if (e.first < next) throw FormatError("expert chunk " + span + " overlaps the chunk before in " + at);
    if (e.first > next) throw FormatError("gap before expert chunk " + span + " in " + at);
    if (e.expert != expert)
      throw FormatError("expert " + std::to_string(e.expert) + " where expert " + std::to_string(expert) +
                        " comes next in " + at);
    if (s.is_sparse24() && !rows && e.count % 4 != 0)  // each row's segment is packed 2:4 on its own
      throw FormatError("2:4 expert chunk " + span + " is not whole groups of 4 columns in " + at);
    if (uint64_t(e.count) * across != e.value_count)
      throw FormatError("expert chunk of " + std::to_string(e.count) + " " + unit + " holds " +
                        std::to_string(e.value_count) + " values, not " + std::to_string(uint64_t(e.count) * across) +
                        ", in " + at);
    next = uint64_t(e.first) + e.count;
    ++expert;
  }
  if (matrices != 0 && (matrix + 1 != matrices || next != extent))
    throw FormatError("expert chunks cover " + std::string(unit) + " 0.." + std::to_string(next) + " of matrix " +
                      std::to_string(matrix) + ", not all " + std::to_string(matrices) + " matrices of " +
                      std::to_string(extent) + " " + unit + ", in " + where);
}

}  // namespace

bool container_version_known(uint64_t version) { return version >= kVersionCrc32 && version <= kNewestVersion; }

Checksum segment_checksum(uint16_t version, const std::string& name, uint64_t at) {
  if (version < kVersionBound) return Checksum::crc32();
  return Checksum::xxh3(xxh3_64(name.data(), name.size(), at));
}

Checksum chunk_checksum(uint16_t version, const Segment& t, size_t j) {
  return segment_checksum(version, t.name, t.source_offset + t.source_bytes(t.chunks.at(j).first_value));
}

Checksum literal_checksum(uint16_t version, const Segment& s) { return segment_checksum(version, "", s.source_offset); }

void ContentChecksum::add(uint64_t digest) {
  uint8_t b[8];
  store_le(b, digest, 8);
  stream_.update(b, 8);
}

std::string chunk_where(const Segment& t, size_t j) {
  return "tensor " + quote_name(t.name) + " chunk " + std::to_string(j);
}

uint64_t Segment::index_bytes(uint16_t version) const {
  if (!is_tensor()) return kLiteralRecord;
  const uint64_t format_bytes = is_quant() ? 1 : format_of(*this).record_bytes();
  const uint64_t experts_bytes =
      has_expert_layout(version) ? 1 + (has_experts() ? 16 * chunks.size() : 0) : 0;
  return 1 + 2 + name.size() + format_bytes + 1 + 8 * dims.size() + 8 + 4 + 16 * chunks.size() + experts_bytes;
}

bool Segment::has_expert_layout(uint16_t version) const {
  return (kind == Kind::Tensor && version >= kVersionExperts) ||
         (kind == Kind::Sparse24 && version >= kVersionSparse24Experts);
}

uint64_t Segment::sparse24_cols(size_t j) const {
  return experts == Experts::Columns ? chunks.at(j).count : dims.back();
}

uint64_t Segment::matrices() const {
  if (dims.size() < 2) return 0;
  const uint64_t per = dims[dims.size() - 2] * dims.back();
  return per ? value_count / per : 0;
}

uint64_t Segment::source_bytes(uint64_t values) const {
  if (is_quant()) return values / kQuantBlockValues * quant_layout(quant)->block_bytes();
  return values * format_of(*this).value_bytes();
}

std::string Segment::format_name() const {
  if (!is_quant()) return format_of(*this).name();
  std::string n = ggml_type_name(quant);
  for (char& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

std::vector<uint8_t> serialize_index(const Index& index) {
  std::vector<uint8_t> out;
  append_le(out, uint8_t(index.source_kind), 1);
  append_le(out, index.source_size, 8);
  if (index.version >= kVersionBound) append_le(out, index.content_checksum, 8);
  append_le(out, index.segments.size(), 4);
  for (const Segment& s : index.segments) {
    append_le(out, uint8_t(s.kind), 1);
    if (!s.is_tensor()) {
      append_le(out, s.length, 8);
      append_le(out, s.offset, 8);
      append_le(out, s.crc, 4);
      continue;
    }
    append_le(out, s.name.size(), 2);
    out.insert(out.end(), s.name.begin(), s.name.end());
    if (s.is_quant())
      append_le(out, uint8_t(s.quant), 1);
    else
      format_of(s).serialize(out);
    append_le(out, s.dims.size(), 1);
    for (uint64_t d : s.dims) append_le(out, d, 8);
    append_le(out, s.value_count, 8);
    append_le(out, s.chunks.size(), 4);
    for (const ChunkEntry& c : s.chunks) {
      append_le(out, c.offset, 8);
      append_le(out, c.size, 4);
      append_le(out, c.value_count, 4);
    }
    if (!s.has_expert_layout(index.version)) continue;
    append_le(out, uint8_t(s.experts), 1);
    if (!s.has_experts()) continue;
    for (const ChunkEntry& c : s.chunks) {
      append_le(out, c.matrix, 4);
      append_le(out, c.expert, 4);
      append_le(out, c.first, 4);
      append_le(out, c.count, 4);
    }
  }
  return out;
}

Index parse_index(const uint8_t* data, size_t size, uint64_t region_begin, uint64_t region_end, uint16_t version) {
  IndexCursor c(data, size);
  Index ix;
  ix.version = version;
  const uint64_t kind = c.get(1, "source kind");
  if (kind > 3) throw FormatError("unknown source kind " + std::to_string(kind));
  ix.source_kind = SourceKind(kind);
  ix.source_size = c.get(8, "source size");
  if (version >= kVersionBound) ix.content_checksum = c.get(8, "content checksum");
  const uint64_t count = c.get(4, "segment count");
  // The smallest record (a tensor with an empty name, rank 0 and no chunk) takes 17 bytes.
  if (count > c.left() / 17) throw FormatError("index truncated: too short for " + std::to_string(count) + " segments");
  ix.segments.reserve(size_t(count));

  auto in_region = [&](uint64_t offset, uint64_t length) {
    return offset >= region_begin && offset <= region_end && length <= region_end - offset;
  };
  std::set<std::string> names;
  uint64_t source_offset = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string seg = "segment " + std::to_string(i);
    Segment s;
    const uint64_t k = c.get(1, seg);
    if (k == 0) {
      s.kind = Segment::Kind::Literal;
      s.length = c.get(8, seg);
      s.offset = c.get(8, seg);
      s.crc = uint32_t(c.get(4, seg));
      if (!in_region(s.offset, s.length)) throw FormatError("offset out of range in literal " + seg);
    } else if (k >= 1 && k <= 3) {
      s.kind = Segment::Kind(k);
      const size_t name_len = size_t(c.get(2, seg));
      const uint8_t* name = c.take(name_len, seg + " name");
      s.name.assign(reinterpret_cast<const char*>(name), name_len);
      const std::string where = "tensor " + quote_name(s.name);
      if (!is_utf8(s.name)) throw FormatError("the name of " + where + " (" + seg + ") is not UTF-8");
      if (s.is_quant()) {
        const uint64_t type = c.get(1, where);
        if (!quant_layout(GgmlType(type)))
          throw FormatError("bad block-quantized type " + std::to_string(type) + " in " + where);
        s.quant = GgmlType(type);
      } else {
        s.format = parse_format(c, where);
        s.dtype = s.format.dtype();
      }
      const uint64_t rank = c.get(1, where);
      c.need(8 * rank, where + " dims");
      bool empty = false;
      uint64_t product = 1;
      bool overflow = false;
      for (uint64_t r = 0; r < rank; ++r) {
        const uint64_t d = c.get(8, where);
        s.dims.push_back(d);
        empty = empty || d == 0;
        if (product != 0 && d > UINT64_MAX / product) overflow = true;
        product *= d;
      }
      s.value_count = c.get(8, where);
      if (empty) product = 0, overflow = false;
      if (overflow || product != s.value_count)
        throw FormatError("dims do not match the value count in " + where);
      const uint64_t chunks = c.get(4, where);
      c.need(16 * chunks, where + " chunk list");
      s.chunks.resize(size_t(chunks));
      const unsigned raw_bits = s.is_quant() ? 0 : unsigned(s.format.min_raw_bits());
      if (s.is_sparse24() && s.dtype == DType::Raw) throw FormatError("2:4 " + where + " must be bf16, f16 or f32");
      if (s.is_sparse24() && !sparse24_shape_ok(s.dtype, s.dims))
        throw FormatError("2:4 " + where + " needs rank >= 2 and a last dim that is a multiple of 4");
      if (s.is_quant() && (s.dims.empty() || s.dims.back() % kQuantBlockValues != 0))
        throw FormatError("block-quantized " + where + " needs a last dim that is a multiple of 32");
      uint64_t values = 0;
      for (uint64_t j = 0; j < chunks; ++j) {
        ChunkEntry& e = s.chunks[size_t(j)];
        e.offset = c.get(8, where);
        e.size = uint32_t(c.get(4, where));
        e.value_count = uint32_t(c.get(4, where));
        if (!in_region(e.offset, e.size))
          throw FormatError("offset out of range in " + chunk_where(s, size_t(j)));
        // Every value puts raw_bits into the raw stream (a 2:4 chunk keeps at least half of them), so
        // a chunk cannot be smaller than that; this also bounds what a reader allocates by the file's size.
        const uint64_t coded = s.is_sparse24() ? e.value_count / 2 : e.value_count;
        if (coded * raw_bits > uint64_t(e.size) * 8)
          throw FormatError("chunk too small for its value count in " + chunk_where(s, size_t(j)));
        // Formats whose symbols may take no raw bit: the compressor's chunk limit bounds allocation.
        if (raw_bits == 0 && e.value_count > kMaxChunkValues)
          throw FormatError("more than 2^24 values in " + chunk_where(s, size_t(j)));
        if (s.is_quant() && e.value_count % kQuantBlockValues != 0)
          throw FormatError("chunk is not whole blocks of 32 values in " + chunk_where(s, size_t(j)));
        e.first_value = values;
        values += e.value_count;  // < 2^64: at most 2^32 chunks of < 2^32 values
      }
      if (values != s.value_count)
        throw FormatError("chunk value counts add up to " + std::to_string(values) + ", not " +
                          std::to_string(s.value_count) + ", in " + where);
      if (!s.is_quant() && s.value_count > UINT64_MAX / s.format.value_bytes())
        throw FormatError("absurd value count in " + where);
      s.length = s.source_bytes(s.value_count);
      if (s.has_expert_layout(version)) parse_experts(c, s, where);
      // A 2:4 chunk holds whole rows of one matrix, or (column blocks) one expert's row segments.
      if (s.is_sparse24() && s.experts != Segment::Experts::Columns)
        for (size_t j = 0; j < s.chunks.size(); ++j) check_sparse24_rows(s, s.chunks[j].first_value, s.chunks[j].value_count, j);
      if (!names.insert(s.name).second) throw FormatError("duplicate " + where);
    } else {
      throw FormatError("unknown kind " + std::to_string(k) + " of " + seg);
    }
    if (s.length > UINT64_MAX - source_offset) throw FormatError("segment lengths overflow");
    s.source_offset = source_offset;
    source_offset += s.length;
    ix.segments.push_back(std::move(s));
  }
  if (c.left() != 0) throw FormatError("trailing bytes in index");
  if (source_offset != ix.source_size)
    throw FormatError("segments cover " + std::to_string(source_offset) + " bytes, but the source size is " +
                      std::to_string(ix.source_size));
  return ix;
}

}  // namespace ws
