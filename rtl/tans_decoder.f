-f rtl/common.f
-f rtl/bram_sdp.f
rtl/ws_tans_state_buffer.sv
rtl/ws_tans_lane.sv
rtl/ws_tans_decoder.sv
