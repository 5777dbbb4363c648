// One DRAM channel as a TLM-2.0 target (b_transport, loosely timed with a blocking arbiter).
//
// Every request occupies the channel for bytes / bandwidth; requests queue for the channel and are
// served oldest token first (TokenTag; untagged requests count as token 0), within a token the
// weight fetcher (initiator 0, which every processor waits on) first, then in arrival order. b_transport returns once the request has had the channel, with the access latency
// annotated in `delay` for the initiator to wait. Initiators keep several requests in flight by
// calling from several threads. Addresses [0, image) hold the weight image; [scratch_base,
// scratch_base + scratch_bytes) is the KV cache, timed and counted but not stored (reads give zeros).
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <utility>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <vector>

namespace wsim {

struct DramParams {
  double gbps = 3.2;
  double latency_ns = 100;
  int burst_bytes = 64;  // largest request accepted
  bool log = false;      // keep every request
};

struct DramRequest {
  int initiator;
  uint64_t addr;
  uint32_t len;
  bool write;
};

struct DramStats {
  uint64_t read_bytes = 0, write_bytes = 0, requests = 0;
};

class Dram : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Dram> socket;

  Dram(sc_core::sc_module_name name, const std::vector<uint8_t>& image, uint64_t scratch_base,
       uint64_t scratch_bytes, const DramParams& p);

  const DramStats& stats(int initiator) const;  // zeros for an initiator that never called
  DramStats total() const;
  const std::vector<DramRequest>& log() const { return log_; }
  sc_core::sc_time busy() const { return busy_; }  // channel occupied, summed

 private:
  struct Pending {
    uint32_t len;
    sc_core::sc_event done;
  };
  void b_transport(int id, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void arbiter();

  const std::vector<uint8_t>& image_;
  uint64_t scratch_base_, scratch_bytes_;
  DramParams p_;
  std::map<std::tuple<uint32_t, int, uint64_t>, Pending*> queue_;  // by (token, initiator > 0, arrival)
  uint64_t arrivals_ = 0;
  sc_core::sc_event queued_;
  std::vector<DramStats> stats_;
  std::vector<DramRequest> log_;
  sc_core::sc_time busy_;
};

}  // namespace wsim

namespace wsim {

// The requests that read [addr, addr + len): split at burst-aligned addresses.
inline std::vector<std::pair<uint64_t, uint32_t>> split_bursts(uint64_t addr, uint64_t len, uint32_t burst) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  while (len) {
    const uint32_t n = uint32_t(std::min<uint64_t>(len, burst - addr % burst));
    out.emplace_back(addr, n);
    addr += n;
    len -= n;
  }
  return out;
}

}  // namespace wsim
