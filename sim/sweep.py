#!/usr/bin/env python3
"""`make sim`: the token-factory sweeps, N = 1..32 processors x the three weight modes, on real models.

stories260K (the bundled llama2.c model), whole, KV context 128 (token_factory's default):
  <out>/token_factory.json   every run's full report, plus the command lines
  <out>/token_factory.md     the table: simulated vs roofline tokens/s, DRAM bytes/token, bound
  <out>/token_factory.png    tokens/s and DRAM bytes/token against N, one curve per mode
SmolLM2-135M-Instruct (the GGUF of `make deps`), KV context 2,048, a layer sample (--smollm2-layers):
  <out>/token_factory_smollm2.{json,md,png}   the whole model's tokens/s and DRAM bytes/token
  (weights and KV apart), from its exact roofline x the sampled layers' simulated / roofline ratio.
Runs build/bin/token_factory once per point (SystemC elaborates once per process). Extra arguments
after `--` go to every token_factory run (e.g. -- --decoders 4).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

MODES = ["raw", "compressed", "sparse"]


HERE = os.path.dirname(os.path.abspath(__file__))


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


def source(r):
    c = r["config"]
    return os.path.basename(c["pruned"] if c["mode"] == "sparse" and c["pruned"] else c["model"])


def kv_per_token(part):
    """KV-cache bytes a token reads and writes, of a report's `workload` or `model`."""
    return part["kv_read_per_token"] + part["kv_write_per_token"]


def markdown(header, align, rows):
    return "\n".join(["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"] +
                     ["| " + " | ".join(map(str, row)) + " |" for row in rows]) + "\n"


def first_of_each_mode(reports):
    return [next(r for r in reports if r["config"]["mode"] == mode) for mode in MODES]


def streams(reports):
    """What one pass streams in each mode (the same for every N)."""
    rows = [[r["config"]["mode"], source(r), r["workload"]["chunks"], r["workload"]["stream_bytes"],
             f"{r['workload']['compression']:.3f}:1", r["workload"]["stream_values"]] for r in first_of_each_mode(reports)]
    return markdown(["mode", "streamed file", "chunks", "DRAM bytes per pass", "vs bf16", "values on the bus"],
                    ["---", "---", "---:", "---:", "---:", "---:"], rows)


def sampled_streams(reports):
    """A layer sample: the whole model's pass in each mode, and the sampled layers' part of it."""
    rows = []
    for r in first_of_each_mode(reports):
        w, m = r["workload"], r["model"]
        rows.append([r["config"]["mode"], source(r), m["chunks"], m["stream_bytes"],
                     f"{2 * m['dense_values'] / m['stream_bytes']:.3f}:1",
                     f"{','.join(map(str, m['sampled_layers']))} of {m['layers']}", w["chunks"], w["stream_bytes"],
                     kv_per_token(w), kv_per_token(m)])
    return markdown(["mode", "streamed file", "chunks", "weight bytes per pass", "vs bf16", "sampled layers",
                     "their chunks", "their bytes", "KV B/token (sample)", "KV B/token (model)"],
                    ["---", "---", "---:", "---:", "---:", "---", "---:", "---:", "---:", "---:"], rows)


def sampled_table(reports):
    """The whole model per N: its tokens/s (roofline x the sample's sim/roofline) and DRAM bytes/token."""
    rows = [[r["config"]["mode"], r["config"]["processors"], f"{r['model']['tokens_per_s']:.2f}",
             f"{r['model']['roofline']['tokens_per_s']:.2f}", f"{r['sim']['roofline_ratio']:.4f}",
             f"{r['model']['stream_bytes'] / r['config']['processors']:.0f}", kv_per_token(r["model"]),
             r["model"]["roofline"]["bound"]] for r in reports]
    return markdown(["mode", "N", "tokens/s", "tokens/s (roofline)", "sample sim/roof", "weight B/token",
                     "KV B/token", "bound"], ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---"], rows)


def kv_takeover(reports):
    """Per mode: from which N each token's KV traffic exceeds its share of the weight stream, and where
    the whole model's bound changes."""
    lines = []
    for mode in MODES:
        rs = [r for r in reports if r["config"]["mode"] == mode]
        m = rs[0]["model"]
        kv = kv_per_token(m)
        cross = m["stream_bytes"] / kv if kv else float("inf")
        bounds = []
        for r in rs:
            b = r["model"]["roofline"]["bound"]
            if not bounds or bounds[-1][1] != b:
                bounds.append((r["config"]["processors"], b))
        lines.append(f"- {mode}: weight stream {m['stream_bytes']} B per pass, KV {kv} B per token: KV exceeds the "
                     f"weights' share from N > {cross:.2f}; bound " +
                     ", ".join(f"{b} from N = {n}" for n, b in bounds))
    return "\n".join(lines) + "\n"


def table(reports):
    rows = [[r["config"]["mode"], r["config"]["processors"], f"{r['sim']['tokens_per_s']:.0f}",
             f"{r['roofline']['tokens_per_s']:.0f}", f"{r['sim']['tokens_per_s'] / r['roofline']['tokens_per_s']:.4f}",
             f"{r['sim']['dram_bytes_per_token']:.0f}", r["roofline"]["bound"]] for r in reports]
    return markdown(["mode", "N", "tokens/s (sim)", "tokens/s (roofline)", "sim/roof", "DRAM B/token", "bound"],
                    ["---", "---:", "---:", "---:", "---:", "---:", "---"], rows)


def plot_sampled(reports, path, title):
    """The whole model: tokens/s, and weight and KV bytes per token apart, against N."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for mode in MODES:
        rs = [r for r in reports if r["config"]["mode"] == mode]
        n = [r["config"]["processors"] for r in rs]
        line, = a.plot(n, [r["model"]["tokens_per_s"] for r in rs], "o-", ms=3, label=f"{mode}")
        b.plot(n, [r["model"]["stream_bytes"] / r["config"]["processors"] / 2**20 for r in rs], "o-", ms=3,
               color=line.get_color(), label=f"{mode}: weights")
    m, c = reports[0]["model"], reports[0]["config"]
    kv = kv_per_token(m)
    if kv:
        a.axhline(c["dram_gbps"] * 1e9 / kv, color="gray", ls=":", label="DRAM bandwidth / KV bytes")
        b.axhline(kv / 2**20, color="gray", ls="--", label="KV cache (every mode)")
    a.set(xlabel="processors N", ylabel="tokens/s", title="Throughput (whole model)")
    b.set(xlabel="processors N", ylabel="DRAM MiB / token", title="DRAM traffic per token", yscale="log")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=120)


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
    kv = kv_per_token(reports[0]["workload"])
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


def parse_ns(spec):
    """Processor counts: "1-32", "1,2,4" or both, "1-8,12,16"."""
    ns = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        ns += list(range(int(lo), int(hi or lo) + 1))
    return ns


def fresh(out, inputs):
    """Whether `out` exists and is newer than every input (the tool included): make's rule."""
    return os.path.exists(out) and all(os.path.getmtime(out) > os.path.getmtime(i) for i in inputs)


def tool_step(tool, cmd, src, out, commands):
    """Runs a tool command unless its output is newer than its input and the tool; records it."""
    commands.append(" ".join(cmd))
    if fresh(out, [src, tool]):
        return
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"  {time.time() - t:6.1f} s  {' '.join(cmd)}", flush=True)


def bf16_wsz(tool, src, workdir, commands):
    """src converted to bf16 and compressed with the tool's defaults, WORKDIR/<stem>.bf16.wsz."""
    os.makedirs(workdir, exist_ok=True)
    stem = os.path.join(workdir, os.path.splitext(os.path.basename(src))[0])
    tool_step(tool, [tool, "convert", "-f", "--to", "bf16", src, "-o", stem + ".bf16.safetensors"], src,
              stem + ".bf16.safetensors", commands)
    tool_step(tool, [tool, "compress", "-f", stem + ".bf16.safetensors", "-o", stem + ".bf16.wsz"],
              stem + ".bf16.safetensors", stem + ".bf16.wsz", commands)
    return stem + ".bf16.wsz"


def prepare(tool, model, pruned, workdir, prune_opts, commands):
    """Real .wsz files made by the tool: the model converted to bf16 and compressed with its defaults;
    for the 2:4 mode the model pruned with E-Sparse first (stored 2:4 by compress). Each step runs
    unless its output is newer than its input and the tool. Returns (model .wsz, pruned .wsz)."""
    if is_wsz(model):
        if not pruned:
            sys.exit(f"{model} is a .wsz: the 2:4 mode needs the model file to prune, or --pruned")
        return model, pruned
    wsz = bf16_wsz(tool, model, workdir, commands)
    if not pruned:
        pruned = os.path.join(workdir, os.path.splitext(os.path.basename(model))[0] + ".esparse-gl.safetensors")
        tool_step(tool, [tool, "prune", model, "--method", "esparse", "--shuffle", "global+local", *prune_opts, "-o",
                         pruned], model, pruned, commands)
    return wsz, pruned if is_wsz(pruned) else bf16_wsz(tool, pruned, workdir, commands)


def sweep(binary, model, pruned, ns, extra, jobs):
    points = [(m, n) for m in MODES for n in ns]
    args = {m: (["--pruned", pruned] if m == "sparse" else []) + extra for m in MODES}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda p: run_point(binary, model, p[0], p[1], args[p[0]]), points))


def summary(reports):
    worst = max(abs(r["sim"]["roofline_ratio"] - 1) for r in reports)
    errors = sum(r["sim"]["errors"] for r in reports)
    return worst, errors, (f"worst |sim/roofline - 1| = {100 * worst:.2f}% over {len(reports)} runs; "
                           f"checker errors: {errors}")


def script_path(script):
    """The path a scripts/ helper prints (smollm2.sh: the GGUF of `make deps`; eval_text.sh: the text)."""
    p = subprocess.run(["bash", os.path.join(HERE, "..", "scripts", script)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr.strip() or f"scripts/{script} failed")
    return p.stdout.strip()


def binaries(build, target):
    """build/bin/token_factory and build/bin/weightstream, which `target` builds."""
    paths = os.path.join(build, "bin", "token_factory"), os.path.join(build, "bin", "weightstream")
    for b in paths:
        if not os.path.exists(b):
            sys.exit(f"{b} is missing: build the token_factory and weightstream targets ({target} does)")
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default=os.path.join(HERE, "../../shared/data/stories260K.bin"))
    ap.add_argument("--pruned", help="2:4 mode: a pruned model or its .wsz (default: the model pruned by the tool "
                    "with E-Sparse)")
    ap.add_argument("--out", help="output folder (default BUILD/reports)")
    ap.add_argument("--n", default="1-32", help="processor counts: 1-32, 1,2,4 or 1-8,12,16")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--models", default="stories260K,smollm2", help="which sweeps: stories260K, smollm2 or both")
    ap.add_argument("--smollm2", help="SmolLM2 GGUF (default: what scripts/smollm2.sh prints)")
    ap.add_argument("--smollm2-pruned", help="its 2:4 model or .wsz (default: pruned by the tool with E-Sparse, "
                    "global+local shuffle, calibrated on 4 x 128 tokens of the text scripts/eval_text.sh prints)")
    ap.add_argument("--smollm2-layers", default="15",
                    help="the layers the sim streams, with their KV cache (e.g. 15 or 0,15,29); 'all': the whole "
                    "model (about 30 layers' worth of simulation per point: hours)")
    ap.add_argument("--smollm2-n", default="1-8,12,16,20,24,28,32",
                    help="processor counts of the SmolLM2 sweep (1-32: every one, about 3 times as long)")
    ap.add_argument("--smollm2-context", type=int, default=2048, help="KV cache positions per token")
    ap.add_argument("--smollm2-tokens", type=int, default=4, help="tokens per processor (passes 3..P-1 measured)")
    ap.add_argument("extra", nargs="*", help="arguments for token_factory (after --)")
    a = ap.parse_args()
    models = a.models.split(",")
    if not set(models) <= {"stories260K", "smollm2"}:
        sys.exit(f"--models: {a.models}: stories260K, smollm2 or both")
    binary, tool = binaries(a.build, "make sim")
    out = a.out or os.path.join(a.build, "reports")
    os.makedirs(out, exist_ok=True)
    workdir = os.path.join(a.build, "sim")
    failed = False

    if "stories260K" in models:
        t0 = time.time()
        commands = []
        model, pruned = prepare(tool, os.path.abspath(a.model), os.path.abspath(a.pruned) if a.pruned else None,
                                workdir, [], commands)
        reports = sweep(binary, model, pruned, parse_ns(a.n), a.extra, a.jobs)
        worst, errors, line = summary(reports)
        with open(os.path.join(out, "token_factory.json"), "w") as f:
            json.dump({"prepare": commands, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
        t = streams(reports) + "\n" + table(reports)
        with open(os.path.join(out, "token_factory.md"), "w") as f:
            f.write(t)
        plot(reports, os.path.join(out, "token_factory.png"))
        print(t)
        print(line)
        print(f"wrote {out}/token_factory.json, .md, .png ({time.time() - t0:.0f} s)", flush=True)
        failed |= errors > 0

    if "smollm2" in models:
        t0 = time.time()
        commands = []
        gguf = os.path.abspath(a.smollm2 or script_path("smollm2.sh"))
        prune_opts = ["--text", script_path("eval_text.sh"), "--calib", "4", "--calib-len", "128", "--threads", str(a.jobs)]
        model, pruned = prepare(tool, gguf, os.path.abspath(a.smollm2_pruned) if a.smollm2_pruned else None,
                                workdir, prune_opts, commands)
        extra = ["--context", str(a.smollm2_context), "--tokens", str(a.smollm2_tokens)]
        if a.smollm2_layers != "all":
            extra += ["--layers", a.smollm2_layers]
        reports = sweep(binary, model, pruned, parse_ns(a.smollm2_n), extra + a.extra, a.jobs)
        worst, errors, line = summary(reports)
        with open(os.path.join(out, "token_factory_smollm2.json"), "w") as f:
            json.dump({"prepare": commands, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
        t = sampled_streams(reports) + "\n" + kv_takeover(reports) + "\n" + sampled_table(reports)
        with open(os.path.join(out, "token_factory_smollm2.md"), "w") as f:
            f.write(t)
        c = reports[0]["config"]
        plot_sampled(reports, os.path.join(out, "token_factory_smollm2.png"),
                     f"{os.path.basename(gguf)} (2:4: {os.path.basename(pruned)})\nDRAM {c['dram_gbps']} GB/s, "
                     f"{c['decoders']} decoders x {c['lanes']} lanes @ {c['dec_mhz']} MHz, array {c['array']} @ "
                     f"{c['proc_mhz']} MHz, context {c['context']}; simulated layers {a.smollm2_layers}")
        print(t)
        print(line + " (the sampled layers)")
        print(f"wrote {out}/token_factory_smollm2.json, .md, .png ({time.time() - t0:.0f} s)", flush=True)
        failed |= errors > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
