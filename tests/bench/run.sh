#!/usr/bin/env bash
# tests/bench/run.sh: the end-to-end benchmark of issue 11, one command.
#
#   tests/bench/run.sh [--server prosody|ejabberd|both] [--quick]
#                      [--reps R] [--duration S] [--levels "20x1 50x4"]
#                      [--workloads "get register ..."] [--no-direct]
#                      [--no-stmt] [--stmt-levels "50x4"]
#                      [--direct-levels "50x4 50x16"]
#                      [--durable yes|no] [--fast-fsync]
#                      [--compare OLD_BIN NEW_BIN]
#                      [--instances "1 2 3"] [--out DIR] [--keep]
#
# Starts, as the harness does (tests/harness: the unprivileged user
# registrar-test, free loopback ports), a throwaway PostgreSQL (durable by
# default: fsync, synchronous_commit and full_page_writes on) and the XMPP
# server(s); then three systems on their own component JIDs:
#   echo       tests/bench/echo_component (C, answers every iq at once):
#              the ceiling
#   slixmpp    tests/bench/slixmpp_peer.py (slixmpp's XEP-0077 plugin, an
#              in-memory store): what a user might pick instead
#   registrar  $REGISTRAR_BIN (default build/registrar, else build/bench/
#              registrar), two services: reg.localhost (first/last/email)
#              and regpw.localhost (username/password/email, bcrypt cost
#              $BENCH_HASH_COST, default 10); its GET /metrics on a free
#              port (the read cache's counters, when it has them)
# creates the accounts in band (bench1..bench50, benchping), and for each
# workload and level runs the three systems alternated, R repetitions
# (tests/bench/bench.py); then direct mode (the load generator as the
# XEP-0114 server) beside pgbench on the same cluster, alternated too;
# then the database's CPU per statement (direct mode: registrar on
# update, registered get, registration and removal, each beside its
# pgbench floors, tests/bench/pgbench/floor_*.sql); then prints the
# tables, the medians and every ratio of the targets, with the date, the
# machine and the cluster's durability.  Stops everything it started, by
# PID, on exit.
#
#   --workloads  of get register update password remove mix getupdate
#                (getupdate: a get and an update alternately per session)
#   --quick      one level (50x4), one repetition, 2 s per run
#   --no-direct  no direct mode and no per-statement figures
#   --no-stmt    direct mode without the per-statement figures
#   --stmt-levels "50x4"
#                the levels of the per-statement figures (default 50x4)
#   --direct-levels "50x4 50x16"
#                the levels of direct mode's registrations beside echo,
#                slixmpp and pgbench's one.sql and ten.sql (default
#                $BENCH_DIRECT_LEVELS, else "50x4 50x16"; --quick: 50x4;
#                "": none, the per-statement figures only)
#   --durable no, --fast-fsync
#                the harness's cluster as the tests have it: fsync,
#                synchronous_commit and full_page_writes off (the
#                benchmark's figures before issue 19); default: durable
#   --compare OLD_BIN NEW_BIN
#                two registrar binaries instead of one, in the same run:
#                registrar-old (OLD_BIN, database "registrar", JIDs
#                rego/regpwo.localhost) and registrar-new (NEW_BIN, its own
#                database "registrar_new" migrated by NEW_BIN, JIDs
#                regn/regpwn.localhost), both attached to the same server,
#                on the same cluster, alternated with echo and slixmpp in
#                every repetition; the report ends with every figure of
#                the two side by side and new/old
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
# BENCH_PGBENCH_CLIENTS (2), BENCH_DIRECT_LEVELS ("50x4 50x16"; --quick:
# 50x4), BENCH_WORKDIR (default: a new /tmp/bench-run.XXXXXX, removed
# after a complete run unless --keep).
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
SERVERS=prosody
QUICK=0
REPS=3
DURATION=5
WARMUP=1
LEVELS="20x1 50x4 50x16"
WORKLOADS="get register update password remove mix getupdate"
DIRECT=1
STMT=1
STMT_LEVELS=50x4
DURABLE=1
COMPARE_OLD=
COMPARE_NEW=
OUT=
KEEP=0
HASH_COST=${BENCH_HASH_COST:-10}
PGBENCH_CLIENTS=${BENCH_PGBENCH_CLIENTS:-2}
PASSWORD=bench-pw
DIRECT_LEVELS=
DIRECT_LEVELS_SET=0
INSTANCES=

usage()
{
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 64
}

ARGS="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --server) SERVERS=$2; shift ;;
    --quick) QUICK=1 ;;
    --reps) REPS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --levels) LEVELS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --no-direct) DIRECT=0 ;;
    --no-stmt) STMT=0 ;;
    --stmt-levels) STMT_LEVELS=$2; shift ;;
    --direct-levels) DIRECT_LEVELS_SET=1 DIRECT_LEVELS=$2; shift ;;
    --durable)
        case ${2:-} in
        yes|on|1) DURABLE=1 ;;
        no|off|0) DURABLE=0 ;;
        *) echo "bench: --durable yes or no" >&2; exit 64 ;;
        esac
        shift ;;
    --fast-fsync) DURABLE=0 ;;
    --compare)
        [ $# -ge 3 ] || usage
        COMPARE_OLD=$2 COMPARE_NEW=$3
        shift 2 ;;
    --instances) INSTANCES=$2; shift ;;
    --out) OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    *) usage ;;
    esac
    shift
done
[ "$SERVERS" = both ] && SERVERS="prosody ejabberd"
if [ -n "$COMPARE_OLD" ]; then
    for b in "$COMPARE_OLD" "$COMPARE_NEW"; do
        [ -x "$b" ] || { echo "bench: --compare: no binary at $b" >&2; exit 64; }
    done
    [ -z "$INSTANCES" ] || {
        echo "bench: --compare and --instances do not go together" >&2
        exit 64
    }
    COMPARE_OLD=$(cd "$(dirname "$COMPARE_OLD")" && pwd)/$(basename "$COMPARE_OLD")
    COMPARE_NEW=$(cd "$(dirname "$COMPARE_NEW")" && pwd)/$(basename "$COMPARE_NEW")
    [ "$COMPARE_OLD" != "$COMPARE_NEW" ] ||
        echo "bench: --compare: the same binary twice (an A/A run)" >&2
    # the suite's binary (the first database's migration, --check-config)
    REGISTRAR_BIN=$COMPARE_OLD
fi
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
for w in $WORKLOADS; do
    case $w in
    get|register|update|password|remove|mix|getupdate) ;;
    *) echo "bench: --workloads: no workload '$w'" >&2; exit 64 ;;
    esac
done
for l in $LEVELS $STMT_LEVELS ${BENCH_DIRECT_LEVELS:-} $DIRECT_LEVELS; do
    case $l in
    [1-9]*x[1-9]*) ;;
    *) echo "bench: '$l' is not a level SESSIONSxWINDOW" >&2; exit 64 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    LEVELS="50x4"
    REPS=1
    DURATION=2
    WARMUP=0.5
fi
[ "$DIRECT" = 1 ] || STMT=0
[ "$DIRECT_LEVELS_SET" = 1 ] ||
    DIRECT_LEVELS=${BENCH_DIRECT_LEVELS:-$( [ "$QUICK" = 1 ] && echo 50x4 || echo "50x4 50x16")}

# shellcheck source=tests/harness/suite.sh
. "$ROOT/tests/harness/suite.sh"
BENCH=$ROOT/tests/bench

# the servers log at their quietest useful level: a debug log of every
# stanza would be what the benchmark measures
export PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-warn}
export EJABBERD_LOG_LEVEL=${EJABBERD_LOG_LEVEL:-warning}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# ---------------------------------------------------------------- binaries

LOADGEN=$BENCH_BUILD/tests/bench/loadgen
ECHO_BIN=$BENCH_BUILD/tests/bench/echo_component
HASH_BIN=$BENCH_BUILD/tests/bench/bench_hash
# always brought up to date (a stale binary would be measured otherwise);
# registrar too when it is the one measured
TARGETS="loadgen echo_component bench_hash"
[ "$REGISTRAR_BIN" = "$BENCH_BUILD/registrar" ] && TARGETS="registrar $TARGETS"
echo "bench: building $TARGETS in $BENCH_BUILD" >&2
# shellcheck disable=SC2086  # a list
{ [ -f "$BENCH_BUILD/CMakeCache.txt" ] ||
    cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >/dev/null; } && cmake --build "$BENCH_BUILD" -j "$(nproc)" --target \
    $TARGETS >/dev/null ||
    { echo "bench: build failed" >&2; exit 1; }

# root, the registrar binary, the tools (exit 77 when one is missing), the
# work directory and the trap that stops everything started here
# shellcheck disable=SC2086  # a list
set -- $SERVERS
suite_init BENCH "$1" "$PGBIN/initdb" "$PGBIN/pgbench" "$PGBIN/psql" --
SUITE_KEEP=$KEEP

# ---------------------------------------------------------------- start

# the registrars measured: one, or two with --compare (each with its own
# database, JIDs reg<SUFFIX>.localhost and regpw<SUFFIX>.localhost)
if [ -n "$COMPARE_OLD" ]; then
    REG_NAMES=(registrar-old registrar-new)
    REG_BINS=("$COMPARE_OLD" "$COMPARE_NEW")
    REG_DBS=(registrar registrar_new)
    REG_SUFFIX=(o n)
else
    REG_NAMES=(registrar)
    REG_BINS=("$REGISTRAR_BIN")
    REG_DBS=(registrar)
    REG_SUFFIX=("")
fi
S_REG=$(suite_secret) S_REGPW=$(suite_secret) S_ECHO=$(suite_secret)
S_SLIX=$(suite_secret) S_SLIXPW=$(suite_secret)

# superuser SQL on the cluster: bench_psql DB ARGS...
bench_psql()
{
    local db=$1
    shift
    PGOPTIONS='-c client_min_messages=warning' timeout 120 "$PGBIN/psql" \
        -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres \
        -d "$db" "$@"
}

export PG_DURABLE=$DURABLE
suite_start_pg
for i in "${!REG_NAMES[@]}"; do
    db=${REG_DBS[i]}
    [ "$db" = registrar ] && continue
    # a database of its own, migrated by its own binary (a newer schema
    # may not be one an older binary runs on)
    say "database $db for ${REG_NAMES[i]}, migrated by ${REG_BINS[i]}"
    { bench_psql postgres -c "CREATE DATABASE $db OWNER postgres ENCODING 'UTF8' TEMPLATE template0" &&
        bench_psql "$db" -c 'CREATE EXTENSION IF NOT EXISTS pgcrypto' &&
        timeout 120 "${REG_BINS[i]}" --migrate --database \
            "host=127.0.0.1 port=$PGPORT dbname=$db user=postgres" \
            >"$WORK/migrate-$db.log" 2>&1 &&
        bench_psql "$db" -c 'GRANT registrar_service TO registrar'; } ||
        { cat "$WORK/migrate-$db.log" >&2; say "cannot set up database $db"; exit 1; }
done
# what ran, as the cluster says
DB_SETTINGS=$(bench_psql registrar -At -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')")
DB_FS=$(df -PT "$WORK/pg/data" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')
if [ "$DURABLE" = 1 ]; then
    DATABASE="durable ($DB_SETTINGS; data on $DB_FS)"
else
    DATABASE="NOT durable, --durable no ($DB_SETTINGS; data on $DB_FS)"
fi
say "PostgreSQL: $DATABASE"

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
# shellcheck disable=SC2086
STMT_LEVELS_JSON=$(json_list $STMT_LEVELS)
MAX_SESSIONS=0
for l in $LEVELS $DIRECT_LEVELS $STMT_LEVELS; do
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

# bench_conf NAME BIN DB SERVICE KEY=VALUE ...: $WORK/NAME.conf as
# suite_conf makes it, logging in to database DB, with GET /metrics on a
# free port (METRICS_URL); checked by BIN. A BIN that refuses the metrics
# section (older than issue 18) runs without it: no cache figures.
bench_conf()
{
    local name=$1 bin=$2 db=$3 service=$4 conf=$WORK/$1.conf out port
    local metrics attempt
    shift 4
    port=$(free_port) || { say "no free port"; exit 1; }
    metrics="metrics { listen = \"127.0.0.1:$port\" }"
    METRICS_URL=http://127.0.0.1:$port/metrics
    for attempt in 1 2; do
        ( umask 077; "$PY" "$HARNESS/registrar.py" conf "$service" \
            CONNINFO="host=127.0.0.1 port=$PGPORT dbname=$db user=registrar" \
            METRICS="$metrics" "$@" >"$conf" ) || exit 1
        out=$(timeout 20 "$bin" --check-config --config "$conf" 2>&1) &&
            return 0
        [ "$attempt" = 1 ] || break
        say "$bin refuses the metrics section: $name runs without it (no cache figures)"
        metrics='' METRICS_URL=''
    done
    say "registrar --check-config rejects $conf ($name):"
    printf '%s\n' "$out" >&2
    exit 1
}

# reg_start NAME BIN: registrar BIN on $WORK/NAME.conf; REGISTRAR_PID
reg_start()
{
    REGISTRAR_BIN=$2 suite_registrar_start "$1"
    REGISTRAR_PID=${REG_PID[$1]}
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

# sys_json NAME KIND JID PW_JID PID PW_PID [DB METRICS_URL [PORT SECRET]]:
# a system of bench.py's input (with PORT: direct mode's)
sys_json()
{
    printf '{"name": "%s", "kind": "%s", "jid": "%s", "pw_jid": "%s",
    "pid": %s, "pw_pid": %s' "$1" "$2" "$3" "$4" "$5" "$6"
    [ -z "${7:-}" ] || printf ', "db": "%s", "metrics": "%s"' "$7" "${8:-}"
    [ -z "${9:-}" ] || printf ',
    "direct": {"port": %s, "secret": "%s"}' "$9" "${10}"
    printf '}'
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
    systems=$(sys_json echo echo echo.localhost echo.localhost "$ECHO_PID" \
        "$ECHO_PID")
    for n in $INSTANCES; do
        # several processes, one file: no metrics port
        suite_conf "registrar-x$n" bench JID="reg$n.localhost" \
            SECRET="$S_REG" METRICS=
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
   {\"name\": \"registrar-x$n\", \"kind\": \"registrar\", \"instances\": $n,
    \"jid\": \"reg$n.localhost\", \"pw_jid\": \"reg$n.localhost\",
    \"pid\": ${pids[0]}, \"pw_pid\": ${pids[0]}, \"db\": \"registrar\",
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
    comps=()
    for i in "${!REG_NAMES[@]}"; do
        comps+=("reg${REG_SUFFIX[i]}.localhost" "$S_REG"
                "regpw${REG_SUFFIX[i]}.localhost" "$S_REGPW")
    done
    start_server "$server" "${comps[@]}" echo.localhost "$S_ECHO" \
        slix.localhost "$S_SLIX" slixpw.localhost "$S_SLIXPW"
    start_peer "echo-$server" echo.localhost "$S_ECHO" "$XMPP_COMPONENT_PORT"
    ECHO_PID=$SPAWNED
    start_peer "slix-$server" slix.localhost "$S_SLIX" "$XMPP_COMPONENT_PORT"
    SLIX_PID=$SPAWNED
    start_peer "slixpw-$server" slixpw.localhost "$S_SLIXPW" \
        "$XMPP_COMPONENT_PORT" username,password,email
    SLIXPW_PID=$SPAWNED
    systems="$(sys_json echo echo echo.localhost echo.localhost "$ECHO_PID" "$ECHO_PID"),
   $(sys_json slixmpp slixmpp slix.localhost slixpw.localhost "$SLIX_PID" "$SLIXPW_PID")"
    for i in "${!REG_NAMES[@]}"; do
        name=${REG_NAMES[i]} sfx=${REG_SUFFIX[i]}
        bench_conf "$name-$server" "${REG_BINS[i]}" "${REG_DBS[i]}" \
            bench+bench_pw JID="reg$sfx.localhost" SECRET="$S_REG" \
            PW_JID="regpw$sfx.localhost" PW_SECRET="$S_REGPW" \
            HASH_COST="$HASH_COST"
        reg_start "$name-$server" "${REG_BINS[i]}"
        # one process, two services: two attachments
        suite_wait_log "$name-$server" "attached to" 2 30 "$REGISTRAR_PID" ||
            exit 1
        systems+=",
   $(sys_json "$name" registrar "reg$sfx.localhost" "regpw$sfx.localhost" \
        "$REGISTRAR_PID" "$REGISTRAR_PID" "${REG_DBS[i]}" "$METRICS_URL")"
    done
    suite_wait_log "echo-$server" "attached as" 1 30 "$ECHO_PID" || exit 1
    suite_wait_log "slix-$server" "attached as" 1 30 "$SLIX_PID" || exit 1
    suite_wait_log "slixpw-$server" "attached as" 1 30 "$SLIXPW_PID" || exit 1
    create_accounts

    {
        json_head "$server"
        cat <<EOF
 "systems": [
   $systems],
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
    D_ECHO=$(free_port) D_SLIX=$(free_port)
    start_peer echo-direct echo.localhost "$S_ECHO" "$D_ECHO"
    ECHO_PID=$SPAWNED
    start_peer slix-direct slix.localhost "$S_SLIX" "$D_SLIX"
    SLIX_PID=$SPAWNED
    systems="$(sys_json echo echo echo.localhost echo.localhost "$ECHO_PID" "$ECHO_PID" "" "" "$D_ECHO" "$S_ECHO"),
   $(sys_json slixmpp slixmpp slix.localhost slix.localhost "$SLIX_PID" "$SLIX_PID" "" "" "$D_SLIX" "$S_SLIX")"
    for i in "${!REG_NAMES[@]}"; do
        name=${REG_NAMES[i]} sfx=${REG_SUFFIX[i]}
        port=$(free_port)
        bench_conf "$name-direct" "${REG_BINS[i]}" "${REG_DBS[i]}" bench \
            JID="reg$sfx.localhost" SECRET="$S_REG" XMPP_PORT="$port"
        reg_start "$name-direct" "${REG_BINS[i]}"
        systems+=",
   $(sys_json "$name" registrar "reg$sfx.localhost" "reg$sfx.localhost" \
        "$REGISTRAR_PID" "$REGISTRAR_PID" "${REG_DBS[i]}" "$METRICS_URL" \
        "$port" "$S_REG")"
    done
    {
        json_head
        cat <<EOF
 "systems": [
   $systems],
 "levels": $DIRECT_LEVELS_JSON, "reps": $REPS,
 "stmt_levels": $( [ "$STMT" = 1 ] && echo "$STMT_LEVELS_JSON" || echo "[]"),
EOF
        json_tail
    } >"$WORK/direct.json"
    "$PY" "$BENCH/bench.py" direct "$WORK/direct.json" || exit 1
    suite_stop_all
fi

version()
{
    "$1" --version 2>&1 | head -n 1
}
{
    echo "{\"date\": \"$(date -u '+%Y-%m-%d %H:%M UTC')\","
    if [ -n "$COMPARE_OLD" ]; then
        echo " \"registrar-old\": \"$(version "$COMPARE_OLD") ($COMPARE_OLD)\","
        echo " \"registrar-new\": \"$(version "$COMPARE_NEW") ($COMPARE_NEW)\","
        echo " \"compare_old\": \"registrar-old\", \"compare_new\": \"registrar-new\","
    else
        echo " \"registrar\": \"$(version "$REGISTRAR_BIN") ($REGISTRAR_BIN)\","
    fi
    cat <<EOF
 "servers": "$SERVERS ($(dpkg-query -W -f='${Version}' prosody 2>/dev/null) / $(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null))",
 "database": "$DATABASE",
 "reps": $REPS, "duration": "${WARMUP}s warm-up + ${DURATION}s measured per run",
$( [ -z "$INSTANCES" ] || echo " \"instances\": \"$INSTANCES (registrar processes per JID; ejabberd domain_balancing bare_source for N >= 2)\",")
 "command": "tests/bench/run.sh $ARGS",
 "hash_ms": $HASH_MS, "hash_cost": $HASH_COST,
 "pgbench_clients": $PGBENCH_CLIENTS}
EOF
} >"$WORK/meta.json"
"$PY" "$BENCH/bench.py" report "$WORK/meta.json" "$RESULTS" | tee "$WORK/report.txt"
if [ -n "$OUT" ]; then
    mkdir -p "$OUT" && cp "$RESULTS" "$WORK/report.txt" "$OUT/"
    say "results in $OUT"
fi
suite_end 1
