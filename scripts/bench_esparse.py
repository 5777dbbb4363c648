#!/usr/bin/env python3
"""E-Sparse benchmark (docs/esparse.md): stories260K pruned to 2:4 by magnitude, Wanda and E-Sparse
(no shuffle, global, global+local) plus the Wanda global+local control, each evaluated against the
dense model (perplexity and KL on held-out sampled sequences) and compressed (bits per original
weight of the 7 pruned linear tensors, and their entropy bound). Everything through the real
`weightstream` tool; writes build/reports/esparse.{json,md} and prints the table.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINEAR = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"]
VARIANTS = [  # name, prune options
    ("magnitude", ["--method", "magnitude"]),
    ("wanda", ["--method", "wanda"]),
    ("esparse", ["--method", "esparse"]),
    ("esparse-g", ["--method", "esparse", "--shuffle", "global"]),
    ("esparse-gl", ["--method", "esparse", "--shuffle", "global+local"]),
    ("wanda-gl", ["--method", "wanda", "--shuffle", "global+local"]),
]


def run(cmd):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def linear_bits(tool, wsz):
    """Bits per original weight of the linear tensors, and their bound, from `inspect --json`."""
    rep = json.loads(run([tool, "inspect", "--json", wsz]))
    ts = [t for t in rep["tensors"] if t["name"] in LINEAR]
    n = sum(t["values"] for t in ts)
    return {"bits_per_weight": 8 * sum(t["compressed_bytes"] for t in ts) / n,
            "bound_bits_per_weight": sum(t["bound_bits"] for t in ts) / n,
            "stored_2_4": sum(1 for t in ts if "sparse24" in t)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    build = ROOT / args.build
    tool = build / "bin" / "weightstream"
    dense = (ROOT / ".." / "shared" / "data" / "stories260K.bin").resolve()
    out = build / "esparse"
    out.mkdir(parents=True, exist_ok=True)

    rows = {}
    # The dense row: the same file in bf16, stored dense.
    run([tool, "convert", "-f", "--to", "bf16", dense, "-o", out / "dense.bf16.safetensors"])
    run([tool, "compress", "-f", out / "dense.bf16.safetensors", "-o", out / "dense.bf16.wsz"])
    rows["dense"] = {"options": "", **linear_bits(tool, out / "dense.bf16.wsz")}
    for name, opts in VARIANTS:
        f32 = out / f"{name}.safetensors"
        run([tool, "prune", dense, *opts, "-o", f32])
        run([tool, "convert", "-f", "--to", "bf16", f32, "-o", out / f"{name}.bf16.safetensors"])
        run([tool, "compress", "-f", out / f"{name}.bf16.safetensors", "-o", out / f"{name}.bf16.wsz"])
        rows[name] = {"options": " ".join(opts), **linear_bits(tool, out / f"{name}.bf16.wsz")}
        if rows[name]["stored_2_4"] != len(LINEAR):
            sys.exit(f"bench_esparse: {name}: only {rows[name]['stored_2_4']} linear tensors stored 2:4")

    # One eval run for all models: the same held-out sequences for each.
    text = run([tool, "eval", dense, *[out / f"{name}.safetensors" for name, _ in VARIANTS]])
    print(text)
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        path = parts[0]
        for name in rows:
            if (name == "dense" and path == str(dense)) or path == str(out / f"{name}.safetensors"):
                rows[name]["perplexity"] = float(parts[-2])
                rows[name]["kl"] = float(parts[-1])
    missing = [n for n in rows if "kl" not in rows[n]]
    if missing:
        sys.exit(f"bench_esparse: no eval result for {missing}")

    md = ["| model | `prune` options | perplexity | KL (nats/token) | bits/weight after `compress` | bound |",
          "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, r in rows.items():
        md.append(f"| {name} | `{r['options'] or '(dense bf16)'}` | {r['perplexity']:.2f} | {r['kl']:.3f} | "
                  f"{r['bits_per_weight']:.3f} | {r['bound_bits_per_weight']:.3f} |")
    table = "\n".join(md)
    print(table)
    reports = build / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "esparse.json").write_text(json.dumps(rows, indent=2) + "\n")
    (reports / "esparse.md").write_text("# E-Sparse on stories260K (`python3 scripts/bench_esparse.py`)\n\n"
                                        "Bits per original weight of the 7 linear tensors (bf16; 2:4 tensors stored 2:4).\n\n"
                                        + table + "\n")
    print(f"wrote {reports / 'esparse.md'} and {reports / 'esparse.json'}")


if __name__ == "__main__":
    main()
