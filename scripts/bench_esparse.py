#!/usr/bin/env python3
"""E-Sparse benchmark (docs/esparse.md), two models, everything through the real `weightstream` tool.

--model stories (default): stories260K pruned to 2:4 by magnitude, Wanda and E-Sparse (no shuffle,
global, global+local) plus the Wanda global+local control, each evaluated against the dense model
(perplexity and KL on held-out sampled sequences) and compressed (bits per original weight of the 7
pruned linear tensors, and their entropy bound); writes build/reports/esparse.{json,md}.

--model smollm2: SmolLM2-135M-Instruct (the GGUF of `make deps`, dequantized) pruned at 2:4 and 4:8 by
magnitude, Wanda and E-Sparse (no shuffle, global, global+local), calibrated on the calibration part of
the real English text (scripts/eval_text.sh), evaluated on windows of its held-out part; per row also
the calibration and pruning time and peak memory that `prune` prints. Writes
build/reports/esparse_smollm2.{json,md}.
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINEAR = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"]
# The same tensors in a GGUF file's names (the dense SmolLM2 row).
GGUF_LINEAR = re.compile(r"blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight")
STORIES_VARIANTS = [  # name, prune options
    ("magnitude", ["--method", "magnitude"]),
    ("wanda", ["--method", "wanda"]),
    ("esparse", ["--method", "esparse"]),
    ("esparse-g", ["--method", "esparse", "--shuffle", "global"]),
    ("esparse-gl", ["--method", "esparse", "--shuffle", "global+local"]),
    ("wanda-gl", ["--method", "wanda", "--shuffle", "global+local"]),
]
SMOLLM2_METHODS = [
    ("magnitude", ["--method", "magnitude"]),
    ("wanda", ["--method", "wanda"]),
    ("esparse", ["--method", "esparse"]),
    ("esparse-g", ["--method", "esparse", "--shuffle", "global"]),
    ("esparse-gl", ["--method", "esparse", "--shuffle", "global+local"]),
]


def run(cmd):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def script_output(name):
    return subprocess.run(["bash", str(ROOT / "scripts" / name)], check=True, capture_output=True,
                          text=True).stdout.strip()


def linear_bits(tool, wsz):
    """Bits per original weight of the linear tensors, and their bound, from `inspect --json`."""
    rep = json.loads(run([tool, "inspect", "--json", wsz]))
    ts = [t for t in rep["tensors"] if t["name"] in LINEAR or GGUF_LINEAR.fullmatch(t["name"])]
    n = sum(t["values"] for t in ts)
    return {"bits_per_weight": 8 * sum(t["compressed_bytes"] for t in ts) / n,
            "bound_bits_per_weight": sum(t["bound_bits"] for t in ts) / n,
            "linear_tensors": len(ts),
            "stored_2_4": sum(1 for t in ts if t.get("sparse24"))}


def compressed_bits(tool, model, out, name, keep_bf16=False):
    """The model's float tensors in bf16, compressed; bits of its linear tensors."""
    bf16 = out / f"{name}.bf16.safetensors"
    run([tool, "convert", "-f", "--to", "bf16", model, "-o", bf16])
    run([tool, "compress", "-f", bf16, "-o", out / f"{name}.bf16.wsz"])
    bits = linear_bits(tool, out / f"{name}.bf16.wsz")
    if not keep_bf16:
        bf16.unlink()
    return bits


def parse_eval(text, paths):
    """{name: (perplexity, kl)} from the table `eval` prints; paths: {name: model path}."""
    res = {}
    for line in text.splitlines():
        parts = line.split()
        for name, path in paths.items():
            if parts and parts[0] == str(path) and len(parts) >= 3:
                res[name] = (float(parts[-2]), float(parts[-1]))
    missing = [n for n in paths if n not in res]
    if missing:
        sys.exit(f"bench_esparse: no eval result for {missing}")
    return res


def prune_times(report):
    m = re.search(r"time: calibration ([\d.]+) s, pruning ([\d.]+) s \((\d+) threads\); peak memory (\d+) MiB", report)
    if not m:
        sys.exit("bench_esparse: prune printed no time line:\n" + report)
    return {"calibration_s": float(m.group(1)), "pruning_s": float(m.group(2)), "threads": int(m.group(3)),
            "peak_mib": int(m.group(4))}


def write_reports(build, stem, title, rows, md):
    reports = build / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{stem}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (reports / f"{stem}.md").write_text(f"# {title}\n\n" + md + "\n")
    print(md)
    print(f"wrote {reports / (stem + '.md')} and {reports / (stem + '.json')}")


def bench_stories(tool, build):
    dense = (ROOT / ".." / "shared" / "data" / "stories260K.bin").resolve()
    out = build / "esparse"
    out.mkdir(parents=True, exist_ok=True)
    rows = {"dense": {"options": "", **compressed_bits(tool, dense, out, "dense", keep_bf16=True)}}
    for name, opts in STORIES_VARIANTS:
        f32 = out / f"{name}.safetensors"
        run([tool, "prune", dense, *opts, "-o", f32])
        rows[name] = {"options": " ".join(opts), **compressed_bits(tool, f32, out, name, keep_bf16=True)}
        if rows[name]["stored_2_4"] != len(LINEAR):
            sys.exit(f"bench_esparse: {name}: only {rows[name]['stored_2_4']} linear tensors stored 2:4")

    # One eval run for all models: the same held-out sequences for each.
    text = run([tool, "eval", dense, *[out / f"{name}.safetensors" for name, _ in STORIES_VARIANTS]])
    print(text)
    paths = {"dense": dense, **{n: out / f"{n}.safetensors" for n, _ in STORIES_VARIANTS}}
    for name, (ppl, kl) in parse_eval(text, paths).items():
        rows[name]["perplexity"], rows[name]["kl"] = ppl, kl

    md = ["| model | `prune` options | perplexity | KL (nats/token) | bits/weight after `compress` | bound |",
          "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, r in rows.items():
        md.append(f"| {name} | `{r['options'] or '(dense bf16)'}` | {r['perplexity']:.2f} | {r['kl']:.3f} | "
                  f"{r['bits_per_weight']:.3f} | {r['bound_bits_per_weight']:.3f} |")
    write_reports(build, "esparse", "E-Sparse on stories260K (`python3 scripts/bench_esparse.py`)", rows,
                  "Bits per original weight of the 7 linear tensors (bf16; 2:4 tensors stored 2:4).\n\n" + "\n".join(md))


def bench_smollm2(tool, build, args):
    dense = Path(script_output("smollm2.sh"))
    text = Path(script_output("eval_text.sh"))
    out = build / "esparse_smollm2"
    out.mkdir(parents=True, exist_ok=True)
    threads = ["--threads", str(args.jobs)]
    calib = ["--text", text, "--calib", str(args.calib), "--calib-len", str(args.len)]

    rows = {"dense": {"pattern": "", "options": "", **compressed_bits(tool, dense, out, "dense")}}
    # The file as shipped, lossless (Q4_1 blocks coded): what the pruned rows are measured against.
    run([tool, "compress", "-f", dense, "-o", out / "dense.gguf.wsz"])
    rows["dense"]["gguf_bits_per_weight"] = linear_bits(tool, out / "dense.gguf.wsz")["bits_per_weight"]
    names = []
    for pattern in ["2:4", "4:8"]:
        for method, opts in SMOLLM2_METHODS:
            name = f"{method}-{pattern.replace(':', '')}"
            f32 = out / f"{name}.safetensors"
            report = run([tool, "prune", dense, *opts, "--sparsity", pattern, *calib, *threads, "-o", f32])
            print(report, flush=True)
            rows[name] = {"pattern": pattern, "options": " ".join(opts), **prune_times(report),
                          **compressed_bits(tool, f32, out, name)}
            if pattern == "2:4" and rows[name]["stored_2_4"] != rows[name]["linear_tensors"]:
                sys.exit(f"bench_esparse: {name}: only {rows[name]['stored_2_4']} linear tensors stored 2:4")
            names.append(name)

    # One eval run: the dense logits are computed once, the models scored one after another.
    res = run([tool, "eval", dense, *[out / f"{n}.safetensors" for n in names], "--text", text,
               "--seqs", str(args.seqs), "--len", str(args.len), *threads])
    print(res)
    held = re.search(r"held-out: (.*), (\d+) predicted tokens", res)
    paths = {"dense": dense, **{n: out / f"{n}.safetensors" for n in names}}
    for name, (ppl, kl) in parse_eval(res, paths).items():
        rows[name]["perplexity"], rows[name]["kl"] = ppl, kl
    for n in names:
        (out / f"{n}.safetensors").unlink()

    md = [f"Held-out: {held.group(1)}; {held.group(2)} predicted tokens per row. Calibration: "
          f"{args.calib} x {args.len} tokens of the calibration part. Bits per original weight of the 210 "
          f"linear tensors after `compress` of the bf16 model (2:4 stored 2:4, 4:8 dense with zeros); the dense "
          f"GGUF as shipped (Q4_1, lossless): {rows['dense']['gguf_bits_per_weight']:.3f}. Time and peak memory "
          f"as `prune --threads {args.jobs}` prints them.", "",
          "| N:M | model | perplexity | KL (nats/token) | bits/weight | bound | calibration s | pruning s | peak MiB |",
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows.items():
        t = (f"{r['calibration_s']:.0f} | {r['pruning_s']:.0f} | {r['peak_mib']}" if "peak_mib" in r else "— | — | —")
        md.append(f"| {r['pattern'] or '—'} | {name.rsplit('-', 1)[0] if r['pattern'] else 'dense (bf16)'} | "
                  f"{r['perplexity']:.2f} | {r['kl']:.3f} | {r['bits_per_weight']:.3f} | {r['bound_bits_per_weight']:.3f} | {t} |")
    write_reports(build, "esparse_smollm2",
                  "E-Sparse on SmolLM2-135M-Instruct (`python3 scripts/bench_esparse.py --model smollm2`)", rows,
                  "\n".join(md))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", choices=["stories", "smollm2"], default="stories")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="smollm2: threads of prune and eval")
    ap.add_argument("--calib", type=int, default=4, help="smollm2: calibration windows")
    ap.add_argument("--seqs", type=int, default=4, help="smollm2: held-out windows")
    ap.add_argument("--len", type=int, default=128, help="smollm2: predicted tokens per window")
    args = ap.parse_args()
    build = ROOT / args.build
    tool = build / "bin" / "weightstream"
    if args.model == "stories":
        bench_stories(tool, build)
    else:
        bench_smollm2(tool, build, args)


if __name__ == "__main__":
    main()
