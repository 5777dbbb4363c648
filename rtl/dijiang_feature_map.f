-f rtl/common.f
rtl/ws_dsp_mul.sv
rtl/ws_bram_sdp.sv
rtl/ws_dijiang_frame.sv
rtl/ws_dijiang_feature_map.sv
