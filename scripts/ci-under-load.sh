#!/usr/bin/env bash
# The suite under load: runs the README's test command (`npm test`) on a fresh clone of this checkout's HEAD while
# busy loops of its own keep every core busy, then stops the load and prints the verdict and the wall time.
#
#   bash scripts/ci-under-load.sh [runs]     # default 1 run; each run is a new clone
#
# CI machines share their cores with everything the suite starts (NATS, the doppler, rsyslog, Chromium) and often
# with other jobs. A test that passes only on a quiet machine fails here; that is the point.
set -uo pipefail
top=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
runs=${1:-1}
cores=$(nproc)
loops=()
stop_load() {
  for p in "${loops[@]}"; do kill "$p" 2>/dev/null; done
  wait "${loops[@]}" 2>/dev/null
  loops=()
}
trap stop_load EXIT INT TERM

green=0
for run in $(seq 1 "$runs"); do
  work=$(mktemp -d /tmp/tailrace-load.XXXXXX)
  git clone -q "$top" "$work/main"
  # `.ci/run` expects ../shared beside the clone, as CI has it.
  [ -d "$top/../shared" ] && ln -s "$(cd "$top/../shared" && pwd)" "$work/shared"
  for _ in $(seq 1 "$cores"); do
    nice -n 10 bash -c 'while :; do :; done' &
    loops+=($!)
  done
  started=$(date +%s)
  (cd "$work/main" && npm test) >"$work/test.log" 2>&1
  rc=$?
  wall=$(($(date +%s) - started))
  stop_load
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$work/test.log" | grep -E '^ +(Test Files|Tests|Duration) ' | tr -s ' ' | tr '\n' ';')
  if [ "$rc" -eq 0 ]; then
    green=$((green + 1))
    echo "run $run/$runs: green in ${wall}s under $cores busy loops; $summary"
    rm -rf "$work"
  else
    echo "run $run/$runs: RED (exit $rc) in ${wall}s under $cores busy loops; $summary log: $work/test.log"
  fi
done
echo "$green of $runs runs green"
[ "$green" -eq "$runs" ]
