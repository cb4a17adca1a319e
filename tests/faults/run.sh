#!/usr/bin/env bash
# tests/faults/run.sh: registrar under faults and bad input, end to end,
# against a real Prosody 0.12, a real PostgreSQL 15 and slixmpp.
#
#   tests/faults/run.sh [UNITTEST-NAME ...]
#
# Starts a throwaway PostgreSQL (tests/harness/pg.sh) and Prosody
# (tests/harness/prosody.sh) declaring one component per fault, plus a
# second Prosody (started once to learn its ports, then stopped) for the
# "server unreachable at start-up" fault; creates the client accounts; runs
# the python modules (all of test_*.py, or the names given, e.g.
# test_db_faults.DbFaultsTest.test_5_pg_immediate_stop). Each test starts
# its own registrar processes with its own config (faults.py), kills the
# servers as the fault asks, checks what the brief expects, and records its
# figures; a summary table of them is printed at the end.
#
# Everything started here or by the tests (servers, registrar processes,
# a psql holding a lock) is stopped on exit by PID, also on failure or ^C.
#
# Environment:
#   REGISTRAR_BIN     the binary (default: build/registrar)
#   FAULTS_WORKDIR    where servers, configs and logs go (default: a new
#                     /tmp/faults-run.XXXXXX, removed after a passing run)
#   FAULTS_KEEP=1     keep it even when everything passed
#   FAULTS_TIMEOUT    seconds for the whole python run (default 480)
#   PROSODY_LOG_LEVEL Prosody's log level (default info here)
# Exit status: 0 all passed, 1 anything failed, 77 skipped (a needed tool
# is missing).
set -u -o pipefail

# FAULTS_SERVER=ejabberd runs the main XMPP server from
# tests/harness/ejabberd.sh (the restart fault applies to both servers;
# the faults that depend on Prosody's own behaviour, SIGSTOP of its
# process and its conflict answer, are meant for prosody).
FAULTS_SERVER=${FAULTS_SERVER:-prosody}
export FAULTS_SERVER

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=$ROOT/tests/harness
XMPP_HARNESS=$HARNESS/$FAULTS_SERVER.sh
# shellcheck source=tests/harness/lib.sh
. "$HARNESS/lib.sh"

PY=/usr/bin/python3
REGISTRAR_BIN=${REGISTRAR_BIN:-$ROOT/build/registrar}
FAULTS_TIMEOUT=${FAULTS_TIMEOUT:-480}
export PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-info}

say()
{
    echo "faults: $*" >&2
}

case ${1:-} in
-h|--help)
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac

# ---------------------------------------------------------------- checks

[ "$(id -u)" = 0 ] || { say "run as root (it creates and switches to $HARNESS_USER)"; exit 1; }
case $REGISTRAR_BIN in /*) ;; *) REGISTRAR_BIN=$PWD/$REGISTRAR_BIN ;; esac
if [ ! -x "$REGISTRAR_BIN" ]; then
    say "no registrar binary at $REGISTRAR_BIN (build it, or set REGISTRAR_BIN)"
    exit 1
fi
for tool in /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl \
        /usr/bin/prosody psql setpriv; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        say "SKIP: $tool is missing (apt-get install postgresql-15 prosody python3-slixmpp)"
        exit 77
    fi
done
if ! "$PY" -c 'import slixmpp' 2>/dev/null; then
    say "SKIP: $PY has no slixmpp (apt-get install python3-slixmpp)"
    exit 77
fi

if [ -n "${FAULTS_WORKDIR:-}" ]; then
    WORK=$FAULTS_WORKDIR
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/faults-run.XXXXXX)
fi
WORK=$(cd "$WORK" && pwd -P)
chmod 755 "$WORK"
export FAULTS_WORK=$WORK
# faults.py appends "PID MARKER" for every process it starts; the cleanup
# stops those still running whose command line contains MARKER
export FAULTS_PIDS=$WORK/pids
export FAULTS_FIGURES=$WORK/figures.jsonl
: >"$FAULTS_PIDS"
: >"$FAULTS_FIGURES"

# ---------------------------------------------------------------- cleanup

STARTED_PG=0
STARTED_XMPP=0
SUITE_PID=
FAILED=1

stop_listed()
{
    local pid marker
    [ -f "$FAULTS_PIDS" ] || return 0
    while read -r pid marker; do
        [ -n "$pid" ] || continue
        if pid_runs "$pid" "$marker"; then
            say "stopping leftover pid $pid ($marker)"
            kill -CONT "$pid" 2>/dev/null
            stop_pid "$pid" 10 TERM
        fi
    done <"$FAULTS_PIDS"
}

cleanup()
{
    local rc=$? pid
    trap - EXIT INT TERM
    if [ -n "$SUITE_PID" ]; then
        stop_pid "$SUITE_PID" 10 TERM
    fi
    stop_listed
    if [ "$STARTED_XMPP" = 1 ]; then
        # a test may have left it SIGSTOPped
        pid=$(sed -n 's/^PROSODY_PID=//p' "$WORK/xmpp/env" 2>/dev/null)
        if [ -n "$pid" ] && pid_runs "$pid" "$WORK/xmpp/prosody.cfg.lua"; then
            kill -CONT "$pid" 2>/dev/null
        fi
        "$XMPP_HARNESS" stop "$WORK/xmpp"
        "$HARNESS/prosody.sh" stop "$WORK/xmpp2"
    fi
    [ "$STARTED_PG" = 1 ] && "$HARNESS/pg.sh" stop "$WORK/pg"
    if [ "$FAILED" = 0 ] && [ "$rc" = 0 ] && [ "${FAULTS_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        say "logs, configs and data kept in $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- servers

"$HARNESS/pg.sh" start "$WORK/pg" || exit 1
STARTED_PG=1
set -a
. "$WORK/pg/env"
set +a
export FAULTS_PG_DIR=$WORK/pg
# The harness runs PostgreSQL with synchronous_commit = off: a commit that
# was acknowledged can then be lost in a crash (pg_ctl stop -m immediate),
# which would be PostgreSQL's doing, not registrar's. The durability fault
# needs durable commits: turn it on in this cluster only.
timeout 30 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres \
    -d postgres -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "SELECT pg_reload_conf()" >/dev/null || exit 1

FAULTS_SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
export FAULTS_SECRET
# one component per fault, so that each test has its own rows and its own
# attach/conflict state; all share the run's secret
COMPONENTS="restart twin secret pgkill pgdown pgterm pglock pgburst pgsilent stop input"
comp_args=()
for c in $COMPONENTS; do
    comp_args+=("$c.localhost" "$FAULTS_SECRET")
done

STARTED_XMPP=1
"$XMPP_HARNESS" start "$WORK/xmpp" "${comp_args[@]}" || exit 1
set -a
. "$WORK/xmpp/env"
set +a
export FAULTS_XMPP_DIR=$WORK/xmpp

# the second Prosody: started to learn (and keep) its ports, then stopped;
# "prosody.sh restart" brings it back on the same ports during the test
"$HARNESS/prosody.sh" start "$WORK/xmpp2" late.localhost "$FAULTS_SECRET" || exit 1
"$HARNESS/prosody.sh" stop "$WORK/xmpp2" || exit 1
export FAULTS_XMPP2_DIR=$WORK/xmpp2
XMPP2_COMPONENT_PORT=$(sed -n 's/^XMPP_COMPONENT_PORT=//p' "$WORK/xmpp2/env")
export XMPP2_COMPONENT_PORT

export E2E_PASSWORD=${E2E_PASSWORD:-$("$PY" -c 'import secrets; print("f-" + secrets.token_hex(6))')}
export REGISTRAR_BIN
export FAULTS_HARNESS=$HARNESS
export FAULTS_E2E=$ROOT/tests/e2e
say "creating client accounts on Prosody"
# shellcheck disable=SC2046
"$XMPP_HARNESS" adduser "$WORK/xmpp" $("$PY" "$HERE/faults.py" users) || exit 1

# ---------------------------------------------------------------- suite

if [ $# -gt 0 ]; then
    TESTS=("$@")
else
    TESTS=()
    for f in "$HERE"/test_*.py; do
        TESTS+=("$(basename "$f" .py)")
    done
fi

say "running: ${TESTS[*]}"
(cd "$HERE" && exec timeout -k 10 "$FAULTS_TIMEOUT" "$PY" -m unittest -v "${TESTS[@]}") &
SUITE_PID=$!
wait "$SUITE_PID"
suite_rc=$?
SUITE_PID=
[ "$suite_rc" = 124 ] && say "the python run did not finish within ${FAULTS_TIMEOUT}s"

"$PY" "$HERE/faults.py" summary "$FAULTS_FIGURES" || true

if [ "$suite_rc" = 0 ]; then
    FAILED=0
    say "PASS"
    exit 0
fi
say "FAIL"
exit 1
