-f rtl/common.f
rtl/ws_bram_sdp.sv
