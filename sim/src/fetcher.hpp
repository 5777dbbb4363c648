// The weight fetcher: reads every chunk of a pass from DRAM in order, once per pass, into the input
// buffer. A chunk is allocated in the buffer before its first request, then read as its DMA streams
// (StreamChunk::dma: headers, each state's stream, the raw stream), each in burst-aligned requests,
// by `outstanding` worker threads (requests in flight), one issued per memory clock.
#pragma once

#include <deque>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "input_buffer.hpp"
#include "workload.hpp"

namespace wsim {

struct FetcherParams {
  int passes = 1;
  int burst_bytes = 64;
  int outstanding = 16;
  double mem_mhz = 200;
};

class Fetcher : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Fetcher> socket;

  Fetcher(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, const FetcherParams& p);
  uint64_t requests() const { return requests_; }

 private:
  struct Request {
    FetchedChunk* chunk;
    uint64_t addr;
    uint32_t offset, len;  // within the chunk
  };
  void planner();
  void worker();

  const Workload& w_;
  InputBuffer& buffer_;
  FetcherParams p_;
  sc_core::sc_time period_;
  std::deque<Request> queue_;
  sc_core::sc_event queued_;
  sc_core::sc_time next_issue_;
  uint64_t requests_ = 0;
};

}  // namespace wsim
