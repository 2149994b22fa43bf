#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Validation-split tuning for the Sacramento et al. (2018) MNIST runs (docs/models/dendritic-microcircuits.md,
# "Tuning"). Reads lines "label | config | --set overrides..." from a file (or stdin), trains each with the
# given overrides for a short budget and appends the validation errors to a CSV. The test set is never used:
# every run has test.examples=0, so no test error is even computed.
#
#   scripts/tune-sacramento2018.sh grid.txt results.csv [extra --set overrides for every run]
set -euo pipefail
grid=$1; out=$2; shift 2
apical=${APICAL:-build/release/apical}
runs=${TUNE_RUNS:-/tmp/apical-tune}
mkdir -p "$runs"
[ -f "$out" ] || echo "label,config,overrides,epoch,train_error_pct,validation_error_pct,apical_rms,wall_s" > "$out"
while IFS='|' read -r label config overrides; do
  label=$(echo "$label" | xargs); config=$(echo "$config" | xargs)
  [ -z "$label" ] || [ "${label:0:1}" = "#" ] && continue
  sets=()
  for o in $overrides "$@"; do sets+=(--set "$o"); done
  nice "$apical" train "$config" --out "$runs/$label" --overwrite --quiet "${sets[@]}" \
    --set test.examples=0 --set training.save_epoch_weights=false </dev/null >/dev/null
  tail -n +3 "$runs/$label/metrics.csv" | while IFS=, read -r epoch tr loss val test ap wall eps; do
    echo "$label,$config,\"$(echo $overrides "$@")\",$epoch,$tr,$val,$ap,$wall" >> "$out"
  done
  tail -n 1 "$out"
done < "$grid"
