// ws_value_path: the value decoder and the number unpacker as one design (a synthesis top, issue 12).
-f rtl/tans_decoder.f
-f rtl/num_unpacker.f
rtl/ws_value_path.sv
