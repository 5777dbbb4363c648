-f rtl/common.f
rtl/ws_dsp_mul.sv
rtl/ws_bram_sdp.sv
rtl/ws_mac_mul.sv
rtl/ws_mac_add.sv
rtl/ws_mac_row.sv
rtl/ws_mac_out_fifo.sv
rtl/ws_mac_ctrl.sv
rtl/ws_mac_array_core.sv
rtl/ws_sparse_mac_array.sv
rtl/ws_dense_mac_array.sv
