-f rtl/common.f
rtl/ws_fp32_add.sv
rtl/ws_bf16_mul.sv
rtl/ws_mac_mul.sv
rtl/ws_mac_add.sv
rtl/ws_mac_row.sv
rtl/ws_mac_ctrl.sv
rtl/ws_sparse_mac_array.sv
rtl/ws_dense_mac_array.sv
