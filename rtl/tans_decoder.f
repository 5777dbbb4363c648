-f rtl/table_ram.f
-f rtl/bit_reader.f
rtl/ws_tans_decoder.sv
