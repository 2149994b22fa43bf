#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Keeps the small files of finished runs in the repository, so that results and reports survive the machine
# they were computed on: config.yaml, meta.json, metrics.csv / metrics.json and tests/*.csv (the repeated tests
# of the final weights). Weights and checkpoints are left out (megabytes each).
#
#   scripts/archive-run.sh DEST RUN_FOLDER...      e.g. scripts/archive-run.sh docs/results/runs/guerguiev2017 runs/*
#
# A run copied back into a reproduce folder (cp -r DEST/NAME reproduce/guerguiev2017/runs/) is reused by
# `apical reproduce`, which then writes its CSVs, t-tests and report without retraining (it needs the weights
# only for analyses of the final network: Figs 5B/C, 6C, 7B/C). Tested: Cli.ReproduceFigure6WritesEveryFileAndReusesRuns.
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 DEST RUN_FOLDER..." >&2
  exit 2
fi
dest=$1
shift
for run in "$@"; do
  if [[ ! -f "$run/meta.json" || ! -f "$run/config.yaml" ]]; then
    echo "archive-run: $run: not a run folder (no meta.json / config.yaml)" >&2
    exit 1
  fi
  out="$dest/$(basename "$run")"
  mkdir -p "$out"
  for f in config.yaml meta.json metrics.csv metrics.json; do
    [[ -f "$run/$f" ]] && cp "$run/$f" "$out/$f"
  done
  if compgen -G "$run/tests/*.csv" >/dev/null; then
    mkdir -p "$out/tests"
    cp "$run"/tests/*.csv "$out/tests/"
  fi
  echo "archived $run -> $out ($(sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p' "$run/meta.json" | head -1))"
done
