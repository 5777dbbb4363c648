`default_nettype none
// ws_bram_sdp: a simple dual-port RAM (one write port, one read port, one clock) with a two-cycle
// read: the read address is registered, then the data (rdata_o during the second cycle after the
// address). The one wrapper of the block RAM primitive. Under WS_ECP5 it is DP16KD blocks with their
// output register (REGMODE "OUTREG": 0.97 ns clock-to-out on ECP5 instead of 5.8 ns without), in the
// aspect ratio that holds the depth in one block (1024 x 18, 2048 x 9, 4096 x 4, 8192 x 2,
// 16384 x 1), side by side for the width; elsewhere a behavioural twin with the same two registers,
// which Yosys maps to SB_RAM40_4K (plus a fabric register) on iCE40.
// A read of the address written in the same cycle returns undefined data: the users never read what
// they are writing (no_rw_check spares the bypass logic Yosys would add).
module ws_bram_sdp #(
  parameter int AddrBits = 10,  // 1 .. 14
  parameter int Width    = 16
) (
  input  wire                 clk_i,
  input  wire                 we_i,
  input  wire  [AddrBits-1:0] waddr_i,
  input  wire  [Width-1:0]    wdata_i,
  input  wire  [AddrBits-1:0] raddr_i,
  output logic [Width-1:0]    rdata_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_size, AddrBits >= 1 && AddrBits <= 14 && Width >= 1,
                  ("ws_bram_sdp: AddrBits = %0d, Width = %0d: need AddrBits 1 .. 14, Width >= 1",
                   AddrBits, Width))

`ifdef WS_ECP5
  // Bits per block in the aspect ratio that holds 2^AddrBits words (AddrBits <= 10: 1024 x 18).
  localparam int BlockBits = (AddrBits <= 10) ? 18 : (AddrBits == 11) ? 9 : (AddrBits == 12) ? 4
                           : (AddrBits == 13) ? 2 : 1;
  localparam int Blocks    = (Width + BlockBits - 1) / BlockBits;
  localparam int AdLow     = (AddrBits <= 10) ? 4 : 14 - AddrBits;  // address at AD[13:AdLow]

  logic [13:0] ada, adb;
  logic [Blocks*BlockBits-1:0] wd, rd;
  // x18 takes its byte enables from AD[1:0] (both on); narrower modes ignore the low bits.
  assign ada = (14'(waddr_i) << AdLow) | ((BlockBits == 18) ? 14'd3 : 14'd0);
  assign adb = 14'(raddr_i) << AdLow;
  assign wd  = (Blocks*BlockBits)'(wdata_i);
  assign rdata_o = rd[Width-1:0];

  for (genvar k = 0; k < Blocks; k++) begin : g_block
    logic [17:0] di, do_b;
    assign di = 18'(wd[BlockBits*k +: BlockBits]);
    assign rd[BlockBits*k +: BlockBits] = do_b[BlockBits-1:0];
    DP16KD #(
      .DATA_WIDTH_A(BlockBits),
      .DATA_WIDTH_B(BlockBits),
      .REGMODE_A   ("NOREG"),
      .REGMODE_B   ("OUTREG"),
      .RESETMODE   ("SYNC"),
      .WRITEMODE_A ("NORMAL"),
      .WRITEMODE_B ("NORMAL"),
      .GSR         ("DISABLED")
    ) u_ram (
      .DIA17(di[17]), .DIA16(di[16]), .DIA15(di[15]), .DIA14(di[14]), .DIA13(di[13]),
      .DIA12(di[12]), .DIA11(di[11]), .DIA10(di[10]), .DIA9(di[9]), .DIA8(di[8]), .DIA7(di[7]),
      .DIA6(di[6]), .DIA5(di[5]), .DIA4(di[4]), .DIA3(di[3]), .DIA2(di[2]), .DIA1(di[1]),
      .DIA0(di[0]),
      .ADA13(ada[13]), .ADA12(ada[12]), .ADA11(ada[11]), .ADA10(ada[10]), .ADA9(ada[9]),
      .ADA8(ada[8]), .ADA7(ada[7]), .ADA6(ada[6]), .ADA5(ada[5]), .ADA4(ada[4]), .ADA3(ada[3]),
      .ADA2(ada[2]), .ADA1(ada[1]), .ADA0(ada[0]),
      .CEA(1'b1), .OCEA(1'b1), .CLKA(clk_i), .WEA(we_i), .RSTA(1'b0),
      .CSA2(1'b0), .CSA1(1'b0), .CSA0(1'b0),
      .DOA17(), .DOA16(), .DOA15(), .DOA14(), .DOA13(), .DOA12(), .DOA11(), .DOA10(), .DOA9(),
      .DOA8(), .DOA7(), .DOA6(), .DOA5(), .DOA4(), .DOA3(), .DOA2(), .DOA1(), .DOA0(),
      .DIB17(1'b0), .DIB16(1'b0), .DIB15(1'b0), .DIB14(1'b0), .DIB13(1'b0), .DIB12(1'b0),
      .DIB11(1'b0), .DIB10(1'b0), .DIB9(1'b0), .DIB8(1'b0), .DIB7(1'b0), .DIB6(1'b0),
      .DIB5(1'b0), .DIB4(1'b0), .DIB3(1'b0), .DIB2(1'b0), .DIB1(1'b0), .DIB0(1'b0),
      .ADB13(adb[13]), .ADB12(adb[12]), .ADB11(adb[11]), .ADB10(adb[10]), .ADB9(adb[9]),
      .ADB8(adb[8]), .ADB7(adb[7]), .ADB6(adb[6]), .ADB5(adb[5]), .ADB4(adb[4]), .ADB3(adb[3]),
      .ADB2(adb[2]), .ADB1(adb[1]), .ADB0(adb[0]),
      .CEB(1'b1), .OCEB(1'b1), .CLKB(clk_i), .WEB(1'b0), .RSTB(1'b0),
      .CSB2(1'b0), .CSB1(1'b0), .CSB0(1'b0),
      .DOB17(do_b[17]), .DOB16(do_b[16]), .DOB15(do_b[15]), .DOB14(do_b[14]), .DOB13(do_b[13]),
      .DOB12(do_b[12]), .DOB11(do_b[11]), .DOB10(do_b[10]), .DOB9(do_b[9]), .DOB8(do_b[8]),
      .DOB7(do_b[7]), .DOB6(do_b[6]), .DOB5(do_b[5]), .DOB4(do_b[4]), .DOB3(do_b[3]),
      .DOB2(do_b[2]), .DOB1(do_b[1]), .DOB0(do_b[0])
    );
  end
`else
  (* no_rw_check *)
  logic [Width-1:0] mem [2**AddrBits];
  logic [Width-1:0] rd_q;

  always_ff @(posedge clk_i) begin
    if (we_i) mem[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i) begin
    rd_q    <= mem[raddr_i];
    rdata_o <= rd_q;
  end
`endif
endmodule
`resetall
