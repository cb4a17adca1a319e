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
# its own registrar processes with its own config (tests/harness/
# faults.py), kills the
# servers as the fault asks, checks what the brief expects, and records its
# figures; a summary table of them is printed at the end.
#
# Everything started here or by the tests (servers, registrar processes,
# a psql holding a lock) is stopped on exit by PID, also on failure or ^C
# (the driver: tests/harness/suite.sh).
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
export FAULTS_SERVER=${FAULTS_SERVER:-prosody}
# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
suite_init FAULTS "$FAULTS_SERVER" /usr/lib/postgresql/15/bin/initdb \
    /usr/lib/postgresql/15/bin/pg_ctl /usr/bin/prosody psql setpriv -- "$@"

FAULTS_TIMEOUT=${FAULTS_TIMEOUT:-480}
export PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-info}
suite_figures

# shellcheck disable=SC2317  # called by suite_cleanup
suite_on_cleanup()
{
    local pid
    [ "$STARTED_XMPP" = 1 ] || return 0
    # a test may have left it SIGSTOPped
    pid=$(sed -n 's/^PROSODY_PID=//p' "$WORK/xmpp/env" 2>/dev/null)
    if [ -n "$pid" ] && pid_runs "$pid" "$WORK/xmpp/prosody.cfg.lua"; then
        kill -CONT "$pid" 2>/dev/null
    fi
    "$HARNESS/prosody.sh" stop "$WORK/xmpp2"
}

# ---------------------------------------------------------------- servers

suite_start_pg
export FAULTS_PG_DIR=$WORK/pg
# The harness runs PostgreSQL with synchronous_commit = off: a commit that
# was acknowledged can then be lost in a crash (pg_ctl stop -m immediate),
# which would be PostgreSQL's doing, not registrar's. The durability fault
# needs durable commits: turn it on in this cluster only.
timeout 30 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres \
    -d postgres -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "SELECT pg_reload_conf()" >/dev/null || exit 1

FAULTS_SECRET=$(suite_secret)
export FAULTS_SECRET
# one component per fault, so that each test has its own rows and its own
# attach/conflict state; all share the run's secret
COMPONENTS="restart twin secret pgkill pgdown pgterm pglock pgburst pgsilent stop input"
comp_args=()
for c in $COMPONENTS; do
    comp_args+=("$c.localhost" "$FAULTS_SECRET")
done
suite_start_xmpp "${comp_args[@]}"
export FAULTS_XMPP_DIR=$WORK/xmpp

# the second Prosody: started to learn (and keep) its ports, then stopped;
# "prosody.sh restart" brings it back on the same ports during the test
"$HARNESS/prosody.sh" start "$WORK/xmpp2" late.localhost "$FAULTS_SECRET" || exit 1
"$HARNESS/prosody.sh" stop "$WORK/xmpp2" || exit 1
export FAULTS_XMPP2_DIR=$WORK/xmpp2
XMPP2_COMPONENT_PORT=$(sed -n 's/^XMPP_COMPONENT_PORT=//p' "$WORK/xmpp2/env")
export XMPP2_COMPONENT_PORT

suite_add_users faults f-

# ---------------------------------------------------------------- suite

say "running: ${TESTS[*]}"
suite_python "$FAULTS_TIMEOUT" "${TESTS[@]}"
suite_end_figures $?
