`default_nettype none
// Coverage builds only (WS_COVERAGE, `make coverage`, docs/coverage.md): tb/CMakeLists.txt binds one
// instance of this module into every module of rtl/ and hands both files to every verilate() call.
// Its final block runs when the bench calls the model's final(), while the model (which holds the
// coverage counters) still exists; ws_coverage_final (tb/common/coverage.cpp) then writes the counts
// of the top's context. It adds no coverage points of its own.
/* verilator coverage_off */
module ws_coverage_hook;
  import "DPI-C" context function void ws_coverage_final();
  final ws_coverage_final();
endmodule
/* verilator coverage_on */
`resetall
