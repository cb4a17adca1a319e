#!/usr/bin/env bash
# tests/ha/run_failover.sh: registrar through a PostgreSQL primary ->
# standby failover, under load, found through a multi-host conninfo.
#
#   tests/ha/run_failover.sh [UNITTEST-NAME ...]
#
# Starts a throwaway Prosody (tests/harness/prosody.sh) declaring one
# component per repetition and creates the client accounts; then
# test_failover.py, for each repetition, makes a fresh pair of PostgreSQL
# 15 clusters on loopback (tests/harness/pg.sh start, then pg.sh standby:
# a streaming standby made with pg_basebackup -R), makes the standby
# synchronous (synchronous_commit = on, synchronous_standby_names =
# 'standby1'), starts registrar on
#   host=127.0.0.1,127.0.0.1 port=PRIMARY,STANDBY ... target_session_attrs=read-write
# and runs 10 slixmpp clients, each updating its registration in a loop
# with an increasing sequence number. Under that load it stops the primary
# (pg_ctl stop -m immediate), promotes the standby a second later (pg.sh
# promote) and keeps the load running. It checks that no acknowledged
# registration is lost (every client's stored sequence number is at least
# its highest acknowledged one, and one it sent), that every request got a
# result, a "try again" error or a timeout, that registrar is alive and
# serves again, and prints the time to resume. About a minute.
#
# Everything started here or by the test (servers, the clusters of every
# repetition, registrar processes) is stopped on exit by PID, also on
# failure or ^C (the driver: tests/harness/suite.sh).
#
# Environment:
#   REGISTRAR_BIN          the binary (default: build/registrar)
#   HA_FAILOVER_REPS       repetitions, each with a fresh pair (default 3)
#   HA_FAILOVER_PROMOTE_DELAY  seconds from the stop to the promotion
#                          (default 1; longer shows registrar's back-off)
#   HA_FAILOVER_SYNC=0     asynchronous replication instead (no
#                          synchronous_standby_names): losses are reported,
#                          not failed (to see the trade-off; not in ctest)
#   HA_FAILOVER_WORKDIR    where servers, configs and logs go (default: a
#                          new /tmp/ha_failover-run.XXXXXX, removed after a
#                          passing run)
#   HA_FAILOVER_KEEP=1     keep it even when everything passed
#   HA_FAILOVER_TIMEOUT    seconds for the whole python run (default 240)
# Exit status: 0 passed, 1 failed, 77 skipped (a needed tool is missing).
set -u -o pipefail

# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
suite_init HA_FAILOVER prosody /usr/lib/postgresql/15/bin/initdb \
    /usr/lib/postgresql/15/bin/pg_ctl /usr/lib/postgresql/15/bin/pg_basebackup \
    /usr/bin/prosody setpriv -- "$@"
# only this file's test: tests/ha holds other suites' modules too
[ $# -gt 0 ] || TESTS=(test_failover)

if ! "$PY" -c 'import psycopg2' 2>/dev/null; then
    say "SKIP: $PY has no psycopg2 (apt-get install python3-psycopg2)"
    exit 77
fi

HA_FAILOVER_TIMEOUT=${HA_FAILOVER_TIMEOUT:-240}
export HA_FAILOVER_REPS=${HA_FAILOVER_REPS:-3}
export HA_FAILOVER_SYNC=${HA_FAILOVER_SYNC:-1}
export PROSODY_LOG_LEVEL=${PROSODY_LOG_LEVEL:-info}
suite_figures

# shellcheck disable=SC2317  # called by suite_cleanup
suite_on_cleanup()
{
    local d
    # the clusters of every repetition, the promoted standby included
    for d in "$WORK"/rep*/standby "$WORK"/rep*/primary; do
        [ -d "$d" ] && "$HARNESS/pg.sh" stop "$d"
    done
    return 0
}

# ---------------------------------------------------------------- servers

HA_SECRET=$(suite_secret)
export HA_SECRET
comp_args=()
for ((i = 1; i <= HA_FAILOVER_REPS; i++)); do
    comp_args+=("failover$i.localhost" "$HA_SECRET")
done
suite_start_xmpp "${comp_args[@]}"

suite_add_users test_failover h-

# ---------------------------------------------------------------- suite

say "running: ${TESTS[*]} ($HA_FAILOVER_REPS repetition(s))"
suite_python "$HA_FAILOVER_TIMEOUT" "${TESTS[@]}"
suite_end_figures $?
