-f rtl/common.f
rtl/ws_table_ram.sv
