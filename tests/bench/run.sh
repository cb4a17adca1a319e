#!/usr/bin/env bash
# tests/bench/run.sh: the end-to-end benchmark of issue 11, one command.
#
#   tests/bench/run.sh [--server prosody|ejabberd|both] [--quick]
#                      [--reps R] [--duration S] [--levels "20x1 50x4"]
#                      [--workloads "get register ..."] [--no-direct]
#                      [--instances "1 2 3"] [--out DIR] [--keep]
#
# Starts, as the harness does (tests/harness: the unprivileged user
# registrar-test, free loopback ports), a throwaway PostgreSQL and the XMPP
# server(s); then three systems on their own component JIDs:
#   echo       tests/bench/echo_component (C, answers every iq at once):
#              the ceiling
#   slixmpp    tests/bench/slixmpp_peer.py (slixmpp's XEP-0077 plugin, an
#              in-memory store): what a user might pick instead
#   registrar  $REGISTRAR_BIN (default build/registrar, else build/bench/
#              registrar), two services: reg.localhost (first/last/email)
#              and regpw.localhost (username/password/email, bcrypt cost
#              $BENCH_HASH_COST, default 10)
# creates the accounts in band (bench1..bench50, benchping), and for each
# workload and level runs the three systems alternated, R repetitions
# (tests/bench/bench.py); then direct mode (the load generator as the
# XEP-0114 server) beside pgbench on the same cluster, alternated too; then
# prints the table, the medians and every ratio of the targets, with the
# date and the machine.  Stops everything it started, by PID, on exit.
#
#   --quick      one level (50x4), one repetition, 2 s per run
#   --instances "1 2 3"
#                ejabberd only: instead of the three systems, registrar
#                with 1, 2, 3 ... processes on one component JID each
#                (regN.localhost; for N >= 2 ejabberd's domain_balancing
#                bare_source with component_number N, tests/harness/
#                ejabberd.sh), alternated with the echo component, on
#                the "register" workload at every level; prints each as
#                a ratio to one instance, with the CPU seconds of every
#                registrar process, of ejabberd (beam.smp), PostgreSQL
#                and the load generator during the runs (doc/operating.md "Scaling
#                and high availability")
#   --out DIR    keep results.jsonl and report.txt in DIR
#   --keep       keep the work directory (logs, configs)
#
# Environment: REGISTRAR_BIN, BENCH_BUILD (where loadgen & co are built;
# default build/bench, built there when missing), BENCH_HASH_COST,
# BENCH_PGBENCH_CLIENTS (2), BENCH_WORKDIR (default: a new
# /tmp/bench-run.XXXXXX, removed after a complete run unless --keep).
# Needs root (it creates and switches to registrar-test), postgresql-15
# with postgresql-contrib (pgbench), prosody and/or ejabberd,
# python3-slixmpp, python3-yaml (ejabberd); exit 77 when a package is
# missing. The servers, the registrar processes (configs from
# tests/fixtures/bench.conf and bench_pw.conf) and their start, wait and
# stop are tests/harness/suite.sh's, as for the other suites.
# A benchmark: it prints figures and asserts nothing.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench}
if [ -z "${REGISTRAR_BIN:-}" ]; then
    if [ -x "$ROOT/build/registrar" ]; then
        REGISTRAR_BIN=$ROOT/build/registrar
    else
        REGISTRAR_BIN=$BENCH_BUILD/registrar
    fi
fi
# shellcheck source=tests/harness/suite.sh
. "$ROOT/tests/harness/suite.sh"
BENCH=$ROOT/tests/bench

# the servers log at their quietest useful level: a debug log of every
# stanza would be what the benchmark measures
export PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-warn}
export EJABBERD_LOG_LEVEL=${EJABBERD_LOG_LEVEL:-warning}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SERVERS=prosody
QUICK=0
REPS=3
DURATION=5
WARMUP=1
LEVELS="20x1 50x4 50x16"
WORKLOADS="get register update password remove mix"
DIRECT=1
OUT=
KEEP=0
HASH_COST=${BENCH_HASH_COST:-10}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-2}
PASSWORD=bench-pw
DIRECT_LEVELS=
INSTANCES=

usage()
{
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 64
}

while [ $# -gt 0 ]; do
    case $1 in
    --server) SERVERS=$2; shift ;;
    --quick) QUICK=1 ;;
    --reps) REPS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --levels) LEVELS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --no-direct) DIRECT=0 ;;
    --instances) INSTANCES=$2; shift ;;
    --out) OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
    shift
done
[ "$SERVERS" = both ] && SERVERS="prosody ejabberd"
if [ -n "$INSTANCES" ]; then
    # Prosody accepts one connection per component JID
    [ "$SERVERS" = ejabberd ] || {
        echo "bench: --instances needs --server ejabberd" >&2
        exit 64
    }
    for n in $INSTANCES; do
        case $n in
        [1-9]) ;;
        *) echo "bench: --instances: '$n' is not 1 to 9" >&2; exit 64 ;;
        esac
        # shellcheck disable=SC2086  # a list
        [ "$(printf '%s\n' $INSTANCES | grep -c -x "$n")" = 1 ] || {
            echo "bench: --instances: $n given twice" >&2
            exit 64
        }
    done
fi
if [ "$QUICK" = 1 ]; then
    LEVELS="50x4"
    REPS=1
    DURATION=2
    WARMUP=0.5
fi
DIRECT_LEVELS=${BENCH_DIRECT_LEVELS:-$( [ "$QUICK" = 1 ] && echo 50x4 || echo "50x4 50x16")}

# ---------------------------------------------------------------- binaries

LOADGEN=$BENCH_BUILD/tests/bench/loadgen
ECHO_BIN=$BENCH_BUILD/tests/bench/echo_component
HASH_BIN=$BENCH_BUILD/tests/bench/bench_hash
# always brought up to date (a stale binary would be measured otherwise)
echo "bench: building in $BENCH_BUILD" >&2
{ [ -f "$BENCH_BUILD/CMakeCache.txt" ] ||
    cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >/dev/null; } && cmake --build "$BENCH_BUILD" -j "$(nproc)" --target \
    registrar loadgen echo_component bench_hash >/dev/null ||
    { echo "bench: build failed" >&2; exit 1; }

# root, the registrar binary, the tools (exit 77 when one is missing), the
# work directory and the trap that stops everything started here
# shellcheck disable=SC2086  # a list
set -- $SERVERS
suite_init BENCH "$1" "$PGBIN/initdb" "$PGBIN/pgbench" "$PGBIN/psql" --
SUITE_KEEP=$KEEP

# ---------------------------------------------------------------- start

S_REG=$(suite_secret) S_REGPW=$(suite_secret) S_ECHO=$(suite_secret)
S_SLIX=$(suite_secret) S_SLIXPW=$(suite_secret)

suite_start_pg

HASH_MS=$("$HASH_BIN" 1 "$HASH_COST" | sed -n "s/^ *cost *$HASH_COST: *\([0-9.]*\) ms.*/\1/p")
[ -n "$HASH_MS" ] || HASH_MS=0
say "one bcrypt hash at cost $HASH_COST: $HASH_MS ms (bench_hash)"

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
json_list()
{
    local first=1 x
    printf '['
    for x in "$@"; do
        [ "$first" = 1 ] || printf ','
        printf '"%s"' "$x"
        first=0
    done
    printf ']'
}
# shellcheck disable=SC2086
LEVELS_JSON=$(json_list $LEVELS)
# shellcheck disable=SC2086
WORKLOADS_JSON=$(json_list $WORKLOADS)
# shellcheck disable=SC2086
DIRECT_LEVELS_JSON=$(json_list $DIRECT_LEVELS)
MAX_SESSIONS=0
for l in $LEVELS $DIRECT_LEVELS; do
    n=${l%x*}
    [ "$n" -gt "$MAX_SESSIONS" ] && MAX_SESSIONS=$n
done

# start_server SERVER JID SECRET ...: SERVER (tests/harness/SERVER.sh) in
# $WORK/SERVER with those components; SERVER_PID
start_server()
{
    suite_use_server "$1" "$WORK/$1"
    shift
    suite_start_xmpp "$@"
    SERVER_PID=$(sed -n 's/^\(PROSODY\|EJABBERD\)_PID=//p' "$XMPP_DIR/env")
}

# stop_server: what runs on it, then the server
stop_server()
{
    suite_stop_all
    suite_stop_xmpp
}

# start_peer NAME JID SECRET PORT [FIELDS]: the echo component (NAME
# echo-*) or the slixmpp peer (the others) on component port PORT; its pid
# in SPAWNED
start_peer()
{
    local name=$1 jid=$2 secret=$3 port=$4
    case $name in
    echo*) suite_spawn "$name" "$ECHO_BIN" "$ECHO_BIN" 127.0.0.1 "$port" \
               "$jid" "$secret" ;;
    *)     suite_spawn "$name" slixmpp_peer.py "$PY" "$BENCH/slixmpp_peer.py" \
               127.0.0.1 "$port" "$jid" "$secret" ${5:+"$5"} ;;
    esac
}

# create_accounts: bench1..benchN and benchping, in band, through echo
create_accounts()
{
    say "creating $MAX_SESSIONS accounts and benchping in band"
    timeout 120 "$LOADGEN" --port "$XMPP_C2S_PORT" --to echo.localhost \
        --sessions "$MAX_SESSIONS" --password "$PASSWORD" \
        --ping-to echo.localhost --register-accounts --setup-only ||
        { say "cannot create the accounts"; exit 1; }
}

# json_head [SERVER], json_tail: the parts of bench.py's input every mode
# shares (through SERVER, when one runs)
json_head()
{
    printf '{"loadgen": "%s",' "$LOADGEN"
    [ -z "${1:-}" ] || printf ' "c2s_port": %s, "server": "%s",
 "server_pid": %s, "password": "%s",' "$XMPP_C2S_PORT" "$1" "$SERVER_PID" \
        "$PASSWORD"
    printf '
 "pg": {"pid": %s, "port": %s, "psql": "%s",
        "pgbench": "%s"},\n' "$PG_PID" "$PGPORT" "$PGBIN/psql" "$PGBIN/pgbench"
}
json_tail()
{
    printf ' "duration": %s, "warmup": %s, "results": "%s",
 "pgbench_clients": %s}\n' "$DURATION" "$WARMUP" "$RESULTS" "$PGBENCH_CLIENTS"
}

# instances_c2s SERVER: --instances through SERVER (ejabberd): the echo
# component and, for each N of $INSTANCES, N registrar processes on
# regN.localhost (domain_balancing bare_source, component_number N, when
# N >= 2); bench.py instances alternates them on the register workload.
instances_c2s()
{
    local server=$1 n i comps=() balance="" systems pids
    comps=(echo.localhost "$S_ECHO")
    for n in $INSTANCES; do
        comps+=("reg$n.localhost" "$S_REG")
        [ "$n" -ge 2 ] && balance+=" reg$n.localhost=bare_source:$n"
    done
    EJABBERD_DOMAIN_BALANCING=${balance# } start_server "$server" "${comps[@]}"
    say "domain_balancing:${balance:- none}"

    start_peer "echo-$server" echo.localhost "$S_ECHO" "$XMPP_COMPONENT_PORT"
    ECHO_PID=$SPAWNED
    suite_wait_log "echo-$server" "attached as" 1 30 "$ECHO_PID" || exit 1
    systems="{\"name\": \"echo\", \"jid\": \"echo.localhost\",
    \"pw_jid\": \"echo.localhost\", \"pid\": $ECHO_PID, \"pw_pid\": $ECHO_PID}"
    for n in $INSTANCES; do
        suite_conf "registrar-x$n" bench JID="reg$n.localhost" SECRET="$S_REG"
        pids=()
        for ((i = 1; i <= n; i++)); do
            suite_registrar_start "registrar-x$n-$i" "$WORK/registrar-x$n.conf"
            pids+=("${REG_PID[registrar-x$n-$i]}")
        done
        for ((i = 1; i <= n; i++)); do
            suite_wait_log "registrar-x$n-$i" "attached to" 1 30 \
                "${pids[i - 1]}" || exit 1
        done
        systems+=",
   {\"name\": \"registrar-x$n\", \"instances\": $n,
    \"jid\": \"reg$n.localhost\", \"pw_jid\": \"reg$n.localhost\",
    \"pid\": ${pids[0]}, \"pw_pid\": ${pids[0]},
    \"pids\": [$(IFS=,; echo "${pids[*]}")]}"
    done
    create_accounts

    {
        json_head "$server"
        cat <<EOF
 "systems": [
   $systems],
 "balancing": "bare_source",
 "workloads": ["register"], "levels": $LEVELS_JSON, "reps": $REPS,
EOF
        json_tail
    } >"$WORK/instances-$server.json"
    "$PY" "$BENCH/bench.py" instances "$WORK/instances-$server.json" || exit 1
    stop_server
}

for server in $SERVERS; do
    say "=== $server"
    if [ -n "$INSTANCES" ]; then
        instances_c2s "$server"
        continue
    fi
    start_server "$server" reg.localhost "$S_REG" regpw.localhost "$S_REGPW" \
        echo.localhost "$S_ECHO" slix.localhost "$S_SLIX" \
        slixpw.localhost "$S_SLIXPW"
    suite_conf "registrar-$server" bench+bench_pw JID=reg.localhost \
        SECRET="$S_REG" PW_JID=regpw.localhost PW_SECRET="$S_REGPW" \
        HASH_COST="$HASH_COST"
    suite_registrar_start "registrar-$server"
    REGISTRAR_PID=${REG_PID[registrar-$server]}
    start_peer "echo-$server" echo.localhost "$S_ECHO" "$XMPP_COMPONENT_PORT"
    ECHO_PID=$SPAWNED
    start_peer "slix-$server" slix.localhost "$S_SLIX" "$XMPP_COMPONENT_PORT"
    SLIX_PID=$SPAWNED
    start_peer "slixpw-$server" slixpw.localhost "$S_SLIXPW" \
        "$XMPP_COMPONENT_PORT" username,password,email
    SLIXPW_PID=$SPAWNED
    # one process, two services: two attachments
    suite_wait_log "registrar-$server" "attached to" 2 30 "$REGISTRAR_PID" ||
        exit 1
    suite_wait_log "echo-$server" "attached as" 1 30 "$ECHO_PID" || exit 1
    suite_wait_log "slix-$server" "attached as" 1 30 "$SLIX_PID" || exit 1
    suite_wait_log "slixpw-$server" "attached as" 1 30 "$SLIXPW_PID" || exit 1
    create_accounts

    {
        json_head "$server"
        cat <<EOF
 "systems": [
   {"name": "echo", "jid": "echo.localhost", "pw_jid": "echo.localhost",
    "pid": $ECHO_PID, "pw_pid": $ECHO_PID},
   {"name": "slixmpp", "jid": "slix.localhost", "pw_jid": "slixpw.localhost",
    "pid": $SLIX_PID, "pw_pid": $SLIXPW_PID},
   {"name": "registrar", "jid": "reg.localhost", "pw_jid": "regpw.localhost",
    "pid": $REGISTRAR_PID, "pw_pid": $REGISTRAR_PID}],
 "workloads": $WORKLOADS_JSON, "levels": $LEVELS_JSON, "reps": $REPS,
EOF
        json_tail
    } >"$WORK/c2s-$server.json"
    "$PY" "$BENCH/bench.py" c2s "$WORK/c2s-$server.json" || exit 1
    stop_server
done

if [ "$DIRECT" = 1 ]; then
    say "=== direct mode and pgbench"
    # the load generator is the XEP-0114 server, one port per system
    D_REG=$(free_port) D_ECHO=$(free_port) D_SLIX=$(free_port)
    suite_conf registrar-direct bench JID=reg.localhost SECRET="$S_REG" \
        XMPP_PORT="$D_REG"
    suite_registrar_start registrar-direct
    REGISTRAR_PID=${REG_PID[registrar-direct]}
    start_peer echo-direct echo.localhost "$S_ECHO" "$D_ECHO"
    ECHO_PID=$SPAWNED
    start_peer slix-direct slix.localhost "$S_SLIX" "$D_SLIX"
    SLIX_PID=$SPAWNED
    {
        json_head
        cat <<EOF
 "systems": [
   {"name": "echo", "jid": "echo.localhost", "pw_jid": "echo.localhost",
    "pid": $ECHO_PID, "pw_pid": $ECHO_PID,
    "direct": {"port": $D_ECHO, "secret": "$S_ECHO"}},
   {"name": "slixmpp", "jid": "slix.localhost", "pw_jid": "slix.localhost",
    "pid": $SLIX_PID, "pw_pid": $SLIX_PID,
    "direct": {"port": $D_SLIX, "secret": "$S_SLIX"}},
   {"name": "registrar", "jid": "reg.localhost", "pw_jid": "reg.localhost",
    "pid": $REGISTRAR_PID, "pw_pid": $REGISTRAR_PID,
    "direct": {"port": $D_REG, "secret": "$S_REG"}}],
 "levels": $DIRECT_LEVELS_JSON, "reps": $REPS,
EOF
        json_tail
    } >"$WORK/direct.json"
    "$PY" "$BENCH/bench.py" direct "$WORK/direct.json" || exit 1
    suite_stop_all
fi

cat >"$WORK/meta.json" <<EOF
{"date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
 "registrar": "$("$REGISTRAR_BIN" --version 2>&1 | head -n 1) ($REGISTRAR_BIN)",
 "servers": "$SERVERS ($(dpkg-query -W -f='${Version}' prosody 2>/dev/null) / $(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null))",
 "reps": $REPS, "duration": "${WARMUP}s warm-up + ${DURATION}s measured per run",
$( [ -z "$INSTANCES" ] || echo " \"instances\": \"$INSTANCES (registrar processes per JID; ejabberd domain_balancing bare_source for N >= 2)\",")
 "hash_ms": $HASH_MS, "hash_cost": $HASH_COST,
 "pgbench_clients": $PGBENCH_CLIENTS}
EOF
"$PY" "$BENCH/bench.py" report "$WORK/meta.json" "$RESULTS" | tee "$WORK/report.txt"
if [ -n "$OUT" ]; then
    mkdir -p "$OUT" && cp "$RESULTS" "$WORK/report.txt" "$OUT/"
    say "results in $OUT"
fi
suite_end 1
