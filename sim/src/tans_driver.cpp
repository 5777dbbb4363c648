#include "tans_driver.hpp"

#include <stdexcept>
#include <string>

#include "hw/error_text.hpp"

namespace wsim {

void TansDriver::add(const ws::ChunkView& v, uint32_t shared_cfg_slots) {
  if (v.value_count == 0) throw std::logic_error("TansDriver: a chunk of 0 values needs no run");
  if (v.lanes != lanes_)
    throw std::runtime_error("a chunk of " + std::to_string(v.lanes) + " lanes for a decoder of " +
                             std::to_string(lanes_));
  bank_ = !bank_;
  Chunk c;
  c.program = ws::tans_chunk_program(v, bank_ ? 1 : 0);
  c.shared_slots = shared_cfg_slots;
  c.next_unit.assign(c.program.units.size(), 0);
  chunks_.push_back(std::move(c));
}

bool TansDriver::ready_for_next() const { return loading() == nullptr; }

const TansDriver::Chunk* TansDriver::loading() const {
  for (const Chunk& c : chunks_)
    if (!c.desc_taken) return &c;
  return nullptr;
}

const TansDriver::Chunk* TansDriver::on_port(int s) const {
  for (const Chunk& c : chunks_)
    if (c.next_unit[size_t(s)] < c.program.units[size_t(s)].size()) return &c;
  return nullptr;
}

ws::TansDecoderInputs TansDriver::drive(bool out_ready) const {
  ws::TansDecoderInputs in;
  if (const Chunk* c = loading()) {
    const ws::TansChunkProgram& p = c->program;
    if (c->shared_slots) {
      // The port carries the other decoder's table this clock.
    } else if (c->next_write < p.table.size()) {  // the table first: the descriptor may not overtake it
      in.cfg_valid = true;
      in.cfg_bank = p.desc.bank;
      in.cfg_addr = p.table[c->next_write].addr;
      in.cfg_data = p.table[c->next_write].data;
    } else {
      in.desc_valid = true;
      in.desc = p.desc;
    }
  }
  for (int s = 0; s < 2 * lanes_; ++s)
    if (const Chunk* c = on_port(s)) {
      const ws::StreamUnit& u = c->program.units[size_t(s)][c->next_unit[size_t(s)]];
      in.in_valid[size_t(s)] = true;
      in.in_data[size_t(s)] = u.data;
      in.in_last[size_t(s)] = u.last;
    }
  in.out_ready = out_ready;
  return in;
}

bool TansDriver::edge(const ws::TansDecoderInputs& in, const ws::TansDecoderOutputs& out,
                      std::vector<uint8_t>& symbols) {
  if (out.err)
    throw std::runtime_error(std::string("tANS decoder error: ") + ws::error_text(out.err_cause) + " (cause " +
                             std::to_string(int(out.err_cause)) + ")");
  if (Chunk* c = loading()) {
    if (c->shared_slots) --c->shared_slots;
    if (in.cfg_valid && out.cfg_ready) ++c->next_write;
    if (in.desc_valid && out.desc_ready) c->desc_taken = true;
  }
  for (int s = 0; s < 2 * lanes_; ++s)
    if (in.in_valid[size_t(s)] && out.in_ready[size_t(s)]) ++on_port(s)->next_unit[size_t(s)];
  if (!(out.out_valid && in.out_ready)) return false;
  for (int i = 0; i < out.out_count; ++i) symbols.push_back(out.out_data[size_t(i)]);
  if (!out.out_last) return false;
  chunks_.pop_front();
  return true;
}

}  // namespace wsim
