// A tensor segment's number format: id, parameters and the codec's lookup tables (docs/format.md 4.1).
#include "numfmt/value_format.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {

struct ValueFormat::Data {
  explicit Data(numfmt::Format f) : fmt(std::move(f)) {}
  FormatId id = FormatId::Table;
  DType dtype = DType::Raw;
  numfmt::Format fmt;
  size_t value_bytes = 0;
  int min_raw_bits = 0;
  // Formats of at most 16 bits (all but fp32): pattern -> raw << 8 | symbol, and code index -> pattern.
  std::vector<uint32_t> split;
  std::array<uint32_t, numfmt::kSymbols> base{};
  std::vector<uint32_t> join;
};

namespace {

constexpr int kMaxTableBits = 16;  // patterns of the lookup tables (and of embedded tables)

// Fills the lookup tables; a pattern split() refuses (a custom table's unused codes) gets kNoCode.
void build_tables(ValueFormat::Data& d) {
  const numfmt::Format& f = d.fmt;
  uint32_t codes = 0;
  for (int s = 0; s < numfmt::kSymbols; ++s) {
    d.base[size_t(s)] = codes;
    if (f.entry(unsigned(s)).cls != numfmt::Class::None) codes += 1u << f.entry(unsigned(s)).raw_bits;
  }
  const uint32_t patterns = 1u << f.pattern_bits();
  d.split.assign(patterns, ValueFormat::kNoCode);
  d.join.assign(codes, ValueFormat::kNoCode);
  for (uint32_t p = 0; p < patterns; ++p) {
    numfmt::Code c;
    try {
      c = f.split(p);
    } catch (const FormatError&) {
      continue;
    }
    d.split[p] = c.raw << 8 | c.symbol;
    d.join[d.base[c.symbol] + c.raw] = p;
  }
}

int min_raw_bits_of(const numfmt::Format& f) {
  int m = numfmt::kMaxRawBits;
  for (int s = 0; s < numfmt::kSymbols; ++s)
    if (f.entry(unsigned(s)).cls != numfmt::Class::None) m = std::min(m, f.entry(unsigned(s)).raw_bits);
  return m;
}

std::shared_ptr<ValueFormat::Data> make(FormatId id, numfmt::Format f) {
  auto d = std::make_shared<ValueFormat::Data>(std::move(f));
  d->id = id;
  d->value_bytes = size_t(d->fmt.pattern_bits() + 7) / 8;
  d->min_raw_bits = min_raw_bits_of(d->fmt);
  if (id == FormatId::BF16 || id == FormatId::F16 || id == FormatId::F32) {
    d->dtype = DType(uint8_t(id));  // the codec keeps its own fast split for these
  } else {
    if (d->fmt.pattern_bits() > kMaxTableBits)
      throw FormatError("number format " + d->fmt.name() + ": patterns wider than 16 bits cannot be stored");
    build_tables(*d);
  }
  return d;
}

uint32_t get_bytes(const uint8_t*& p, const uint8_t* end, int n) {
  if (end - p < n) throw FormatError("index truncated in format");
  const uint32_t v = uint32_t(load_le(p, n));
  p += n;
  return v;
}

}  // namespace

// Built once per process and shared: a format's tables (numfmt::Format's encoder index, the split and
// join tables) cost far more than decoding a chunk, and a reader parses one format per tensor.
std::shared_ptr<const ValueFormat::Data> builtin_data(FormatId id, const char* name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ValueFormat::Data>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& d = cache[name];
  if (!d) d = make(id, numfmt::Format::builtin(name));
  return d;
}

ValueFormat ValueFormat::of_dtype(DType t) {
  ValueFormat v;
  switch (t) {
    case DType::BF16: v.d_ = builtin_data(FormatId::BF16, "bf16"); break;
    case DType::F16: v.d_ = builtin_data(FormatId::F16, "fp16"); break;
    case DType::F32: v.d_ = builtin_data(FormatId::F32, "fp32"); break;
    default: throw std::invalid_argument("ValueFormat::of_dtype: dtype is not coded");
  }
  return v;
}

ValueFormat ValueFormat::of(const numfmt::Format& f) {
  // A built-in is recognised by its name (Format::builtin gives each one its canonical name).
  const std::string& n = f.name();
  if (f.layout() != numfmt::Layout::CodeIndex) {
    if (n == "bf16") return of_dtype(DType::BF16);
    if (n == "fp16") return of_dtype(DType::F16);
    if (n == "fp32") return of_dtype(DType::F32);
    ValueFormat v;
    if (n == "e4m3") v.d_ = builtin_data(FormatId::E4M3, "e4m3");
    if (n == "e5m2") v.d_ = builtin_data(FormatId::E5M2, "e5m2");
    if (n == "int8") v.d_ = builtin_data(FormatId::Int8, "int8");
    if (n == "int4") v.d_ = builtin_data(FormatId::Int4, "int4");
    if (f.layout() == numfmt::Layout::Posit) v.d_ = builtin_data(FormatId::Posit, n.c_str());
    if (v.d_) return v;
  }
  ValueFormat v;
  v.d_ = make(FormatId::Table, numfmt::Format::custom(n, f.kind(), f.table()));
  return v;
}

ValueFormat ValueFormat::named(const std::string& name) {
  // A custom format: its JSON text (as stored in safetensors metadata) or a .json file.
  if (!name.empty() && name[0] == '{') return of(numfmt::Format::from_json(name));
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
    return of(numfmt::Format::from_json_file(name));
  return of(numfmt::Format::builtin(name));
}

std::string ValueFormat::metadata_name() const {
  return d_->id == FormatId::Table ? d_->fmt.to_json() : d_->fmt.name();
}

ValueFormat ValueFormat::parse(const uint8_t*& p, const uint8_t* end) {
  const uint32_t id = get_bytes(p, end, 1);
  switch (id) {
    case 1: return of_dtype(DType::BF16);
    case 2: return of_dtype(DType::F16);
    case 3: return of_dtype(DType::F32);
    case 4: return named("e4m3");
    case 5: return named("e5m2");
    case 6: return named("int8");
    case 8: return named("int4");
    case 7: {
      const int n = int(get_bytes(p, end, 1)), es = int(get_bytes(p, end, 1));
      if (n < 2 || n > 16 || es > 3)
        throw FormatError("bad posit format (n " + std::to_string(n) + ", es " + std::to_string(es) + ")");
      return of(numfmt::Format::posit(n, es));
    }
    case 255: {
      const uint32_t kind = get_bytes(p, end, 1);
      if (kind > 1) throw FormatError("bad format kind " + std::to_string(kind));
      const uint32_t name_len = get_bytes(p, end, 1);
      if (end - p < std::ptrdiff_t(name_len)) throw FormatError("index truncated in format");
      const std::string name(reinterpret_cast<const char*>(p), name_len);
      p += name_len;
      const uint32_t m = get_bytes(p, end, 2);
      if (m < 1 || m > numfmt::kSymbols) throw FormatError("bad format symbol count " + std::to_string(m));
      std::array<numfmt::Entry, numfmt::kSymbols> table{};
      for (uint32_t i = 0; i < m; ++i) {
        const uint32_t s = get_bytes(p, end, 1), word = get_bytes(p, end, 3);
        const numfmt::Entry e = numfmt::Entry::unpack(word);
        if (table[s].cls != numfmt::Class::None || e.cls == numfmt::Class::None)
          throw FormatError("bad format table entry for symbol " + std::to_string(s));
        table[s] = e;
      }
      return of(numfmt::Format::custom(name, numfmt::Kind(kind), table));  // validates the table
    }
    default: break;
  }
  throw FormatError("bad format id " + std::to_string(id));
}

void ValueFormat::serialize(std::vector<uint8_t>& out) const {
  out.push_back(uint8_t(d_->id));
  if (d_->id == FormatId::Posit) {
    const std::string& n = d_->fmt.name();  // "posit<n>_<es>"
    int bits = 0, es = 0;
    std::sscanf(n.c_str(), "posit%d_%d", &bits, &es);
    out.push_back(uint8_t(bits));
    out.push_back(uint8_t(es));
  } else if (d_->id == FormatId::Table) {
    out.push_back(uint8_t(d_->fmt.kind()));
    const std::string name = d_->fmt.name().substr(0, 255);
    out.push_back(uint8_t(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    std::vector<uint8_t> entries;
    uint32_t m = 0;
    for (int s = 0; s < numfmt::kSymbols; ++s) {
      const numfmt::Entry& e = d_->fmt.entry(unsigned(s));
      if (e.cls == numfmt::Class::None) continue;
      ++m;
      const uint32_t w = e.pack();
      entries.push_back(uint8_t(s));
      append_le(entries, w, 3);
    }
    append_le(out, m, 2);
    out.insert(out.end(), entries.begin(), entries.end());
  }
}

size_t ValueFormat::record_bytes() const {
  std::vector<uint8_t> b;
  serialize(b);
  return b.size();
}

FormatId ValueFormat::id() const { return d_->id; }
DType ValueFormat::dtype() const { return d_ ? d_->dtype : DType::Raw; }
const numfmt::Format& ValueFormat::format() const { return d_->fmt; }
size_t ValueFormat::value_bytes() const { return d_->value_bytes; }
int ValueFormat::min_raw_bits() const { return d_->min_raw_bits; }

std::string ValueFormat::name() const {
  if (d_->dtype != DType::Raw) return dtype_name(d_->dtype);
  return d_->fmt.name();
}

bool ValueFormat::operator==(const ValueFormat& o) const {
  if (!d_ || !o.d_) return d_ == o.d_;
  return d_->id == o.d_->id && d_->fmt.name() == o.d_->fmt.name() && d_->fmt.kind() == o.d_->fmt.kind() &&
         d_->fmt.table() == o.d_->fmt.table();
}

uint32_t ValueFormat::split_code(uint32_t p) const { return p < d_->split.size() ? d_->split[p] : kNoCode; }
uint32_t ValueFormat::code_base(unsigned symbol) const { return d_->base[symbol & 0xff]; }
uint32_t ValueFormat::join_code(uint32_t c) const { return c < d_->join.size() ? d_->join[c] : kNoCode; }

// ---------------------------------------------------------------------------------------------
// safetensors

std::string safetensors_format_key(const std::string& tensor) { return "weightstream.format." + tensor; }

std::string safetensors_dtype_of(const ValueFormat& f) {
  switch (f.id()) {
    case FormatId::BF16: return "BF16";
    case FormatId::F16: return "F16";
    case FormatId::F32: return "F32";
    case FormatId::E4M3: return "F8_E4M3";
    case FormatId::E5M2: return "F8_E5M2";
    case FormatId::Int8: return "I8";
    default: return f.value_bytes() == 1 ? "U8" : "U16";
  }
}

bool safetensors_needs_metadata(const ValueFormat& f) {
  return f.id() == FormatId::Posit || f.id() == FormatId::Int4 || f.id() == FormatId::Table;
}

ValueFormat safetensors_value_format(const std::string& dtype, const std::string& metadata_format,
                                     const std::string& tensor) {
  if (!metadata_format.empty()) {
    ValueFormat f;
    try {
      // Never a file name: the metadata comes from the (untrusted) input file.
      f = ValueFormat::of(metadata_format[0] == '{' ? numfmt::Format::from_json(metadata_format)
                                                    : numfmt::Format::builtin(metadata_format));
    } catch (const FormatError& e) {
      throw FormatError("tensor '" + tensor + "': " + e.what());
    }
    if (safetensors_dtype_of(f) != dtype)
      throw FormatError("tensor '" + tensor + "': format " + f.name() + " needs dtype " + safetensors_dtype_of(f) +
                        ", not " + dtype);
    return f;
  }
  if (dtype == "BF16") return ValueFormat::of_dtype(DType::BF16);
  if (dtype == "F16") return ValueFormat::of_dtype(DType::F16);
  if (dtype == "F32") return ValueFormat::of_dtype(DType::F32);
  if (dtype == "F8_E4M3") return ValueFormat::named("e4m3");
  if (dtype == "F8_E5M2") return ValueFormat::named("e5m2");
  if (dtype == "I8") return ValueFormat::named("int8");
  return {};
}

}  // namespace ws
