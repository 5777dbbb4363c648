#!/usr/bin/env python3
"""Line and toggle coverage of rtl/ from the benches of a coverage build (`make coverage`,
docs/coverage.md). Writes <out>/coverage.json and <out>/coverage.md.

In a coverage build every Verilated model writes its counts at final() into its process's file,
<build>/coverage/<program>-<pid>.dat (tb/common/coverage.cpp). This script lets verilator_coverage do
the counting: it merges the files (--write), splits the merged points by kind (line: pages v_line/
and v_branch/; toggle: v_toggle/), and has verilator_coverage annotate each kind (--annotate
--annotate-all --annotate-min 1) and write it as lcov (--write-info). Per RTL file it then reads:
  lines     lcov DA records: lines hit / lines with a point, a line counting as hit when every point
            on it was (the tool gives a line with a branch never taken the count 0); for toggles,
            the lines that declare signals
  points    the annotation's entries (a statement or branch of a line; for toggles, one signal,
            counted toggled when any of its bits changed in any instance): entries not marked '%' /
            entries, the numbers of the tool's own "Total coverage (hit/points)" line
  uncovered every line the line annotation marks '%', with its source text (for toggles, the
            signals never toggled)
  bits      toggles only, the one count made here, since the tool gives no per-bit figure: bits
            of the merged points (file, line, column, signal[bit]) toggled in any instance / bits
and checks its reading against the tool: the per-file points add up to the tool's total, and the
'%' lines are exactly the lcov lines with count 0. The formats are Verilator 5.006's; the fixture
test (tests/coverage/check.py, CTest coverage_script) fails when they change.

  python3 scripts/coverage.py --data build-cov/coverage --out build/reports
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import rtl_files  # noqa: E402

TOOL = "verilator_coverage"
KINDS = {"line": ("v_line/", "v_branch/"), "toggle": ("v_toggle/",)}
PAGE = "\x01page\x02"
NEXT_POINT = "verilator_coverage: (next point on previous line)"


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"coverage: {' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def kind_of(point_line):
    """The kind of one "C '<key>' <hits>" line of a coverage file, by its page key."""
    start = point_line.find(PAGE)
    if start < 0:
        return None
    page = point_line[start + len(PAGE):]
    return next((k for k, prefixes in KINDS.items() if page.startswith(prefixes)), None)


def toggle_bits(points):
    """{file: (bits, bits toggled)} from merged toggle points: one bit is one "C '<key>' <hits>" line
    without its instance (h) and module page, so a bit counts toggled when it changed in any
    instance or parameter set. verilator_coverage reports no per-bit figure (its annotation counts
    a signal toggled when any of its bits did); this is the one count the script makes itself."""
    bits = {}
    for line in points:
        key, hits = line[3:].rsplit("' ", 1)
        fields = dict(f.split("\x02", 1) for f in key.split("\x01") if "\x02" in f)
        bit = (fields["l"], fields.get("n"), fields.get("o"))
        seen = bits.setdefault(report_name(fields["f"]), {})
        seen[bit] = seen.get(bit, False) or int(hits) > 0
    return {f: (len(b), sum(b.values())) for f, b in bits.items()}


def read_lcov(path):
    """{source file: {line: count}} from the DA records of an lcov file."""
    files, current = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("SF:"):
            current = files.setdefault(line[3:], {})
        elif line.startswith("DA:"):
            lineno, count = line[3:].split(",")[:2]
            current[int(lineno)] = int(count)
    return files


def read_annotation(path):
    """{line: (entries, entries marked '%', source text)} of one file annotated by verilator_coverage
    5.006: a source line is "\\t<text>" (no point) or "[ %]<count>\\t<text>" (its first entry),
    followed by one "[ %]<count>\\t<indent>verilator_coverage: (next point on previous line)" line
    (and an empty line) for each further entry."""
    lines, lineno = {}, 0
    for row in path.read_text().splitlines()[1:]:  # the first row is the tool's header
        m = re.match(r"([ %])(\d+)\t(.*)", row)
        if m and m.group(3).strip() == NEXT_POINT:
            entries, missed, text = lines[lineno]
            lines[lineno] = (entries + 1, missed + (m.group(1) == "%"), text)
        elif m:
            lineno += 1
            lines[lineno] = (1, int(m.group(1) == "%"), m.group(3))
        elif row.startswith("\t"):
            lineno += 1
    return lines


def report_name(path):
    p = Path(path)
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def measure(kind, dat, work):
    """{file: {lines, lines_hit, points, points_hit, uncovered}} of one kind, from the tool."""
    ann = work / f"annotate-{kind}"
    shutil.rmtree(ann, ignore_errors=True)
    out = run([TOOL, "--annotate", str(ann), "--annotate-all", "--annotate-min", "1", str(dat)])
    m = re.search(r"Total coverage \((\d+)/(\d+)\)", out)
    if not m:
        sys.exit(f"coverage: no total in {TOOL}'s output:\n{out}")
    total_hit, total = int(m.group(1)), int(m.group(2))
    # --write-info on its own: in 5.006 it adds the counts a second time when given with --annotate.
    info = work / f"{kind}.info"
    run([TOOL, "--write-info", str(info), str(dat)])
    result = {}
    for source, da in read_lcov(info).items():
        annotated = read_annotation(ann / Path(source).name)
        uncovered = [{"line": n, "text": t.rstrip()} for n, (_, missed, t) in sorted(annotated.items())
                     if missed]
        if {u["line"] for u in uncovered} != {n for n, c in da.items() if c == 0}:
            sys.exit(f"coverage: {source}: the annotation's '%' lines differ from lcov's 0 lines")
        points = sum(e for e, _, _ in annotated.values())
        result[report_name(source)] = {
            "lines": len(da), "lines_hit": sum(1 for c in da.values() if c > 0),
            "points": points, "points_hit": points - sum(m for _, m, _ in annotated.values()),
            "uncovered": uncovered}
    if (sum(r["points_hit"] for r in result.values()), sum(r["points"] for r in result.values())) \
            != (total_hit, total):
        sys.exit(f"coverage: {kind} points per file do not add up to the tool's {total_hit}/{total}")
    return result


def pct(hit, n):
    return f"{100.0 * hit / n:.1f}%" if n else "-"


def rtl_sources():
    """Every file of every block's file list (rtl/*.f), as the report names them."""
    files = []
    for listfile in sorted((ROOT / "rtl").glob("*.f")):
        files += [report_name(f) for f in rtl_files.expand(listfile) if report_name(f) not in files]
    return sorted(files)


def markdown(report):
    def cells(ln, tg):
        ln = ln or {"lines": 0, "lines_hit": 0}
        tg = tg or {"points": 0, "points_hit": 0, "bits": 0, "bits_hit": 0}
        return [pct(ln["lines_hit"], ln["lines"]), f"{ln['lines_hit']} / {ln['lines']}",
                pct(tg["points_hit"], tg["points"]), f"{tg['points_hit']} / {tg['points']}",
                pct(tg["bits_hit"], tg["bits"]), f"{tg['bits_hit']} / {tg['bits']}",
                str(ln["lines"] - ln["lines_hit"])]

    rows = [
        "# Coverage of rtl/ by the smoke benches",
        "",
        f"`make coverage`: {report['data_files']} coverage files (one per test process) merged by "
        f"verilator_coverage. Line: lines whose every point was hit / lines with a point. Toggle: "
        f"signals toggled (any bit, any instance) / signals, as verilator_coverage counts them; "
        f"bits: bits toggled (any instance) / bits. docs/coverage.md explains the figures.",
        "",
        "| file | line | lines hit / lines | toggle | signals | toggle bits | bits | uncovered lines |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in report["files"]:
        if "line" not in f and "toggle" not in f:
            rows.append(f"| {f['file']} | no points | | | | | | |")
        else:
            rows.append("| " + " | ".join([f["file"], *cells(f.get("line"), f.get("toggle"))]) + " |")
    total = cells(report["total"]["line"], report["total"]["toggle"])
    rows.append("| **rtl/** | " + " | ".join(f"**{c}**" if i in (0, 2, 4) else c
                                             for i, c in enumerate(total)) + " |")
    rows += ["", "## Uncovered lines", ""]
    for f in report["files"]:
        for u in (f.get("line") or {}).get("uncovered", []):
            rows.append(f"- `{f['file']}:{u['line']}` `{u['text'].strip()}`")
    return "\n".join(rows) + "\n"


def collect(dats, work, sources, prefix="rtl/"):
    """The report of the coverage files `dats`: every file of `sources` and every measured file
    under `prefix`, each with its line and toggle figures, and the totals over them."""
    work.mkdir(parents=True, exist_ok=True)
    merged = work / "merged.dat"
    run([TOOL, "--write", str(merged), *map(str, dats)])
    by_kind = {k: [] for k in KINDS}
    for line in merged.read_text().splitlines()[1:]:
        k = kind_of(line)
        if k:
            by_kind[k].append(line)
    measured = {}
    for kind, points in by_kind.items():
        dat = work / f"{kind}.dat"
        dat.write_text("# SystemC::Coverage-3\n" + "".join(p + "\n" for p in points))
        measured[kind] = measure(kind, dat, work) if points else {}
    for name, (n, hit) in toggle_bits(by_kind["toggle"]).items():
        measured["toggle"][name].update(bits=n, bits_hit=hit)

    names = sorted(set(sources) | {n for m in measured.values() for n in m if n.startswith(prefix)})
    files = [{"file": n, **{k: measured[k][n] for k in KINDS if n in measured[k]}} for n in names]
    counts = {"line": ("lines", "lines_hit", "points", "points_hit"),
              "toggle": ("lines", "lines_hit", "points", "points_hit", "bits", "bits_hit")}
    total = {k: {key: sum(f[k][key] for f in files if k in f) for key in counts[k]} for k in KINDS}
    return {"data_files": len(dats), "total": total, "files": files}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder of the benches' .dat files")
    ap.add_argument("--out", required=True, help="folder for coverage.json and coverage.md")
    ap.add_argument("--work", help="folder for the merged data and annotations (default: <data>-work)")
    args = ap.parse_args()
    data = Path(args.data)
    dats = sorted(data.glob("*.dat"))
    if not dats:
        sys.exit(f"coverage: no .dat files in {data} (a build with -DWS_COVERAGE=ON writes them)")
    work = Path(args.work) if args.work else data.parent / (data.name + "-work")
    report = collect(dats, work, rtl_sources())

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "coverage.md").write_text(markdown(report))
    t = report["total"]
    print(f"coverage: {len(dats)} data files; rtl/ line {pct(t['line']['lines_hit'], t['line']['lines'])}"
          f" ({t['line']['lines_hit']}/{t['line']['lines']} lines), toggle "
          f"{pct(t['toggle']['points_hit'], t['toggle']['points'])} of signals, "
          f"{pct(t['toggle']['bits_hit'], t['toggle']['bits'])} of bits; {out}/coverage.md")
    for f in report["files"]:
        if "line" in f or "toggle" in f:
            ln, tg = f.get("line", {}), f.get("toggle", {})
            print(f"  {f['file']:28} line {pct(ln.get('lines_hit', 0), ln.get('lines', 0)):>6}"
                  f"  toggle {pct(tg.get('points_hit', 0), tg.get('points', 0)):>6}"
                  f"  bits {pct(tg.get('bits_hit', 0), tg.get('bits', 0)):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
