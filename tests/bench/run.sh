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
#                and the load generator during the runs (README "Scaling
#                and high availability")
#   --out DIR    keep results.jsonl and report.txt in DIR
#   --keep       keep the work directory (logs, configs)
#
# Environment: REGISTRAR_BIN, BENCH_BUILD (where loadgen & co are built;
# default build/bench, built there when missing), BENCH_HASH_COST,
# BENCH_PGBENCH_CLIENTS (2).  Needs root (it creates and switches to
# registrar-test), postgresql-15 with postgresql-contrib (pgbench),
# prosody and/or ejabberd, python3-slixmpp, python3-yaml (ejabberd).
# A benchmark: it prints figures and asserts nothing.
set -u -o pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
HARNESS=$ROOT/tests/harness
# shellcheck source=tests/harness/lib.sh
. "$HARNESS/lib.sh"

PY=/usr/bin/python3
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

say()
{
    echo "bench: $*" >&2
}

[ "$(id -u)" = 0 ] || { say "run as root (it creates and switches to $HARNESS_USER)"; exit 1; }
for tool in "$PGBIN/initdb" "$PGBIN/pgbench" "$PGBIN/psql"; do
    [ -x "$tool" ] || { say "$tool is missing (apt-get install postgresql-15 postgresql-contrib)"; exit 1; }
done
"$PY" -c 'import slixmpp' 2>/dev/null || { say "$PY has no slixmpp (apt-get install python3-slixmpp)"; exit 1; }

# ---------------------------------------------------------------- binaries

BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench}
if [ -z "${REGISTRAR_BIN:-}" ]; then
    if [ -x "$ROOT/build/registrar" ]; then
        REGISTRAR_BIN=$ROOT/build/registrar
    else
        REGISTRAR_BIN=$BENCH_BUILD/registrar
    fi
fi
LOADGEN=$BENCH_BUILD/tests/bench/loadgen
ECHO_BIN=$BENCH_BUILD/tests/bench/echo_component
HASH_BIN=$BENCH_BUILD/tests/bench/bench_hash
# always brought up to date (a stale binary would be measured otherwise)
say "building in $BENCH_BUILD"
{ [ -f "$BENCH_BUILD/CMakeCache.txt" ] ||
    cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >/dev/null; } && cmake --build "$BENCH_BUILD" -j "$(nproc)" --target \
    registrar loadgen echo_component bench_hash >/dev/null ||
    { say "build failed"; exit 1; }
case $REGISTRAR_BIN in /*) ;; *) REGISTRAR_BIN=$PWD/$REGISTRAR_BIN ;; esac
[ -x "$REGISTRAR_BIN" ] || { say "no registrar at $REGISTRAR_BIN"; exit 1; }

# ---------------------------------------------------------------- cleanup

WORK=$(mktemp -d /tmp/bench-run.XXXXXX)
chmod 755 "$WORK"
PIDS=()          # "PID MARKER": stopped on exit while still running MARKER
XMPP_RUNNING=
PG_STARTED=0

stop_listed()
{
    local entry pid marker
    for entry in "${PIDS[@]}"; do
        pid=${entry%% *}
        marker=${entry#* }
        pid_runs "$pid" "$marker" && stop_pid "$pid" 10 TERM
    done
    PIDS=()
}

cleanup()
{
    local rc=$?
    trap - EXIT INT TERM
    stop_listed
    [ -n "$XMPP_RUNNING" ] && "$HARNESS/$XMPP_RUNNING.sh" stop "$WORK/$XMPP_RUNNING"
    [ "$PG_STARTED" = 1 ] && "$HARNESS/pg.sh" stop "$WORK/pg"
    if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
        say "logs, configs and results kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# start NAME MARKER CMD...: run CMD in the background, output in
# $WORK/NAME.log; its PID in $STARTED
start()
{
    local name=$1 marker=$2
    shift 2
    "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED $marker")
}

# wait_log FILE PATTERN COUNT SECONDS PID
wait_log()
{
    local i
    for ((i = 0; i < $4 * 10; i++)); do
        [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        pid_alive "$5" || break
        sleep 0.1
    done
    say "no '$2' in $1 within $4 s:"
    tail -n 20 "$1" >&2
    exit 1
}

secret()
{
    head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# ---------------------------------------------------------------- config

S_REG=$(secret) S_REGPW=$(secret) S_ECHO=$(secret) S_SLIX=$(secret)
S_SLIXPW=$(secret)

# registrar_conf PORT [pw]: the registrar config (titled services); the
# first service's JID is $REG_JID (default reg.localhost)
registrar_conf()
{
    local port=$1 with_pw=${2:-}
    cat <<EOF
# written by tests/bench/run.sh
database { conninfo = "$REGISTRAR_CONNINFO" }
log { level = "info" }
component "${REG_JID:-reg.localhost}" {
    server = "127.0.0.1"
    port = $port
    secret = "$S_REG"
    reconnect_min_ms = 100
    reconnect_max_ms = 500
    registration {
        title = "Bench Registration"
        instructions = "Please provide the following information to sign up."
        field "first" { label = "Given Name" required = true }
        field "last"  { label = "Family Name" required = true }
        field "email" { label = "Email Address" required = true }
    }
    limits {
        jid_per_minute = 0
        domain_per_minute = 0
        global_per_minute = 0
        inflight_per_jid = 64
    }
}
EOF
    [ -n "$with_pw" ] || return 0
    cat <<EOF
component "regpw.localhost" {
    server = "127.0.0.1"
    port = $port
    secret = "$S_REGPW"
    reconnect_min_ms = 100
    reconnect_max_ms = 500
    registration {
        title = "Account Registration"
        instructions = "Choose a username and password."
        field "username" { label = "Username" required = true }
        field "password" { type = "text-private" label = "Password" required = true }
        field "email"    { label = "Email Address" required = true }
        hash_cost = $HASH_COST
    }
    limits {
        jid_per_minute = 0
        domain_per_minute = 0
        global_per_minute = 0
        inflight_per_jid = 64
    }
}
EOF
}

write_conf()
{
    local file=$1 out
    shift
    ( umask 077; registrar_conf "$@" >"$file" )
    if ! out=$(timeout 20 "$REGISTRAR_BIN" --check-config --config "$file" 2>&1); then
        say "registrar rejects $file:"
        printf '%s\n' "$out" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- start

"$HARNESS/pg.sh" start "$WORK/pg" || exit 1
PG_STARTED=1
# shellcheck disable=SC1091
. "$WORK/pg/env"
# as an operator: the schema by the superuser, registrar's role granted
# registrar_service only
"$HARNESS/pg.sh" migrate "$WORK/pg" "$REGISTRAR_BIN" || { say "migration failed"; exit 1; }

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
    EJABBERD_DOMAIN_BALANCING=${balance# } \
        "$HARNESS/$server.sh" start "$WORK/$server" "${comps[@]}" || exit 1
    XMPP_RUNNING=$server
    # shellcheck disable=SC1090
    . "$WORK/$server/env"
    SERVER_PID=$(sed -n 's/^\(PROSODY\|EJABBERD\)_PID=//p' "$WORK/$server/env")
    say "domain_balancing:${balance:- none}"

    start "echo-$server" "$ECHO_BIN" "$ECHO_BIN" 127.0.0.1 \
        "$XMPP_COMPONENT_PORT" echo.localhost "$S_ECHO"
    ECHO_PID=$STARTED
    wait_log "$WORK/echo-$server.log" "attached as" 1 30 "$ECHO_PID"
    systems="{\"name\": \"echo\", \"jid\": \"echo.localhost\",
    \"pw_jid\": \"echo.localhost\", \"pid\": $ECHO_PID, \"pw_pid\": $ECHO_PID}"
    for n in $INSTANCES; do
        REG_JID=reg$n.localhost write_conf "$WORK/registrar-x$n.conf" \
            "$XMPP_COMPONENT_PORT"
        pids=()
        for ((i = 1; i <= n; i++)); do
            start "registrar-x$n-$i" "$WORK/registrar-x$n.conf" \
                "$REGISTRAR_BIN" --config "$WORK/registrar-x$n.conf"
            pids+=("$STARTED")
        done
        for ((i = 1; i <= n; i++)); do
            wait_log "$WORK/registrar-x$n-$i.log" "attached to" 1 30 \
                "${pids[i - 1]}"
        done
        systems+=",
   {\"name\": \"registrar-x$n\", \"instances\": $n,
    \"jid\": \"reg$n.localhost\", \"pw_jid\": \"reg$n.localhost\",
    \"pid\": ${pids[0]}, \"pw_pid\": ${pids[0]},
    \"pids\": [$(IFS=,; echo "${pids[*]}")]}"
    done

    say "creating $MAX_SESSIONS accounts and benchping in band"
    timeout 120 "$LOADGEN" --port "$XMPP_C2S_PORT" --to echo.localhost \
        --sessions "$MAX_SESSIONS" --password "$PASSWORD" \
        --ping-to echo.localhost --register-accounts --setup-only ||
        { say "cannot create the accounts"; exit 1; }

    cat >"$WORK/instances-$server.json" <<EOF
{"loadgen": "$LOADGEN", "c2s_port": $XMPP_C2S_PORT, "server": "$server",
 "server_pid": $SERVER_PID, "password": "$PASSWORD",
 "pg": {"pid": $PG_PID, "port": $PGPORT, "psql": "$PGBIN/psql",
        "pgbench": "$PGBIN/pgbench"},
 "systems": [
   $systems],
 "balancing": "bare_source",
 "workloads": ["register"], "levels": $LEVELS_JSON, "reps": $REPS,
 "duration": $DURATION, "warmup": $WARMUP, "results": "$RESULTS",
 "pgbench_clients": $PGBENCH_CLIENTS}
EOF
    "$PY" "$BENCH/bench.py" instances "$WORK/instances-$server.json" || exit 1

    stop_listed
    "$HARNESS/$server.sh" stop "$WORK/$server"
    XMPP_RUNNING=
}

for server in $SERVERS; do
    say "=== $server"
    if [ -n "$INSTANCES" ]; then
        instances_c2s "$server"
        continue
    fi
    "$HARNESS/$server.sh" start "$WORK/$server" \
        reg.localhost "$S_REG" regpw.localhost "$S_REGPW" \
        echo.localhost "$S_ECHO" slix.localhost "$S_SLIX" \
        slixpw.localhost "$S_SLIXPW" || exit 1
    XMPP_RUNNING=$server
    # shellcheck disable=SC1090
    . "$WORK/$server/env"
    SERVER_PID=$(sed -n 's/^\(PROSODY\|EJABBERD\)_PID=//p' "$WORK/$server/env")

    write_conf "$WORK/registrar-$server.conf" "$XMPP_COMPONENT_PORT" pw
    start "registrar-$server" "$WORK/registrar-$server.conf" \
        "$REGISTRAR_BIN" --config "$WORK/registrar-$server.conf"
    REG_PID=$STARTED
    start "echo-$server" "$ECHO_BIN" "$ECHO_BIN" 127.0.0.1 \
        "$XMPP_COMPONENT_PORT" echo.localhost "$S_ECHO"
    ECHO_PID=$STARTED
    start "slix-$server" slixmpp_peer.py "$PY" "$BENCH/slixmpp_peer.py" \
        127.0.0.1 "$XMPP_COMPONENT_PORT" slix.localhost "$S_SLIX"
    SLIX_PID=$STARTED
    start "slixpw-$server" slixmpp_peer.py "$PY" "$BENCH/slixmpp_peer.py" \
        127.0.0.1 "$XMPP_COMPONENT_PORT" slixpw.localhost "$S_SLIXPW" \
        username,password,email
    SLIXPW_PID=$STARTED
    wait_log "$WORK/registrar-$server.log" "attached to" 2 30 "$REG_PID"
    wait_log "$WORK/echo-$server.log" "attached as" 1 30 "$ECHO_PID"
    wait_log "$WORK/slix-$server.log" "attached as" 1 30 "$SLIX_PID"
    wait_log "$WORK/slixpw-$server.log" "attached as" 1 30 "$SLIXPW_PID"

    say "creating $MAX_SESSIONS accounts and benchping in band"
    timeout 120 "$LOADGEN" --port "$XMPP_C2S_PORT" --to echo.localhost \
        --sessions "$MAX_SESSIONS" --password "$PASSWORD" \
        --ping-to echo.localhost --register-accounts --setup-only ||
        { say "cannot create the accounts"; exit 1; }

    cat >"$WORK/c2s-$server.json" <<EOF
{"loadgen": "$LOADGEN", "c2s_port": $XMPP_C2S_PORT, "server": "$server",
 "server_pid": $SERVER_PID, "password": "$PASSWORD",
 "pg": {"pid": $PG_PID, "port": $PGPORT, "psql": "$PGBIN/psql",
        "pgbench": "$PGBIN/pgbench"},
 "systems": [
   {"name": "echo", "jid": "echo.localhost", "pw_jid": "echo.localhost",
    "pid": $ECHO_PID, "pw_pid": $ECHO_PID},
   {"name": "slixmpp", "jid": "slix.localhost", "pw_jid": "slixpw.localhost",
    "pid": $SLIX_PID, "pw_pid": $SLIXPW_PID},
   {"name": "registrar", "jid": "reg.localhost", "pw_jid": "regpw.localhost",
    "pid": $REG_PID, "pw_pid": $REG_PID}],
 "workloads": $WORKLOADS_JSON, "levels": $LEVELS_JSON, "reps": $REPS,
 "duration": $DURATION, "warmup": $WARMUP, "results": "$RESULTS",
 "pgbench_clients": $PGBENCH_CLIENTS}
EOF
    "$PY" "$BENCH/bench.py" c2s "$WORK/c2s-$server.json" || exit 1

    stop_listed
    "$HARNESS/$server.sh" stop "$WORK/$server"
    XMPP_RUNNING=
done

if [ "$DIRECT" = 1 ]; then
    say "=== direct mode and pgbench"
    D_REG=$(free_port) D_ECHO=$(free_port) D_SLIX=$(free_port)
    write_conf "$WORK/registrar-direct.conf" "$D_REG"
    start registrar-direct "$WORK/registrar-direct.conf" \
        "$REGISTRAR_BIN" --config "$WORK/registrar-direct.conf"
    REG_PID=$STARTED
    start echo-direct "$ECHO_BIN" "$ECHO_BIN" 127.0.0.1 "$D_ECHO" \
        echo.localhost "$S_ECHO"
    ECHO_PID=$STARTED
    start slix-direct slixmpp_peer.py "$PY" "$BENCH/slixmpp_peer.py" \
        127.0.0.1 "$D_SLIX" slix.localhost "$S_SLIX"
    SLIX_PID=$STARTED
    cat >"$WORK/direct.json" <<EOF
{"loadgen": "$LOADGEN",
 "pg": {"pid": $PG_PID, "port": $PGPORT, "psql": "$PGBIN/psql",
        "pgbench": "$PGBIN/pgbench"},
 "systems": [
   {"name": "echo", "jid": "echo.localhost", "pw_jid": "echo.localhost",
    "pid": $ECHO_PID, "pw_pid": $ECHO_PID,
    "direct": {"port": $D_ECHO, "secret": "$S_ECHO"}},
   {"name": "slixmpp", "jid": "slix.localhost", "pw_jid": "slix.localhost",
    "pid": $SLIX_PID, "pw_pid": $SLIX_PID,
    "direct": {"port": $D_SLIX, "secret": "$S_SLIX"}},
   {"name": "registrar", "jid": "reg.localhost", "pw_jid": "reg.localhost",
    "pid": $REG_PID, "pw_pid": $REG_PID,
    "direct": {"port": $D_REG, "secret": "$S_REG"}}],
 "levels": $DIRECT_LEVELS_JSON, "reps": $REPS,
 "duration": $DURATION, "warmup": $WARMUP, "results": "$RESULTS",
 "pgbench_clients": $PGBENCH_CLIENTS}
EOF
    "$PY" "$BENCH/bench.py" direct "$WORK/direct.json" || exit 1
    stop_listed
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
