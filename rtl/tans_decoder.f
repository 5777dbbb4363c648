-f rtl/common.f
rtl/ws_tans_table_ram.sv
rtl/ws_tans_state_buffer.sv
rtl/ws_tans_lane.sv
rtl/ws_tans_decoder.sv
