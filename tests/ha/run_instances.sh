#!/usr/bin/env bash
# tests/ha/run_instances.sh: several registrar processes on one component
# JID behind one ejabberd 23.01, on one PostgreSQL (issue 12).
#
#   tests/ha/run_instances.sh [UNITTEST-NAME ...]
#
# Starts a throwaway PostgreSQL (tests/harness/pg.sh) and ejabberd
# (tests/harness/ejabberd.sh) declaring three component JIDs, with
# ejabberd's domain_balancing written by the harness
# (EJABBERD_DOMAIN_BALANCING):
#   ha.localhost     bare_source, component_number 3
#   harnd.localhost  none: ejabberd's default, each stanza to one
#                    connection at random
#   race.localhost   bare_source, component_number 2
# creates the client accounts and runs test_instances.py (or the names
# given, e.g. test_instances.InstancesTest.test_3_username_race_across_instances):
#   1 three instances on ha.localhost share 20 looping clients; one is
#     SIGKILLed under the load and started again 3 s later (as systemd's
#     Restart= would)
#   2 the same on harnd.localhost without the restart: the survivors
#     take over
#   3 two instances on race.localhost; two JIDs, one on each instance,
#     claim the same username at the same time, ten rounds
#   4 two instances on race.localhost by invitation only (tests/fixtures/
#     invites.conf); two JIDs, one on each instance, register with the
#     same single-use token at the same time, ten rounds
#   5 two instances on race.localhost with messages to users: state
#     changes by plain SQL told to each user exactly once
#   6 two instances on harnd.localhost with a challenge for every new
#     registration (tests/fixtures/challenge.conf): 12 users get the form
#     and answer; all register, and some challenges are issued by one
#     instance and checked by the other (from their logs)
# Each checks that every registration answered 'result' is on file, that
# what the killed instance lost was an error or a timeout on the client,
# and that every client is served again; the figures (acknowledged and
# stored counts, errors and timeouts, how long the killed instance's users
# were without service) are printed as a table at the end. About 1.5
# minutes.
#
# Everything started here or by the tests (servers, registrar processes)
# is stopped on exit by PID, also on failure or ^C (the driver:
# tests/harness/suite.sh).
#
# Environment:
#   REGISTRAR_BIN          the binary (default: build/registrar)
#   HA_REQ_TIMEOUT         seconds a client waits for each reply (3)
#   HA_INSTANCES_WORKDIR   where servers, configs and logs go (default: a
#                          new /tmp/ha_instances-run.XXXXXX, removed after
#                          a passing run)
#   HA_INSTANCES_KEEP=1    keep it even when everything passed
#   HA_INSTANCES_TIMEOUT   seconds for the whole python run (default 420)
#   EJABBERD_LOG_LEVEL     ejabberd's log level (default info)
# Exit status: 0 passed, 1 failed, 77 skipped (a needed tool is missing).
set -u -o pipefail

# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
suite_init HA_INSTANCES ejabberd /usr/lib/postgresql/15/bin/initdb \
    /usr/lib/postgresql/15/bin/pg_ctl /usr/sbin/ejabberdctl psql setpriv \
    -- "$@"
# only this file's tests: tests/ha holds other suites' modules too
[ $# -gt 0 ] || TESTS=(test_instances)

if ! "$PY" -c 'import yaml' 2>/dev/null; then
    say "SKIP: $PY has no yaml (apt-get install python3-yaml)"
    exit 77
fi

HA_INSTANCES_TIMEOUT=${HA_INSTANCES_TIMEOUT:-420}
suite_figures

# ---------------------------------------------------------------- servers

suite_start_pg

HA_SECRET=$(suite_secret)
export HA_SECRET
export EJABBERD_DOMAIN_BALANCING="ha.localhost=bare_source:3 race.localhost=bare_source:2"
suite_start_xmpp ha.localhost "$HA_SECRET" harnd.localhost "$HA_SECRET" \
    race.localhost "$HA_SECRET"
say "ejabberd's domain_balancing: $EJABBERD_DOMAIN_BALANCING"

suite_add_users test_instances i-

# ---------------------------------------------------------------- suite

say "running: ${TESTS[*]}"
suite_python "$HA_INSTANCES_TIMEOUT" "${TESTS[@]}"
suite_end_figures $?
