#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer target of the .wsz reader (tests/fuzz/) with clang-14, ASan and
# UBSan in build-fuzz/, then fuzzes for FUZZ_SECONDS (default 60). New inputs go to
# build-fuzz/fuzz-corpus/ (the checked-in seeds in tests/fuzz/corpus/ are only read); a crash leaves its
# input in build-fuzz/fuzz-artifacts/ -- copy it into tests/fuzz/corpus/ once fixed, so CTest's
# fuzz_replay keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}

CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWS_FUZZ=ON -DWS_RTL=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_container

mkdir -p build-fuzz/fuzz-corpus build-fuzz/fuzz-artifacts
echo "fuzz: running fuzz_container for ${seconds} s"
build-fuzz/tests/fuzz/fuzz_container \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -dict=tests/fuzz/container.dict -artifact_prefix=build-fuzz/fuzz-artifacts/ \
  build-fuzz/fuzz-corpus tests/fuzz/corpus
