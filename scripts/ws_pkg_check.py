#!/usr/bin/env python3
"""Ties the C++ contract (model/core/ws_pkg.hpp) to the RTL one (rtl/ws_pkg.sv).

Reads every item of the SystemVerilog package and writes a C++ file of static_asserts, one per item,
against the names of namespace ws::pkg: each localparam's value, each enum item's value, and each
packed struct's total width and every field's position and width. The model library compiles that
file, so a name missing on the C++ side or a value that differs fails the build, naming the item.

It also checks the package against itself: a localparam NAME_FIELD_LSB (the per-lane slicing
positions, see rtl/ws_pkg.sv) must equal the position of field `field` of struct `name_t`, and a
localparam NAME_BITS the width of struct `name_t`.

A function of one int, written `function automatic int NAME(input int ARG); NAME = EXPR; endfunction`
with EXPR in the subset C++ shares (names of the package, ARG, integers, + - * / ?: comparisons), is
compiled a second time as C++ and must agree with ws::pkg::NAME for every ARG in 0..64.

  python3 scripts/ws_pkg_check.py rtl/ws_pkg.sv -o build/ws_pkg_check.cpp

The package is read in the restricted style it is written in (its header says which); anything
else in it is an error here, so the check cannot silently skip an item.
"""
import argparse
import re
import sys
from pathlib import Path


class PkgError(Exception):
    pass


def sv_number(text):
    """An integer literal: 12, 3'd4, 4'h1f, 1'b0."""
    m = re.fullmatch(r"(?:(\d+)?'([dhb]))?([0-9a-fA-F_]+)", text.strip())
    if not m:
        raise PkgError(f"not a number literal: '{text}'")
    base = {"d": 10, "h": 16, "b": 2, None: 10}[m.group(2)]
    return int(m.group(3).replace("_", ""), base)


def width_of(decl):
    """Bits of `logic` or `logic [H:L]`."""
    m = re.fullmatch(r"logic\s*(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?", decl.strip())
    if not m:
        raise PkgError(f"unsupported type '{decl}' (only logic and logic [H:L])")
    if m.group(1) is None:
        return 1
    return int(m.group(1)) - int(m.group(2)) + 1


def parse(text):
    """Returns (params, enums, structs, funcs): params {name: value}; enums {type: (width, [(item, value)])};
    structs {type: [(field, lsb, width)]} with the last-declared field at bit 0; funcs {name: (arg, expr)}."""
    body = re.sub(r"//[^\n]*", "", text)
    m = re.search(r"\bpackage\s+ws_pkg\s*;(.*)\bendpackage\b", body, re.S)
    if not m:
        raise PkgError("no `package ws_pkg; ... endpackage`")
    body = m.group(1)
    params, enums, structs, funcs = {}, {}, {}, {}
    pos = 0
    item_re = re.compile(
        r"\s*(?:"
        r"localparam\s+int\s+(?P<pname>\w+)\s*=\s*(?P<pval>[^;]+);"
        r"|typedef\s+enum\s+(?P<etype>logic\s*(?:\[[^\]]*\])?)\s*\{(?P<eitems>[^}]*)\}\s*(?P<ename>\w+)\s*;"
        r"|typedef\s+struct\s+packed\s*\{(?P<sfields>[^}]*)\}\s*(?P<sname>\w+)\s*;"
        r"|function\s+automatic\s+int\s+(?P<fname>\w+)\s*\(\s*input\s+int\s+(?P<farg>\w+)\s*\)\s*;"
        r"\s*(?P<fset>\w+)\s*=\s*(?P<fexpr>[^;]+);\s*endfunction"
        r")", re.S)
    while pos < len(body):
        if not body[pos:].strip():
            break
        m = item_re.match(body, pos)
        if not m:
            snippet = body[pos:].strip().splitlines()[0]
            raise PkgError(f"unsupported item in ws_pkg: '{snippet}'")
        pos = m.end()
        if m.group("pname"):
            params[m.group("pname")] = sv_number(m.group("pval"))
        elif m.group("fname"):
            expr = " ".join(m.group("fexpr").split())
            if m.group("fset") != m.group("fname") or not re.fullmatch(r"[\w\s+\-*/?:<>=!()]+", expr):
                raise PkgError(f"function {m.group('fname')}: write it as `{m.group('fname')} = EXPR;` in plain arithmetic")
            funcs[m.group("fname")] = (m.group("farg"), expr)
        elif m.group("ename"):
            width = width_of(m.group("etype"))
            items = []
            for it in m.group("eitems").split(","):
                if not it.strip():
                    continue
                im = re.fullmatch(r"\s*(\w+)\s*=\s*([^\s]+)\s*", it)
                if not im:
                    raise PkgError(f"enum {m.group('ename')}: give every item a value: '{it.strip()}'")
                value = sv_number(im.group(2))
                if value >= 1 << width:
                    raise PkgError(f"enum {m.group('ename')}: {im.group(1)} = {value} needs more than {width} bits")
                items.append((im.group(1), value))
            enums[m.group("ename")] = (width, items)
        else:
            fields = []
            for decl in m.group("sfields").split(";"):
                if not decl.strip():
                    continue
                fm = re.fullmatch(r"\s*(logic\s*(?:\[[^\]]*\])?)\s*(\w+)\s*", decl)
                if not fm:
                    raise PkgError(f"struct {m.group('sname')}: unsupported field '{decl.strip()}'")
                fields.append((fm.group(2), width_of(fm.group(1))))
            lsb, placed = 0, []
            for name, width in reversed(fields):
                placed.append((name, lsb, width))
                lsb += width
            structs[m.group("sname")] = list(reversed(placed))
    return params, enums, structs, funcs


def self_check(params, structs):
    for name, value in params.items():
        for sname, fields in structs.items():
            stem = sname[:-2].upper() if sname.endswith("_t") else sname.upper()
            if name == f"{stem}_BITS":
                total = sum(w for _, _, w in fields)
                if value != total:
                    raise PkgError(f"{name} = {value}, but {sname} is {total} bits")
            for fname, lsb, _ in fields:
                if name == f"{stem}_{fname.upper()}_LSB" and value != lsb:
                    raise PkgError(f"{name} = {value}, but field {fname} of {sname} starts at bit {lsb}")


def emit(params, enums, structs, funcs, source):
    out = [f"// Generated by scripts/ws_pkg_check.py from {source}: do not edit. Every item of the RTL",
           "// package must exist in ws::pkg (model/core/ws_pkg.hpp) with the same value.",
           "#include <type_traits>", "", '#include "core/ws_pkg.hpp"', ""]

    def check(expr, what):
        out.append(f'static_assert({expr}, "ws_pkg.sv and ws_pkg.hpp differ: {what}");')

    for name, value in params.items():
        check(f"ws::pkg::{name} == {value}", f"{name} = {value}")
    for ename, (width, items) in enums.items():
        check(f"ws::pkg::{ename}_bits == {width}", f"{ename} is {width} bits")
        for item, value in items:
            check(f"ws::pkg::{item} == {value} && "
                  f"std::is_same_v<decltype(ws::pkg::{item}), ws::pkg::{ename}>", f"{ename}::{item} = {value}")
    for sname, fields in structs.items():
        total = sum(w for _, _, w in fields)
        check(f"ws::pkg::{sname}::BITS == {total}", f"{sname} is {total} bits")
        for fname, lsb, width in fields:
            check(f"ws::pkg::{sname}::{fname}.lsb == {lsb} && ws::pkg::{sname}::{fname}.bits == {width}",
                  f"{sname}.{fname} is bits [{lsb + width - 1}:{lsb}]")
    for fname, (arg, expr) in funcs.items():
        out.append(f"namespace ws_pkg_sv {{ constexpr int {fname}(int {arg}) {{ using namespace ws::pkg; return {expr}; }} }}")
        check(" && ".join(f"ws_pkg_sv::{fname}({a}) == ws::pkg::{fname}({a})" for a in range(65)),
              f"function {fname}")
    out.append(f"// {len(params)} localparams, {len(enums)} enums, {len(structs)} structs, {len(funcs)} functions.")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", help="rtl/ws_pkg.sv")
    ap.add_argument("-o", "--out", required=True, help="the C++ file to write")
    args = ap.parse_args(argv)
    try:
        params, enums, structs, funcs = parse(Path(args.package).read_text())
        self_check(params, structs)
    except (PkgError, OSError) as e:
        print(f"ws_pkg_check: {args.package}: {e}", file=sys.stderr)
        return 1
    text = emit(params, enums, structs, funcs, "rtl/ws_pkg.sv")
    out = Path(args.out)
    if not out.exists() or out.read_text() != text:  # unchanged output: no rebuild
        out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
