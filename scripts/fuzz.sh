#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (tests/fuzz/: fuzz_container, the .wsz reader and source
# detection; fuzz_gguf, the GGUF reader and its lossless round trip) with clang-14, ASan and UBSan in
# build-fuzz/, then fuzzes each for FUZZ_SECONDS (default 60). New inputs go to
# build-fuzz/fuzz-corpus[-gguf]/ (the checked-in seeds in tests/fuzz/corpus*/ are only read); a crash
# leaves its input in build-fuzz/fuzz-artifacts/ -- copy it into the target's corpus once fixed, so
# CTest's fuzz_replay* keep checking it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWS_FUZZ=ON -DWS_RTL=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_container fuzz_gguf

mkdir -p build-fuzz/fuzz-artifacts
for target in container gguf; do
  if [ "$target" = container ]; then corpus=build-fuzz/fuzz-corpus seeds=tests/fuzz/corpus
  else corpus=build-fuzz/fuzz-corpus-$target seeds=tests/fuzz/corpus_$target; fi
  mkdir -p "$corpus"
  echo "fuzz: running fuzz_$target for ${seconds} s"
  build-fuzz/tests/fuzz/fuzz_$target \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -dict=tests/fuzz/$target.dict -artifact_prefix=build-fuzz/fuzz-artifacts/$target- \
    "$corpus" "$seeds"
done
