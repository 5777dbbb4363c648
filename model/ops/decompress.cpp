#include "ops/decompress.hpp"

#include <algorithm>
#include <cinttypes>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "ops/report.hpp"

namespace ws {

void decompress(const ContainerReader& in, ByteSink& out, unsigned threads, const Progress& progress) {
  const Index& ix = in.index();
  uint64_t done = 0;
  auto emit = [&](const std::vector<uint8_t>& b) {
    out.write(b.data(), b.size());
    done += b.size();
    if (progress) progress(done, ix.source_size);
  };

  using Bytes = std::vector<uint8_t>;
  OrderedPipeline<Bytes> pipe(resolve_threads(threads));
  uint32_t crc = 0;  // of the literal being written; consumers run one at a time, in order
  for (const Segment& s : ix.segments) {
    if (s.is_tensor()) {
      for (size_t j = 0; j < s.chunks.size(); ++j)
        pipe.run([&in, &s, j] { return in.decode_chunk(s, j); }, [&emit](Bytes& b) { emit(b); });
      continue;
    }
    pipe.then([&crc] { crc = 0; });  // a running CRC-32 starts at 0
    for (uint64_t at = 0; at < s.length; at += kLiteralWindow) {
      Bytes b(size_t(std::min<uint64_t>(kLiteralWindow, s.length - at)));
      in.read_literal(s, at, b.data(), b.size());
      pipe.ready(std::move(b), [&crc, &emit](Bytes& b) {
        crc = crc32_update(crc, b.data(), b.size());
        emit(b);
      });
    }
    pipe.then([&crc, &s] {
      if (crc != s.crc)
        throw FormatError("checksum mismatch in the literal segment at source offset " +
                          std::to_string(s.source_offset));
    });
  }
  pipe.finish();
}

std::string decompress_summary(const std::string& in, const std::string& out, const ContainerReader& reader) {
  return strprintf("%s -> %s: %" PRIu64 " bytes (%s), every checksum verified\n", in.c_str(), out.c_str(),
                   reader.index().source_size, source_kind_name(reader.index().source_kind));
}

}  // namespace ws
