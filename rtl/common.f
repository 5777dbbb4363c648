// What every block reads: the contract package, the assertion checker, the sticky error flag and the
// register slice (ws_skid_buffer) that cuts valid/ready chains between blocks.
// File lists: one path per line from the repository root, `-f rtl/x.f` includes another list;
// scripts/rtl_files.py and cmake/ws_rtl.cmake expand them (each file once, first occurrence wins).
rtl/ws_pkg.sv
rtl/ws_stream_check.sv
rtl/ws_sticky_error.sv
rtl/ws_skid_buffer.sv
