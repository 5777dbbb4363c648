// What each error cause of the RTL blocks means, in words: the enums are ws::pkg's (rtl/ws_pkg.sv),
// the texts are here, once.
#pragma once

#include <cstdint>
#include <string>

#include "core/ws_pkg.hpp"

namespace ws {

const char* error_text(pkg::tans_err_e e);  // "stream ends early", ...
const char* error_text(pkg::unp_err_e e);   // "raw stream runs out", ...
const char* error_text(pkg::mac_err_e e);   // "bad metadata nibble", ...
const char* error_text(pkg::wp_err_e e);    // "partial value beat", ...
const char* error_text(pkg::wp_block_e b);  // "value decoder", ...

// A ws_weight_pipeline err_cause (pkg::wp_cause_t): "value decoder: stream ends early (2.1)".
std::string weight_pipeline_error_text(uint8_t err_cause);

}  // namespace ws
