#include "fetcher.hpp"

#include <string>

#include "clock.hpp"
#include "dram.hpp"
#include "token_tag.hpp"

namespace wsim {

using namespace sc_core;

Fetcher::Fetcher(sc_module_name name, const Workload& w, InputBuffer& buffer, const FetcherParams& p)
    : sc_module(name), socket("socket"), w_(w), buffer_(buffer), p_(p), period_(period_of(p.mem_mhz)) {
  SC_HAS_PROCESS(Fetcher);
  SC_THREAD(planner);
  for (int i = 0; i < p_.outstanding; ++i)
    sc_spawn(sc_bind(&Fetcher::worker, this), ("worker_" + std::to_string(i)).c_str());
}

void Fetcher::planner() {
  for (int pass = 0; pass < p_.passes; ++pass)
    for (uint32_t i : w_.pass_chunks(pass)) {
      const StreamChunk& sc = w_.chunks[i];
      FetchedChunk* c = buffer_.allocate(uint32_t(pass), i, sc.bytes);
      // Each DMA stream of the chunk (headers, a state's stream, the raw stream) in bursts of its own.
      for (const DmaStream& d : sc.dma)
        for (const auto& [addr, len] : split_bursts(d.addr, d.bytes, uint32_t(p_.burst_bytes))) {
          queue_.push_back({c, addr, uint32_t(addr - sc.addr), len});
          ++c->pending;
        }
      queued_.notify();
    }
}

void Fetcher::worker() {
  tlm::tlm_generic_payload gp;
  auto* tag = new TokenTag;  // owned by gp from here
  gp.set_extension(tag);
  for (;;) {
    while (queue_.empty()) wait(queued_);
    const Request r = queue_.front();
    queue_.pop_front();
    // At most one request issued per memory clock.
    align(period_);
    if (next_issue_ > sc_time_stamp()) wait(next_issue_ - sc_time_stamp());
    next_issue_ = sc_time_stamp() + period_;
    ++requests_;

    tag->token = r.chunk->pass;
    gp.set_command(tlm::TLM_READ_COMMAND);
    gp.set_address(r.addr);
    gp.set_data_ptr(r.chunk->bytes.data() + r.offset);
    gp.set_data_length(r.len);
    gp.set_streaming_width(r.len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = SC_ZERO_TIME;
    socket->b_transport(gp, delay);
    if (gp.is_response_error()) SC_REPORT_FATAL("fetcher", gp.get_response_string().c_str());
    wait(delay);
    buffer_.complete_request(r.chunk);
  }
}

}  // namespace wsim
