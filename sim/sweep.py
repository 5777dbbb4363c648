#!/usr/bin/env python3
"""`make sim`: the token-factory sweep, N = 1..32 processors x the three weight modes, on a real model.

Runs build/bin/token_factory once per point (SystemC elaborates once per process), then writes
  <out>/token_factory.json   every run's full report, plus the command lines
  <out>/token_factory.md     the table: simulated vs roofline tokens/s, DRAM bytes/token, bound
  <out>/token_factory.png    tokens/s and DRAM bytes/token against N, one curve per mode
Extra arguments after `--` go to every token_factory run (e.g. -- --context 0 --decoders 4).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

MODES = ["raw", "compressed", "sparse"]


def run_point(binary, model, mode, n, extra):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [binary, model, "--mode", mode, "-n", str(n), "--json", f.name] + extra
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        report = json.load(open(f.name))
    report["sim"].pop("weight_request_log", None)
    report["command"] = " ".join([binary, model, "--mode", mode, "-n", str(n)] + extra)
    return report


def table(reports):
    rows = ["| mode | N | tokens/s (sim) | tokens/s (roofline) | sim/roof | DRAM B/token | bound |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in reports:
        s, f, c = r["sim"], r["roofline"], r["config"]
        rows.append(f"| {c['mode']} | {c['processors']} | {s['tokens_per_s']:.0f} | {f['tokens_per_s']:.0f} | "
                    f"{s['tokens_per_s'] / f['tokens_per_s']:.4f} | {s['dram_bytes_per_token']:.0f} | {f['bound']} |")
    return "\n".join(rows) + "\n"


def plot(reports, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for mode in MODES:
        rs = [r for r in reports if r["config"]["mode"] == mode]
        n = [r["config"]["processors"] for r in rs]
        line, = a.plot(n, [r["sim"]["tokens_per_s"] for r in rs], "o-", label=f"{mode} (simulated)")
        a.plot(n, [r["roofline"]["tokens_per_s"] for r in rs], "--", color=line.get_color(), alpha=0.6,
               label=f"{mode} (roofline)")
        b.plot(n, [r["sim"]["dram_bytes_per_token"] / 1024 for r in rs], "o-", label=mode)
    c = reports[0]["config"]
    kv = reports[0]["workload"]["kv_read_per_token"] + reports[0]["workload"]["kv_write_per_token"]
    if kv:  # where every curve goes as N grows: the KV cache traffic no processor shares
        a.axhline(c["dram_gbps"] * 1e9 / kv, color="gray", ls=":", label="DRAM bandwidth / KV bytes")
        b.axhline(kv / 1024, color="gray", ls=":", label="KV bytes per token")
    a.set(xlabel="processors N", ylabel="tokens/s", title="Throughput")
    b.set(xlabel="processors N", ylabel="DRAM KiB / token", title="DRAM traffic per token", yscale="log")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{os.path.basename(c['model'])}: DRAM {c['dram_gbps']} GB/s, {c['decoders']} decoders x "
                 f"{c['lanes']} lanes @ {c['dec_mhz']} MHz, array {c['array']} @ {c['proc_mhz']} MHz, "
                 f"context {c['context']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "../../shared/data/stories260K.bin"))
    ap.add_argument("--out", help="output folder (default BUILD/reports)")
    ap.add_argument("--n", default="1-32", help="processor counts: 1-32 or 1,2,4")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("extra", nargs="*", help="arguments for token_factory (after --)")
    a = ap.parse_args()
    if "-" in a.n:
        lo, hi = map(int, a.n.split("-"))
        ns = list(range(lo, hi + 1))
    else:
        ns = [int(x) for x in a.n.split(",")]
    binary = os.path.join(a.build, "bin", "token_factory")
    out = a.out or os.path.join(a.build, "reports")
    os.makedirs(out, exist_ok=True)
    model = os.path.abspath(a.model)
    commands = []
    tool = os.path.join(a.build, "bin", "weightstream")
    if not open(model, "rb").read(4) == b"WSZ1" and os.path.exists(tool):
        # Stream a real .wsz made by the tool: bf16 first, then compressed with its defaults.
        base = os.path.join(a.build, "sim", os.path.splitext(os.path.basename(model))[0])
        os.makedirs(os.path.dirname(base), exist_ok=True)
        for cmd in ([tool, "convert", "--to", "bf16", model, "-o", base + ".bf16.safetensors"],
                    [tool, "compress", base + ".bf16.safetensors", "-o", base + ".bf16.wsz"]):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            commands.append(" ".join(cmd))
        model = base + ".bf16.wsz"

    points = [(m, n) for m in MODES for n in ns]
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        reports = list(pool.map(lambda p: run_point(binary, model, p[0], p[1], a.extra), points))

    worst = max(abs(r["sim"]["tokens_per_s"] / r["roofline"]["tokens_per_s"] - 1) for r in reports)
    errors = sum(r["sim"]["errors"] for r in reports)
    with open(os.path.join(out, "token_factory.json"), "w") as f:
        json.dump({"prepare": commands, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
    t = table(reports)
    with open(os.path.join(out, "token_factory.md"), "w") as f:
        f.write(t)
    plot(reports, os.path.join(out, "token_factory.png"))
    print(t)
    print(f"worst |sim/roofline - 1| = {100 * worst:.2f}% over {len(reports)} runs; checker errors: {errors}")
    print(f"wrote {out}/token_factory.json, .md, .png")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
