// Byte-level BPE (GPT-2's scheme, llama.cpp's tokenizer model "gpt2") from a model's metadata:
// tokenizer.ggml.tokens, .merges, .token_type, .bos/.eos_token_id and the pre-tokenizer .pre, as a GGUF
// file or the safetensors file `convert` writes from one holds them (llm/model_meta.hpp). Encoding splits
// the text into pieces (pre-tokenizer "smollm": every digit alone, then GPT-2's regex, matched by PCRE2
// with Unicode properties), maps each piece's bytes to GPT-2's byte characters and applies the merges
// lowest rank first; control tokens (<|im_start|>, ...) are matched in the text only when asked.
// Also the chat template: ChatML, the only one supported.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "llm/model_meta.hpp"

namespace ws {

class Tokenizer {
 public:
  // Throws ws::FormatError naming what is missing or unsupported (a tokenizer model other than "gpt2",
  // an unknown pre-tokenizer, a merge of tokens not in the vocabulary, ...).
  explicit Tokenizer(const ModelMeta& md);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;

  // The ids of text (any bytes: invalid UTF-8 is split off and encoded byte by byte). A byte the
  // vocabulary has no token for is dropped, as HF tokenizers and llama.cpp do (SmolLM2 lacks 21: the
  // controls 0x04 0x06 0x13 0x14 0x16 0x1D and bytes UTF-8 never uses); for text without them
  // decode(encode(s)) == s. special: control tokens written in the text become those tokens.
  std::vector<int> encode(const std::string& text, bool special = false) const;
  // The bytes of the tokens; control tokens give nothing unless special. Throws for an unknown id.
  std::string decode(const std::vector<int>& ids, bool special = false) const;
  std::string piece(int id, bool special = false) const;  // one token's bytes

  int vocab_size() const { return int(tokens_.size()); }
  int bos() const { return bos_; }
  int eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }  // tokenizer.ggml.add_bos_token: prompts start with bos
  bool is_control(int id) const;

  // The prompt for one user message under the model's chat template, ending where the assistant's
  // answer begins. Only ChatML is supported ("<|im_start|>role\ncontent<|im_end|>\n" per message,
  // then "<|im_start|>assistant\n"); the template's default system message, if it writes one, comes
  // first. Throws ws::FormatError when the file has no template or another one.
  std::string chat_prompt(const std::string& user) const;
  int chat_end() const;  // the id of <|im_end|>, which ends the assistant's turn

 private:
  void bpe(const std::string& piece, std::vector<int>& out) const;
  void encode_plain(const std::string& text, std::vector<int>& out) const;

  std::vector<std::string> tokens_;
  std::vector<int32_t> types_;  // llama.cpp's token types: 1 normal, 3 control, 4 user-defined, 6 byte, ...
  std::unordered_map<std::string, int> ids_;
  struct Merge {
    int rank;
    int id;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, merged id
  int byte_ids_[256];                          // the token of each single byte, -1 for none
  std::vector<int> specials_;                  // control and user-defined tokens, matched in text
  int bos_ = -1, eos_ = -1;
  bool add_bos_ = false;
  std::string chat_template_;
  struct Regexes;
  std::unique_ptr<Regexes> re_;  // the pre-tokenizer's compiled patterns
};

// A model file's tokenizer; throws ws::FormatError saying so when the file has none (a llama2.c .bin, a
// safetensors file without GGUF metadata, a GGUF file without tokenizer.ggml.*).
Tokenizer load_tokenizer(const std::string& path);

// The tokenizer of a file that carries one, nullopt for a file that carries none (no GGUF-style
// metadata, or no tokenizer.ggml.model in it); a tokenizer that is there but broken still throws.
std::optional<Tokenizer> load_tokenizer_if_any(const std::string& path);

}  // namespace ws
