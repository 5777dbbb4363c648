// The on-chip buffer between the weight fetcher and the decoders: whole chunks, allocated before
// they are read (so the fetcher never reads what it cannot hold) and freed when decoded.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <systemc>
#include <vector>

namespace wsim {

struct FetchedChunk {
  uint32_t pass = 0;
  uint32_t index = 0;          // within the pass
  std::vector<uint8_t> bytes;  // filled by the fetcher's read requests
  int pending = 0;             // requests not yet completed
  sc_core::sc_time assigned;   // when the dispatcher gave it to a decoder unit
};

class InputBuffer {
 public:
  explicit InputBuffer(uint64_t capacity) : capacity_(capacity) {}
  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }

  // Waits (calling thread) for room, then queues a chunk of `bytes` bytes in fetch order.
  FetchedChunk* allocate(uint32_t pass, uint32_t index, uint32_t bytes) {
    if (bytes > capacity_) throw std::logic_error("input buffer smaller than a chunk");
    while (used_ + bytes > capacity_) sc_core::wait(freed_);
    used_ += bytes;
    auto c = std::make_unique<FetchedChunk>();
    c->pass = pass;
    c->index = index;
    c->bytes.resize(bytes);
    order_.push_back(std::move(c));
    return order_.back().get();
  }
  void complete_request(FetchedChunk* c) {
    if (--c->pending == 0) arrived_.notify(sc_core::SC_ZERO_TIME);
  }
  // Waits for the oldest chunk to have all its bytes, and hands it over (still allocated).
  std::unique_ptr<FetchedChunk> next() {
    while (order_.empty() || order_.front()->pending != 0) sc_core::wait(arrived_);
    std::unique_ptr<FetchedChunk> c = std::move(order_.front());
    order_.pop_front();
    return c;
  }
  void release(const FetchedChunk& c) {
    used_ -= c.bytes.size();
    freed_.notify(sc_core::SC_ZERO_TIME);
  }

 private:
  uint64_t capacity_;
  uint64_t used_ = 0;
  std::deque<std::unique_ptr<FetchedChunk>> order_;
  sc_core::sc_event arrived_, freed_;
};

}  // namespace wsim
