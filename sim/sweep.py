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
        cmd = [binary, model, "--mode", mode, "-n", str(n)] + extra
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        p = subprocess.run(cmd + ["--json", f.name], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        report = json.load(open(f.name))
    report["sim"].pop("weight_request_log", None)
    report["command"] = " ".join(cmd)
    return report


def is_wsz(path):
    with open(path, "rb") as f:
        return f.read(3) == b"WSZ"


def streams(reports):
    """What one pass streams in each mode (the same for every N)."""
    rows = ["| mode | streamed file | chunks | DRAM bytes per pass | vs bf16 | values on the bus |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for mode in MODES:
        r = next(r for r in reports if r["config"]["mode"] == mode)
        w, c = r["workload"], r["config"]
        source = os.path.basename(c["pruned"] if mode == "sparse" and c["pruned"] else c["model"])
        rows.append(f"| {mode} | {source} | {w['chunks']} | {w['stream_bytes']} | {w['compression']:.3f}:1 | "
                    f"{w['stream_values']} |")
    return "\n".join(rows) + "\n"


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
    pruned = next((r["config"]["pruned"] for r in reports if r["config"]["pruned"]), "")
    kv = reports[0]["workload"]["kv_read_per_token"] + reports[0]["workload"]["kv_write_per_token"]
    if kv:  # where every curve goes as N grows: the KV cache traffic no processor shares
        a.axhline(c["dram_gbps"] * 1e9 / kv, color="gray", ls=":", label="DRAM bandwidth / KV bytes")
        b.axhline(kv / 1024, color="gray", ls=":", label="KV bytes per token")
    a.set(xlabel="processors N", ylabel="tokens/s", title="Throughput")
    b.set(xlabel="processors N", ylabel="DRAM KiB / token", title="DRAM traffic per token", yscale="log")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    source = os.path.basename(c["model"]) + (f" (2:4: {os.path.basename(pruned)})" if pruned else "")
    fig.suptitle(f"{source}: DRAM {c['dram_gbps']} GB/s, {c['decoders']} decoders x "
                 f"{c['lanes']} lanes @ {c['dec_mhz']} MHz, array {c['array']} @ {c['proc_mhz']} MHz, "
                 f"context {c['context']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "../../shared/data/stories260K.bin"))
    ap.add_argument("--pruned", help="2:4 mode: a pruned model or its .wsz (default: the model pruned by the tool "
                    "with E-Sparse)")
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
    pruned = os.path.abspath(a.pruned) if a.pruned else None
    commands = []
    tool = os.path.join(a.build, "bin", "weightstream")
    if is_wsz(model) and not pruned:
        sys.exit(f"{model} is a .wsz: the 2:4 mode needs the model file to prune, or --pruned")
    if not is_wsz(model) and os.path.exists(tool):
        # Stream real .wsz files made by the tool: bf16 first, then compressed with its defaults; for
        # the 2:4 mode the model pruned with E-Sparse first (stored 2:4 by compress).
        base = os.path.join(a.build, "sim", os.path.splitext(os.path.basename(model))[0])
        os.makedirs(os.path.dirname(base), exist_ok=True)
        steps = [[tool, "convert", "-f", "--to", "bf16", model, "-o", base + ".bf16.safetensors"],
                 [tool, "compress", "-f", base + ".bf16.safetensors", "-o", base + ".bf16.wsz"]]
        if not pruned:
            steps.append([tool, "prune", model, "--method", "esparse", "--shuffle", "global+local",
                          "-o", base + ".esparse-gl.safetensors"])
            pruned = base + ".esparse-gl.safetensors"
        if steps[-1][1] == "prune" or not is_wsz(pruned):
            stem = os.path.join(os.path.dirname(base), os.path.splitext(os.path.basename(pruned))[0])
            steps += [[tool, "convert", "-f", "--to", "bf16", pruned, "-o", stem + ".bf16.safetensors"],
                      [tool, "compress", "-f", stem + ".bf16.safetensors", "-o", stem + ".bf16.wsz"]]
            pruned = stem + ".bf16.wsz"
        for cmd in steps:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            commands.append(" ".join(cmd))
        model = base + ".bf16.wsz"

    def extra(mode):
        return (["--pruned", pruned] if mode == "sparse" and pruned else []) + a.extra

    points = [(m, n) for m in MODES for n in ns]
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        reports = list(pool.map(lambda p: run_point(binary, model, p[0], p[1], extra(p[0])), points))

    worst = max(abs(r["sim"]["tokens_per_s"] / r["roofline"]["tokens_per_s"] - 1) for r in reports)
    errors = sum(r["sim"]["errors"] for r in reports)
    with open(os.path.join(out, "token_factory.json"), "w") as f:
        json.dump({"prepare": commands, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
    t = streams(reports) + "\n" + table(reports)
    with open(os.path.join(out, "token_factory.md"), "w") as f:
        f.write(t)
    plot(reports, os.path.join(out, "token_factory.png"))
    print(t)
    print(f"worst |sim/roofline - 1| = {100 * worst:.2f}% over {len(reports)} runs; checker errors: {errors}")
    print(f"wrote {out}/token_factory.json, .md, .png")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
