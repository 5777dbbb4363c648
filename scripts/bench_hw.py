#!/usr/bin/env python3
"""Hardware benchmark (issues 3, 4, 5): the figures of the tANS decoder, the 2:4 sparse MAC array
against its dense baseline, and the number formats, each from a command this script runs.

  1. builds what it needs (cmake -DWS_RTL=ON; targets tb_tans_decoder, tb_mac_array, bench_numfmt);
  2. runs the cycle measurements of the Verilator benches (gtest filters; each test prints one
     `WS_BENCH {json}` line per measurement): the decoder's sustained symbols per cycle on real
     chunks with no gaps or backpressure, and the sparse and dense arrays' cycles on the same pruned
     real layers;
  3. runs bench_numfmt: bits per weight of the bundled model under every built-in number format
     against the entropy bound, every value's round trip checked;
  4. reads the synthesis results (LUT, FF, block RAM, DSP, fmax, worst path) from the tools' reports
     as synth/run_synth.py writes them: build/reports/synth.json (`make synth`) and, for the runs
     that one lacks, build/reports/bench-synth/<block>-<family>/synth.json, which this script fills
     by running run_synth.py for those blocks and families (not with --quick: then missing runs
     stay missing and are reported as such);
  5. combines them (weights per second = symbols per cycle x fmax; effective MACs per second =
     dense-equivalent MACs per cycle x fmax) and writes build/reports/bench_hw.json and
     build/reports/bench_hw.md with every command that produced a number.

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

SYNTH_BLOCKS = ["tans_decoder", "num_unpacker", "sparse_mac_array", "dense_mac_array"]
FAMILIES = ["ice40", "ecp5"]
DEC_TARGET = {"family": "ecp5", "lanes": 4, "fmax_mhz": 200.0, "max_lut": 1000}
MAC_TARGET = {"per_multiplier_ratio": 1.9, "lut_overhead_per_pe": 0.20}

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
        "bench_numfmt"], log=build_dir / "bench" / "build.log")


def measure_decoder(build_dir):
    exe = build_dir / "tb" / "tans_decoder" / "tb_tans_decoder"
    out, rc = sh([exe, "--gtest_filter=TansDecoder/rtl_*.Throughput"],
                 log=build_dir / "bench" / "tb_tans_decoder_throughput.log", check=False)
    lines = [d for d in bench_lines(out, "tans_decoder") if d["rtl"]]
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
            for params, _ in run_synth.expand_sets(blk, fam):
                runs.append((blk["name"], fam, json.dumps(params, sort_keys=True)))
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


def run_missing_synth(reports, work, jobs, missing):
    pairs = sorted({(b, f) for b, f, _ in missing})
    for b, f in pairs:
        out = reports / "bench-synth" / f"{b}-{f}"
        sh([sys.executable, ROOT / "synth" / "run_synth.py", "--family", f, "--block", b, "-j", str(jobs),
            "--out", out, "--work", work], log=out / "run_synth.log", nice=10, check=False)


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
            "wrap": r.get("wrap"), "critical_path": path_in_words(r)}


def combine(dec, mac, nf, synth, now):
    out = {"decoder": [], "mac": [], "numfmt": nf}
    stale = {}
    for (b, f, pj), (r, meta) in synth.items():
        ch = staleness(r, meta, now)
        if ch:
            stale[f"{b} {f} {pj}"] = ch
    out["stale_synthesis"] = stale

    for row in dec["rows"]:
        if row["max_table_log"] != 12:
            continue
        k = row["lanes"]
        e = {"lanes": k, "symbols_per_cycle": row["symbols_per_cycle"],
             "min_source_symbols_per_cycle": row["min_source_symbols_per_cycle"],
             "target_symbols_per_cycle": row["target_symbols_per_cycle"], "families": {}}
        for fam in FAMILIES:
            r, meta = pick(synth, "tans_decoder", fam, Lanes=k)
            s = synth_fields(r)
            if s:
                s["weights_per_s"] = row["symbols_per_cycle"] * s["fmax_mhz"] * 1e6 if s["fmax_mhz"] else None
                s["report"] = meta["path"]
            e["families"][fam] = s
        out["decoder"].append(e)
    t = DEC_TARGET
    hit = next((e for e in out["decoder"] if e["lanes"] == t["lanes"]), None)
    s = hit["families"].get(t["family"]) if hit else None
    out["decoder_target"] = {**t, "reached_fmax_mhz": s and s["fmax_mhz"], "reached_lut": s and s["lut"],
                             "fmax_met": bool(s and s["fmax_mhz"] and s["fmax_mhz"] >= t["fmax_mhz"]),
                             "lut_met": bool(s and s["lut"] <= t["max_lut"]),
                             "critical_path": s and s["critical_path"]}

    # Number unpacker: synthesis only (its cycle behaviour is in tb/num_unpacker, docs/numfmt.md).
    out["unpacker"] = []
    for (b, f, pj), (r, meta) in sorted(synth.items(), key=lambda kv: (kv[0][1], json.loads(kv[0][2]).get("Lanes", 0))):
        if b == "num_unpacker":
            out["unpacker"].append({"family": f, **synth_fields(r)})

    # MAC arrays: per synthesized set, sparse beside dense; cycles per multiplier from the bench
    # configuration with the same GroupsPerCycle (the beats per row depend on G alone).
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
        if e["sparse"] and e["dense"]:
            sp, de = e["sparse"], e["dense"]
            e["lut_overhead_per_pe"] = sp["lut"] / de["lut"] - 1
            e["fmax_ratio"] = sp["fmax_mhz"] / de["fmax_mhz"]
            if c:
                e["per_multiplier_ratio"] = (sp["macs_per_cycle_per_multiplier"]
                                             / de["macs_per_cycle_per_multiplier"])
                e["per_lut_ratio"] = sp["macs_per_cycle_per_klut"] / de["macs_per_cycle_per_klut"]
                e["macs_per_s_ratio"] = (sp["macs_per_s"] / de["macs_per_s"]
                                         if sp["macs_per_s"] and de["macs_per_s"] else None)
                e["targets_met"] = {
                    "per_multiplier >= 1.9x": e["per_multiplier_ratio"] >= MAC_TARGET["per_multiplier_ratio"],
                    "fmax sparse >= dense": sp["fmax_mhz"] >= de["fmax_mhz"],
                    "LUT overhead <= 20%": e["lut_overhead_per_pe"] <= MAC_TARGET["lut_overhead_per_pe"],
                }
        out["mac"].append(e)
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
    L += ["## Issue 3: tANS decoder", "",
          "Sustained symbols per cycle: the RTL (MaxTableLog 12) on real 65,536-value chunks with no input gaps "
          "and no backpressure, from the descriptor to the last beat (Verilator cycle counts, "
          f"`{res['decoder_bench']['command']}`). LUT4/FF/BRAM/fmax: synth/run_synth.py (Yosys + nextpnr, "
          "seed 1), block alone. Weights per second = symbols per cycle × fmax (one bf16 weight per symbol). "
          "iCE40 runs use MaxTableLog 10 (9 at 8 lanes) to fit the HX8K's EBR; the cycle counts are those of "
          "MaxTableLog 12.", "",
          "| K | symbols/cycle | worst source | target | family | LUT4 | FF | BRAM | fmax MHz | weights/s |",
          "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for e in res["decoder"]:
        for fam in FAMILIES:
            s = e["families"].get(fam)
            if s:
                L.append(f"| {e['lanes']} | {e['symbols_per_cycle']:.4f} | {e['min_source_symbols_per_cycle']:.4f} "
                         f"| {e['target_symbols_per_cycle']:.2f} | {fam} (ML {s['params']['MaxTableLog']}) | {s['lut']} "
                         f"| {s['ff']} | {s['bram']} | {f1(s['fmax_mhz'])} | {si(s['weights_per_s'])} |")
            else:
                L.append(f"| {e['lanes']} | {e['symbols_per_cycle']:.4f} | {e['min_source_symbols_per_cycle']:.4f} "
                         f"| {e['target_symbols_per_cycle']:.2f} | {fam} | not synthesized | | | | |")
    t = res["decoder_target"]
    L += ["", f"Target K = {t['lanes']} on {t['family']}: >= {t['fmax_mhz']:.0f} MHz in <= {t['max_lut']} LUTs. "
          f"Reached: {f1(t['reached_fmax_mhz'])} MHz ({'met' if t['fmax_met'] else 'NOT met'}), "
          f"{t['reached_lut'] if t['reached_lut'] is not None else '-'} LUT4 ({'met' if t['lut_met'] else 'NOT met'}).", "",
          "Worst path per run (nextpnr, register to register; signals as Yosys named the cells):", ""]
    for e in res["decoder"]:
        for fam in FAMILIES:
            s = e["families"].get(fam)
            if s:
                L.append(f"- K={e['lanes']} {fam}: {path_text(s['critical_path'])}")
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
          "| LUT overhead per PE (<= 20%) | MAC/s sparse/dense |", "|---|---|---:|---:|---:|---:|---:|"]
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
            L.append(f"| {name} (R{c['rows']} G{c['groups_per_cycle']}, {c['multipliers']} mult.) | {d['layer']} "
                     f"| {d['layer_rows']} × {d['layer_cols']} | {d['sparse_cycles']} | {d['dense_cycles']} "
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
    L += ["", "Number unpacker (`ws_num_unpacker`, the hardware side of the formats), synthesis:", "",
          "| family | Lanes | LUT4 | FF | BRAM | fmax MHz | worst path |", "|---|---:|---:|---:|---:|---:|---|"]
    for u in res.get("unpacker", []):
        L.append(f"| {u['family']} | {u['params'].get('Lanes')} | {u['lut']} | {u['ff']} | {u['bram']} "
                 f"| {f1(u['fmax_mhz'])} | {path_text(u['critical_path'])} |")
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
    nf = measure_numfmt(build_dir, reports, args.model)
    if dec["test_exit"] or not dec["rows"]:
        failures.append("decoder throughput test")
    if mac["test_exit"] or not mac["configs"]:
        failures.append("MAC array cycle test")
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
    res = combine(dec, mac, nf, synth, now)
    head = run_synth.git_head()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    used_sources = {m["path"] for _, m in synth.values()}
    res.update({
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_head": head, "git_dirty": dirty,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "decoder_bench": dec, "mac_bench": mac,
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
