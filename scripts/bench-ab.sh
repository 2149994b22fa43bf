#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A/B comparison of Google Benchmark kernels between builds on a noisy machine: runs the binaries in turn, N rounds,
# and prints the median and minimum CPU time of every benchmark per binary (alternating spreads the machine's
# load over all of them alike).
#
#   scripts/bench-ab.sh FILTER N BINARY...
#   e.g. scripts/bench-ab.sh 'BM_TrainExample/spiking_500_10$' 9 /tmp/bench-old build/release/bench/apical_bench_kernels
#
# Run it from the source tree so that the kernels find the MNIST files.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 FILTER ROUNDS BINARY..." >&2
  exit 2
fi
filter=$1
rounds=$2
shift 2
for b in "$@"; do
  [[ -x $b ]] || { echo "$0: $b is not an executable benchmark binary" >&2; exit 2; }
done
for _ in $(seq "$rounds"); do
  for b in "$@"; do
    "$b" --benchmark_filter="$filter" --benchmark_min_time=0.5 --benchmark_format=csv 2>/dev/null |
      grep '^"BM' | awk -F, -v b="$b" '{print b, $1, $4, $5}'
  done
done | /usr/bin/python3 -c '
import collections, statistics, sys
times = collections.defaultdict(list)
unit = {}
for line in sys.stdin:
    binary, name, cpu, u = line.split()
    times[(name.strip("\"")), binary].append(float(cpu))
    unit[name.strip("\"")] = u.strip("\"")
for (name, binary) in sorted(times):
    t = times[(name, binary)]
    print(f"{name:45s} {binary:50s} median {statistics.median(t):.4g} {unit[name]}  min {min(t):.4g}  n {len(t)}")
'
