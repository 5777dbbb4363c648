-f rtl/bram_sdp.f
-f rtl/bit_reader.f
rtl/ws_num_convert.sv
rtl/ws_num_unpacker.sv
