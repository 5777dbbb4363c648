// `decompress`: a .wsz container back into its source file, byte for byte, every CRC checked. Chunks
// decode on `threads` workers (0 = hardware concurrency) and are written in order.
#pragma once

#include "codec/container_reader.hpp"
#include "core/io.hpp"

namespace ws {

void decompress(const ContainerReader& in, ByteSink& out, unsigned threads = 0, const Progress& progress = {});

}  // namespace ws
