#include "tans_driver.hpp"

#include <stdexcept>
#include <string>

namespace wsim {

void TansDriver::start(const ws::ChunkView& v) {
  table_.clear();
  for (const ws::tans::DecodeEntry& e : ws::tans::build_decode_table(v.counts)) table_.push_back(e.pack());
  words_.assign(v.symbol_bytes / 4, 0);
  for (size_t i = 0; i < words_.size(); ++i)
    for (int b = 0; b < 4; ++b) words_[i] |= uint32_t(v.symbol_stream[4 * i + size_t(b)]) << (8 * b);
  desc_ = TansInputs{};
  desc_.state = v.initial_states;
  desc_.count = v.value_count;
  desc_.no_stream = words_.empty();
  desc_.table_log = uint32_t(v.counts.table_log);
  next_entry_ = next_word_ = 0;
  desc_sent_ = false;
  done_ = v.value_count == 0;
}

TansInputs TansDriver::drive(bool out_ready) const {
  TansInputs in;
  if (next_entry_ < table_.size()) {  // the table first: the descriptor may not overtake it
    in.cfg_valid = true;
    in.cfg_addr = uint32_t(next_entry_);
    in.cfg_data = table_[next_entry_];
  } else if (!desc_sent_) {
    in = desc_;
    in.desc_valid = true;
  }
  if (next_word_ < words_.size()) {
    in.in_valid = true;
    in.in_data = words_[next_word_];
    in.in_last = next_word_ + 1 == words_.size();
  }
  in.out_ready = out_ready;
  return in;
}

void TansDriver::edge(const TansInputs& in, const TansOutputs& out, std::vector<uint8_t>& symbols) {
  if (out.err) throw std::runtime_error("tANS decoder error, cause " + std::to_string(out.err_cause));
  if (in.cfg_valid && out.cfg_ready) ++next_entry_;
  if (in.desc_valid && out.desc_ready) desc_sent_ = true;
  if (in.in_valid && out.in_ready) ++next_word_;
  if (out.out_valid && in.out_ready) {
    for (uint32_t i = 0; i < out.out_count; ++i) symbols.push_back(uint8_t(out.out_data >> (8 * i)));
    if (out.out_last) done_ = true;
  }
}

}  // namespace wsim
