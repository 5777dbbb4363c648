#!/usr/bin/env python3
"""CTest coverage_script: scripts/coverage.py's reading of verilator_coverage on a fixture.

fixture.dat is what Verilator 5.006 wrote for rtl/ws_fixture.sv (--coverage-line --coverage-toggle)
after reset and 10 clocks with mode_i held at 0: the mode_i branch, the count 15 arm and the reset
branch (reset came without a clock edge) are never taken, and mode_i never toggles. The figures
below were read off verilator_coverage's own annotation of it; a change in the tool's formats or in
the script's parsing fails here.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "scripts"))
import coverage  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The fixture's points name rtl/ws_fixture.sv relative to where Verilator ran.
        shutil.copytree(HERE / "rtl", tmp / "rtl")
        shutil.copy(HERE / "fixture.dat", tmp)
        # Two copies: verilator_coverage adds the counts up, the coverage stays the same.
        shutil.copy(HERE / "fixture.dat", tmp / "fixture2.dat")
        cwd = Path.cwd()
        try:
            os.chdir(tmp)
            report = coverage.collect([Path("fixture.dat"), Path("fixture2.dat")], Path("work"),
                                      ["rtl/ws_fixture.sv", "rtl/ws_no_points.sv"])
            md = coverage.markdown(report)
        finally:
            os.chdir(cwd)

    failures = []

    def expect(what, got, want):
        if got != want:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    expect("files", [f["file"] for f in report["files"]], ["rtl/ws_fixture.sv", "rtl/ws_no_points.sv"])
    expect("data files", report["data_files"], 2)
    fixture = report["files"][0]
    expect("line", {k: fixture["line"][k] for k in ("lines", "lines_hit", "points", "points_hit")},
           {"lines": 9, "lines_hit": 6, "points": 11, "points_hit": 8})
    expect("uncovered lines", [(u["line"], u["text"].strip()) for u in fixture["line"]["uncovered"]],
           [(12, "if (mode_i) count_d = 4'd0;"), (15, "4'd15:   count_d = 4'd0;"),
            (20, "if (!rst_ni) count_o <= 4'd0;")])
    expect("toggle", (fixture["toggle"]["points"], fixture["toggle"]["points_hit"]), (5, 4))
    # 11 bits: clk_i, rst_ni, mode_i, count_o[3:0], count_d[3:0]; mode_i never changes.
    expect("toggle bits", (fixture["toggle"]["bits"], fixture["toggle"]["bits_hit"]), (11, 10))
    expect("untoggled", [u["line"] for u in fixture["toggle"]["uncovered"]], [7])
    expect("no points", set(report["files"][1]), {"file"})
    expect("total", report["total"]["line"], {"lines": 9, "lines_hit": 6, "points": 11, "points_hit": 8})
    for row in ("| rtl/ws_fixture.sv | 66.7% | 6 / 9 | 80.0% | 4 / 5 | 90.9% | 10 / 11 | 3 |",
                "| rtl/ws_no_points.sv | no points | | | | | | |",
                "- `rtl/ws_fixture.sv:15` `4'd15:   count_d = 4'd0;`"):
        expect(f"markdown has {row}", row in md, True)
    for f in failures:
        print("FAIL", f)
    print("coverage_script:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
