#!/usr/bin/env python3
"""`make sim-dijiang` (part of `make bench`): a token's attention as the KV cache or as DiJiang's state in
the token factory (docs/token_factory.md section 8).

Context 256 .. 32K x N processors x (KV cache, DiJiang fp32 state, DiJiang bf16 state, DiJiang state on
chip) on the real compressed containers (`convert --to bf16` + `compress`, the tool's defaults, as `make
sim` makes them): SmolLM2-135M-Instruct as a layer sample (--layers 15, section 3.1: the whole model's
tokens/s is its roofline x the sample's simulated / roofline ratio) and stories260K whole. The KV cache
reads every cached position and writes one; the state, [layers][heads][d][d], is read and written whole
every token whatever the context; on chip (--state-sram, a processor's SRAM holding the whole state) it
moves no DRAM bytes. The KV ports issue requests of --kv-burst bytes (the cache and the state are
contiguous; 64-byte requests would make a 32K-context point millions of events).
  <out>/token_factory_dijiang.json   every run's report, the commands that made the files
  <out>/token_factory_dijiang.md     the tables and the crossover per model
  <out>/token_factory_dijiang.png    tokens/s and DRAM bytes per token against the context
"""
import argparse
import concurrent.futures
import json
import os
import sys
import time

from sweep import HERE, binaries, bf16_wsz, markdown, parse_ns, run_point, script_path, summary

CONTEXTS = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
KINDS = [  # label, token_factory arguments
    ("KV cache", ["--attention", "kv"]),
    ("DiJiang fp32", ["--attention", "dijiang", "--state-bytes-per-value", "4"]),
    ("DiJiang bf16", ["--attention", "dijiang", "--state-bytes-per-value", "2"]),
    ("DiJiang on chip", ["--attention", "dijiang", "--state-bytes-per-value", "2", "--state-sram", str(64 << 20)]),
]


def attention_bytes(r):
    """Attention bytes a token moves through its KV port, the whole model's."""
    return r["model"]["kv_read_per_token"] + r["model"]["kv_write_per_token"]


def shape_text(name, r_kv):
    """The model's shape, its KV and state traffic per token, and the crossover context as a formula."""
    m = r_kv["model"]
    L, H, d, kv_dim = m["layers"], m["heads"], m["head_size"], m["kv_dim"]
    per_position = L * kv_dim * 2 * 2  # K and V of every layer, bf16
    lines = [f"**{name}**: {L} layers, {H} heads of {d}, KV width {kv_dim} ({kv_dim // d} KV heads); weight stream "
             f"{m['stream_bytes']} B per pass (compressed, whole model)."]
    for b, label in ((4, "fp32"), (2, "bf16")):
        state = L * H * d * d * b
        cross = 2 * state / per_position - 1
        lines.append(f"- DiJiang {label}: state {state} B, read and written every token ({2 * state} B); the KV "
                     f"cache moves {per_position} B x (context + 1) (every position read, one written): equal at "
                     f"context c* = 2 L H d^2 b / (4 L kv_dim) - 1 = H d^2 b / (2 kv_dim) - 1 = {cross:.0f}")
    return "\n".join(lines) + "\n"


def crossover_from_sweep(reports, label, contexts):
    """Per N, the first context of the sweep where the state's tokens/s beats the KV cache's by more than
    1% (where both are decoder-bound they are equal up to the sample's simulation), and the ratio at
    every context."""
    rows = []
    for n in sorted({r["config"]["processors"] for r in reports}):
        def at(kind, c):
            return next(r for r in reports if r["label"] == kind and r["config"]["processors"] == n and
                        r["config"]["context"] == c)
        first = next((c for c in contexts
                      if at(label, c)["model"]["tokens_per_s"] > 1.01 * at("KV cache", c)["model"]["tokens_per_s"]), None)
        gains = [f"{at(label, c)['model']['tokens_per_s'] / at('KV cache', c)['model']['tokens_per_s']:.2f}x"
                 for c in contexts]
        rows.append([n, first if first else "none"] + gains)
    return markdown(["N", f"{label} > 1.01 x KV from context"] + [f"{c}" for c in contexts],
                    ["---:", "---:"] + ["---:"] * len(contexts), rows)


def table(reports):
    rows = [[r["label"], r["config"]["context"], r["config"]["processors"], f"{r['model']['tokens_per_s']:.2f}",
             f"{r['model']['roofline']['tokens_per_s']:.2f}", f"{r['sim']['roofline_ratio']:.4f}",
             f"{r['model']['stream_bytes'] / r['config']['processors']:.0f}", attention_bytes(r),
             f"{r['model']['roofline']['dram_bytes_per_token']:.0f}", r["model"]["roofline"]["bound"]]
            for r in reports]
    return markdown(["attention", "context", "N", "tokens/s", "tokens/s (roofline)", "sim/roof", "weight B/token",
                     "attention B/token", "DRAM B/token", "bound"],
                    ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"], rows)


def plot(sweeps, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(sweeps), 2, figsize=(13, 4.5 * len(sweeps)), squeeze=False)
    styles = {"KV cache": "o-", "DiJiang fp32": "s--", "DiJiang bf16": "^--", "DiJiang on chip": "d:"}
    for (name, reports), (a, b) in zip(sweeps, axes):
        ns = sorted({r["config"]["processors"] for r in reports})
        shown = [n for n in (1, 4, 32) if n in ns] or ns[:1]
        colours = dict(zip(shown, ("C0", "C1", "C2")))
        for label, _ in KINDS:
            for n in shown:
                rs = sorted((r for r in reports if r["label"] == label and r["config"]["processors"] == n),
                            key=lambda r: r["config"]["context"])
                if not rs:
                    continue
                c = [r["config"]["context"] for r in rs]
                a.plot(c, [r["model"]["tokens_per_s"] for r in rs], styles[label], ms=3, color=colours[n],
                       label=f"{label}, N = {n}")
                b.plot(c, [r["model"]["roofline"]["dram_bytes_per_token"] / 2**20 for r in rs], styles[label], ms=3,
                       color=colours[n], label=f"{label}, N = {n}")
        a.set(xlabel="context (positions)", ylabel="tokens/s", title=f"{name}: throughput", xscale="log", yscale="log")
        b.set(xlabel="context (positions)", ylabel="DRAM MiB / token", title=f"{name}: DRAM traffic per token",
              xscale="log", yscale="log")
        for ax in (a, b):
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def sweep(a, models, contexts, commands, sources):
    """Every point of the grid through token_factory; `sources` gets each model's container and arguments."""
    binary, tool = binaries(a.build, "make sim-dijiang")
    workdir = os.path.join(a.build, "sim")
    if "smollm2" in models:
        gguf = os.path.abspath(a.smollm2 or script_path("smollm2.sh"))
        sources["SmolLM2-135M"] = (bf16_wsz(tool, gguf, workdir, commands), ["--layers", a.smollm2_layers])
    if "stories260K" in models:
        sources["stories260K"] = (bf16_wsz(tool, os.path.abspath(a.stories), workdir, commands), [])
    points = [(name, label, args, c, n) for name in sources for label, args in KINDS for c in contexts
              for n in parse_ns(a.n)]

    def run(p):
        name, label, args, c, n = p
        wsz, model_args = sources[name]
        extra = model_args + args + ["--context", str(c), "--tokens", str(a.tokens), "--kv-burst", str(a.kv_burst)]
        r = run_point(binary, wsz, "compressed", n, extra + a.extra)
        r["label"], r["name"] = label, name
        return r

    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        return list(pool.map(run, points))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", help="output folder (default BUILD/reports)")
    ap.add_argument("--models", default="smollm2,stories260K", help="smollm2, stories260K or both")
    ap.add_argument("--smollm2", help="SmolLM2 GGUF (default: what scripts/smollm2.sh prints)")
    ap.add_argument("--stories", default=os.path.join(HERE, "../../shared/data/stories260K.bin"))
    ap.add_argument("--smollm2-layers", default="15", help="the layers the sim streams (section 3.1)")
    ap.add_argument("--n", default="1,2,4,8,16,32", help="processor counts")
    ap.add_argument("--contexts", default=",".join(map(str, CONTEXTS)), help="context lengths")
    ap.add_argument("--tokens", type=int, default=4, help="tokens per processor (passes 3..P-1 measured)")
    ap.add_argument("--kv-burst", type=int, default=4096, help="largest request of a KV port, bytes")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--from-json", help="only write the tables and the plot again from this sweep's JSON")
    ap.add_argument("extra", nargs="*", help="arguments for token_factory (after --)")
    a = ap.parse_args()
    contexts = [int(c) for c in a.contexts.split(",")]
    models = a.models.split(",")
    if not set(models) <= {"smollm2", "stories260K"}:
        sys.exit(f"--models: {a.models}: smollm2, stories260K or both")
    out = a.out or os.path.join(a.build, "reports")
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    if a.from_json:
        done = json.load(open(a.from_json))
        commands, reports = done["prepare"], done["runs"]
        sources = dict.fromkeys(r["name"] for r in reports)
        contexts = sorted({r["config"]["context"] for r in reports})
    else:
        commands, sources = [], {}
        reports = sweep(a, models, contexts, commands, sources)
    worst, errors, line = summary(reports)

    text, sweeps = "", []
    for name in sources:
        rs = [r for r in reports if r["name"] == name]
        sweeps.append((name, rs))
        kv = next(r for r in rs if r["label"] == "KV cache")
        text += (f"## {name}\n\n" + shape_text(name, kv) + "\nDiJiang / KV cache tokens/s per context "
                 "(DiJiang fp32):\n\n" + crossover_from_sweep(rs, "DiJiang fp32", contexts) + "\n(DiJiang bf16):\n\n" +
                 crossover_from_sweep(rs, "DiJiang bf16", contexts) + "\n" + table(rs) + "\n")
    with open(os.path.join(out, "token_factory_dijiang.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "token_factory_dijiang.json"), "w") as f:
        json.dump({"prepare": commands, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
    plot(sweeps, os.path.join(out, "token_factory_dijiang.png"))
    print(text)
    print(line)
    print(f"wrote {out}/token_factory_dijiang.json, .md, .png ({time.time() - t0:.0f} s)", flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
