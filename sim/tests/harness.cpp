// sc_main of the test binaries: only forked children (harness.hpp) get here.
#include <unistd.h>

#include "harness.hpp"

int sc_main(int, char*[]) {
  std::string out;
  try {
    out = wsim::test::child_job()().dump();
  } catch (const std::exception& e) {
    out = nlohmann::json{{"error", e.what()}}.dump();
  }
  for (size_t done = 0; done < out.size();) {
    const ssize_t n = write(wsim::test::child_fd(), out.data() + done, out.size() - done);
    if (n <= 0) return 1;
    done += size_t(n);
  }
  close(wsim::test::child_fd());
  return 0;
}
