#include "processor.hpp"

#include "clock.hpp"
#include "core/bytes.hpp"
#include "dram.hpp"
#include "token_tag.hpp"

namespace wsim {

using namespace sc_core;

Processor::Processor(sc_module_name name, const Workload& w, const ProcessorParams& p,
                     std::function<void()> on_finish)
    : sc_module(name), in("in", p.fifo_beats), kv_socket("kv_socket"), w_(w), p_(p),
      on_finish_(std::move(on_finish)), period_(period_of(p.mhz)), rng_(p.seed) {
  SC_HAS_PROCESS(Processor);
  SC_THREAD(thread);
  if (p_.kv_read_bytes + p_.kv_write_bytes > 0) {
    kv_scratch_.resize(size_t(p_.burst_bytes));
    SC_THREAD(kv_planner);
    for (int i = 0; i < p_.kv_outstanding; ++i)
      sc_spawn(sc_bind(&Processor::kv_worker, this), ("kv_worker_" + std::to_string(i)).c_str());
  }
}

void Processor::error(const std::string& what) {
  if (stats_.errors++ == 0) stats_.first_error = what;
}

void Processor::thread() {
  std::bernoulli_distribution stall(p_.stall_prob);
  std::uniform_int_distribution<int> stall_len(1, p_.stall_max);
  const bool kv = p_.kv_read_bytes + p_.kv_write_bytes > 0;
  uint8_t bytes[2 * Beat::kMax], nibbles[Beat::kMax];
  for (int pass = 0; pass < p_.passes; ++pass) {
    kv_started_ = pass + 2;  // double-buffered: the next token's KV cache loads during this one
    kv_start_ev_.notify(SC_ZERO_TIME);
    for (uint32_t ci : w_.pass_chunks(pass)) {
      const StreamChunk& c = w_.chunks[ci];
      ws::Checksum::Running crc(c.sum), meta_crc(c.sum);  // running checksums as the container computes them
      uint64_t n = 0;
      uint8_t idx0 = 0;  // 2:4: the first position of a group whose second is still to come
      for (bool last = false; !last;) {
        const Beat b = in.read();
        align(period_);
        if (b.pass != uint32_t(pass) || b.chunk != ci)
          error("pass " + std::to_string(pass) + " chunk " + std::to_string(ci) + ": got pass " +
                std::to_string(b.pass) + " chunk " + std::to_string(b.chunk));
        for (int i = 0; i < b.count; ++i) {  // the values' bytes as in the file: little-endian
          bytes[2 * i] = uint8_t(b.value[size_t(i)]);
          bytes[2 * i + 1] = uint8_t(b.value[size_t(i)] >> 8);
        }
        crc.update(bytes, size_t(2 * b.count));
        if (c.sparse) {  // the groups' nibbles, idx0 | idx1 << 2, as the metadata sub-chunk's symbols
          size_t groups = 0;
          for (int i = 0; i < b.count; ++i) {
            if ((n + uint64_t(i)) % 2 == 0)
              idx0 = b.idx[size_t(i)];
            else
              nibbles[groups++] = uint8_t(idx0 | b.idx[size_t(i)] << 2);
          }
          meta_crc.update(nibbles, groups);
        }
        n += b.count;
        stats_.values += b.count;
        ++stats_.beats;
        uint64_t clocks = (uint64_t(b.count) + uint64_t(p_.array) - 1) / uint64_t(p_.array);
        stats_.busy_cycles += clocks;
        if (p_.stall_prob > 0 && stall(rng_)) {
          const int s = stall_len(rng_);
          clocks += uint64_t(s);
          stats_.stall_cycles += uint64_t(s);
        }
        wait(period_ * double(clocks));
        last = b.last;
      }
      ++stats_.chunks;
      stats_.dense_values += c.dense_values;
      const std::string where = "pass " + std::to_string(pass) + " chunk " + std::to_string(ci);
      if (n != c.values) {
        error(where + ": " + std::to_string(n) + " values, expected " + std::to_string(c.values));
      } else {
        if (crc.value() != c.crc) error(where + ": checksum mismatch");
        if (c.sparse && meta_crc.value() != c.meta_crc) error(where + ": 2:4 metadata checksum mismatch");
      }
    }
    if (kv)
      while (kv_done_ < pass + 1) wait(kv_done_ev_);
    stats_.pass_end_s.push_back(sc_time_stamp().to_seconds());
  }
  if (on_finish_) on_finish_();
}

void Processor::kv_planner() {
  for (int pass = 0; pass < p_.passes; ++pass) {
    while (kv_started_ <= pass) wait(kv_start_ev_);
    // Reads of the cached positions, then the write-back of the previous token's keys and values.
    for (const auto& [a, n] : split_bursts(p_.kv_base, p_.kv_read_bytes, uint32_t(p_.burst_bytes)))
      kv_queue_.push_back({uint32_t(pass), a, n, false});
    for (const auto& [a, n] :
         split_bursts(p_.kv_base + p_.kv_read_bytes, p_.kv_write_bytes, uint32_t(p_.burst_bytes)))
      kv_queue_.push_back({uint32_t(pass), a, n, true});
    kv_pending_ = kv_queue_.size();
    kv_queued_ev_.notify();
    while (kv_pending_ > 0) wait(kv_drained_ev_);
    kv_done_ = pass + 1;
    kv_done_ev_.notify(SC_ZERO_TIME);
  }
}

void Processor::kv_worker() {
  tlm::tlm_generic_payload gp;
  auto* tag = new TokenTag;  // owned by gp from here
  gp.set_extension(tag);
  for (;;) {
    while (kv_queue_.empty()) wait(kv_queued_ev_);
    const KvRequest r = kv_queue_.front();
    kv_queue_.pop_front();
    tag->token = r.token;
    gp.set_command(r.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(r.addr);
    gp.set_data_ptr(kv_scratch_.data());
    gp.set_data_length(r.len);
    gp.set_streaming_width(r.len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = SC_ZERO_TIME;
    kv_socket->b_transport(gp, delay);
    if (gp.is_response_error()) SC_REPORT_FATAL("processor", gp.get_response_string().c_str());
    wait(delay);
    if (--kv_pending_ == 0) kv_drained_ev_.notify(SC_ZERO_TIME);
  }
}

}  // namespace wsim
