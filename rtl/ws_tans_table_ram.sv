`default_nettype none
// ws_tans_table_ram: the decode table of one decoder lane. One write port; one read port with a
// read latency of 2: the address is registered at a clock edge with ce_i, the entry is in the output
// register after the next edge with ce_i. ce_i low holds both, so the whole read pipeline freezes.
// Contents are not reset; a read and a write of the same address never meet (the decoder writes
// only the bank it does not read), which no_rw_check tells Yosys.
//
// On ECP5 (WS_ECP5) the RAM is DP16KD blocks with their output register (REGMODE "OUTREG"): 0.97 ns
// clock-to-out instead of 5.8 ns, which a two-cycle table loop needs (docs/tans_decoder.md). The
// blocks are sliced by width, never by depth, so no multiplexer follows them: 2^AddrBits entries
// of 512 x 36 (AddrBits <= 9), 1024 x 18, 2048 x 9, 4096 x 4, 8192 x 2 or 16384 x 1 each. Elsewhere
// (Verilator, iCE40) the behavioural twin below, which Yosys maps to block RAM plus one register.
module ws_tans_table_ram #(
  parameter int AddrBits = 9,   // 1 .. 14
  parameter int DataBits = 36
) (
  input  wire                 clk_i,
  input  wire                 we_i,
  input  wire  [AddrBits-1:0] waddr_i,
  input  wire  [DataBits-1:0] wdata_i,
  input  wire                 ce_i,
  input  wire  [AddrBits-1:0] raddr_i,
  output logic [DataBits-1:0] rdata_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_size, AddrBits >= 1 && AddrBits <= 14 && DataBits >= 1,
                  ("ws_tans_table_ram: AddrBits = %0d (1 .. 14), DataBits = %0d (>= 1)", AddrBits, DataBits))

`ifdef WS_ECP5
  // Width of one block at this depth, its address bits and how many blocks make the width.
  localparam int BlockAddr = AddrBits < 9 ? 9 : AddrBits;
  localparam int Width     = 36 >> (BlockAddr - 9);
  localparam int Shift     = 14 - BlockAddr;  // address pins below the word address
  localparam int Blocks    = (DataBits + Width - 1) / Width;
  localparam bit Wide      = Width == 36;     // 512 x 36: write through port A, read on A and B

  logic [13:0] wad, rad;
  assign wad = 14'(waddr_i) << Shift | (Wide ? 14'hf : Width == 18 ? 14'h3 : 14'h0);  // byte enables
  assign rad = 14'(raddr_i) << Shift;

  logic [Blocks*Width-1:0] wdata, rdata;
  assign wdata   = (Blocks*Width)'(wdata_i);
  assign rdata_o = rdata[DataBits-1:0];

  for (genvar b = 0; b < Blocks; b++) begin : g_block
    logic [17:0] dia, dib, doa, dob;
    if (Wide) begin : g_wide
      assign dia = wdata[b*36 +: 18];
      assign dib = wdata[b*36 + 18 +: 18];
      assign rdata[b*36 +: 36] = {dob, doa};
    end else begin : g_narrow
      assign dia = 18'(wdata[b*Width +: Width]);
      assign dib = '0;
      assign rdata[b*Width +: Width] = dob[Width-1:0];
    end
    DP16KD #(
      .DATA_WIDTH_A(Width), .DATA_WIDTH_B(Width),
      .REGMODE_A(Wide ? "OUTREG" : "NOREG"), .REGMODE_B("OUTREG"),
      .CSDECODE_A("0b000"), .CSDECODE_B("0b000"), .WRITEMODE_A("NORMAL"), .WRITEMODE_B("NORMAL"),
      .GSR("DISABLED"), .RESETMODE("SYNC")
    ) u_dp16kd (
      .CLKA(clk_i), .CEA(we_i), .WEA(Wide ? 1'b1 : we_i), .OCEA(Wide ? ce_i : 1'b0), .RSTA(1'b0),
      .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0),
      .ADA0(wad[0]), .ADA1(wad[1]), .ADA2(wad[2]), .ADA3(wad[3]), .ADA4(wad[4]), .ADA5(wad[5]),
      .ADA6(wad[6]), .ADA7(wad[7]), .ADA8(wad[8]), .ADA9(wad[9]), .ADA10(wad[10]), .ADA11(wad[11]),
      .ADA12(wad[12]), .ADA13(wad[13]),
      .DIA0(dia[0]), .DIA1(dia[1]), .DIA2(dia[2]), .DIA3(dia[3]), .DIA4(dia[4]), .DIA5(dia[5]),
      .DIA6(dia[6]), .DIA7(dia[7]), .DIA8(dia[8]), .DIA9(dia[9]), .DIA10(dia[10]), .DIA11(dia[11]),
      .DIA12(dia[12]), .DIA13(dia[13]), .DIA14(dia[14]), .DIA15(dia[15]), .DIA16(dia[16]), .DIA17(dia[17]),
      .DOA0(doa[0]), .DOA1(doa[1]), .DOA2(doa[2]), .DOA3(doa[3]), .DOA4(doa[4]), .DOA5(doa[5]),
      .DOA6(doa[6]), .DOA7(doa[7]), .DOA8(doa[8]), .DOA9(doa[9]), .DOA10(doa[10]), .DOA11(doa[11]),
      .DOA12(doa[12]), .DOA13(doa[13]), .DOA14(doa[14]), .DOA15(doa[15]), .DOA16(doa[16]), .DOA17(doa[17]),
      .CLKB(clk_i), .CEB(ce_i), .WEB(1'b0), .OCEB(ce_i), .RSTB(1'b0),
      .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0),
      .ADB0(rad[0]), .ADB1(rad[1]), .ADB2(rad[2]), .ADB3(rad[3]), .ADB4(rad[4]), .ADB5(rad[5]),
      .ADB6(rad[6]), .ADB7(rad[7]), .ADB8(rad[8]), .ADB9(rad[9]), .ADB10(rad[10]), .ADB11(rad[11]),
      .ADB12(rad[12]), .ADB13(rad[13]),
      .DIB0(dib[0]), .DIB1(dib[1]), .DIB2(dib[2]), .DIB3(dib[3]), .DIB4(dib[4]), .DIB5(dib[5]),
      .DIB6(dib[6]), .DIB7(dib[7]), .DIB8(dib[8]), .DIB9(dib[9]), .DIB10(dib[10]), .DIB11(dib[11]),
      .DIB12(dib[12]), .DIB13(dib[13]), .DIB14(dib[14]), .DIB15(dib[15]), .DIB16(dib[16]), .DIB17(dib[17]),
      .DOB0(dob[0]), .DOB1(dob[1]), .DOB2(dob[2]), .DOB3(dob[3]), .DOB4(dob[4]), .DOB5(dob[5]),
      .DOB6(dob[6]), .DOB7(dob[7]), .DOB8(dob[8]), .DOB9(dob[9]), .DOB10(dob[10]), .DOB11(dob[11]),
      .DOB12(dob[12]), .DOB13(dob[13]), .DOB14(dob[14]), .DOB15(dob[15]), .DOB16(dob[16]), .DOB17(dob[17])
    );
  end
`else
  // The behavioural twin: the array read into a register (the block RAM's own), then the output
  // register, both held by ce_i.
  (* no_rw_check *)
  logic [DataBits-1:0] mem [2**AddrBits];
  logic [DataBits-1:0] read_q;

  always_ff @(posedge clk_i) begin
    if (we_i) mem[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i) begin
    if (ce_i) begin
      read_q  <= mem[raddr_i];
      rdata_o <= read_q;
    end
  end
`endif
endmodule
`resetall
