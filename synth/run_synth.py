#!/usr/bin/env python3
"""Open FPGA flow for the weightstream RTL: Yosys + nextpnr per block x parameter set x family.

For every block of synth/blocks.json, every parameter set and every FPGA family it applies to:
  1. Yosys elaborates the block (the files of its list, e.g. rtl/tans_decoder.f, read with -sv
     and -Irtl) with its parameters and
     lists its ports;
  2. a synthesis-only wrapper is generated around it (registered IOs, or a serial shift-in /
     XOR-reduce-out wrapper when the ports outnumber the package's pins; see docs/synth.md);
  3. Yosys synthesizes (synth_ice40 / synth_ecp5), nextpnr places and routes with a fixed seed and
     the family's clock constraint and writes its --report JSON;
  4. utilisation and achieved fmax are read from that report (and per-module LUT/FF counts from
     Yosys' `stat -json`, so that the wrapper's own cells can be subtracted exactly).
Results go to build/reports/synth.json and build/reports/synth.md.

Exit status: 0 when every run synthesized and placed-and-routed (timing misses are reported, not
failures), 1 when any run failed (the failing block / parameters / family are printed), 2 on a
configuration or usage error.

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import rtl_files  # noqa: E402  (the one reader of rtl/<block>.f)
DEFAULT_CONFIG = ROOT / "synth" / "blocks.json"
RTL_INCLUDE = ROOT / "rtl"  # ws_assert.svh
DEFAULT_OUT = ROOT / "build" / "reports"
DEFAULT_WORK = ROOT / "build" / "synth-work"
SEED = 1
WRAP_TOP = "ws_synth_wrap"
WRAP_MODES = ("auto", "regio", "serial", "none")


class ConfigError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Configuration

def load_config(path):
    try:
        cfg = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}")
    fams = cfg.get("families")
    blocks = cfg.get("blocks")
    if not isinstance(fams, dict) or not fams:
        raise ConfigError(f"{path}: 'families' must be a non-empty object")
    if not isinstance(blocks, list):
        raise ConfigError(f"{path}: 'blocks' must be a list")
    required = ("yosys", "synth_cmd", "nextpnr", "nextpnr_args", "freq_mhz", "io_limit",
                "logic_resource", "bram_resources", "dsp_resources", "lut_cells", "ff_cells")
    for name, fam in fams.items():
        for key in required:
            if key not in fam:
                raise ConfigError(f"{path}: family '{name}' lacks '{key}'")
    names = set()
    for blk in blocks:
        for key in ("name", "top", "sets"):
            if key not in blk:
                raise ConfigError(f"{path}: a block lacks '{key}': {blk}")
        if blk["name"] in names:
            raise ConfigError(f"{path}: block '{blk['name']}' is listed twice")
        names.add(blk["name"])
        if blk.get("wrap", "auto") not in WRAP_MODES:
            raise ConfigError(f"{path}: block '{blk['name']}': wrap must be one of {WRAP_MODES}")
        for s in blk["sets"]:
            for f in s.get("families", []):
                if f not in fams:
                    raise ConfigError(f"{path}: block '{blk['name']}': unknown family '{f}'")
        # Every block must be synthesized for every family (CI runs iCE40 for each block), except
        # for a family marked "every_block": false (a device variant that runs chosen sets only).
        for f in fams:
            if fams[f].get("every_block", True) and not expand_sets(blk, f):
                raise ConfigError(f"{path}: block '{blk['name']}' has no parameter set for "
                                  f"family '{f}'")
    return cfg


def expand_sets(blk, family, explicit_only=False, where_keys=()):
    """The parameter sets of a block that apply to a family, in listed order (explicit_only: only
    the sets that name it, for a family with "every_block": false). A set with "opt_in" (a list of
    its parameters) applies only when where_keys (the --where filters' parameters) names one of
    them, so that --where on the other sets' parameters and `make synth` leave it out. A parameter
    whose value is a list expands to the cross product. Returns a list of (params dict, set dict)."""
    out = []
    for s in blk["sets"]:
        fams = s.get("families")
        if (fams is None and explicit_only) or (fams is not None and family not in fams):
            continue
        if s.get("opt_in") and not set(s["opt_in"]) & set(where_keys):
            continue
        params = s.get("params", {})
        keys = list(params)
        values = [v if isinstance(v, list) else [v] for v in params.values()]
        for combo in itertools.product(*values):
            out.append((dict(zip(keys, combo)), s))
    return out


def verilog_literal(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v  # written as a Verilog literal already: 8, 4'b1010, "\"text\""
    raise ConfigError(f"parameter value {v!r}: use an integer or a Verilog literal string")


def params_tag(params):
    if not params:
        return "default"
    tag = "_".join(f"{k}{verilog_literal(v)}" for k, v in params.items())
    return re.sub(r"[^A-Za-z0-9_.=-]", "-", tag)


def params_text(params):
    return ", ".join(f"{k}={verilog_literal(v)}" for k, v in params.items()) or "defaults"


def block_files(blk, override=None):
    """The source files of a block: its own list (blocks.json "files", e.g. rtl/tans_decoder.f),
    or the --files list that replaces every block's (the flow's self-test)."""
    listfile = override or blk.get("files")
    if not listfile:
        raise ConfigError(f"block '{blk['name']}' names no file list (\"files\")")
    try:
        return rtl_files.expand(listfile)
    except rtl_files.FileListError as e:
        raise ConfigError(str(e))


# --------------------------------------------------------------------------------------------
# Tools

def tool_version(cmd, flag):
    exe = shutil.which(cmd)
    if not exe:
        return None
    try:
        p = subprocess.run([exe, flag], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [l for l in (p.stdout + "\n" + p.stderr).splitlines()
             if l.strip() and not l.startswith("Preparing to run")]
    if not lines:
        return None
    text = lines[0].strip()
    m = re.match(r"(Yosys \S+) \((git sha1 [0-9a-f]+)", text)
    if m:  # drop the compiler description YoWASP adds
        return f"{m.group(1)} ({m.group(2)})"
    m = re.search(r"\(Version (?:nextpnr-)?([^)]+)\)", text)
    if m:
        return f"{cmd} {m.group(1)}"
    return text


def pip_version(cmd):
    if not cmd.startswith("yowasp-"):
        return None
    try:
        from importlib import metadata
        return metadata.version(cmd)
    except Exception:
        return None


def git_head():
    """The commit the tree is on (read-only; None outside a git checkout)."""
    try:
        p = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def run_tool(cmd, cwd, log, timeout):
    """Runs cmd in cwd with stdout+stderr to log; returns (rc, wall seconds, CPU seconds).
    CPU time (user + system of the child) is what a loaded shared machine does not inflate."""
    t0 = time.monotonic()
    with open(log, "w") as fh:
        p = subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            p.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        if timed_out.is_set():
            fh.write(f"\nrun_synth.py: killed after {timeout} s\n")
            rc = 124
    return rc, time.monotonic() - t0, ru.ru_utime + ru.ru_stime


def log_tail(log, n=15):
    try:
        lines = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errs = [l for l in lines if "ERROR" in l or "error:" in l.lower()]
    pick = errs[-5:] if errs else lines[-n:]
    return "\n".join(pick)


def count_warnings(log):
    try:
        return sum(1 for l in Path(log).read_text(errors="replace").splitlines()
                   if l.startswith("Warning:"))
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# Wrapper generation

def read_ports(ports_json, top):
    d = json.loads(Path(ports_json).read_text())
    mod = d["modules"].get(top)
    if mod is None:  # the elaborated top keeps its name; fall back to the 'top' attribute
        for m in d["modules"].values():
            if str(m.get("attributes", {}).get("top", "0")).strip("0") != "":
                mod = m
                break
    if mod is None:
        raise RuntimeError(f"module {top} not found after elaboration")
    return [(n, p["direction"], len(p["bits"])) for n, p in mod["ports"].items()]


def choose_wrap(mode, ports, clock, io_limit):
    io_bits = sum(w for n, _, w in ports if n != clock) + 1
    if mode != "auto":
        return mode
    return "regio" if io_bits <= io_limit else "serial"


def inst_params(params):
    if not params:
        return ""
    return " #(" + ", ".join(f".{k}({verilog_literal(v)})" for k, v in params.items()) + ")"


def gen_wrapper(mode, top, params, ports, clock):
    """Synthesis-only wrapper. The block is one instance kept as its own module
    (keep_hierarchy), so Yosys' per-module statistics separate the wrapper's cells from the
    block's. Every input and output of the block is registered, so nextpnr's fmax covers the
    block's input-to-register and register-to-output paths as well as its internal ones."""
    if any(d == "inout" for _, d, _ in ports):
        raise RuntimeError("inout ports cannot be wrapped; set \"wrap\": \"none\" for this block")
    ins = [(n, w) for n, d, w in ports if d == "input" and n != clock]
    outs = [(n, w) for n, d, w in ports if d == "output"]
    has_clock = any(n == clock for n, _, _ in ports)
    L = ["`default_nettype none",
         f"// Generated by synth/run_synth.py ({mode} wrapper around {top}); synthesis only.",
         ]
    conns = []
    if has_clock:
        conns.append(f".{clock}(ws_w_clk)")
    if mode == "regio":
        hdr = ["input wire ws_w_clk"]
        hdr += [f"input wire [{w-1}:0] {n}" for n, w in ins]
        hdr += [f"output reg [{w-1}:0] {n}" for n, w in outs]
        L.append(f"module {WRAP_TOP} (\n  " + ",\n  ".join(hdr) + "\n);")
        for n, w in ins:
            L.append(f"  reg [{w-1}:0] ws_wi_{n};")
            L.append(f"  always @(posedge ws_w_clk) ws_wi_{n} <= {n};")
            conns.append(f".{n}(ws_wi_{n})")
        for n, w in outs:
            L.append(f"  wire [{w-1}:0] ws_wo_{n};")
            L.append(f"  always @(posedge ws_w_clk) {n} <= ws_wo_{n};")
            conns.append(f".{n}(ws_wo_{n})")
    elif mode == "serial":
        iw = sum(w for _, w in ins)
        ow = sum(w for _, w in outs)
        L.append(f"module {WRAP_TOP} (\n  input wire ws_w_clk,\n  input wire ws_w_si,\n"
                 f"  output wire ws_w_so\n);")
        if iw:
            L.append(f"  // {iw} input bits, loaded through one pin")
            L.append(f"  reg [{iw-1}:0] ws_w_sh;")
            shift = f"{{ws_w_sh[{iw-2}:0], ws_w_si}}" if iw > 1 else "ws_w_si"
            L.append(f"  always @(posedge ws_w_clk) ws_w_sh <= {shift};")
            off = 0
            for n, w in ins:
                conns.append(f".{n}(ws_w_sh[{off + w - 1}:{off}])")
                off += w
        # Outputs: registered, then XOR-reduced by a registered tree of 4-input stages (one
        # LUT4 level per stage), so the wrapper never sets the critical path.
        if ow:
            L.append(f"  // {ow} output bits, registered and XOR-reduced to one pin")
            L.append(f"  wire [{ow-1}:0] ws_w_o;")
            L.append(f"  reg [{ow-1}:0] ws_w_x0;")
            L.append(f"  always @(posedge ws_w_clk) ws_w_x0 <= ws_w_o;")
            off = 0
            for n, w in outs:
                conns.append(f".{n}(ws_w_o[{off + w - 1}:{off}])")
                off += w
            n_prev, k = ow, 0
            while n_prev > 1:
                n_next = (n_prev + 3) // 4
                L.append(f"  reg [{n_next-1}:0] ws_w_x{k+1};")
                L.append(f"  always @(posedge ws_w_clk) begin")
                for j in range(n_next):
                    lo, hi = 4 * j, min(4 * j + 3, n_prev - 1)
                    L.append(f"    ws_w_x{k+1}[{j}] <= ^ws_w_x{k}[{hi}:{lo}];")
                L.append("  end")
                n_prev, k = n_next, k + 1
            L.append(f"  assign ws_w_so = ws_w_x{k}[0];")
        else:
            L.append("  assign ws_w_so = 1'b0;")
    else:
        raise ValueError(mode)
    L.append(f"  (* keep_hierarchy *) {top}{inst_params(params)} ws_w_dut (\n    "
             + ",\n    ".join(conns) + "\n  );")
    L.append("endmodule")
    L.append("`default_nettype wire")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------
# One run

def read_verilog_cmd(files, incdirs, wd, fam, extra=()):
    """Paths relative to the run directory: the YoWASP tools see the host's absolute paths except
    under /tmp (mapped to a private directory), but always the working directory and its parents
    through relative paths, so a repository or work directory under /tmp works too. The family's
    `define` (e.g. WS_ECP5) selects its instantiated primitives in the RTL, and its `cells_lib` (a
    file or a list) declares them for the elaboration pass."""
    def rel(p):
        return os.path.relpath(p, wd)
    inc = "".join(f" -I{rel(d)}" for d in incdirs)
    defs = "".join(f" -D{d}" for d in fam.get("defines", []))
    srcs = " ".join(rel(f) for f in list(files) + list(extra))
    libs = fam.get("cells_lib", [])
    lib = "".join(f"read_verilog -lib {f}\n" for f in ([libs] if isinstance(libs, str) else libs))
    return f"{lib}read_verilog -sv{defs}{inc} {srcs}"


def cell_counts(stat, module):
    """Cells by type of one module, or of the whole hierarchy when module is None, from
    `stat -json -top` output (its 'design' section counts submodules into their parents)."""
    mods = {name.lstrip("\\"): m.get("num_cells_by_type", {})
            for name, m in stat.get("modules", {}).items()}
    if module is not None:
        return dict(mods.get(module, {}))
    if "design" in stat:
        return dict(stat["design"].get("num_cells_by_type", {}))
    total = {}  # no hierarchy section: add the modules up, leaving out instances of modules
    for cells in mods.values():
        for t, v in cells.items():
            if t.lstrip("\\") not in mods:
                total[t] = total.get(t, 0) + v
    return total


def lut_ff(cells, fam):
    lut = sum(cells.get(t, 0) * m for t, m in fam["lut_cells"].items())
    ff = sum(v for t, v in cells.items() if re.match(fam["ff_cells"], t))
    return lut, ff


def run_job(job, ctx):
    blk, params, fam_name, fam, freq = job["block"], job["params"], job["family"], \
        ctx["families"][job["family"]], job["freq_mhz"]
    wd = ctx["work"] / blk["name"] / fam_name / params_tag(params)
    collect = ctx.get("collect", False)
    if collect:
        if (wd / "result.json").exists():  # written by the run itself: times included
            return json.loads((wd / "result.json").read_text())
        if not wd.exists():
            return {"block": blk["name"], "top": blk["top"], "params": params,
                    "family": fam_name, "freq_target_mhz": freq, "status": "missing",
                    "stage": "not run", "error": f"{wd} does not exist"}
    else:
        if wd.exists():
            shutil.rmtree(wd)
        wd.mkdir(parents=True)

    def tool(cmd, log, output):
        """run a tool; with --collect, only look for what an earlier run left"""
        if collect:
            return (0 if (wd / output).exists() else 1), None, None
        return run_tool(cmd, wd, log, timeout)
    top = blk["top"]
    clock = blk.get("clock", "clk_i")
    res = {
        "block": blk["name"], "top": top, "params": params, "family": fam_name,
        "device": fam.get("device"), "package": fam.get("package"),
        "freq_target_mhz": freq, "seed": SEED, "status": "ok", "workdir": str(wd),
    }
    timeout = ctx["timeout"]
    chparams = " ".join(f"-chparam {k} {verilog_literal(v)}" for k, v in params.items())
    rv = read_verilog_cmd(job["files"], [RTL_INCLUDE], wd, fam)

    # 1. elaborate, list the ports
    if not collect:
        (wd / "ports.ys").write_text(
            f"{rv}\nhierarchy -check -top {top} {chparams}\nproc\n"
            # the primitive library's modules cannot be written (YoWASP Yosys); only the top's ports
            # are needed. Debian's Yosys 0.23 has no write_json -selected and writes them all
            # ("write_json_selected": false).
            + (f"select -module {top}\nwrite_json -selected ports.json\n"
               if fam.get("cells_lib") and fam.get("write_json_selected", True)
               else "write_json ports.json\n"))
    rc, t_ports, c_ports = tool([fam["yosys"], "-q", "-s", "ports.ys"], wd / "ports.log",
                                "ports.json")
    if rc != 0 or not (wd / "ports.json").exists():
        res.update(status="synth_failed", stage="elaborate", log=str(wd / "ports.log"),
                   error=log_tail(wd / "ports.log"))
        return res
    try:
        ports = read_ports(wd / "ports.json", top)
    except (RuntimeError, KeyError, ValueError) as e:
        res.update(status="synth_failed", stage="elaborate", error=str(e))
        return res
    in_bits = sum(w for n, d, w in ports if d == "input" and n != clock)
    out_bits = sum(w for n, d, w in ports if d != "input")
    mode = choose_wrap(ctx["wrap"] or blk.get("wrap", "auto"), ports, clock, fam["io_limit"])
    res.update(in_bits=in_bits, out_bits=out_bits, wrap=mode,
               has_clock=any(n == clock for n, _, _ in ports))

    # 2. wrapper + synthesis
    if mode == "none":
        syn_top, extra, hier = top, [], f"hierarchy -check -top {top} {chparams}"
    else:
        try:
            text = gen_wrapper(mode, top, params, ports, clock)
            if not collect:
                (wd / "wrapper.sv").write_text(text)
        except RuntimeError as e:
            res.update(status="synth_failed", stage="wrapper", error=str(e))
            return res
        syn_top, extra, hier = WRAP_TOP, [wd / "wrapper.sv"], f"hierarchy -check -top {WRAP_TOP}"
    rv = read_verilog_cmd(job["files"], [RTL_INCLUDE], wd, fam, extra)
    synth_cmd = " ".join(x for x in (fam["synth_cmd"], job.get("synth_args", "")) if x)
    script = (f"{rv}\n{hier}\n{synth_cmd} -top {syn_top} -json netlist.json\n"
              f"tee -q -o stat.json stat -json -top {syn_top}\n")
    if not collect:
        (wd / "synth.ys").write_text(script)
    rc, t_syn, c_syn = tool([fam["yosys"], "-s", "synth.ys"], wd / "yosys.log", "stat.json")
    if not collect:
        res["yosys_s"] = round(t_ports + t_syn, 1)
        res["yosys_cpu_s"] = round(c_ports + c_syn, 1)
    res["yosys_warnings"] = count_warnings(wd / "yosys.log")
    if rc != 0 or not (wd / "netlist.json").exists():
        res.update(status="synth_failed", stage="synthesis", log=str(wd / "yosys.log"),
                   error=log_tail(wd / "yosys.log"))
        return res
    try:
        stat = json.loads((wd / "stat.json").read_text())
    except (OSError, ValueError):
        stat = {}
    total = cell_counts(stat, None)
    wrap_cells = cell_counts(stat, WRAP_TOP) if mode != "none" else {}
    block_cells = {t: total.get(t, 0) - wrap_cells.get(t, 0) for t in total}
    block_cells = {t: v for t, v in block_cells.items() if v}
    lut, ff = lut_ff(block_cells, fam)
    wlut, wff = lut_ff(wrap_cells, fam)
    res.update(lut=lut, ff=ff, wrapper_lut=wlut, wrapper_ff=wff, cells=block_cells)
    if not job.get("pnr", True):
        # "pnr": false (a set too large for the family's device): synthesis only, no fmax.
        res.update(synth_only=True, logic_used=None, logic_avail=None, bram=None, bram_avail=None,
                   dsp=None, dsp_avail=None, fmax_mhz=None, timing_met=None)
        return res

    # 3. place and route
    cmd = [fam["nextpnr"], *fam["nextpnr_args"], "--json", "netlist.json",
           "--report", "report.json", "--freq", str(freq), "--seed", str(SEED),
           "--timing-allow-fail"]
    rc, t_pnr, c_pnr = tool(cmd, wd / "nextpnr.log", "report.json")
    if not collect:
        res["nextpnr_s"] = round(t_pnr, 1)
        res["nextpnr_cpu_s"] = round(c_pnr, 1)
    res["nextpnr_cmd"] = " ".join(cmd)
    res["nextpnr_warnings"] = count_warnings(wd / "nextpnr.log")
    if rc != 0 or not (wd / "report.json").exists():
        res.update(status="pnr_failed", stage="place and route", log=str(wd / "nextpnr.log"),
                   error=log_tail(wd / "nextpnr.log"))
        return res
    rep = json.loads((wd / "report.json").read_text())
    util = rep.get("utilization", {})

    def used(names):
        return sum(util.get(n, {}).get("used", 0) for n in names)

    def avail(names):
        return sum(util.get(n, {}).get("available", 0) for n in names)

    lr = fam["logic_resource"]
    # Further seeds (--seeds): the same netlist placed and routed again; fmax_mhz stays seed 1's.
    by_seed = {SEED: None}
    for s in ctx.get("seeds", [SEED]):
        if s == SEED:
            continue
        scmd = [c if c != str(SEED) or cmd[i - 1] != "--seed" else str(s) for i, c in enumerate(cmd)]
        scmd[scmd.index("report.json")] = f"report_seed{s}.json"
        rc_s, _, c_s = tool(scmd, wd / f"nextpnr_seed{s}.log", f"report_seed{s}.json")
        if not collect:
            res["nextpnr_cpu_s"] = round(res["nextpnr_cpu_s"] + c_s, 1)
        if rc_s == 0 and (wd / f"report_seed{s}.json").exists():
            f = json.loads((wd / f"report_seed{s}.json").read_text()).get("fmax", {})
            by_seed[s] = round(min(v.get("achieved", 0.0) for v in f.values()), 2) if f else None
    res.update(
        logic_used=used([lr]), logic_avail=avail([lr]), logic_resource=lr,
        bram=used(fam["bram_resources"]), bram_avail=avail(fam["bram_resources"]),
        dsp=used(fam["dsp_resources"]), dsp_avail=avail(fam["dsp_resources"]),
        spram=used(fam.get("spram_resources", [])), spram_avail=avail(fam.get("spram_resources", [])),
        utilization={k: v for k, v in util.items() if v.get("used")},
    )
    clocks = {k: round(v.get("achieved", 0.0), 2) for k, v in rep.get("fmax", {}).items()}
    res["fmax_by_clock"] = clocks
    if clocks:
        res["fmax_mhz"] = min(clocks.values())
        res["timing_met"] = res["fmax_mhz"] >= freq
    else:
        res["fmax_mhz"] = None
        res["timing_met"] = None
    by_seed[SEED] = res["fmax_mhz"]
    res["fmax_by_seed"] = by_seed
    res["fmax_best_mhz"] = max((v for v in by_seed.values() if v is not None), default=None)
    # The worst register-to-register path (nextpnr lists one per clock-domain pair).
    for cp in rep.get("critical_paths", []):
        path = cp.get("path", [])
        if "<async>" in (cp.get("from"), cp.get("to")) or not path:
            continue
        res["critical_path"] = {
            "from": f'{path[0].get("from", {}).get("cell")}',
            "to": f'{path[-1].get("to", {}).get("cell")}.{path[-1].get("to", {}).get("port")}',
            "delay_ns": round(sum(p.get("delay", 0.0) for p in path), 2),
            "logic_levels": sum(1 for p in path if p.get("type") == "logic"),
        }
        break
    return res


# --------------------------------------------------------------------------------------------
# Reports

def run_seconds(r, kind):
    """wall ('s') or CPU ('cpu_s') seconds of a run's tool calls; None when not known"""
    if r.get("yosys_" + kind) is None:
        return None
    return (r.get("yosys_" + kind) or 0) + (r.get("nextpnr_" + kind) or 0)


def fmt_s(v):
    return "-" if v is None else f"{v:.0f}"


def tools_text(tools):
    parts = []
    for fam, v in tools.items():
        y = v["yosys"] + (f" [{v['yosys_pypi']}]" if v.get("yosys_pypi") else "")
        n = v["nextpnr"] + (f" [{v['nextpnr_pypi']}]" if v.get("nextpnr_pypi") else "")
        parts.append(f"{fam}: {y}, {n}")
    return "; ".join(parts)


def write_reports(out, results, meta):
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth.json").write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    partial = (f"**Partial: {len(results)} of {meta['runs_planned']} runs finished so far.**", "") \
        if not meta.get("complete", True) else ()
    L = ["# Synthesis results", "", *partial,
         f"`{meta['command']}`, {meta['generated']}, {meta['machine']}; "
         f"{meta['wall_s']:.0f} s wall. Seed {meta['seed']}. Tree at commit {meta['git_head']} "
         f"(RTL file hashes in synth.json).", "",
         f"Tools: {tools_text(meta['tools'])}.", "",
         "Logic: nextpnr's used logic cells (iCE40 `ICESTORM_LC` = LUT4 + FF, ECP5 "
         "`TRELLIS_COMB` = LUT4 or carry half) for the whole placed design, wrapper included. "
         "LUT4, FF: Yosys' post-synthesis counts for the block alone (ECP5 LUT4 counts a `CCU2C` "
         "carry as 2); the wrapper's own cells are in Wrap LUT/FF, not in them. BRAM: iCE40 "
         "`ICESTORM_RAM` (4 Kbit), ECP5 `DP16KD` (18 Kbit). DSP: ECP5 `MULT18X18D` + `ALU54B` "
         "(the HX8K has none). Fmax: nextpnr's achieved frequency, register to register; the "
         "wrapper registers every block input and output, so it covers the block's IO paths too. "
         "CPU s: user + system time of Yosys and nextpnr.", "",
         "| Block | Parameters | Family | Wrap | Logic | LUT4 | FF | BRAM | DSP | Wrap LUT/FF "
         "| Fmax MHz | Best of seeds | Target | Met | CPU s |",
         "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        cpu = fmt_s(run_seconds(r, "cpu_s"))
        if r["status"] != "ok":
            L.append(f"| {r['block']} | {params_text(r['params'])} | {r['family']} | "
                     f"{r.get('wrap', '-')} | **{r['status']}** ({r.get('stage', '')}) "
                     f"| | | | | | | | {r['freq_target_mhz']} | | {cpu} |")
            continue
        if r.get("synth_only"):
            L.append(f"| {r['block']} | {params_text(r['params'])} | {r['family']} | {r['wrap']} "
                     f"| synthesis only | {r['lut']} | {r['ff']} | - | - "
                     f"| {r['wrapper_lut']}/{r['wrapper_ff']} | - | - | {r['freq_target_mhz']} | - "
                     f"| {cpu} |")
            continue
        pct = 100.0 * r["logic_used"] / r["logic_avail"] if r["logic_avail"] else 0.0
        fmax = "-" if r["fmax_mhz"] is None else f"{r['fmax_mhz']:.1f}"
        seeds = r.get("fmax_by_seed", {})
        best = (f"{r['fmax_best_mhz']:.1f} (seeds {', '.join(str(s) for s in seeds)})"
                if len(seeds) > 1 and r.get("fmax_best_mhz") is not None else "-")
        met = "-" if r["timing_met"] is None else ("yes" if r["timing_met"] else "**no**")
        dsp = f"{r['dsp']}/{r['dsp_avail']}" if r["dsp_avail"] else "-"
        L.append(
            f"| {r['block']} | {params_text(r['params'])} | {r['family']} | {r['wrap']} "
            f"| {r['logic_used']}/{r['logic_avail']} ({pct:.1f}%) | {r['lut']} | {r['ff']} "
            f"| {r['bram']}/{r['bram_avail']} | {dsp} "
            f"| {r['wrapper_lut']}/{r['wrapper_ff']} | {fmax} | {best} | {r['freq_target_mhz']} | {met} "
            f"| {cpu} |")
    serial = sorted({r["block"] for r in results if r.get("wrap") == "serial"})
    if serial:
        L += ["", "Serial wrapper (more port bits than the family's io_limit): "
              + ", ".join(serial) + "."]
    fails = [r for r in results if r["status"] != "ok"]
    if fails:
        L += ["", "## Failures", ""]
        for r in fails:
            L.append(f"- {r['block']} ({params_text(r['params'])}) on {r['family']}: "
                     f"{r['status']} at {r.get('stage')}; log `{r.get('log', '')}`")
    (out / "synth.md").write_text("\n".join(L) + "\n")


# --------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", default="all", help="ice40, ecp5, ... or all (default: all)")
    ap.add_argument("--block", action="append", help="only this block (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help="only the smallest parameter set per block and family: the set marked "
                         "\"quick\": true, else the first listed")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel runs (default 1)")
    ap.add_argument("--wrap", choices=WRAP_MODES, help="override every block's wrapper mode")
    ap.add_argument("--config", default=str(DEFAULT_CONFIG), help="blocks file (JSON)")
    ap.add_argument("--files", help="an RTL file list for every block instead of each block's own")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="report directory")
    ap.add_argument("--work", default=str(DEFAULT_WORK), help="scratch directory for the runs")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per tool call")
    ap.add_argument("--seeds", default=str(SEED),
                    help="nextpnr seeds, comma separated (default 1): fmax is seed 1's, the best of "
                         "all is reported beside it")
    ap.add_argument("--where", action="append", default=[], metavar="PARAM=V[,V...]",
                    help="only the parameter sets whose PARAM is one of the values (repeatable: all must hold), "
                         "for example --where Lanes=1,4 --where MaxTableLog=8")
    ap.add_argument("--list", action="store_true", help="print the runs and exit")
    ap.add_argument("--collect", action="store_true",
                    help="run no tool: rebuild the reports from what earlier runs left in --work "
                         "(times are then not known)")
    args = ap.parse_args(argv)

    try:
        cfg = load_config(args.config)
        fams_all = cfg["families"]
        if args.family == "all":
            fam_names = list(fams_all)
        else:
            fam_names = [f.strip() for f in args.family.split(",")]
            for f in fam_names:
                if f not in fams_all:
                    raise ConfigError(f"unknown family '{f}' (have: {', '.join(fams_all)})")
        blocks = cfg["blocks"]
        if args.block:
            known = {b["name"] for b in blocks}
            for b in args.block:
                if b not in known:
                    raise ConfigError(f"unknown block '{b}' (have: {', '.join(sorted(known))})")
            blocks = [b for b in blocks if b["name"] in args.block]
        where = {}
        for w in args.where:
            key, sep, values = w.partition("=")
            if not sep or not key or not values:
                raise ConfigError(f"--where wants PARAM=V[,V...], got '{w}'")
            where[key] = set(values.split(","))
        jobs = []
        for blk in blocks:
            files = block_files(blk, args.files)
            for f in fam_names:
                sets = expand_sets(blk, f, not fams_all[f].get("every_block", True), where)
                if args.quick:
                    marked = [x for x in sets if x[1].get("quick")]
                    sets = (marked or sets)[:1]
                sets = [x for x in sets if all(str(x[0].get(k)) in v for k, v in where.items())]
                for params, s in sets:
                    freq = (s.get("freq_mhz", {}).get(f) or blk.get("freq_mhz", {}).get(f)
                            or fams_all[f]["freq_mhz"])
                    jobs.append({"block": blk, "files": files, "params": params, "family": f, "freq_mhz": freq,
                                 "pnr": s.get("pnr", True), "synth_args": s.get("synth_args", "")})
        if args.list:
            for j in jobs:
                print(f"{j['block']['name']:<16} {j['family']:<6} {j['freq_mhz']:>6} MHz  "
                      f"{params_text(j['params'])}")
            return 0
    except ConfigError as e:
        print(f"run_synth: configuration error: {e}", file=sys.stderr)
        return 2

    tools = {}
    for f in fam_names:
        fam = fams_all[f]
        for key in ("yosys", "nextpnr"):
            if not shutil.which(fam[key]):
                print(f"run_synth: '{fam[key]}' (family {f}) is not installed: run `make deps`",
                      file=sys.stderr)
                return 2
        # Asking for the versions first also compiles/caches the YoWASP tools before parallel use.
        tools[f] = {
            "yosys": tool_version(fam["yosys"], "-V"),
            "nextpnr": tool_version(fam["nextpnr"], "--version"),
        }
        for key in ("yosys", "nextpnr"):
            pv = pip_version(fam[key])
            if pv:
                tools[f][key + "_pypi"] = f"{fam[key]} {pv}"

    # What was synthesized, as read at the start (the tree may differ from the commit).
    rtl_hashes = {os.path.relpath(f, ROOT): hashlib.sha256(f.read_bytes()).hexdigest()[:16]
                  for f in sorted({f for j in jobs for f in j["files"]})}
    ctx = {"families": fams_all, "work": Path(args.work).resolve(),
           "seeds": [int(s) for s in args.seeds.split(",")],
           "timeout": args.timeout, "wrap": args.wrap, "collect": args.collect}
    print(f"run_synth: {len(jobs)} run(s), -j {args.jobs}, seed {SEED}; work in {args.work}")
    lock = threading.Lock()
    done = [0]
    t_start = time.monotonic()

    def one(job):
        try:
            r = run_job(job, ctx)
        except Exception as e:  # a bug here must not hide the other runs
            r = {"block": job["block"]["name"], "top": job["block"]["top"],
                 "params": job["params"], "family": job["family"],
                 "freq_target_mhz": job["freq_mhz"], "status": "script_error", "error": repr(e)}
        if not args.collect and r.get("workdir") and Path(r["workdir"]).is_dir():
            (Path(r["workdir"]) / "result.json").write_text(json.dumps(r, indent=2) + "\n")
        with lock:
            done[0] += 1
            t = f"{fmt_s(run_seconds(r, 's'))} s wall, {fmt_s(run_seconds(r, 'cpu_s'))} s CPU"
            head = f"[{done[0]}/{len(jobs)}] {r['block']} ({params_text(r['params'])}) {r['family']}"
            if r["status"] == "ok" and r.get("synth_only"):
                print(f"{head}: ok, synthesis only (\"pnr\": false) wrap={r['wrap']} "
                      f"LUT4 {r['lut']} FF {r['ff']}; {t}", flush=True)
            elif r["status"] == "ok":
                fmax = "n/a" if r["fmax_mhz"] is None else f"{r['fmax_mhz']:.1f}"
                if len(r.get("fmax_by_seed", {})) > 1 and r.get("fmax_best_mhz") is not None:
                    fmax += f" (best of seeds {r['fmax_best_mhz']:.1f})"
                met = "" if r["timing_met"] is None else (" met" if r["timing_met"] else " MISSED")
                print(f"{head}: ok wrap={r['wrap']} {r['logic_resource']} "
                      f"{r['logic_used']}/{r['logic_avail']} LUT4 {r['lut']} FF {r['ff']} "
                      f"BRAM {r['bram']} DSP {r['dsp']} fmax {fmax} MHz "
                      f"(target {r['freq_target_mhz']}{met}); {t}", flush=True)
            else:
                print(f"{head}: {r['status'].upper()} ({r.get('stage', '')}); {t}\n    "
                      + (r.get("error") or "").replace("\n", "\n    ")
                      + (f"\n    log: {r['log']}" if r.get("log") else ""), flush=True)
        return r

    def make_meta(complete):
        return {
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "command": " ".join(["synth/run_synth.py"]
                                + (argv if argv is not None else sys.argv[1:])),
            "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} "
                       f"{platform.release()}",
            "seed": SEED, "tools": tools, "families": {f: fams_all[f] for f in fam_names},
            "git_head": head_commit, "rtl_files": rtl_hashes,
            "wall_s": round(time.monotonic() - t_start, 1),
            "complete": complete, "runs_planned": len(jobs),
        }

    head_commit = git_head()
    finished = {}

    def one_and_report(i_job):
        i, job = i_job
        r = one(job)
        with lock:  # the reports grow as runs finish, in the planned order
            finished[i] = r
            if len(finished) < len(jobs):
                write_reports(Path(args.out), [finished[k] for k in sorted(finished)],
                              make_meta(False))
        return r

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(one_and_report, enumerate(jobs)))

    meta = make_meta(True)
    write_reports(Path(args.out), results, meta)
    fails = [r for r in results if r["status"] != "ok"]
    missed = [r for r in results if r["status"] == "ok" and r.get("timing_met") is False]
    print(f"run_synth: {len(results) - len(fails)} ok, {len(fails)} failed, "
          f"{len(missed)} missed timing, {meta['wall_s']} s; reports in {args.out}/synth.md")
    if fails:
        for r in fails:
            print(f"run_synth: FAILED {r['block']} ({params_text(r['params'])}) on "
                  f"{r['family']}: {r['status']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
