#!/usr/bin/env python3
"""Codec benchmark: weightstream against zstd -19, xz -9, bzip2 -9 and gzip -9 on the same real files
(stories260K, MiniLM, and SmolLM2-135M as llama.cpp's Q4_1 GGUF), run in this one script on this one
machine. Writes build/reports/codec.json and prints a table.

Speeds are best-of-N wall-clock runs of the command-line tools (process start-up included for every
tool alike), in MB/s of the original file. Peak memory is the child's max RSS from wait4().
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd, stdin=None, stdout=None):
    """Runs cmd, returns (seconds, peak RSS in MiB). Raises on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {err.strip()}")
    return elapsed, usage.ru_maxrss / 1024.0


def run_cpu(cmd):
    """Runs cmd (no pipes), returns (wall seconds, CPU seconds user + system). Raises on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {err.strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def decompression_race(tool, src, work, threads, rounds=15):
    """Whole-process decompression of one file, weightstream (1 thread, all cores) against zstd -d of
    the same file's zstd -19 frame, each writing a file, in interleaved rounds so that the machine's
    load falls on all alike. Best wall time and best CPU time of each; ratios are zstd / weightstream."""
    wsz, zst = work / (src.name + ".race.wsz"), work / (src.name + ".race.zst")
    subprocess.run([tool, "compress", "-f", src, "-o", wsz], check=True, capture_output=True)
    subprocess.run(["zstd", "-19", "-T1", "-q", "-f", src, "-o", zst], check=True)
    out = work / (src.name + ".race.out")
    cmds = {"weightstream 1t": [tool, "decompress", "-f", wsz, "-o", out, "--threads", "1"],
            f"weightstream {threads}t": [tool, "decompress", "-f", wsz, "-o", out, "--threads", str(threads)],
            "zstd -d": ["zstd", "-d", "-f", "-q", zst, "-o", out]}
    best = {k: [float("inf"), float("inf")] for k in cmds}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            wall, cpu = run_cpu(cmd)
            best[name][0] = min(best[name][0], wall)
            best[name][1] = min(best[name][1], cpu)
            if out.read_bytes() != src.read_bytes():
                raise RuntimeError(f"{name} round trip differs on {src}")
    for p in (wsz, zst, out):
        p.unlink()
    z_wall, z_cpu = best["zstd -d"]
    return {"rounds": rounds, "threads": threads,
            "best": {k: {"wall_s": w, "cpu_s": c} for k, (w, c) in best.items()},
            "wall_ratio_vs_zstd": {k: z_wall / w for k, (w, c) in best.items() if k != "zstd -d"},
            "cpu_ratio_vs_zstd": {k: z_cpu / c for k, (w, c) in best.items() if k != "zstd -d"}}


def best_of(fn, min_total=1.0, max_runs=20):
    """Repeats fn() until min_total seconds or max_runs; returns the fastest (seconds, rss)."""
    results, total = [], 0.0
    while len(results) < 3 or (total < min_total and len(results) < max_runs):
        t, rss = fn()
        results.append((t, rss))
        total += t
    return min(results, key=lambda r: r[0])[0], max(r[1] for r in results)


def peer_commands(name):
    """(compress argv, decompress argv) reading stdin, writing stdout; single-threaded."""
    return {
        "zstd -19": (["zstd", "-19", "-T1", "-q", "-c"], ["zstd", "-d", "-T1", "-q", "-c"]),
        "xz -9": (["xz", "-9", "-T1", "-c"], ["xz", "-d", "-T1", "-c"]),
        "bzip2 -9": (["bzip2", "-9", "-c"], ["bzip2", "-d", "-c"]),
        "gzip -9": (["gzip", "-9", "-c"], ["gzip", "-d", "-c"]),
    }[name]


def bench_peer(name, src, work):
    comp_cmd, decomp_cmd = peer_commands(name)
    packed = work / (src.name + "." + name.split()[0])
    out = work / (src.name + ".out")

    def compress():
        with open(src, "rb") as i, open(packed, "wb") as o:
            return run(comp_cmd, stdin=i, stdout=o)

    def decompress():
        with open(packed, "rb") as i, open(out, "wb") as o:
            return run(decomp_cmd, stdin=i, stdout=o)

    # xz -9 and bzip2 on 90 MB take long: compress once, decompression is what is repeated.
    c_time, c_rss = best_of(compress, min_total=0.0, max_runs=1) if src.stat().st_size > 8e6 else best_of(compress)
    d_time, d_rss = best_of(decompress)
    if out.read_bytes() != src.read_bytes():
        raise RuntimeError(f"{name} round trip differs on {src}")
    size = packed.stat().st_size
    packed.unlink()
    out.unlink()
    return {"bytes": size, "compress_s": c_time, "decompress_s": d_time,
            "compress_peak_mib": c_rss, "decompress_peak_mib": d_rss}


def bench_weightstream(tool, src, work, threads):
    packed = work / (src.name + ".wsz")
    out = work / (src.name + ".ws.out")
    c_time, c_rss = best_of(lambda: run([tool, "compress", "-f", src, "-o", packed, "--threads", str(threads)]))
    d_time, d_rss = best_of(lambda: run([tool, "decompress", "-f", packed, "-o", out, "--threads", str(threads)]))
    if out.read_bytes() != src.read_bytes():
        raise RuntimeError(f"weightstream round trip differs on {src}")
    inspect = json.loads(subprocess.run([tool, "inspect", packed, "--json"], check=True,
                                        capture_output=True).stdout)
    size = packed.stat().st_size
    out.unlink()
    packed.unlink()
    return {"bytes": size, "compress_s": c_time, "decompress_s": d_time,
            "compress_peak_mib": c_rss, "decompress_peak_mib": d_rss, "inspect": inspect}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true", help="only the bundled model")
    args = ap.parse_args()
    build = (ROOT / args.build).resolve()
    tool = build / "bin" / "weightstream"
    work = build / "bench"
    work.mkdir(parents=True, exist_ok=True)
    reports = build / "reports"
    reports.mkdir(parents=True, exist_ok=True)

    stories = ROOT.parent / "shared" / "data" / "stories260K.bin"
    files = [("stories260K fp32", stories)]
    bf16 = work / "stories260K.bf16.safetensors"
    subprocess.run([tool, "convert", "-f", "--to", "bf16", stories, "-o", bf16], check=True)
    files.append(("stories260K bf16", bf16))
    if not args.quick:
        minilm = Path(subprocess.run(["bash", ROOT / "scripts" / "minilm.sh", build / "data"], check=True,
                                     capture_output=True, text=True).stdout.strip())
        if not minilm.is_absolute():
            minilm = (ROOT / minilm).resolve()
        minilm_bf16 = work / "minilm.bf16.safetensors"
        subprocess.run([tool, "convert", "-f", "--to", "bf16", minilm, "-o", minilm_bf16], check=True)
        files += [("MiniLM fp32", minilm), ("MiniLM bf16", minilm_bf16)]
        smollm2 = Path(subprocess.run(["bash", ROOT / "scripts" / "smollm2.sh"], check=True,
                                      capture_output=True, text=True).stdout.strip())
        files.append(("SmolLM2 Q4_1 GGUF", smollm2))

    threads = os.cpu_count() or 1
    report = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": threads,
                          "python": platform.python_version(),
                          "zstd": subprocess.run(["zstd", "--version"], capture_output=True, text=True).stdout.strip()},
              "files": []}
    for label, path in files:
        print(f"bench: {label} ({path.stat().st_size} bytes)", file=sys.stderr)
        entry = {"file": label, "path": str(path), "bytes": path.stat().st_size,
                 "weightstream_1t": bench_weightstream(tool, path, work, 1),
                 f"weightstream_{threads}t": bench_weightstream(tool, path, work, threads),
                 "peers": {name: bench_peer(name, path, work)
                           for name in ("zstd -19", "xz -9", "bzip2 -9", "gzip -9")}}
        report["files"].append(entry)

    race_file = next((p for label, p in files if label == "MiniLM bf16"), bf16)
    print(f"bench: decompression race on {race_file.name}", file=sys.stderr)
    report["decompression_race"] = {"file": str(race_file), "bytes": race_file.stat().st_size,
                                    **decompression_race(tool, race_file, work, threads)}

    (reports / "codec.json").write_text(json.dumps(report, indent=2) + "\n")
    print_table(report, threads)
    print_race(report["decompression_race"])
    print(f"\nreport: {reports / 'codec.json'}")


def mbps(nbytes, seconds):
    return nbytes / seconds / 1e6


def print_table(report, threads):
    print(f"machine: {report['machine']['cpu']}, {threads} cores; speeds in MB/s of the original file, "
          "best of >= 3 runs, single-threaded unless marked")
    print(f"{'file':18} {'codec':16} {'bytes':>11} {'ratio':>6} {'comp':>8} {'decomp':>8} {'peak MiB':>9} "
          f"{'decomp/zstd':>11}")
    for f in report["files"]:
        n = f["bytes"]
        ws1, wsn = f["weightstream_1t"], f[f"weightstream_{threads}t"]
        rows = [("weightstream", ws1), (f"weightstream {threads}t", wsn)] + list(f["peers"].items())
        zstd_d = f["peers"]["zstd -19"]["decompress_s"]
        for name, r in rows:
            print(f"{f['file']:18} {name:16} {r['bytes']:>11} {n / r['bytes']:>6.3f} "
                  f"{mbps(n, r['compress_s']):>8.1f} {mbps(n, r['decompress_s']):>8.1f} "
                  f"{max(r['compress_peak_mib'], r['decompress_peak_mib']):>9.1f} {zstd_d / r['decompress_s']:>11.2f}")
        formats = ws1["inspect"]["formats"]
        if len(formats) > 1:  # per tensor type: bits per weight against the bound
            print(f"{'':18} by format: " + ", ".join(
                f"{t['format']} {t['bits_per_weight']:.3f} (bound {t['bound_bits_per_weight']:.3f})" for t in formats))
        total = ws1["inspect"]["total"]
        print(f"{'':18} bits/weight {total['bits_per_weight']:.4f}, entropy bound "
              f"{total['bound_bits_per_weight']:.4f}, overhead {100 * total['overhead']:.3f}%; "
              f"smaller than every peer: {all(ws1['bytes'] < p['bytes'] for p in f['peers'].values())}; "
              f"1-thread decompression vs zstd -d: "
              f"{f['peers']['zstd -19']['decompress_s'] / ws1['decompress_s']:.2f}x")


def print_race(r):
    print(f"\nwhole-process decompression of {Path(r['file']).name} ({r['bytes']} bytes) to a file, "
          f"best of {r['rounds']} interleaved rounds; ratio = zstd -d time / weightstream time (> 1: faster)")
    print(f"{'decoder':18} {'wall s':>8} {'cpu s':>8} {'wall vs zstd -d':>16} {'cpu vs zstd -d':>15}")
    for name, b in r["best"].items():
        wr = r["wall_ratio_vs_zstd"].get(name, 1.0)
        cr = r["cpu_ratio_vs_zstd"].get(name, 1.0)
        print(f"{name:18} {b['wall_s']:>8.3f} {b['cpu_s']:>8.3f} {wr:>16.2f} {cr:>15.2f}")


if __name__ == "__main__":
    main()
