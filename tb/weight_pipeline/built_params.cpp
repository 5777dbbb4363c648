// The parameters a driver library's Verilated top is built with (CMake's WS_WP_* definitions of the
// library): wp::Driver::built_params(); in the paths' library, those of each path.
#include "driver.hpp"

namespace wp {

ws::WeightPipelineParams Driver::built_params() {
  ws::WeightPipelineParams p;
  // The Verilated top's parameters (CMake: ws_rtl_driver MaxK 256, ws_rtl_driver_4k 4096,
  // ws_rtl_driver_up5k the small configuration, ws_rtl_driver_wide the wide one,
  // ws_rtl_driver_format_table the small one with the general unpacker, ws_rtl_driver_paths each of
  // its paths); the others at their defaults.
  p.max_k = WS_WP_MAX_K;
  p.bf16_unpacker = WS_WP_BF16_UNPACKER != 0;
#ifdef WS_WP_VALUE_LANES
  p.value_lanes = WS_WP_VALUE_LANES;
  p.meta_lanes = WS_WP_META_LANES;
  p.value_table_log = WS_WP_VALUE_TABLE_LOG;
  p.meta_table_log = WS_WP_META_TABLE_LOG;
#endif
  return p;
}

}  // namespace wp
