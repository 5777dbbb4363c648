#include "llm/tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <climits>
#include <memory>

#include "core/error.hpp"
#include "core/io.hpp"

namespace ws {
namespace {

// llama.cpp's token types (llama_token_type): the ones that are not byte-level text.
constexpr int32_t kControl = 3, kUserDefined = 4;

// GPT-2's pattern, as HF tokenizers' ByteLevel pre-tokenizer writes it (llama.cpp's equals it without
// the last alternative, which its splitter supplies by keeping unmatched text as pieces).
const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char* const kDigitPattern = "\\p{N}";  // "smollm": every digit a piece of its own, first

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 for U+0100 onwards.
std::vector<uint32_t> byte_chars() {
  std::vector<uint32_t> c(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    c[b] = printable ? b : next++;
  }
  return c;
}

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// The bytes a byte-level token stands for; a character outside GPT-2's map (none in a well-formed
// vocabulary) is kept as its UTF-8.
std::string token_bytes(const std::string& text, const std::unordered_map<uint32_t, uint8_t>& byte_of) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c0 = static_cast<unsigned char>(text[i]);
    size_t n = c0 < 0x80 ? 1 : c0 < 0xE0 ? 2 : c0 < 0xF0 ? 3 : 4;
    if (i + n > text.size()) n = text.size() - i;
    uint32_t cp = n == 1 ? c0 : c0 & (0x3F >> (n - 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    auto it = byte_of.find(cp);
    if (it != byte_of.end()) out += char(it->second);
    else out += text.substr(i, n);
    i += n;
  }
  return out;
}

}  // namespace

struct Tokenizer::Regexes {
  pcre2_code* digits = nullptr;  // null: no digit split (pre-tokenizer "gpt2")
  pcre2_code* gpt2 = nullptr;
  std::vector<std::string> bytes;  // each token's bytes
  ~Regexes() {
    pcre2_code_free(digits);
    pcre2_code_free(gpt2);
  }
  static pcre2_code* compile(const char* pattern) {
    int err = 0;
    PCRE2_SIZE at = 0;
    // UCP: \s, \p{L} by Unicode properties; MATCH_INVALID_UTF: invalid bytes never match, so they are
    // left between matches and encoded byte by byte instead of failing the match.
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &at, nullptr);
    if (!c) throw FormatError("pre-tokenizer pattern does not compile (PCRE2 error " + std::to_string(err) + ")");
    return c;
  }
  // The pieces of text[begin, end): every match and every run between matches, in order.
  static void split(const pcre2_code* re, const std::string& text, size_t begin, size_t end,
                    std::vector<std::pair<size_t, size_t>>& out) {
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(pcre2_match_data_create_from_pattern(re, nullptr),
                                                                       pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t at = begin;
    while (at < end) {
      const int rc = pcre2_match(re, subject, end, at, 0, md.get(), nullptr);
      if (rc < 0) break;  // no further match (or a matching error): the rest is one piece
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      if (ov[1] == ov[0]) break;  // the patterns cannot match empty; stop rather than loop
      if (ov[0] > at) out.push_back({at, ov[0]});
      out.push_back({ov[0], ov[1]});
      at = ov[1];
    }
    if (at < end) out.push_back({at, end});
  }
};

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;

Tokenizer::Tokenizer(const ModelMeta& md) : re_(std::make_unique<Regexes>()) {
  if (!md.has("tokenizer.ggml.model")) throw FormatError("the model file has no tokenizer (no tokenizer.ggml.model metadata)");
  const std::string model = md.text("tokenizer.ggml.model");
  if (model != "gpt2")
    throw FormatError("tokenizer model '" + model + "' is not supported (byte-level BPE, 'gpt2', only)");
  const std::string pre = md.has("tokenizer.ggml.pre") ? md.text("tokenizer.ggml.pre") : "default";
  if (pre == "smollm") re_->digits = Regexes::compile(kDigitPattern);
  else if (pre != "gpt2") throw FormatError("pre-tokenizer '" + pre + "' is not supported ('smollm' and 'gpt2' are)");
  re_->gpt2 = Regexes::compile(kGpt2Pattern);

  tokens_ = md.strings("tokenizer.ggml.tokens");
  if (tokens_.empty() || tokens_.size() > size_t(INT_MAX)) throw FormatError("tokenizer.ggml.tokens is empty or too long");
  const int n = int(tokens_.size());
  if (md.has("tokenizer.ggml.token_type")) {
    for (int64_t t : md.integers("tokenizer.ggml.token_type")) types_.push_back(int32_t(t));
    if (types_.size() != tokens_.size()) throw FormatError("tokenizer.ggml.token_type and .tokens differ in length");
  } else {
    types_.assign(tokens_.size(), 1);
  }
  auto token_id = [&](const char* key) {
    const int64_t v = md.integer(key, -1);
    if (v < -1 || v >= n) throw FormatError(std::string("metadata '") + key + "' is not a token id");
    return int(v);
  };
  bos_ = token_id("tokenizer.ggml.bos_token_id");
  eos_ = token_id("tokenizer.ggml.eos_token_id");
  add_bos_ = md.has("tokenizer.ggml.add_bos_token") && md.text("tokenizer.ggml.add_bos_token") == "true";
  if (md.has("tokenizer.chat_template")) chat_template_ = md.text("tokenizer.chat_template");

  for (int i = 0; i < n; ++i) {
    ids_.emplace(tokens_[size_t(i)], i);  // the first of equal texts wins, as in llama.cpp
    if (types_[size_t(i)] == kControl || types_[size_t(i)] == kUserDefined) specials_.push_back(i);
  }
  const std::vector<uint32_t> chars = byte_chars();
  std::unordered_map<uint32_t, uint8_t> byte_of;
  for (int b = 0; b < 256; ++b) {
    byte_of[chars[size_t(b)]] = uint8_t(b);
    auto it = ids_.find(utf8(chars[size_t(b)]));
    byte_ids_[b] = it == ids_.end() ? -1 : it->second;
  }
  re_->bytes.resize(tokens_.size());
  for (int i = 0; i < n; ++i) {
    const int32_t t = types_[size_t(i)];
    re_->bytes[size_t(i)] = t == kControl || t == kUserDefined ? tokens_[size_t(i)] : token_bytes(tokens_[size_t(i)], byte_of);
  }

  const std::vector<std::string> merges = md.strings("tokenizer.ggml.merges");
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t sp = m.find(' ', 1);  // the left part is never empty; a space token is "Ġ"
    auto left = ids_.find(m.substr(0, sp)), right = ids_.end(), merged = ids_.end();
    if (sp != std::string::npos) {
      right = ids_.find(m.substr(sp + 1));
      merged = ids_.find(m.substr(0, sp) + m.substr(sp + 1));
    }
    if (left == ids_.end() || right == ids_.end() || merged == ids_.end())
      throw FormatError("tokenizer merge " + std::to_string(r) + " '" + m + "' names tokens not in the vocabulary");
    const uint64_t key = uint64_t(uint32_t(left->second)) << 32 | uint32_t(right->second);
    merges_.emplace(key, Merge{int(r), merged->second});  // the first rank of a pair wins
  }
}

bool Tokenizer::is_control(int id) const {
  return id >= 0 && id < vocab_size() && types_[size_t(id)] == kControl;
}

// BPE on one piece: start from its bytes, merge the adjacent pair of lowest rank (leftmost on a tie)
// until no pair has a merge, as llama.cpp and HF tokenizers do.
void Tokenizer::bpe(const std::string& piece, std::vector<int>& out) const {
  std::vector<int> s;
  s.reserve(piece.size());
  for (unsigned char c : piece)
    if (byte_ids_[c] >= 0) s.push_back(byte_ids_[c]);  // a byte without a token is dropped, as HF tokenizers does
  while (s.size() > 1) {
    size_t best = 0;
    const Merge* bm = nullptr;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = merges_.find(uint64_t(uint32_t(s[i])) << 32 | uint32_t(s[i + 1]));
      if (it != merges_.end() && (!bm || it->second.rank < bm->rank)) {
        bm = &it->second;
        best = i;
      }
    }
    if (!bm) break;
    s[best] = bm->id;
    s.erase(s.begin() + long(best) + 1);
  }
  out.insert(out.end(), s.begin(), s.end());
}

void Tokenizer::encode_plain(const std::string& text, std::vector<int>& out) const {
  std::vector<std::pair<size_t, size_t>> parts, pieces;
  if (re_->digits) Regexes::split(re_->digits, text, 0, text.size(), parts);
  else parts.push_back({0, text.size()});
  for (const auto& [b, e] : parts) Regexes::split(re_->gpt2, text, b, e, pieces);
  for (const auto& [b, e] : pieces) bpe(text.substr(b, e - b), out);
}

std::vector<int> Tokenizer::encode(const std::string& text, bool special) const {
  std::vector<int> out;
  size_t at = 0;
  while (at < text.size()) {
    // The next special token written in the text (the longest one where several start together).
    size_t found = std::string::npos;
    int which = -1;
    for (int id : specials_) {
      if (!special && types_[size_t(id)] == kControl) continue;
      const std::string& t = tokens_[size_t(id)];
      if (t.empty()) continue;
      const size_t p = text.find(t, at);
      if (p != std::string::npos && (p < found || (p == found && t.size() > tokens_[size_t(which)].size()))) {
        found = p;
        which = id;
      }
    }
    encode_plain(text.substr(at, found == std::string::npos ? std::string::npos : found - at), out);
    if (which < 0) break;
    out.push_back(which);
    at = found + tokens_[size_t(which)].size();
  }
  return out;
}

std::string Tokenizer::piece(int id, bool special) const {
  if (id < 0 || id >= vocab_size()) throw FormatError("token id " + std::to_string(id) + " is not in the vocabulary");
  if (!special && types_[size_t(id)] == kControl) return "";
  return re_->bytes[size_t(id)];
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool special) const {
  std::string out;
  for (int id : ids) out += piece(id, special);
  return out;
}

std::string Tokenizer::chat_prompt(const std::string& user) const {
  const std::string start = "<|im_start|>", end = "<|im_end|>";
  if (chat_template_.empty()) throw FormatError("the model file has no chat template (tokenizer.chat_template)");
  if (chat_template_.find(start) == std::string::npos || chat_template_.find(end) == std::string::npos ||
      !ids_.count(start) || !ids_.count(end))
    throw FormatError("the chat template is not ChatML, the only one supported: " + chat_template_.substr(0, 60) + "...");
  std::string prompt;
  // The default system message a ChatML template writes when the conversation has none.
  const std::string system = start + "system\n";
  const size_t s = chat_template_.find(system);
  if (s != std::string::npos) {
    const size_t e = chat_template_.find(end, s);
    if (e != std::string::npos) prompt = chat_template_.substr(s, e - s) + end + "\n";
  }
  return prompt + start + "user\n" + user + end + "\n" + start + "assistant\n";
}

int Tokenizer::chat_end() const {
  auto it = ids_.find("<|im_end|>");
  return it == ids_.end() ? -1 : it->second;
}

namespace {

struct FileMeta {
  SourceKind kind;
  std::optional<ModelMeta> md;
};

FileMeta file_meta(const std::string& path) {
  std::unique_ptr<FileSource> src;
  try {
    src = std::make_unique<FileSource>(path);
  } catch (const IoError& e) {
    throw FormatError(e.what());
  }
  const ModelFile m = require_model_file(*src);
  return {m.kind, model_meta(m)};
}

}  // namespace

Tokenizer load_tokenizer(const std::string& path) {
  const FileMeta f = file_meta(path);
  if (!f.md) {
    if (f.kind == SourceKind::Llama2c) throw FormatError("has no tokenizer (a llama2.c .bin carries none)");
    throw FormatError("has no tokenizer (only GGUF files and what `convert` writes from them carry one)");
  }
  return Tokenizer(*f.md);
}

std::optional<Tokenizer> load_tokenizer_if_any(const std::string& path) {
  const FileMeta f = file_meta(path);
  if (!f.md || !f.md->has("tokenizer.ggml.model")) return std::nullopt;
  return Tokenizer(*f.md);
}

}  // namespace ws
