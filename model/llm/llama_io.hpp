// Loading and saving llama2.c models as LlamaWeights: from a .bin, or from a safetensors file that
// carries the llama2.c config in __metadata__ (such as the pruned models `weightstream prune` writes).
#pragma once

#include <map>
#include <cstdint>
#include <string>
#include <vector>

#include "llm/llama.hpp"

namespace ws {

// Loads a llama2.c .bin (files/llama2c.hpp) or a safetensors file written by save_llama
// (linear weights [L][out][in], optional <name>.perm I32 [L][in], config in __metadata__).
// Throws ws::FormatError.
LlamaWeights load_llama(const std::string& path);

// The bytes save_llama writes.
std::vector<uint8_t> llama_safetensors(const LlamaWeights& w, const std::map<std::string, std::string>& extra = {});

// Writes w as safetensors: every tensor F32 (perm I32), the config and `extra` in __metadata__.
// Through a temporary file renamed into place; throws ws::IoError if the OS refuses.
void save_llama(const LlamaWeights& w, const std::string& path,
                const std::map<std::string, std::string>& extra = {});

}  // namespace ws
