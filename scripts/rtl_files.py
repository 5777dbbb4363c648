#!/usr/bin/env python3
"""Expands an RTL file list (rtl/<block>.f): one path per line from the repository root, `-f x.f`
includes another list, `//` and `#` start comments. Each file comes once, at its first occurrence,
so lists that share files (every block reads rtl/common.f) nest freely. The same rules are
implemented for CMake in cmake/ws_rtl.cmake; synthesis (synth/run_synth.py), lint and the coverage
report read lists through this module.

  python3 scripts/rtl_files.py rtl/tans_decoder.f     prints the files, one per line
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class FileListError(Exception):
    pass


def expand(listfile, _open_lists=()):
    """The source files of a list, as absolute paths, in order, each once."""
    listfile = Path(listfile)
    if not listfile.is_absolute():
        listfile = ROOT / listfile
    if listfile in _open_lists:
        raise FileListError(f"{listfile}: includes itself (a cycle of -f)")
    if not listfile.exists():
        raise FileListError(f"{listfile} does not exist")
    files = []
    tokens = iter(re.sub(r"//.*|#.*", "", listfile.read_text()).split())
    for tok in tokens:
        if tok == "-f":
            sub = next(tokens, None)
            if sub is None:
                raise FileListError(f"{listfile}: -f without a file")
            files += expand(sub, _open_lists + (listfile,))
        elif tok.startswith(("-", "+")):
            raise FileListError(f"{listfile}: option '{tok}' is not part of the list format")
        else:
            path = ROOT / tok
            if not path.exists():
                raise FileListError(f"{listfile}: listed file '{tok}' not found")
            files.append(path.resolve())
    unique = []
    for f in files:
        if f not in unique:
            unique.append(f)
    if not unique:
        raise FileListError(f"{listfile} lists no source file")
    return unique


def main(argv):
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        for f in expand(argv[0]):
            print(f.relative_to(ROOT))
    except FileListError as e:
        print(f"rtl_files: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
