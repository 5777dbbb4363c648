// Custom number formats as JSON (schema in docs/numfmt.md). The file may be hostile: sizes, types,
// ranges and unknown keys are all checked before a table is built, and Format::custom validates the
// table itself.
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/error.hpp"
#include "numfmt/numfmt.hpp"

namespace ws::numfmt {
namespace {

using nlohmann::json;

constexpr size_t kMaxJsonBytes = 1 << 20;
constexpr size_t kMaxNameBytes = 64;

const char* const kClassNames[] = {"none", "zero", "finite", "finite_nan_max", "inf", "nan", "inf_nan"};
const char* const kSignNames[] = {"raw", "plus", "minus"};

[[noreturn]] void fail(const std::string& what) { throw FormatError("number format JSON: " + what); }

void only_keys(const json& obj, std::initializer_list<const char*> keys, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (!known) fail(where + ": unknown key '" + it.key().substr(0, 40) + "'");
  }
}

int get_int(const json& obj, const char* key, int lo, int hi, int fallback, bool required, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) fail(where + ": missing '" + key + "'");
    return fallback;
  }
  if (!it->is_number_integer()) fail(where + ": '" + key + "' must be an integer");
  // Compare as 64-bit before narrowing, so 2^40 is not taken for something small.
  const bool is_unsigned = it->is_number_unsigned();
  if (is_unsigned ? it->get<uint64_t>() > uint64_t(hi) : (it->get<int64_t>() < lo || it->get<int64_t>() > hi))
    fail(where + ": '" + key + "' out of " + std::to_string(lo) + ".." + std::to_string(hi));
  return int(it->get<int64_t>());
}

template <size_t N>
int get_name(const json& obj, const char* key, const char* const (&names)[N], int fallback, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (fallback < 0) fail(where + ": missing '" + key + "'");
    return fallback;
  }
  if (!it->is_string()) fail(where + ": '" + key + "' must be a string");
  for (size_t i = 0; i < N; ++i)
    if (it->get<std::string>() == names[i]) return int(i);
  fail(where + ": unknown " + key + " '" + it->get<std::string>().substr(0, 40) + "'");
}

}  // namespace

const char* class_name(Class c) { return uint8_t(c) <= uint8_t(Class::InfNaN) ? kClassNames[int(c)] : "bad"; }
const char* sign_name(Sign s) { return uint8_t(s) <= uint8_t(Sign::Minus) ? kSignNames[int(s)] : "bad"; }

Format Format::from_json(const std::string& text) {
  if (text.size() > kMaxJsonBytes) fail("larger than 1 MiB");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    fail(std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object()) fail("top level must be an object");
  only_keys(doc, {"name", "kind", "symbols"}, "top level");

  const auto name_it = doc.find("name");
  if (name_it == doc.end() || !name_it->is_string()) fail("'name' must be a string");
  const std::string name = name_it->get<std::string>();
  if (name.empty() || name.size() > kMaxNameBytes) fail("'name' must have 1..64 characters");
  for (char c : name)
    if (c < 0x21 || c > 0x7e) fail("'name' must be printable ASCII without spaces");

  const char* const kinds[] = {"float", "int"};
  const Kind kind = Kind(get_name(doc, "kind", kinds, 0, "top level"));

  const auto syms = doc.find("symbols");
  if (syms == doc.end() || !syms->is_array()) fail("'symbols' must be an array");
  if (syms->empty() || syms->size() > size_t(kSymbols)) fail("'symbols' must have 1..256 entries");

  std::array<Entry, kSymbols> table{};
  std::set<int> seen;
  size_t index = 0;
  for (const json& item : *syms) {
    std::string where = "symbols[" + std::to_string(index++) + "]";
    if (!item.is_object()) fail(where + " must be an object");
    only_keys(item, {"symbol", "class", "scale", "raw_bits", "sign", "implicit_one"}, where);
    const int s = get_int(item, "symbol", 0, kSymbols - 1, 0, true, where);
    where += " (symbol " + std::to_string(s) + ")";
    if (!seen.insert(s).second) fail(where + ": symbol defined twice");
    Entry e;
    e.cls = Class(get_name(item, "class", kClassNames, -1, where));
    if (e.cls == Class::None) fail(where + ": class 'none' is written by leaving the symbol out");
    e.scale = get_int(item, "scale", -512, 511, 0, false, where);
    e.raw_bits = get_int(item, "raw_bits", 0, kMaxRawBits, 0, true, where);
    e.sign = Sign(get_name(item, "sign", kSignNames, 0, where));
    const auto imp = item.find("implicit_one");
    if (imp != item.end() && !imp->is_boolean()) fail(where + ": 'implicit_one' must be true or false");
    e.implicit_one = imp == item.end() || imp->get<bool>();
    table[size_t(s)] = e;
  }
  return custom(name, kind, table);  // validates the table's semantics
}

Format Format::from_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError("cannot open " + path);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > kMaxJsonBytes) fail(path + " is larger than 1 MiB");
  }
  return from_json(text);
}

std::string Format::to_json() const {
  json doc;
  doc["name"] = name_;
  doc["kind"] = kind_ == Kind::Int ? "int" : "float";
  json syms = json::array();
  for (int s = 0; s < kSymbols; ++s) {
    const Entry& e = table_[size_t(s)];
    if (e.cls == Class::None) continue;
    json item;
    item["symbol"] = s;
    item["class"] = kClassNames[int(e.cls)];
    item["raw_bits"] = e.raw_bits;
    item["sign"] = kSignNames[int(e.sign)];
    if (e.cls == Class::Finite || e.cls == Class::FiniteNanMax) {
      item["scale"] = e.scale;
      item["implicit_one"] = e.implicit_one;
    }
    syms.push_back(item);
  }
  doc["symbols"] = syms;
  return doc.dump(1);
}

}  // namespace ws::numfmt
