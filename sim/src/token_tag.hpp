// A TLM extension that tells the DRAM which token a request serves, so that it can serve the oldest
// token's requests first (a prefetch for a later token never delays one an earlier token waits on).
#pragma once

#include <cstdint>
#include <tlm>

namespace wsim {

struct TokenTag : tlm::tlm_extension<TokenTag> {
  uint32_t token = 0;
  tlm::tlm_extension_base* clone() const override { return new TokenTag(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    token = static_cast<const TokenTag&>(other).token;
  }
};

}  // namespace wsim
