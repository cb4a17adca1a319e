#!/bin/bash
# tests/unit/promtool_check.sh SAMPLER: what GET /metrics serves, with
# every series there is (SAMPLER prints it: metrics_sample.c), held to
# Prometheus' text format and its naming conventions by promtool check
# metrics (Debian's prometheus package): _total counters, base units, HELP
# on every family.  Exit 77 (skipped) when promtool is missing.
set -u -o pipefail
sampler=$1
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP: no promtool (apt-get install prometheus)"
    exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$sampler" >"$out" || { echo "$sampler failed"; exit 1; }
echo "$(grep -c '^# TYPE' "$out") families, $(grep -vc '^#' "$out") series"
# promtool prints its lint problems and exits 1 on any (or on a parse error)
if ! promtool check metrics <"$out"; then
    echo "promtool check metrics refused it:"
    cat "$out"
    exit 1
fi
echo "promtool check metrics: no problem"
