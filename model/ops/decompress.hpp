// `decompress`: a .wsz container back into its source file, byte for byte, every CRC checked. Chunks
// decode on `threads` workers (0 = hardware concurrency) and are written in order.
#pragma once

#include <string>

#include "codec/container_reader.hpp"
#include "core/io.hpp"

namespace ws {

void decompress(const ContainerReader& in, ByteSink& out, unsigned threads = 0, const Progress& progress = {});

// The line `weightstream decompress` prints: "<in> -> <out>: N bytes (<kind>), every checksum verified".
std::string decompress_summary(const std::string& in, const std::string& out, const ContainerReader& reader);

}  // namespace ws
