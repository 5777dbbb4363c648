#!/usr/bin/env python3
"""`verilator --lint-only -Wall` of every block of synth/blocks.json, each with its own file list
(rtl/<block>.f) and top, and the waivers of rtl/lint.vlt. Exit 0 when every block is clean; else
the warnings, the failing blocks named, exit 1. `make lint` and the CTest `rtl_lint` run it."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import rtl_files  # noqa: E402


def main():
    blocks = json.loads((ROOT / "synth" / "blocks.json").read_text())["blocks"]
    failed = []
    for blk in blocks:
        files = [str(f.relative_to(ROOT)) for f in rtl_files.expand(blk["files"])]
        # the defaults, then each of the block's "lint_params" (parameter values that change its
        # structure, e.g. the weight pipeline's small lane counts)
        for params in [{}] + blk.get("lint_params", []):
            gs = [f"-G{k}={v}" for k, v in params.items()]
            cmd = ["verilator", "--lint-only", "-Wall", "-Irtl", "rtl/lint.vlt", *files,
                   "--top-module", blk["top"], *gs]
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            clean = p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip()
            tag = f" {' '.join(gs)}" if gs else ""
            print(f"{'clean' if clean else 'FAIL '} {blk['top']}{tag} ({blk['files']}, {len(files)} files)")
            if not clean:
                sys.stdout.write(p.stdout + p.stderr)
                failed.append(blk["top"] + tag)
    if failed:
        print(f"lint: {len(failed)} block(s) not clean: {', '.join(failed)}")
        return 1
    print(f"lint: all {len(blocks)} blocks clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
