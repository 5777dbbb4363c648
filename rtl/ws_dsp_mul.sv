`default_nettype none
// ws_dsp_mul: a signed multiplier with registered inputs and a registered product (two cycles from
// a_i/b_i to p_o), the one wrapper of the DSP primitive. Under WS_ECP5 it is an ECP5 MULT18X18D with
// its own input and output registers (the operands sign-extended to 18 bits); under WS_ICE40_DSP (the
// iCE40 UP5K) an SB_MAC16; elsewhere (Verilator, iCE40 HX8K) a behavioural twin with the same
// registers, which Yosys maps to LUTs on the HX8K.
module ws_dsp_mul #(
  parameter int Width = 9   // operand width, 2 .. 18
) (
  input  wire                      clk_i,
  input  wire  signed [Width-1:0]  a_i,
  input  wire  signed [Width-1:0]  b_i,
  output logic signed [2*Width-1:0] p_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_width, Width >= 2 && Width <= 18,
                  ("ws_dsp_mul: Width = %0d, must be 2 .. 18", Width))

`ifdef WS_ECP5
  logic [17:0] a, b;
  logic [35:0] p;
  assign a = 18'($signed(a_i));
  assign b = 18'($signed(b_i));

  MULT18X18D #(
    .REG_INPUTA_CLK  ("CLK0"),
    .REG_INPUTB_CLK  ("CLK0"),
    .REG_PIPELINE_CLK("NONE"),
    .REG_OUTPUT_CLK  ("CLK0"),
    .GSR             ("DISABLED"),
    .RESETMODE       ("SYNC")
  ) u_mult (
    .A17(a[17]), .A16(a[16]), .A15(a[15]), .A14(a[14]), .A13(a[13]), .A12(a[12]),
    .A11(a[11]), .A10(a[10]), .A9(a[9]), .A8(a[8]), .A7(a[7]), .A6(a[6]),
    .A5(a[5]), .A4(a[4]), .A3(a[3]), .A2(a[2]), .A1(a[1]), .A0(a[0]),
    .B17(b[17]), .B16(b[16]), .B15(b[15]), .B14(b[14]), .B13(b[13]), .B12(b[12]),
    .B11(b[11]), .B10(b[10]), .B9(b[9]), .B8(b[8]), .B7(b[7]), .B6(b[6]),
    .B5(b[5]), .B4(b[4]), .B3(b[3]), .B2(b[2]), .B1(b[1]), .B0(b[0]),
    .C17(1'b0), .C16(1'b0), .C15(1'b0), .C14(1'b0), .C13(1'b0), .C12(1'b0),
    .C11(1'b0), .C10(1'b0), .C9(1'b0), .C8(1'b0), .C7(1'b0), .C6(1'b0),
    .C5(1'b0), .C4(1'b0), .C3(1'b0), .C2(1'b0), .C1(1'b0), .C0(1'b0),
    .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
    .CLK0(clk_i), .CE0(1'b1), .RST0(1'b0),  // the cascade, other clocks and enables stay open
    .P35(p[35]), .P34(p[34]), .P33(p[33]), .P32(p[32]), .P31(p[31]), .P30(p[30]),
    .P29(p[29]), .P28(p[28]), .P27(p[27]), .P26(p[26]), .P25(p[25]), .P24(p[24]),
    .P23(p[23]), .P22(p[22]), .P21(p[21]), .P20(p[20]), .P19(p[19]), .P18(p[18]),
    .P17(p[17]), .P16(p[16]), .P15(p[15]), .P14(p[14]), .P13(p[13]), .P12(p[12]),
    .P11(p[11]), .P10(p[10]), .P9(p[9]), .P8(p[8]), .P7(p[7]), .P6(p[6]),
    .P5(p[5]), .P4(p[4]), .P3(p[3]), .P2(p[2]), .P1(p[1]), .P0(p[0]),
    .SIGNEDP()
  );
  assign p_o = p[2*Width-1:0];
`elsif WS_ICE40_DSP
  // iCE40 UltraPlus SB_MAC16 as one 16 x 16 signed multiplier: A and B input registers, the product
  // through its pipeline register (PIPELINE_16x16_MULT_REG2), output selects 3 (the 32-bit product).
  // Instantiated, not inferred: Yosys 0.23's synth_ice40 -dsp drops a registered multiplier whose
  // product feeds one more register (docs/synth.md, "iCE40 UP5K").
  `WS_PARAM_CHECK(g_check_mac16, Width <= 16,
                  ("ws_dsp_mul: Width = %0d, the SB_MAC16 takes 16 bits at most", Width))
  logic [15:0] a, b;
  logic [31:0] o;
  assign a = 16'($signed(a_i));
  assign b = 16'($signed(b_i));

  SB_MAC16 #(
    .NEG_TRIGGER             (1'b0),
    .C_REG                   (1'b0),
    .A_REG                   (1'b1),
    .B_REG                   (1'b1),
    .D_REG                   (1'b0),
    .TOP_8x8_MULT_REG        (1'b0),
    .BOT_8x8_MULT_REG        (1'b0),
    .PIPELINE_16x16_MULT_REG1(1'b0),
    .PIPELINE_16x16_MULT_REG2(1'b1),
    .TOPOUTPUT_SELECT        (2'b11),
    .TOPADDSUB_LOWERINPUT    (2'b00),
    .TOPADDSUB_UPPERINPUT    (1'b0),
    .TOPADDSUB_CARRYSELECT   (2'b00),
    .BOTOUTPUT_SELECT        (2'b11),
    .BOTADDSUB_LOWERINPUT    (2'b00),
    .BOTADDSUB_UPPERINPUT    (1'b0),
    .BOTADDSUB_CARRYSELECT   (2'b00),
    .MODE_8x8                (1'b0),
    .A_SIGNED                (1'b1),
    .B_SIGNED                (1'b1)
  ) u_mac (
    .CLK(clk_i), .CE(1'b1), .C(16'd0), .A(a), .B(b), .D(16'd0),
    .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
    .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0),
    .OLOADTOP(1'b0), .OLOADBOT(1'b0), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0),
    .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0),
    .O(o), .CO(), .ACCUMCO(), .SIGNEXTOUT()
  );
  assign p_o = o[2*Width-1:0];
`else
  logic signed [Width-1:0] a_q, b_q;
  always_ff @(posedge clk_i) begin
    a_q <= a_i;
    b_q <= b_i;
    p_o <= a_q * b_q;
  end
`endif
endmodule
`resetall
