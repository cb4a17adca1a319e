#!/usr/bin/env bash
# tests/bench/cache_rss.sh: registrar's resident memory with its read cache
# at its cap (issue 19: "RSS flat within 1 MB once warm, the cache at its
# cap included").
#
#   tests/bench/cache_rss.sh [--entries N] [--seconds S] [--sessions N]
#
# A throwaway PostgreSQL (tests/harness/pg.sh, fsync off: memory, not
# durability, is measured), registrar ($REGISTRAR_BIN, default
# build/bench/registrar) with tests/fixtures/bench.conf and
# limits { cache_entries = N } (default 2000), in direct mode under the
# load generator's register workload: every set a fresh JID, so every
# registration is written through into the cache, which reaches its cap
# within seconds and then evicts one entry per registration.  VmRSS is
# read every second; prints each reading, the cache's entries and
# evictions (GET /metrics) at the end, and the drift: the highest
# reading of the last third of the run minus the highest of the first
# third once warm (the first two seconds left out).  Exit 0 when the
# drift is within 1 MB, 1 otherwise.  Stops what it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
entries=2000 seconds=30 sessions=50
while [ $# -gt 0 ]; do
    case $1 in
    --entries) entries=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    *) sed -n '2,20p' "$0" >&2; exit 64 ;;
    esac
    shift
done
BIN=${REGISTRAR_BIN:-$root/build/bench/registrar}
LOADGEN=${BENCH_BUILD:-$root/build/bench}/tests/bench/loadgen
PY=/usr/bin/python3
[ -x "$BIN" ] && [ -x "$LOADGEN" ] || {
    echo "cache_rss: build registrar and loadgen first (build/bench)" >&2
    exit 69
}
work=$(mktemp -d /tmp/cache-rss.XXXXXX)
chmod 755 "$work"
pids=()
cleanup()
{
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$root/tests/harness/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port()
{
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
"$root/tests/harness/pg.sh" start "$work/pg" >/dev/null
"$root/tests/harness/pg.sh" migrate "$work/pg" "$BIN" >/dev/null
# shellcheck disable=SC1091
. "$work/pg/env"
xport=$(free_port) mport=$(free_port) secret=cache-rss-$$
SUITE_WORK=$work XMPP_COMPONENT_PORT=$xport XMPP_DOMAIN=localhost \
    REGISTRAR_CONNINFO=$REGISTRAR_CONNINFO \
    $PY "$root/tests/harness/registrar.py" conf bench JID=reg.localhost \
    SECRET="$secret" LOG_LEVEL=warn \
    METRICS="metrics { listen = \"127.0.0.1:$mport\" }" |
    sed "s/inflight_per_jid = 64/inflight_per_jid = 64\n        cache_entries = $entries/" \
        >"$work/registrar.conf"
grep -q "cache_entries = $entries" "$work/registrar.conf"
"$LOADGEN" --direct "$xport" "$secret" reg.localhost --sessions "$sessions" \
    --window 4 --workload register --duration "$seconds" --warmup 1 \
    --tag "rss$$" >"$work/loadgen.out" 2>&1 &
lg=$!
pids+=("$lg")
sleep 0.3
"$BIN" -c "$work/registrar.conf" >"$work/registrar.log" 2>&1 &
rp=$!
pids+=("$rp")
rss=()
for ((i = 0; i < seconds; i++)); do
    sleep 1
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$rp/status" 2>/dev/null) || {
        echo "cache_rss: registrar exited" >&2
        cat "$work/registrar.log" >&2
        exit 1
    }
    rss+=("$kb")
done
metrics=$($PY -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$mport/metrics', timeout=5).read().decode())")
wait "$lg" || true
echo "registrar RSS with limits { cache_entries = $entries }, register workload, $sessions sessions x 4, $seconds s (KB, one reading a second):"
echo "  ${rss[*]}"
grep -E '^registrar_cache_(entries|max_entries|evictions_total)' <<<"$metrics" | sed 's/^/  /'
sed -n 's/.*"ok_per_s":\([0-9.]*\).*"ok_all":\([0-9]*\).*/  registrations: \2 (\1 a second)/p' "$work/loadgen.out"
$PY - "${rss[@]}" <<'EOF'
import sys
r = [int(x) for x in sys.argv[1:]][2:]   # warm: the first two seconds out
third = max(1, len(r) // 3)
first, last = max(r[:third]), max(r[-third:])
drift = (last - first) / 1024
print("  first third (warm) at most %.1f MB, last third at most %.1f MB: "
      "drift %+.2f MB (target within 1 MB): %s"
      % (first / 1024, last / 1024, drift,
         "MEETS" if abs(drift) <= 1 else "MISSES"))
sys.exit(0 if abs(drift) <= 1 else 1)
EOF
