`default_nettype none
// ws_table_ram: one write port, one synchronous read port with a read enable, one clock: the
// simple dual-port shape that Yosys maps to block RAM on iCE40 (SB_RAM40_4K) and ECP5 (DP16KD).
// The read data register holds its value while re_i is low. Contents are not reset.
// A read and a write of the same address in one cycle return undefined data: the users never do
// both at once, and no_rw_check tells Yosys so (otherwise it adds bypass logic, ~30 LUTs a copy).
module ws_table_ram #(
  parameter int AddrBits = 12,
  parameter int DataBits = 24
) (
  input  wire                 clk_i,
  input  wire                 we_i,
  input  wire  [AddrBits-1:0] waddr_i,
  input  wire  [DataBits-1:0] wdata_i,
  input  wire                 re_i,
  input  wire  [AddrBits-1:0] raddr_i,
  output logic [DataBits-1:0] rdata_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_size, AddrBits >= 1 && DataBits >= 1,
                  ("ws_table_ram: AddrBits = %0d, DataBits = %0d, both must be >= 1", AddrBits, DataBits))
  (* no_rw_check *)
  logic [DataBits-1:0] mem [2**AddrBits];

  always_ff @(posedge clk_i) begin
    if (we_i) mem[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i) begin
    if (re_i) rdata_o <= mem[raddr_i];
  end
endmodule
`resetall
