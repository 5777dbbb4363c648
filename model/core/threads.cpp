#include "core/threads.hpp"

#include <algorithm>

namespace ws {

unsigned resolve_threads(unsigned threads) {
  if (threads != 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace ws
