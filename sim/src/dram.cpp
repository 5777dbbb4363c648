#include "dram.hpp"

#include <cstring>

#include "token_tag.hpp"

namespace wsim {

using namespace sc_core;

Dram::Dram(sc_module_name name, const std::vector<uint8_t>& image, uint64_t scratch_base, uint64_t scratch_bytes,
           const DramParams& p)
    : sc_module(name), socket("socket"), image_(image), scratch_base_(scratch_base),
      scratch_bytes_(scratch_bytes), p_(p) {
  socket.register_b_transport(this, &Dram::b_transport);
  SC_HAS_PROCESS(Dram);
  SC_THREAD(arbiter);
}

const DramStats& Dram::stats(int initiator) const {
  static const DramStats none;
  return size_t(initiator) < stats_.size() ? stats_[size_t(initiator)] : none;
}

DramStats Dram::total() const {
  DramStats t;
  for (const DramStats& s : stats_) {
    t.read_bytes += s.read_bytes;
    t.write_bytes += s.write_bytes;
    t.requests += s.requests;
  }
  return t;
}

void Dram::b_transport(int id, tlm::tlm_generic_payload& gp, sc_time& delay) {
  wait(delay);  // synchronise: arbitration needs everyone at the same time
  delay = SC_ZERO_TIME;
  const uint64_t addr = gp.get_address();
  const uint32_t len = gp.get_data_length();
  const bool write = gp.is_write();
  const bool in_image = addr + len <= image_.size();
  const bool in_scratch = addr >= scratch_base_ && addr + len <= scratch_base_ + scratch_bytes_;
  if (len == 0 || len > uint32_t(p_.burst_bytes) || (!in_image && !in_scratch) || (write && in_image) ||
      gp.get_byte_enable_ptr() || gp.get_streaming_width() < len) {
    gp.set_response_status(len > uint32_t(p_.burst_bytes) ? tlm::TLM_BURST_ERROR_RESPONSE
                                                          : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (!write) {
    if (in_image)
      std::memcpy(gp.get_data_ptr(), image_.data() + addr, len);
    else
      std::memset(gp.get_data_ptr(), 0, len);
  }

  const TokenTag* tag = gp.get_extension<TokenTag>();
  Pending req{len, {}};
  queue_.emplace(std::make_tuple(tag ? tag->token : 0u, id == 0 ? 0 : 1, arrivals_++), &req);
  queued_.notify();
  wait(req.done);

  if (stats_.size() <= size_t(id)) stats_.resize(size_t(id) + 1);
  DramStats& s = stats_[size_t(id)];
  (write ? s.write_bytes : s.read_bytes) += len;
  ++s.requests;
  if (p_.log) log_.push_back({id, addr, len, write});
  delay += sc_time(p_.latency_ns, SC_NS);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Dram::arbiter() {
  for (;;) {
    while (queue_.empty()) wait(queued_);
    Pending* req = queue_.begin()->second;
    queue_.erase(queue_.begin());
    const sc_time t(double(req->len) / p_.gbps, SC_NS);  // bytes / (1e9 bytes/s) = ns
    busy_ += t;
    wait(t);
    req->done.notify();
  }
}

}  // namespace wsim
