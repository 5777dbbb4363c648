#include "tans_driver.hpp"

#include <stdexcept>
#include <string>

#include "hw/error_text.hpp"

namespace wsim {

void TansDriver::start(const ws::ChunkView& v) {
  chunk_ = ws::tans_chunk_program(v);
  next_entry_ = next_word_ = 0;
  desc_sent_ = false;
  done_ = v.value_count == 0;
}

ws::TansDecoderInputs TansDriver::drive(bool out_ready) const {
  ws::TansDecoderInputs in;
  if (next_entry_ < chunk_.table.size()) {  // the table first: the descriptor may not overtake it
    in.cfg_valid = true;
    in.cfg_addr = chunk_.table[next_entry_].addr;
    in.cfg_data = chunk_.table[next_entry_].data;
  } else if (!desc_sent_) {
    in.desc_valid = true;
    in.desc = chunk_.desc;
  }
  if (next_word_ < chunk_.words.size()) {
    in.in_valid = true;
    in.in_data = chunk_.words[next_word_].data;
    in.in_last = chunk_.words[next_word_].last;
  }
  in.out_ready = out_ready;
  return in;
}

void TansDriver::edge(const ws::TansDecoderInputs& in, const ws::TansDecoderOutputs& out,
                      std::vector<uint8_t>& symbols) {
  if (out.err)
    throw std::runtime_error(std::string("tANS decoder error: ") + ws::error_text(out.err_cause) + " (cause " +
                             std::to_string(int(out.err_cause)) + ")");
  if (in.cfg_valid && out.cfg_ready) ++next_entry_;
  if (in.desc_valid && out.desc_ready) desc_sent_ = true;
  if (in.in_valid && out.in_ready) ++next_word_;
  if (out.out_valid && in.out_ready) {
    for (int i = 0; i < out.out_count; ++i) symbols.push_back(out.out_data[size_t(i)]);
    if (out.out_last) done_ = true;
  }
}

}  // namespace wsim
