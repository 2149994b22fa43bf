#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs apical's build and test dependencies from Debian's packages. Idempotent: installs only what is
# missing, and does nothing (not even 'apt-get update') when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libeigen3-dev          # dense linear algebra (reference engine, analyses)
  libyaml-cpp-dev        # YAML experiment configs
  libcli11-dev           # command-line parsing
  libfmt-dev             # formatting (g++ 12 has no <format>)
  nlohmann-json3-dev     # meta.json, benchmark JSON
  zlib1g-dev             # gzipped IDX files
  librandom123-dev       # counter-based RNG (Philox)
  libgtest-dev libgmock-dev   # tests
  libbenchmark-dev       # micro-benchmarks
  python3 python3-numpy  # tests load the .npy output with numpy.load
  python3-matplotlib     # plots of the reproduced figures (python/apical_plots)
  python3-sklearn        # t-SNE of Fig 6C (python/apical_plots)
  git                    # the commit recorded in every run's meta.json
)
# Fashion-MNIST (30 MB) from Debian; APICAL_WITH_FASHION=0 skips it.
if [[ "${APICAL_WITH_FASHION:-1}" == "1" ]]; then
  packages+=(dataset-fashion-mnist)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
