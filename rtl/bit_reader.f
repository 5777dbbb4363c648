-f rtl/common.f
rtl/ws_bit_reader.sv
