#!/usr/bin/env python3
"""Hardware benchmark (issues 3, 4, 5, 12): the figures of the weight path (tANS decoder, number
unpacker, both as one design, the whole weight pipeline), the 2:4 sparse MAC array against its dense
baseline, and the number formats, each from a command this script runs.

  1. builds what it needs (cmake -DWS_RTL=ON; targets tb_tans_decoder, tb_mac_array, tb_num_unpacker,
     tb_weight_pipeline, bench_numfmt);
  2. runs the cycle measurements of the Verilator benches (gtest filters; each test prints one
     `WS_BENCH {json}` line per measurement): the decoder's sustained symbols per cycle on real
     chunks, the unpacker's bf16 values per cycle, the pipeline's dense-equivalent weights per cycle
     on real 2:4 layers, the paths' top's on SmolLM2-135M block 0's linears at real widths (its
     weights/s figure) and on stories260K's layers (reported beside it) (all with no gaps or
     backpressure), and the sparse and dense arrays' cycles on the same pruned real layers;
  3. runs bench_numfmt: bits per weight of the bundled model under every built-in number format
     against the entropy bound, every value's round trip checked;
  4. reads the synthesis results (LUT, FF, block RAM, DSP, fmax of seed 1 and the best of the seeds
     run, worst path) from the tools' reports as synth/run_synth.py writes them:
     build/reports/synth.json (`make synth`) and, for the sets that one lacks,
     build/reports/bench-synth/<block>-<family>-<set>/synth.json, which this script fills by running
     run_synth.py for each missing set, seeds 1-3 for the sets issue 12's targets name and seed 1 for
     the others (not with --quick: then missing runs stay missing and are reported as such);
  5. combines them (weights per second = weights per cycle x fmax, per LUT4, and the DRAM bytes per
     second those weights occupy; effective MACs per second = dense-equivalent MACs per cycle x fmax),
     checks issue 12's targets, and writes build/reports/bench_hw.json and build/reports/bench_hw.md
     with every command that produced a number, beside the figures the issue was filed at and its
     anchors.

Figures from cycle counts are exact counts of a simulation, not timings; performance is compared as
ratios against the peer measured in the same run (dense beside sparse). Exit status: 0 when every
measurement ran (targets missed are reported, not failures), 1 when a measurement failed or a bench
found a mismatch, 2 on a usage error.

Python 3 standard library only.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "synth"))
import run_synth  # noqa: E402  (the same configuration and RTL list the synthesis flow uses)

SYNTH_BLOCKS = ["tans_decoder", "num_unpacker", "value_path", "sparse_mac_array", "dense_mac_array",
                "weight_pipeline", "weight_pipeline_paths"]
# The parameters tb_weight_pipeline_paths is built with (tb/weight_pipeline/CMakeLists.txt): its
# weights a cycle stand for the synthesized paths' sets with these, the others have no bench.
PATHS_BENCH = {"Paths": 2, "ValueLanes": 8, "MetaLanes": 4}
FAMILIES = ["ice40", "ecp5"]
MAC_TARGET = {"per_multiplier_ratio": 1.9, "lut_overhead_per_pe": 0.13}

# Issue 12's targets: (what, block, family, parameters the set must have, field, ">=" or "<=", value).
# The sets they name are synthesized with seeds 1-3 when missing; every other set with seed 1. An
# opt-in set of synth/blocks.json is wanted only when a target names it.
TARGETS = [
    ("decoder, 4 lanes: fmax", "tans_decoder", "ecp5", {"Lanes": 4, "MaxTableLog": 8}, "fmax_mhz", ">=", 200),
    ("decoder, 4 lanes: LUT4", "tans_decoder", "ecp5", {"Lanes": 4, "MaxTableLog": 8}, "lut", "<=", 1000),
    ("decoder, 1 lane: LUT4", "tans_decoder", "ecp5", {"Lanes": 1, "MaxTableLog": 8}, "lut", "<=", 300),
    ("sparse MAC array R1 G4: fmax", "sparse_mac_array", "ecp5", {"Rows": 1, "GroupsPerCycle": 4},
     "fmax_mhz", ">=", 200),
    ("dense MAC array R1 G4: fmax", "dense_mac_array", "ecp5", {"Rows": 1, "GroupsPerCycle": 4},
     "fmax_mhz", ">=", 200),
    ("pipeline, MaxK 4096, value tables 2^8 (every 2:4 layer): fmax", "weight_pipeline", "ecp5",
     {"MaxK": 4096, "ValueTableLog": 8}, "fmax_mhz", ">=", 150),
    ("pipeline, MaxK 4096, value tables 2^11: fmax", "weight_pipeline", "ecp5",
     {"MaxK": 4096, "ValueTableLog": 11}, "fmax_mhz", ">=", 150),
    ("pipeline, MaxK 4096: dense-equivalent weights/s (DDR3-800 x16 at 5.7 bits/weight)", "weight_pipeline",
     "ecp5", {"MaxK": 4096, "ValueTableLog": 8}, "weights_per_s", ">=", 2.2e9),
    ("2 wide paths, MaxK 4096: dense-equivalent weights/s", "weight_pipeline_paths", "ecp5",
     {"Paths": 2, "ValueLanes": 8, "MaxK": 4096}, "weights_per_s", ">=", 2.2e9),
    ("decoder on iCE40 HX8K, 4 lanes: fmax", "tans_decoder", "ice40", {"Lanes": 4}, "fmax_mhz", ">=", 48),
    ("unpacker on iCE40 HX8K, 4 lanes: fmax", "num_unpacker", "ice40", {"Lanes": 4}, "fmax_mhz", ">=", 48),
    ("decoder + unpacker on iCE40 HX8K, 2 lanes: fmax", "value_path", "ice40", {"Lanes": 2}, "fmax_mhz",
     ">=", 48),
]

# The figures issue 12 was filed against (its table: `make synth`, nextpnr seed 1, ECP5-85F).
ISSUE12_BEFORE = [
    ("tans_decoder", {"Lanes": 1}, "71.7 MHz, 648 LUT4"),
    ("tans_decoder", {"Lanes": 4}, "44.1 MHz, 1,487 LUT4"),
    ("tans_decoder", {"Lanes": 8}, "32.9 MHz, 4,407 LUT4"),
    ("sparse_mac_array", {"Rows": 2}, "23.0 MHz, 7,053 LUT4 (4 bf16 multipliers)"),
    ("weight_pipeline", {}, "22.3 MHz at MaxK 16; MaxK 256 did not finish synthesis"),
]

# Published designs issue 12 measures against (its text).
ANCHORS = [
    ("the source paper's FPGA tANS decoder", "about 200 LUTs, more than 800 M bf16 weights/s"),
    ("AMD Vitis zstd decompressor", "22K LUTs at 234 MHz"),
]

COMMANDS = []  # every command run, in order, with its exit status and wall seconds


def rel(p):
    try:
        return os.path.relpath(p, ROOT)
    except ValueError:
        return str(p)


def sh(cmd, log=None, nice=0, check=True):
    """Runs cmd from the repository root; returns its stdout (stderr too into the log)."""
    argv = [str(c) for c in cmd]
    if nice:
        argv = ["nice", "-n", str(nice)] + argv
    text = " ".join(shlex.quote(rel(a) if a.startswith(str(ROOT)) else a) for a in argv)
    print(f"$ {text}", flush=True)
    t0 = time.monotonic()
    p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    dt = time.monotonic() - t0
    COMMANDS.append({"command": text, "exit": p.returncode, "wall_s": round(dt, 1)})
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(p.stdout)
    if check and p.returncode != 0:
        tail = "\n".join(p.stdout.splitlines()[-30:])
        raise RuntimeError(f"command failed ({p.returncode}): {text}\n{tail}")
    return p.stdout, p.returncode


def bench_lines(text, kind):
    out = []
    for line in text.splitlines():
        if line.startswith("WS_BENCH "):
            d = json.loads(line[len("WS_BENCH "):])
            if d.get("bench") == kind:
                out.append(d)
    return out


# ------------------------------------------------------------------------------------------------
# 1-3: build and measure

def build(build_dir, jobs):
    cache = build_dir / "CMakeCache.txt"
    if not cache.exists() or not re.search(r"^WS_RTL:BOOL=ON$", cache.read_text(), re.M):
        sh(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DWS_RTL=ON"],
           log=build_dir / "bench" / "cmake.log")
    sh(["cmake", "--build", build_dir, "-j", str(jobs), "--target", "tb_tans_decoder", "tb_mac_array",
        "tb_num_unpacker", "tb_weight_pipeline", "tb_weight_pipeline_paths", "bench_numfmt"], log=build_dir / "bench" / "build.log")


def measure_decoder(build_dir):
    exe = build_dir / "tb" / "tans_decoder" / "tb_tans_decoder"
    out, rc = sh([exe, "--gtest_filter=TansDecoder/rtl_*.Throughput"],
                 log=build_dir / "bench" / "tb_tans_decoder_throughput.log", check=False)
    # The test's own lines: "TansDecoder/rtl_L4_ML8.Throughput: stories260K, ... 262144 symbols in 65591
    # cycles" and the bench's count "[rtl_L4_ML8] stories260K: ... 0 mismatches, lock step ... 0 mismatches".
    lines = []
    for m in re.finditer(r"TansDecoder/rtl_L(\d+)_ML(\d+)\.Throughput: (\S+), .*?: (\d+) symbols in (\d+) cycles", out):
        k, ml, src, syms, cyc = m.groups()
        bad = re.search(rf"\[rtl_L{k}_ML{ml}\] {re.escape(src)}: .*?(\d+) mismatches, lock step .*?(\d+) mismatches", out)
        lines.append({"lanes": int(k), "max_table_log": int(ml), "source": src, "symbols": int(syms),
                      "cycles": int(cyc), "mismatches": int(bad.group(1)) + int(bad.group(2)) if bad else 1})
    per_k = {}
    for d in lines:
        per_k.setdefault((d["lanes"], d["max_table_log"]), []).append(d)
    rows = []
    for (k, ml), ds in sorted(per_k.items()):
        syms = sum(d["symbols"] for d in ds)
        cyc = sum(d["cycles"] for d in ds)
        rows.append({
            "lanes": k, "max_table_log": ml, "symbols": syms, "cycles": cyc,
            "symbols_per_cycle": syms / cyc,
            "min_source_symbols_per_cycle": min(d["symbols"] / d["cycles"] for d in ds),
            "sources": {d["source"]: {"symbols": d["symbols"], "cycles": d["cycles"],
                                      "symbols_per_cycle": d["symbols"] / d["cycles"]} for d in ds},
            "mismatches": sum(d["mismatches"] for d in ds),
            "target_symbols_per_cycle": 0.98 * k,
        })
    return {"command": COMMANDS[-1]["command"], "test_exit": rc, "rows": rows}


def measure_mac(build_dir):
    exe = build_dir / "tb" / "mac_array" / "tb_mac_array"
    out, rc = sh([exe, "--gtest_filter=MacArrayCycles.*"],
                 log=build_dir / "bench" / "tb_mac_array_cycles.log", check=False)
    lines = bench_lines(out, "mac_array")
    configs = {}
    for d in lines:
        configs.setdefault(d["config"], []).append(d)
    res = {}
    for name, ds in sorted(configs.items()):
        # The matrices back to back (the steady state: each one's activations load while the one
        # before streams) where the bench gives it; else the layers one by one, added up.
        ds = [d for d in ds if d["layer"] == "layer0_back_to_back"] or ds
        macs = sum(d["macs"] for d in ds)
        cs = sum(d["sparse_cycles"] for d in ds)
        cd = sum(d["dense_cycles"] for d in ds)
        m = ds[0]["multipliers"]
        res[name] = {
            "rows": ds[0]["rows"], "groups_per_cycle": ds[0]["groups_per_cycle"], "max_k": ds[0]["max_k"],
            "multipliers": m, "layers": ds, "macs": macs, "sparse_cycles": cs, "dense_cycles": cd,
            "sparse_macs_per_cycle": macs / cs, "dense_macs_per_cycle": macs / cd,
            "sparse_macs_per_cycle_per_multiplier": macs / cs / m,
            "dense_macs_per_cycle_per_multiplier": macs / cd / m,
            "speedup": cd / cs, "mismatches": sum(d["mismatches"] for d in ds),
        }
    return {"command": COMMANDS[-1]["command"], "test_exit": rc, "configs": res}


def measure_unpacker(build_dir):
    """bf16 values per cycle while streaming (the configuration writes and the latency taken off)."""
    exe = build_dir / "tb" / "num_unpacker" / "tb_num_unpacker"
    out, rc = sh([exe, "--gtest_filter=NumUnpacker/*.FullSpeedBf16"],
                 log=build_dir / "bench" / "tb_num_unpacker_full_speed.log", check=False)
    rows = {}
    for d in bench_lines(out, "num_unpacker"):
        d["values_per_cycle"] = d["values"] / (d["cycles"] - d["config_cycles"] - d["latency"])
        rows[d["lanes"]] = d
    return {"command": COMMANDS[-1]["command"], "test_exit": rc, "by_lanes": rows}


def measure_full_speed(build_dir, tb, gtest_filter, kind):
    """Dense-equivalent weights per streaming cycle of a bench's full-speed layers (its WS_BENCH lines of
    `kind`), and the bits per dense weight of their compressed streams."""
    exe = build_dir / "tb" / "weight_pipeline" / tb
    out, rc = sh([exe, f"--gtest_filter={gtest_filter}"], log=build_dir / "bench" / f"{tb}_full_speed.log",
                 check=False)
    return {"command": COMMANDS[-1]["command"], "test_exit": rc, **full_speed_figures(bench_lines(out, kind))}


def full_speed_figures(layers):
    """The layers (WS_BENCH lines) and their dense-equivalent weights per streaming cycle (their sum of
    dense weights over their sum of streaming cycles) and bits per dense weight."""
    res = {"layers": layers}
    if layers:
        res["dense_per_cycle"] = sum(d["dense"] for d in layers) / sum(d["stream_cycles"] for d in layers)
        res["bits_per_dense_weight"] = (8 * sum(d["stream_bytes"] for d in layers)
                                        / sum(d["rows"] * d["cols"] for d in layers))
    return res


def measure_pipeline(build_dir):
    """The pipeline on real 2:4 layers at full speed."""
    return measure_full_speed(build_dir, "tb_weight_pipeline", "WeightPipelineReal.FullSpeedThroughput",
                              "weight_pipeline")


def measure_paths(build_dir):
    """The paths' top (2 wide paths): its figure from SmolLM2-135M block 0's 7 linears back to back
    (real layer widths, K 576 and 1536, the target's condition: the WS_BENCH lines with
    "model":"smollm2"); beside it, under "stories260k", its stories260K full-speed layers (K 64 and
    172: even and uneven splits, 2:4 and dense, rows held by the MAC array's row pace)."""
    res = measure_full_speed(build_dir, "tb_weight_pipeline_paths",
                             "WeightPipelinePaths.FullSpeed*:WeightPipelinePaths.SmolLM2Block0BackToBackAtFullSpeed",
                             "weight_pipeline_paths")
    layers = res.pop("layers")
    res.update(full_speed_figures([d for d in layers if d.get("model") == "smollm2"]))
    res["stories260k"] = full_speed_figures([d for d in layers if "model" not in d])
    return res


def measure_numfmt(build_dir, reports, model):
    exe = build_dir / "bin" / "bench_numfmt"
    js = reports / "bench_numfmt.json"
    out, rc = sh([exe, "--model", model, "--json", js], log=build_dir / "bench" / "bench_numfmt.log",
                 check=False)
    print(out)
    d = json.loads(js.read_text()) if js.exists() and rc in (0, 1) else {"formats": []}
    d["command"] = COMMANDS[-1]["command"]
    d["exit"] = rc
    return d


# ------------------------------------------------------------------------------------------------
# 4: synthesis results

def rtl_hashes():
    blocks = run_synth.load_config(run_synth.DEFAULT_CONFIG)["blocks"]
    files = sorted({f for blk in blocks for f in run_synth.block_files(blk)})
    return {os.path.relpath(f, ROOT): hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in files}


def wanted_runs():
    cfg = run_synth.load_config(run_synth.DEFAULT_CONFIG)
    runs = []
    for blk in cfg["blocks"]:
        if blk["name"] not in SYNTH_BLOCKS:
            continue
        for fam in FAMILIES:
            sets = [params for params, _ in run_synth.expand_sets(blk, fam)]
            for _, b, f, want, *_ in TARGETS:  # the opt-in sets a target names
                if b == blk["name"] and f == fam:
                    sets += [params for params, _ in run_synth.expand_sets(blk, fam, where_keys=want)
                             if all(params.get(k) == v for k, v in want.items())]
            for params in sets:
                run = (blk["name"], fam, json.dumps(params, sort_keys=True))
                if run not in runs:
                    runs.append(run)
    return runs


def key_of(r):
    return (r["block"], r["family"], json.dumps(r["params"], sort_keys=True))


def synth_sources(reports):
    srcs = []
    for p in [reports / "synth.json"] + sorted((reports / "bench-synth").glob("*/synth.json")):
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        srcs.append((p, d))
    return srcs


def collect_synth(reports):
    """(block, family, params) -> result, the newest ok run over the reports; with its report's meta."""
    best = {}
    for path, d in synth_sources(reports):
        meta = {k: v for k, v in d.items() if k != "results"}
        meta["path"] = rel(path)
        for r in d.get("results", []):
            if r.get("status") != "ok":
                continue
            k = key_of(r)
            if k not in best or meta.get("generated", "") > best[k][1].get("generated", ""):
                best[k] = (r, meta)
    return best


def modules_used(r):
    """RTL modules of the run's elaborated hierarchy (ports.json), to tell which file changes matter."""
    try:
        d = json.loads((Path(r["workdir"]) / "ports.json").read_text())
    except (OSError, ValueError, KeyError):
        return None
    mods = set()
    for name in d.get("modules", {}):
        m = re.search(r"(ws_[A-Za-z0-9_]+)$", name.split("\\")[-1])
        if m:
            mods.add(m.group(1))
    return mods


def staleness(r, meta, now):
    """Files the run read whose hash differs today (None: cannot tell)."""
    then = meta.get("rtl_files") or {}
    if not then:
        return None
    mods = modules_used(r)
    changed = []
    for f, h in then.items():
        if mods is not None and Path(f).stem not in mods:
            continue
        if now.get(f) != h:
            changed.append(f)
    return changed


def is_target_set(block, fam, params):
    return any(block == b and fam == f and all(params.get(k) == v for k, v in want.items())
               for _, b, f, want, *_ in TARGETS)


def run_missing_synth(reports, work, jobs, missing):
    """One run_synth.py per missing set (its parameters as --where filters): seeds 1-3 for the sets a
    target names, seed 1 for the others."""
    for b, f, pj in missing:
        p = json.loads(pj)
        tag = "_".join(f"{k}{v}" for k, v in sorted(p.items()))
        out = reports / "bench-synth" / f"{b}-{f}-{tag}"
        where = [a for k, v in sorted(p.items()) for a in ("--where", f"{k}={v}")]
        seeds = "1,2,3" if is_target_set(b, f, p) else "1"
        sh([sys.executable, ROOT / "synth" / "run_synth.py", "--family", f, "--block", b, *where,
            "--seeds", seeds, "-j", str(jobs), "--out", out, "--work", work],
           log=out / "run_synth.log", nice=10, check=False)


def path_in_words(r):
    """The worst register-to-register path of a run, from nextpnr's report: the signals it passes
    (cell names stripped of the mapping suffixes Yosys adds), and the delay split into clock-to-out,
    logic, routing and setup."""
    cp = r.get("critical_path")
    if not cp:
        return None
    out = {"summary": cp}
    try:
        rep = json.loads((Path(r["workdir"]) / "report.json").read_text())
    except (OSError, ValueError, KeyError):
        return out
    for c in rep.get("critical_paths", []):
        path = c.get("path", [])
        if "<async>" in (c.get("from"), c.get("to")) or not path:
            continue
        split = {}
        stems = []
        for seg in path:
            split[seg.get("type")] = split.get(seg.get("type"), 0.0) + seg.get("delay", 0.0)
            for end in ("from", "to"):
                cell = seg.get(end, {}).get("cell", "")
                s = re.sub(r"^ws_w_dut\.", "", cell)
                s = re.split(r"_SB_|_TRELLIS|_LUT4|_CCU2C|_DP16KD|_MULT18|_ALU54|_PFUMX|_L6MUX|\$", s)[0]
                s = re.sub(r"_LC$", "", s)
                if s and not s.startswith("nextpnr") and (not stems or stems[-1] != s):
                    stems.append(s)
        to = path[-1].get("to", {})
        out.update(signals=stems, end_port=to.get("port"),
                   delay_split_ns={k: round(v, 2) for k, v in split.items()})
        out["words"] = describe_path(stems, to.get("port") or "", split)
        break
    return out


# Names of the RTL's registers and instances, as they appear in the cell names, in words.
PLACES = [
    (r"u_ram\.mem|u_ram\b|\.mem\.", "a table RAM (block RAM)"),
    (r"u_reader\.rp_", "the bit reader's read pointer"),
    (r"u_reader\.cur_bits", "the bit reader's count of the chunk's bits"),
    (r"u_reader\.cons", "the bit reader's clamped consume"),
    (r"u_reader\.", "the bit reader"),
    (r"^rem_", "the remaining-symbol count"),
    (r"^act$", "the active-lane mask"),
    (r"^total$", "the sum of the step's nb_bits"),
    (r"^chunk_end$", "the chunk-end flag"),
    (r"^left_bad", "the bits-left-over check"),
    (r"^fin_field", "the last step's fields"),
    (r"u_acc\.", "the accumulator's fp32 adder"),
    (r"acc_q$", "the row accumulator register"),
    (r"g_add\[\d+\]\.u_add", "a tree adder (fp32)"),
    (r"g_mul\[\d+\]\.u_mul|u_mul", "a multiplier"),
    (r"sum_o$", "the accumulator's adder output"),
    (r"node_q$", "a tree-level register"),
    (r"u_conv|g_conv|conv", "the number converter"),
]


def place(sig):
    for pat, text in PLACES:
        if re.search(pat, sig):
            return text
    return f"{sig}"


def describe_path(stems, port, split):
    """One sentence: where the worst path starts and ends, what it passes, where its time goes."""
    if not stems:
        return ""
    start, end = stems[0], stems[-1]
    a = f"{place(start)} ({start})" if place(start) != start else start
    if "RAM" in a:
        a = "a table RAM's read data (block RAM output, no output register)"
    b = f"{place(end)} ({end})" if place(end) != end else end
    if "RAM" in b and re.match(r"AD|A\d", port):
        b = "a table RAM's read address (the next decoder state)"
    elif "RAM" in b:
        b = f"a table RAM (pin {port})"
    via = []
    for s in stems[1:-1]:
        w = place(s)
        if s not in (start, end) and w not in via and w not in (place(start), place(end)):
            via.append(w)
    total = sum(split.values()) or 1.0
    routing = split.get("routing", 0.0)
    text = f"from {a} to {b}"
    if via:
        text += " through " + ", ".join(via)
    text += (f"; {split.get('clk-to-q', 0):.1f} ns clock-to-out, {split.get('logic', 0):.1f} ns logic, "
             f"{routing:.1f} ns routing ({100 * routing / total:.0f}%)")
    return text


# ------------------------------------------------------------------------------------------------
# 5: combine

def pick(synth, block, fam, **want):
    hits = []
    for (b, f, pj), (r, meta) in synth.items():
        p = json.loads(pj)
        if b == block and f == fam and all(p.get(k) == v for k, v in want.items()):
            hits.append((r, meta))
    return hits[0] if hits else (None, None)


def synth_fields(r):
    if r is None:
        return None
    return {"params": r["params"], "lut": r["lut"], "ff": r["ff"], "bram": r["bram"], "dsp": r["dsp"],
            "logic_used": r["logic_used"], "fmax_mhz": r["fmax_mhz"], "freq_target_mhz": r["freq_target_mhz"],
            "fmax_best_mhz": r.get("fmax_best_mhz"),
            "seeds": sorted(int(k) for k in r.get("fmax_by_seed", {})) or [r.get("seed", 1)],
            "wrap": r.get("wrap"), "critical_path": path_in_words(r)}


def per_cycle(block, p, dec, unp, pipe, paths):
    """Weights per cycle of a synthesized set (dense-equivalent for the pipeline) and what was measured,
    or (None, why) when no bench measures that configuration."""
    rates = {(r["lanes"], r["max_table_log"]): r["symbols_per_cycle"] for r in dec["rows"]}

    def dec_rate(k, ml):
        # The symbols per cycle hardly depend on the table size (docs/tans_decoder.md section 4).
        if (k, ml) in rates:
            return rates[(k, ml)], f"decoder, {k} lanes, MaxTableLog {ml}"
        for (kk, mm), v in sorted(rates.items()):
            if kk == k:
                return v, f"decoder, {k} lanes, MaxTableLog {mm}"
        return None, f"no decoder measurement at {k} lanes"

    def unp_rate(k):
        u = unp["by_lanes"].get(k)
        return (u["values_per_cycle"], f"unpacker, {k} lanes, bf16") if u else (None, f"no unpacker bench at {k} lanes")

    if block == "tans_decoder":
        return dec_rate(p["Lanes"], p["MaxTableLog"])
    if block == "num_unpacker":
        return unp_rate(p["Lanes"])
    if block == "value_path":
        (d, dw), (u, uw) = dec_rate(p["Lanes"], p["MaxTableLog"]), unp_rate(p["Lanes"])
        return (min(d, u), f"the slower of {dw} and {uw}") if d and u else (None, f"{dw}; {uw}")
    if block == "weight_pipeline":
        v = pipe.get("dense_per_cycle")
        return v, "pipeline, real 2:4 layers at full speed, dense-equivalent"
    if block == "weight_pipeline_paths":
        if any(p.get(k) != v for k, v in PATHS_BENCH.items()):
            return None, "no bench (tb_weight_pipeline_paths is built at " + ", ".join(
                f"{k} {v}" for k, v in PATHS_BENCH.items()) + ")"
        return (paths.get("dense_per_cycle"),
                "2 wide paths, SmolLM2-135M block 0's 7 linears at full speed (real widths), dense-equivalent")
    return None, "-"


def throughput_rows(synth, dec, unp, pipe, paths, bf16_bits):
    """Per synthesized set of the weight path: resources, fmax (seed 1, best of seeds), weights/s,
    weights/s per LUT4, and the DRAM bandwidth that weight rate consumes."""
    rows = []
    order = {b: i for i, b in enumerate(SYNTH_BLOCKS)}
    for (b, f, pj), (r, meta) in sorted(synth.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2])):
        if b in ("sparse_mac_array", "dense_mac_array"):
            continue
        p = json.loads(pj)
        e = {"block": b, "family": f, **synth_fields(r), "report": meta["path"]}
        rate, what = per_cycle(b, p, dec, unp, pipe, paths)
        bits = {"weight_pipeline": pipe.get("bits_per_dense_weight"),
                "weight_pipeline_paths": paths.get("bits_per_dense_weight")}.get(b, bf16_bits)
        e.update(per_cycle=rate, per_cycle_source=what, bits_per_weight=bits)
        for key, fm in (("weights_per_s", e["fmax_mhz"]), ("weights_per_s_best", e["fmax_best_mhz"])):
            e[key] = rate * fm * 1e6 if rate and fm else None
        e["weights_per_s_per_lut"] = e["weights_per_s"] / e["lut"] if e["weights_per_s"] and e["lut"] else None
        if b == "weight_pipeline_paths" and rate:
            # Beside the real-width figure: the same set on stories260K's narrow layers.
            st = paths["stories260k"].get("dense_per_cycle")
            e["stories260k_per_cycle"] = st
            e["stories260k_weights_per_s"] = st * e["fmax_mhz"] * 1e6 if st and e["fmax_mhz"] else None
        e["dram_bytes_per_s"] = e["weights_per_s"] * bits / 8 if e["weights_per_s"] and bits else None
        e["issue12_before"] = next((t for bb, want, t in ISSUE12_BEFORE if bb == b and f == "ecp5"
                                    and all(p.get(k) == v for k, v in want.items())), None)
        rows.append(e)
    return rows


def targets(rows, mac):
    out = []
    for what, b, f, want, field, op, value in TARGETS:
        cands = [e for e in rows if e["block"] == b and e["family"] == f
                 and all(e["params"].get(k) == v for k, v in want.items())]
        cands += [dict(m[kind], block=b) for m in mac for kind in ("sparse", "dense")
                  if m[kind] and f"{kind}_mac_array" == b and m["family"] == f
                  and all(m["params"].get(k) == v for k, v in want.items())]
        e = cands[0] if cands else None
        seed1 = e and e.get(field)
        best = e and {"fmax_mhz": e.get("fmax_best_mhz"), "weights_per_s": e.get("weights_per_s_best")}.get(field)
        ok = (lambda v: v is not None and (v >= value if op == ">=" else v <= value))
        out.append({"what": what, "block": b, "family": f, "params": e and e["params"], "field": field, "op": op,
                    "target": value, "seed1": seed1, "best": best, "met_seed1": ok(seed1),
                    "met_best": ok(best) if best is not None else None,
                    "critical_path": e and e.get("critical_path")})
    return out


def combine(dec, mac, unp, pipe, paths, nf, synth, now):
    out = {"numfmt": nf}
    stale = {}
    for (b, f, pj), (r, meta) in synth.items():
        ch = staleness(r, meta, now)
        if ch:
            stale[f"{b} {f} {pj}"] = ch
    out["stale_synthesis"] = stale
    bf16 = next((x for x in nf.get("formats", []) if x["label"] == "bf16"), None)
    out["bf16_bits_per_weight"] = bf16 and bf16["achieved_bits_per_weight"]
    out["weight_path"] = throughput_rows(synth, dec, unp, pipe, paths, out["bf16_bits_per_weight"])

    # MAC arrays: per synthesized set, sparse beside dense; cycles per multiplier from the bench
    # configuration with the same GroupsPerCycle (the beats per row depend on G alone).
    out["mac"] = []
    cfg_by_g = {c["groups_per_cycle"]: (name, c) for name, c in mac["configs"].items()}
    seen = set()
    for (b, f, pj), (r, meta) in sorted(synth.items()):
        if b != "sparse_mac_array" or (f, pj) in seen:
            continue
        seen.add((f, pj))
        p = json.loads(pj)
        rd, md = pick(synth, "dense_mac_array", f, **p)
        g = p["GroupsPerCycle"]
        mults = p["Rows"] * 2 * g
        name, c = cfg_by_g.get(g, (None, None))
        e = {"family": f, "params": p, "multipliers": mults, "bench_config": name,
             "sparse": synth_fields(r), "dense": synth_fields(rd)}
        if c:
            for kind, sr in (("sparse", e["sparse"]), ("dense", e["dense"])):
                if not sr:
                    continue
                per_mult = c[f"{kind}_macs_per_cycle_per_multiplier"]
                sr["macs_per_cycle"] = per_mult * mults
                sr["macs_per_cycle_per_multiplier"] = per_mult
                sr["macs_per_cycle_per_klut"] = per_mult * mults / sr["lut"] * 1000
                sr["lut_per_multiplier"] = sr["lut"] / mults
                sr["macs_per_s"] = per_mult * mults * sr["fmax_mhz"] * 1e6 if sr["fmax_mhz"] else None
                sr["macs_per_s_best"] = (per_mult * mults * sr["fmax_best_mhz"] * 1e6
                                         if sr["fmax_best_mhz"] else None)
        if e["sparse"] and e["dense"]:
            sp, de = e["sparse"], e["dense"]
            e["lut_overhead_per_pe"] = sp["lut"] / de["lut"] - 1
            e["fmax_ratio"] = sp["fmax_mhz"] / de["fmax_mhz"] if sp["fmax_mhz"] and de["fmax_mhz"] else None
            if c:
                e["per_multiplier_ratio"] = (sp["macs_per_cycle_per_multiplier"]
                                             / de["macs_per_cycle_per_multiplier"])
                e["per_lut_ratio"] = sp["macs_per_cycle_per_klut"] / de["macs_per_cycle_per_klut"]
                e["macs_per_s_ratio"] = (sp["macs_per_s"] / de["macs_per_s"]
                                         if sp["macs_per_s"] and de["macs_per_s"] else None)
                e["targets_met"] = {
                    "per multiplier at equal clock >= 1.9x": e["per_multiplier_ratio"] >= MAC_TARGET["per_multiplier_ratio"],
                    "MAC/s at seed-1 clocks >= 1.9x": bool(e["macs_per_s_ratio"]
                                                          and e["macs_per_s_ratio"] >= MAC_TARGET["per_multiplier_ratio"]),
                    "LUT overhead per PE <= 13%": e["lut_overhead_per_pe"] <= MAC_TARGET["lut_overhead_per_pe"],
                }
        out["mac"].append(e)
    out["targets"] = targets(out["weight_path"], out["mac"])
    return out


# ------------------------------------------------------------------------------------------------
# Reports

def f1(v, d=1):
    return "-" if v is None else f"{v:.{d}f}"


def si(v):
    if v is None:
        return "-"
    for unit, s in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= s:
            return f"{v / s:.3g} {unit}"
    return f"{v:.3g}"


def path_text(cp):
    if not cp:
        return "-"
    s = cp["summary"]
    words = ""
    if cp.get("signals"):
        sig = cp["signals"]
        if len(sig) > 8:
            sig = sig[:4] + ["..."] + sig[-3:]
        words = " → ".join(sig) + (f" (pin {cp['end_port']})" if cp.get("end_port") else "")
    split = cp.get("delay_split_ns", {})
    parts = ", ".join(f"{k} {v:.1f}" for k, v in split.items())
    return (f"{s['delay_ns']:.1f} ns, {s['logic_levels']} logic levels [{parts}]: {words}"
            + (f". In words: {cp['words']}" if cp.get("words") else ""))


def markdown(res):
    L = ["# Hardware benchmark (`make bench`, scripts/bench_hw.py)", "",
         f"{res['generated']}, commit {res['git_head']}{' + local changes' if res['git_dirty'] else ''}, "
         f"{res['machine']}.", ""]
    wp = res["weight_path"]
    L += ["## Issue 12: the weight path at FPGA speed", "",
          "Per synthesized set (synth/run_synth.py: Yosys + nextpnr; LUT4, FF, BRAM, DSP of the block alone; "
          "fmax of seed 1 and the best of the seeds run). Weights per cycle from the Verilator benches "
          "(exact cycle counts, no input gaps, no backpressure): the decoder's symbols per cycle on real "
          f"65,536-value chunks (`{res['decoder_bench']['command']}`), the unpacker's bf16 values per "
          f"streaming cycle on real weights (`{res['unpacker_bench']['command']}`), the pipeline's "
          "dense-equivalent weights per streaming cycle on real stories260K 2:4 layers "
          f"(`{res['pipeline_bench']['command']}`), the paths' top's (2 wide paths; other lane counts: no "
          f"bench) on SmolLM2-135M block 0's 7 linears back to back, 2:4, real layer widths (K 576 and 1536), "
          f"each in an even number of chunk pairs split over the paths; its stories260K figure beside the "
          f"table (`{res['paths_bench']['command']}`). Weights/s = per cycle x fmax. DRAM = the bytes per "
          "second those weights take in memory: bf16 at "
          f"{f1(res['bf16_bits_per_weight'], 3)} bits per weight (the bundled model's container, "
          "bench_numfmt below) for the decoder and unpacker; the pipeline's layers at "
          f"{f1(res['pipeline_bench'].get('bits_per_dense_weight'), 3)} bits per dense weight (their value "
          "chunks and metadata streams), the paths' at "
          f"{f1(res['paths_bench'].get('bits_per_dense_weight'), 3)}. \"Issue 12 filed at\": the figure of the issue's table for that "
          "block and lane count (seed 1).", "",
          "| block | parameters | family | LUT4 | FF | BRAM | DSP | fmax seed 1 | best (seeds) | weights/cycle "
          "| weights/s (seed 1) | weights/s per LUT4 | DRAM it keeps up with | issue 12 filed at |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for e in wp:
        ps = ", ".join(f"{k} {v}" for k, v in e["params"].items())
        best = (f"{f1(e['fmax_best_mhz'])} ({','.join(map(str, e['seeds']))})" if len(e["seeds"]) > 1 else "-")
        L.append(f"| {e['block']} | {ps} | {e['family']} | {e['lut']} | {e['ff']} | {e['bram']} | {e['dsp']} "
                 f"| {f1(e['fmax_mhz'])} | {best} | {f1(e['per_cycle'], 3)} | {si(e['weights_per_s'])} "
                 f"| {si(e['weights_per_s_per_lut'])} | {si(e['dram_bytes_per_s'])}B/s | {e['issue12_before'] or '-'} |")
    for e in wp:
        if "stories260k_per_cycle" in e:
            ps = ", ".join(f"{k} {v}" for k, v in e["params"].items())
            L += ["", f"{e['block']} {ps} {e['family']}: weights/cycle above from SmolLM2-135M (real widths); on "
                  f"stories260K's full-speed layers (K 64 and 172, rows held by the MAC array's row pace, uneven "
                  f"splits) {f1(e['stories260k_per_cycle'], 3)} a cycle, {si(e['stories260k_weights_per_s'])} "
                  f"weights/s at seed 1."]
    L += ["", "Anchors (issue 12): " + "; ".join(f"{a}: {t}" for a, t in ANCHORS) + ".", "",
          "### Targets", "",
          "| target | set | required | seed 1 | best of seeds | met (seed 1 / best) |", "|---|---|---:|---:|---:|---|"]
    for t in res["targets"]:
        fmt = {"weights_per_s": si, "lut": lambda v: "-" if v is None else f"{v:,}"}.get(t["field"], f1)
        ps = ", ".join(f"{k} {v}" for k, v in (t["params"] or {}).items()) or "not synthesized"
        met = "not measured" if t["seed1"] is None else ("yes" if t["met_seed1"] else "**no**") + " / " + (
            "-" if t["met_best"] is None else "yes" if t["met_best"] else "**no**")
        L.append(f"| {t['what']} | {t['family']}: {ps} | {t['op']} {fmt(t['target'])} | {fmt(t['seed1'])} "
                 f"| {fmt(t['best'])} | {met} |")
    L += ["", "Worst path per run (nextpnr, register to register; signals as Yosys named the cells):", ""]
    for e in wp:
        ps = ", ".join(f"{k} {v}" for k, v in e["params"].items())
        L.append(f"- {e['block']} {ps} {e['family']}: {path_text(e['critical_path'])}")
    L += ["", f"Decoder symbols per cycle (`{res['decoder_bench']['command']}`):", "",
          "| lanes | MaxTableLog | symbols | cycles | symbols/cycle | worst source | target |",
          "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["decoder_bench"]["rows"]:
        L.append(f"| {r['lanes']} | {r['max_table_log']} | {r['symbols']} | {r['cycles']} "
                 f"| {r['symbols_per_cycle']:.4f} | {r['min_source_symbols_per_cycle']:.4f} "
                 f"| {r['target_symbols_per_cycle']:.2f} |")
    L += ["", "## Issue 5: 2:4 sparse vs dense MAC array (equal multiplier count)", "",
          "Dense-equivalent MACs (rows × K of the layer) per cycle: the bench's cycle counts on pruned real "
          "stories260K layers (BF16, no gaps, no backpressure, first weight to last result; "
          f"`{res['mac_bench']['command']}`), per multiplier, at the bench configuration with the same "
          "GroupsPerCycle (A: Rows 4, G 2; B: Rows 3, G 1), times the synthesized array's multipliers. "
          "LUT4 = the block alone. LUT overhead per PE = sparse LUT4 / dense LUT4 - 1 (same multipliers).", "",
          "| family | Rows, G, MaxK | mult. | array | LUT4 | FF | DSP | fmax MHz | MAC/cycle | per mult. | per kLUT | MAC/s |",
          "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in res["mac"]:
        p = e["params"]
        for kind in ("sparse", "dense"):
            s = e[kind]
            if not s:
                L.append(f"| {e['family']} | {p['Rows']}, {p['GroupsPerCycle']}, {p['MaxK']} | {e['multipliers']} | {kind} | not synthesized | | | | | | | |")
                continue
            L.append(f"| {e['family']} | {p['Rows']}, {p['GroupsPerCycle']}, {p['MaxK']} | {e['multipliers']} | {kind} "
                     f"| {s['lut']} | {s['ff']} | {s['dsp']} | {f1(s['fmax_mhz'])} | {f1(s.get('macs_per_cycle'), 2)} "
                     f"| {f1(s.get('macs_per_cycle_per_multiplier'), 3)} | {f1(s.get('macs_per_cycle_per_klut'), 2)} "
                     f"| {si(s.get('macs_per_s'))} |")
    L += ["", "| family | Rows, G, MaxK | per multiplier sparse/dense (>= 1.9) | per LUT | fmax sparse/dense (>= 1) "
          "| LUT overhead per PE (<= 13%) | MAC/s sparse/dense (seed 1) |", "|---|---|---:|---:|---:|---:|---:|"]
    for e in res["mac"]:
        p = e["params"]
        if "lut_overhead_per_pe" not in e:
            continue
        L.append(f"| {e['family']} | {p['Rows']}, {p['GroupsPerCycle']}, {p['MaxK']} | {f1(e.get('per_multiplier_ratio'), 3)} "
                 f"| {f1(e.get('per_lut_ratio'), 3)} | {e['fmax_ratio']:.3f} | {100 * e['lut_overhead_per_pe']:+.1f}% "
                 f"| {f1(e.get('macs_per_s_ratio'), 3)} |")
    L += ["", "Bench cycle counts:", "", "| config | layer | M × K | sparse cycles | dense cycles | speed-up |",
          "|---|---|---|---:|---:|---:|"]
    for name, c in res["mac_bench"]["configs"].items():
        for d in c["layers"]:
            shape = f"{d['layer_rows']} × {d['layer_cols']}" if "layer_rows" in d else "all layer-0 matrices"
            L.append(f"| {name} (R{c['rows']} G{c['groups_per_cycle']}, {c['multipliers']} mult.) | {d['layer']} "
                     f"| {shape} | {d['sparse_cycles']} | {d['dense_cycles']} "
                     f"| {d['dense_cycles'] / d['sparse_cycles']:.3f} |")
    L += ["", "Worst paths:", ""]
    for e in res["mac"]:
        for kind in ("sparse", "dense"):
            if e[kind]:
                L.append(f"- {kind} {e['family']} R{e['params']['Rows']} G{e['params']['GroupsPerCycle']}: "
                         f"{path_text(e[kind]['critical_path'])}")
    nf = res["numfmt"]
    L += ["", "## Issue 4: bits per weight under each number format", "",
          f"`{nf.get('command')}`: {nf.get('weights')} weights of {rel(nf.get('model', '?'))}, chunks of "
          f"{nf.get('chunk_values')}, tANS table log {nf.get('table_log')}, {nf.get('lanes')} lanes. Bound = order-0 "
          "entropy of the class symbols per chunk + raw bits; achieved = every byte of the chunk; pattern H0 = "
          "order-0 entropy of the stored patterns per chunk (<= 16-bit formats); round trip = values whose "
          "tANS decode + unpacker functional model gave the rounded weight's output word.", "",
          "| format | exact % | H0 symbols | raw bits | bound | achieved | over bound | pattern H0 | vs dtype | round trip |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in nf.get("formats", []):
        ph = "-" if r["pattern_h0_bits_per_weight"] is None else f"{r['pattern_h0_bits_per_weight']:.3f}"
        L.append(f"| {r['label']} | {100 * r['exact_fraction']:.2f} | {r['h0_symbol_bits_per_weight']:.3f} "
                 f"| {r['raw_bits_per_weight']:.3f} | {r['bound_bits_per_weight']:.3f} | {r['achieved_bits_per_weight']:.3f} "
                 f"| {100 * r['over_bound']:+.2f}% | {ph} | {r['vs_dtype']:.3f} "
                 f"| {r['roundtrip_checked'] - r['roundtrip_mismatches']}/{r['roundtrip_checked']} |")
    L += ["", "## Synthesis sources", ""]
    for src in res["synth_sources"]:
        L.append(f"- `{src['path']}`: `{src.get('command')}`, {src.get('generated')}, commit {src.get('git_head')}; "
                 f"tools: {run_synth.tools_text(src.get('tools', {}))}")
    if res["synth_missing"]:
        L += ["", "**Not synthesized** (run `make synth`, or `make bench` without QUICK): "
              + "; ".join(f"{b} {f} {p}" for b, f, p in res["synth_missing"])]
    if res["stale_synthesis"]:
        L += ["", "**Stale** (an RTL file the run read has changed since; `make synth` refreshes): "
              + "; ".join(f"{k}: {', '.join(v)}" for k, v in res["stale_synthesis"].items())]
    L += ["", "## Commands", ""] + [f"- `{c['command']}` (exit {c['exit']}, {c['wall_s']:.0f} s)"
                                     for c in res["commands"]]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="build and synthesis parallelism (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="run no synthesis: report the runs build/reports already has, list the missing")
    ap.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    ap.add_argument("--model", default=str(ROOT.parent / "shared" / "data" / "stories260K.bin"))
    args = ap.parse_args()
    build_dir = (ROOT / args.build).resolve()
    reports = build_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    failures = []

    if not args.no_build:
        build(build_dir, args.jobs)
    dec = measure_decoder(build_dir)
    mac = measure_mac(build_dir)
    unp = measure_unpacker(build_dir)
    pipe = measure_pipeline(build_dir)
    paths = measure_paths(build_dir)
    nf = measure_numfmt(build_dir, reports, args.model)
    if dec["test_exit"] or not dec["rows"]:
        failures.append("decoder throughput test")
    if mac["test_exit"] or not mac["configs"]:
        failures.append("MAC array cycle test")
    if unp["test_exit"] or not unp["by_lanes"]:
        failures.append("unpacker full-speed test")
    if pipe["test_exit"] or not pipe["layers"]:
        failures.append("pipeline full-speed test")
    if paths["test_exit"] or not paths["layers"] or not paths["stories260k"]["layers"]:
        failures.append("paths full-speed test")
    if nf["exit"] or not nf.get("roundtrip_ok"):
        failures.append("bench_numfmt")

    wanted = wanted_runs()
    synth = collect_synth(reports)
    missing = [w for w in wanted if w not in synth]
    if missing and not args.quick:
        print(f"bench_hw: {len(missing)} synthesis run(s) missing from {rel(reports)}/synth.json; running them",
              flush=True)
        run_missing_synth(reports, build_dir / "synth-work", args.jobs, missing)
        synth = collect_synth(reports)
        missing = [w for w in wanted if w not in synth]
    synth = {k: v for k, v in synth.items() if k in set(wanted)}

    now = rtl_hashes()
    res = combine(dec, mac, unp, pipe, paths, nf, synth, now)
    head = run_synth.git_head()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    used_sources = {m["path"] for _, m in synth.values()}
    res.update({
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_head": head, "git_dirty": dirty,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "decoder_bench": dec, "mac_bench": mac, "unpacker_bench": unp, "pipeline_bench": pipe,
        "paths_bench": paths,
        "synth_sources": [{"path": rel(p), **{k: d.get(k) for k in ("command", "generated", "git_head", "tools")}}
                          for p, d in synth_sources(reports) if rel(p) in used_sources],
        "synth_missing": [(b, f, p) for b, f, p in missing],
        "quick": args.quick, "wall_s": round(time.monotonic() - t0, 1),
        "failures": failures, "commands": COMMANDS,
    })
    (reports / "bench_hw.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (reports / "bench_hw.md").write_text(md)
    print(md)
    print(f"bench_hw: reports in {rel(reports)}/bench_hw.md and bench_hw.json")
    if failures:
        print("bench_hw: FAILED: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
