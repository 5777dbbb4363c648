#!/usr/bin/env bash
# Prints the path of the real English text that perplexity, KL and pruning calibration use
# (docs/llm.md, "Evaluation on real text"): the quotations of Debian's fortunes-min package
# (/usr/share/games/fortunes/literature, installed by `make deps`). CMake runs this once and hands the
# path to the tests as WS_EVAL_TEXT; scripts that need the text call it too.
set -euo pipefail
path=/usr/share/games/fortunes/literature
if [ ! -f "$path" ]; then
  echo "error: $path is missing (the Debian package fortunes-min; run make deps)" >&2
  exit 1
fi
echo "$path"
