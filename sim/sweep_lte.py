#!/usr/bin/env python3
"""`make sim-lte` (part of `make bench`): the token factory with LTE (docs/token_factory.md section 7).

stories260K, N processors x (dense, LTE at 25/50/75% of experts off) x (raw, compressed, compressed 2:4):
each LTE level streams its model's `compress --lte` container (one chunk per expert of w1/w3/w2) and
fetches per pass,
per layer, the union of the experts its N tokens run, from the routers' real decisions on held-out
sequences sampled from the model (`eval --lte-dump`). The routers are the trained ones of `make
train-lte` (build/lte/lte{25,50,75}.safetensors and their fine-tuned models) when they exist, else the
no-training activation-norm oracle (`--lte-norm`), which the report then names. A second sweep takes
the expert size (--expert-size 16/32/64, the norm oracle at 50%: there are no trained routers of other
sizes) in the compressed mode. The LTE containers use table log 8 (--table-log): the expert chunks are
small, and a table of 2^11 entries per chunk, the dense default, keeps the decoder loading tables.
Compressed 2:4 (token_factory --mode sparse): each level's model pruned 2:4 by E-Sparse (global+local
shuffle, as make sim's 2:4 mode) with w2's channel
shuffle kept inside the side file's experts (`prune --lte`), `compress --lte` of it (2:4 expert chunks:
w1/w3 rows, w2 column blocks packed 2:4 row segment by row segment, docs/format.md section 4.3), and the
decisions of its gate on the pruned model; dense 2:4 is the same pruned model compressed without --lte.
  <out>/token_factory_lte.json   every run's report, the commands that made the files
  <out>/token_factory_lte.md     the tables
  <out>/token_factory_lte.png    tokens/s, weight bytes per token and experts fetched against N
"""
import argparse
import concurrent.futures
import json
import os
import struct
import subprocess
import sys
import time

from sweep import HERE, binaries, fresh, markdown, parse_ns, run_point, source, summary

LEVELS = [25, 50, 75]
MODES = {"raw": "raw", "compressed": "compressed", "sparse": "compressed 2:4"}
SIZES = [16, 32, 64]


def decisions_of(path):
    """(tokens, layers, experts, bits) of an `eval --lte-dump` file."""
    raw = open(path, "rb").read()
    n = struct.unpack_from("<Q", raw)[0]
    head = json.loads(raw[8:8 + n])
    t = head["lte.decisions"]
    tokens, layers, per = t["shape"]
    start = 8 + n + t["data_offsets"][0]
    return tokens, layers, int(head["__metadata__"]["experts"]), raw[start:start + tokens * layers * per]


def fetched_fraction(path, n, passes):
    """The fraction of (layer, expert) chunks a pass fetches, averaged over the simulation's steady
    passes (the third to the last but one), by the union rule of sim/src/lte_fetch.hpp."""
    tokens, layers, experts, bits = decisions_of(path)
    per = (experts + 7) // 8
    on = lambda t, l, e: bits[(t * layers + l) * per + e // 8] >> (e % 8) & 1
    steady = range(2, passes - 1) if passes >= 4 else range(passes)
    got = 0
    for p in steady:
        for l in range(layers):
            for e in range(experts):
                got += any(on((p * n + i) % tokens, l, e) for i in range(n))
    one = sum(on(t, l, e) for t in range(tokens) for l in range(layers) for e in range(experts))
    return got / (len(steady) * layers * experts), 1 - one / (tokens * layers * experts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default=os.path.join(HERE, "../../shared/data/stories260K.bin"))
    ap.add_argument("--lte-dir", help="trained side files and models (default BUILD/lte, from make train-lte)")
    ap.add_argument("--out", help="output folder (default BUILD/reports)")
    ap.add_argument("--n", default="1,2,4,8,16,32", help="processor counts")
    ap.add_argument("--seqs", type=int, default=4, help="held-out sequences of 128 tokens the decisions come from")
    ap.add_argument("--table-log", type=int, default=8,
                    help="tANS table log of the LTE containers (docs/token_factory.md section 7: a 2,048-entry "
                    "table per expert chunk would keep the decoder loading tables)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("extra", nargs="*", help="arguments for token_factory (after --)")
    a = ap.parse_args()
    binary, tool = binaries(a.build, "make sim-lte")
    out = a.out or os.path.join(a.build, "reports")
    work = os.path.join(a.build, "sim", "lte")
    lte_dir = a.lte_dir or os.path.join(a.build, "lte")
    os.makedirs(out, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    model = os.path.abspath(a.model)
    commands = []
    t0 = time.time()

    def step(cmd, inputs, output):
        commands.append(" ".join(cmd))
        if fresh(output, inputs + [tool]):
            return
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def bf16(src, stem):
        step([tool, "convert", "-f", "--to", "bf16", src, "-o", f"{work}/{stem}.bf16.safetensors"], [src],
             f"{work}/{stem}.bf16.safetensors")
        return f"{work}/{stem}.bf16.safetensors"

    dense_st = bf16(model, "stories260K")
    dense = f"{work}/stories260K.bf16.wsz"
    step([tool, "compress", "-f", dense_st, "-o", dense], [dense_st], dense)

    def pruned(src, side, stem):
        """src pruned 2:4 by E-Sparse with the global+local shuffle (as `make sim`), w2 shuffled inside side's experts."""
        out = f"{work}/{stem}.safetensors"
        step([tool, "prune", src, "-o", out, "--method", "esparse", "--shuffle", "global+local", "--lte", side, "--threads", "1"],
             [src, side], out)
        return out

    def lte_variant(name, src, side, norm, prune=False):
        """src's bf16 model (with prune: pruned first, so 2:4 expert chunks) cut into side's experts, and the
        decisions of its gate (routers, or the norm oracle at `norm`) on that model's held-out sequences
        (seed 2, 128 tokens each)."""
        stem = f"{name}.pruned" if prune else name
        st = bf16(pruned(src, side, stem) if prune else src, stem)
        wsz = f"{work}/{stem}.lte.wsz"
        step([tool, "compress", "-f", "--lte", side, "--table-log", str(a.table_log), st, "-o", wsz], [st, side], wsz)
        dec = f"{work}/{stem}.decisions.safetensors"
        cmd = [tool, "eval", model, st, "--lte", side, "--seqs", str(a.seqs), "--len", "128", "--lte-dump", dec]
        if norm is not None:
            cmd += ["--lte-norm", str(norm)]
        step(cmd, [st, side], dec)
        return {"name": name, "wsz": wsz, "decisions": dec}

    variants, variants24, gate = [], [], ""
    trained = all(os.path.exists(f"{lte_dir}/lte{o}.safetensors") and os.path.exists(f"{lte_dir}/lte{o}.model.safetensors")
                  for o in LEVELS)
    groups = {}
    for size in SIZES:
        groups[size] = f"{work}/experts{size}.safetensors"
        step([tool, "lte-experts", model, "-o", groups[size], "--expert-size", str(size), "--seed", "1"], [model],
             groups[size])
    for o in LEVELS:
        if trained:
            gate = f"LTE routers of make train-lte ({lte_dir})"
            v = lte_variant(f"lte{o}", f"{lte_dir}/lte{o}.model.safetensors", f"{lte_dir}/lte{o}.safetensors", None)
        else:
            gate = "the activation-norm oracle (no trained routers in " + lte_dir + ": run make train-lte)"
            v = lte_variant(f"norm{o}", model, groups[32], o / 100)
        v.update(label=f"LTE {o}%", level=o, size=32)
        variants.append(v)
        src, side = (f"{lte_dir}/lte{o}.model.safetensors", f"{lte_dir}/lte{o}.safetensors") if trained else (model, groups[32])
        v = lte_variant(f"lte{o}" if trained else f"norm{o}", src, side, None if trained else o / 100, prune=True)
        v.update(label=f"LTE {o}%", level=o, size=32)
        variants24.append(v)
    # Dense 2:4: the model pruned as the norm oracle's variants are (w2 shuffled inside the experts of 32),
    # compressed with the tool's defaults (2:4 tensors, no expert chunks).
    dense24_st = bf16(pruned(model, groups[32], "stories260K.pruned"), "stories260K.pruned")
    dense24 = f"{work}/stories260K.pruned.bf16.wsz"
    step([tool, "compress", "-f", dense24_st, "-o", dense24], [dense24_st], dense24)
    sizes = []
    for size in SIZES:
        v = lte_variant(f"norm50_e{size}", model, groups[size], 0.5)
        v.update(label=f"norm 50%, experts of {size}", level=50, size=size)
        sizes.append(v)

    ns = parse_ns(a.n)
    points = [("dense", dense, None, m, n) for m in ("raw", "compressed") for n in ns]
    points += [(v["label"], v["wsz"], v["decisions"], m, n) for v in variants for m in ("raw", "compressed") for n in ns]
    points += [("dense", dense24, None, "sparse", n) for n in ns]
    points += [(v["label"], v["wsz"], v["decisions"], "sparse", n) for v in variants24 for n in ns]
    points += [(v["label"], v["wsz"], v["decisions"], "compressed", n) for v in sizes for n in ns]

    def run(p):
        label, wsz, dec, mode, n = p
        # compressed 2:4 streams the pruned model's container (--pruned); MODEL is then only named
        model_arg, pruned_arg = (dense, ["--pruned", wsz]) if mode == "sparse" else (wsz, [])
        r = run_point(binary, model_arg, mode, n, pruned_arg + (["--lte-decisions", dec] if dec else []) + a.extra)
        r["label"] = label
        if dec:
            r["fetched"], r["off_per_token"] = fetched_fraction(dec, n, r["config"]["tokens"])
        return r

    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        reports = list(pool.map(run, points))
    worst, errors, line = summary(reports)

    # Tables: what each container streams with every expert on; then per N the throughput and traffic.
    firsts = {}
    for r in reports:
        firsts.setdefault((r["label"], r["config"]["mode"]), r)
    streams = markdown(["variant", "mode", "container", "chunks", "weight bytes per pass, every expert on"],
                       ["---", "---", "---", "---:", "---:"],
                       [[k[0], MODES[k[1]], source(r), r["workload"]["chunks"],
                         r["workload"]["stream_bytes"]] for k, r in firsts.items()])

    def row(r):
        n, tok = r["config"]["processors"], r["config"]["tokens"]
        weights = r["sim"]["weight_read_bytes"] / (n * tok)
        return [r["label"], MODES[r["config"]["mode"]], n, f"{r['sim']['tokens_per_s']:.0f}",
                f"{r['roofline']['tokens_per_s']:.0f}", f"{r['sim']['roofline_ratio']:.4f}",
                f"{r['sim']['dram_bytes_per_token']:.0f}", f"{weights:.0f}",
                f"{100 * r['fetched']:.1f}%" if "fetched" in r else "100%",
                f"{100 * r['off_per_token']:.1f}%" if "off_per_token" in r else "0%", r["roofline"]["bound"]]

    header = ["variant", "mode", "N", "tokens/s (sim)", "tokens/s (roofline)", "sim/roof", "DRAM B/token",
              "weight B/token", "expert chunks fetched", "experts off per token", "bound"]
    align = ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"]
    main_rows = [row(r) for r in reports if r["label"] == "dense" or r["label"].startswith("LTE")]
    size_rows = [row(r) for r in reports if r["label"].startswith("norm 50%")]
    text = (f"Decisions: {gate}; {a.seqs} held-out sequences x 129 tokens (seed 2). Experts of 32 "
            f"(stories260K: 6 per layer, the last of 12 neurons). Compressed 2:4: the model pruned by E-Sparse "
            f"with w2's shuffle inside the experts, the decisions on the pruned model.\n\n" + streams + "\n" +
            markdown(header, align, main_rows) + "\nExpert size (the norm oracle at 50%, compressed):\n\n" +
            markdown(header, align, size_rows))
    with open(os.path.join(out, "token_factory_lte.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "token_factory_lte.json"), "w") as f:
        json.dump({"prepare": commands, "gate": gate, "runs": reports, "worst_roofline_error": worst}, f, indent=1)
    plot(reports, os.path.join(out, "token_factory_lte.png"), gate)
    print(text)
    print(line)
    print(f"wrote {out}/token_factory_lte.json, .md, .png ({time.time() - t0:.0f} s)", flush=True)
    return 1 if errors else 0


def plot(reports, path, gate):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.5))
    labels = list(dict.fromkeys(r["label"] for r in reports))
    for label in labels:
        for mode, ls in (("compressed", "o-"), ("raw", "x--"), ("sparse", "s-.")):
            rs = [r for r in reports if r["label"] == label and r["config"]["mode"] == mode]
            if not rs or (label.startswith("norm 50%") and mode == "raw"):
                continue
            n = [r["config"]["processors"] for r in rs]
            a.plot(n, [r["sim"]["tokens_per_s"] for r in rs], ls, ms=3, label=f"{label}, {MODES[mode]}")
            b.plot(n, [r["sim"]["weight_read_bytes"] / (r["config"]["processors"] * r["config"]["tokens"]) / 1024
                       for r in rs], ls, ms=3, label=f"{label}, {MODES[mode]}")
            if mode != "raw" and "fetched" in rs[0]:
                c.plot(n, [100 * r["fetched"] for r in rs], ls, ms=3, label=f"{label}, {MODES[mode]}")
    a.set(xlabel="processors N", ylabel="tokens/s", title="Throughput", xscale="log")
    b.set(xlabel="processors N", ylabel="weight KiB / token", title="Weight traffic per token", xscale="log",
          yscale="log")
    c.set(xlabel="processors N", ylabel="% of expert chunks", title="Expert chunks fetched per pass (union)",
          xscale="log")
    for ax in (a, b, c):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"stories260K with LTE: decisions of {gate}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
