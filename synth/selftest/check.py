#!/usr/bin/env python3
"""Self-test of synth/run_synth.py on a fixture (st_pipe_add.sv), iCE40 only, about half a minute.

Checks that both wrappers (registered IOs, serial) and no wrapper synthesize, place and route;
that the wrapper's own cells are counted as designed; that the flow fails, naming the block, on
a missing top module and on a parameter the module does not have. Uses the families of
synth/blocks.json, so it tests the real tool settings.

usage: check.py WORKDIR
"""

import contextlib
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE.parent))
import run_synth  # noqa: E402


def run(cfg, work, name):
    d = Path(work) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "blocks.json").write_text(json.dumps(cfg, indent=2))
    buf_out, buf_err = io.StringIO(), io.StringIO()
    argv = ["--config", str(d / "blocks.json"), "--files", str(HERE / "files.f"),
            "--family", "ice40", "--out", str(d / "reports"), "--work", str(d / "work"), "-j", "2"]
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        rc = run_synth.main(argv)
    sys.stdout.write(buf_out.getvalue() + buf_err.getvalue())
    rep = json.loads((d / "reports" / "synth.json").read_text()) if rc in (0, 1) else None
    return rc, rep, buf_err.getvalue()


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else str(HERE.parent.parent / "build" / "synth-selftest")
    base = json.loads((HERE.parent / "blocks.json").read_text())
    fams = {"ice40": base["families"]["ice40"]}
    failures = []

    def expect(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    # 1. Good blocks: auto (regio at Width 8, serial at Width 100) and none.
    good = {"families": fams, "blocks": [
        {"name": "add", "top": "st_pipe_add", "sets": [{"params": {"Width": [8, 100]}}]},
        {"name": "add_nowrap", "top": "st_pipe_add", "wrap": "none",
         "sets": [{"params": {"Width": 8, "Stages": 3}}]},
    ]}
    rc, rep, _ = run(good, work, "good")
    expect(rc == 0, f"good blocks: exit status 0 (got {rc})")
    res = {(r["block"], r["params"].get("Width")): r for r in (rep or {}).get("results", [])}
    r8, r100, rn = res.get(("add", 8)), res.get(("add", 100)), res.get(("add_nowrap", 8))
    expect(r8 is not None and r8["status"] == "ok" and r8["wrap"] == "regio",
           "Width=8: registered-IO wrapper, placed and routed")
    if r8 and r8["status"] == "ok":
        # regio: one flip-flop per block port bit, no LUT.
        expect(r8["in_bits"] == 19 and r8["out_bits"] == 11, "Width=8: port bits 19 in, 11 out")
        expect(r8["wrapper_ff"] == 30 and r8["wrapper_lut"] == 0,
               f"Width=8: wrapper 30 FF 0 LUT (got {r8['wrapper_ff']}/{r8['wrapper_lut']})")
        expect(r8["ff"] == 2 + 2 * 9, f"Width=8: block FFs 20 (got {r8['ff']})")
        expect(r8["logic_used"] > 0 and r8["fmax_mhz"] and r8["fmax_mhz"] > 10,
               "Width=8: logic cells and fmax reported")
    expect(r100 is not None and r100["status"] == "ok" and r100["wrap"] == "serial",
           "Width=100: serial wrapper (ports outnumber the io_limit), placed and routed")
    if r100 and r100["status"] == "ok":
        # serial: 203 shift-register bits, 103 output registers, XOR tree 26 + 7 + 2 + 1.
        expect(r100["wrapper_ff"] == 203 + 103 + 36,
               f"Width=100: wrapper FFs 342 (got {r100['wrapper_ff']})")
        expect(r100["ff"] == 2 + 2 * 101, f"Width=100: block FFs 204 (got {r100['ff']})")
    expect(rn is not None and rn["status"] == "ok" and rn["wrap"] == "none"
           and rn["wrapper_ff"] == 0, "wrap none: the block's ports are the pins")
    md = (Path(work) / "good" / "reports" / "synth.md").read_text() if rep else ""
    expect("| add | Width=100 | ice40 | serial |" in md,
           "synth.md lists the run")

    # 2. Broken blocks: the flow must fail and say which.
    bad = {"families": fams, "blocks": [
        {"name": "ghost", "top": "st_no_such_module", "sets": [{"params": {}}]},
        {"name": "typo", "top": "st_pipe_add", "sets": [{"params": {"Widht": 8}}]},
    ]}
    rc, rep, err = run(bad, work, "bad")
    expect(rc == 1, f"broken blocks: exit status 1 (got {rc})")
    expect("FAILED ghost" in err and "FAILED typo (Widht=8) on ice40" in err,
           "broken blocks: the block, parameters and family are named")

    # 3. --where keeps only the matching parameter sets (--list runs no tool).
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run_synth.main(["--config", str(Path(work) / "good" / "blocks.json"), "--files", str(HERE / "files.f"),
                        "--family", "ice40",
                        "--block", "add", "--where", "Width=100", "--list"])
    listed = buf.getvalue().splitlines()
    expect(len(listed) == 1 and "Width=100" in listed[0], f"--where Width=100 lists that set only (got {listed})")

    # 4. An "opt_in" set runs only when a --where filter names one of its opt-in parameters.
    optin = {"families": fams, "blocks": [
        {"name": "add", "top": "st_pipe_add", "sets": [{"params": {"Width": 8}},
                                                       {"params": {"Width": 8, "Stages": 3}, "opt_in": ["Stages"]}]},
    ]}
    (Path(work) / "optin").mkdir(parents=True, exist_ok=True)
    (Path(work) / "optin" / "blocks.json").write_text(json.dumps(optin, indent=2))

    def listing(*where):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            run_synth.main(["--config", str(Path(work) / "optin" / "blocks.json"), "--files", str(HERE / "files.f"),
                            "--family", "ice40", "--list", *where])
        return buf.getvalue().splitlines()
    plain, width, stages = listing(), listing("--where", "Width=8"), listing("--where", "Stages=3")
    expect(len(plain) == 1 and "Stages" not in plain[0], f"opt_in: left out without --where (got {plain})")
    expect(len(width) == 1 and "Stages" not in width[0], f"opt_in: left out by --where Width=8 (got {width})")
    expect(len(stages) == 1 and "Stages=3" in stages[0], f"opt_in: --where Stages=3 lists it (got {stages})")

    n_fail = len(failures)
    print(f"synth selftest: {n_fail} failed check(s)")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
