#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs, or continues, every full-length experiment of both papers, in the order the results documents need
# them. Every command reuses finished runs and continues stopped ones from their checkpoints, so after an
# interruption (Ctrl-C, a reboot, the end of a working day) the same command picks up where it stopped.
#
#   scripts/full-length-runs.sh [STEP...]      steps: fig3 guerguiev68 fig2 guerguiev-all (default: all, in order)
#
# Environment: APICAL (default build/release/apical), OUT (default reproduce), JOBS (trainings at once, default 2),
# NICE (default 10). Core time on the 2-core development machine (docs/results-*.md): fig3 ~8 h, guerguiev68 ~9 h,
# fig2 ~3 h per network, guerguiev-all ~14 h more.
set -euo pipefail
apical=${APICAL:-build/release/apical}
out=${OUT:-reproduce}
jobs=${JOBS:-2}
niceness=${NICE:-10}
steps=("$@")
((${#steps[@]})) || steps=(fig3 guerguiev68 fig2 guerguiev-all)

run() {
  echo "+ $*" >&2
  nice -n "$niceness" "$apical" "$@"
}

for step in "${steps[@]}"; do
  case $step in
  fig3) # Sacramento et al. Fig 3 / MNIST: every condition, seeds 1-3, 100 epochs each, mean +- SD.
    run reproduce sacramento2018 --figure 3 --seeds 3 --jobs "$jobs" --out "$out/sacramento2018" ;;
  guerguiev68) # Guerguiev et al. Figs 6B and 8 (and 5B/C, 6C from the same runs): 60 epochs, 20 repeated tests.
    run reproduce guerguiev2017 --figure 5 --figure 6 --figure 6c --figure 8 --jobs "$jobs" --out "$out/guerguiev2017" ;;
  fig2) # Sacramento et al. Fig 2, time-compressed x10 (10^6 trials = the 10^7 of the paper's axis).
    run reproduce sacramento2018 --figure 2 --speedup 10 --trials 1000000 --jobs "$jobs" --out "$out/sacramento2018-fig2" ;;
  guerguiev-all) # Every other figure of Guerguiev et al. (5S1, 6S1, 7, 7B/C, 8S1, 9) at the paper's lengths.
    run reproduce guerguiev2017 --all --jobs "$jobs" --out "$out/guerguiev2017" ;;
  *)
    echo "full-length-runs: unknown step '$step'; valid: fig3 guerguiev68 fig2 guerguiev-all" >&2
    exit 2 ;;
  esac
done
