// ws_bf16_unpacker, the weight pipeline's number unpacker for its one format (docs/numfmt.md 6.1).
-f rtl/common.f
rtl/ws_bf16_unpacker.sv
