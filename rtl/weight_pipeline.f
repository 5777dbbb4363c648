-f rtl/tans_decoder.f
-f rtl/num_unpacker.f
-f rtl/bf16_unpacker.f
-f rtl/mac_array.f
rtl/ws_weight_pipeline.sv
