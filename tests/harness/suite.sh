# shellcheck shell=bash
# tests/harness/suite.sh: the driver shared by every suite that runs
# registrar against real servers: tests/e2e/run.sh, tests/faults/run.sh,
# tests/ha/run_*.sh and the benchmark, tests/bench/run.sh. Sourced, not
# run.
#
# What the suites do, in this order:
#   suite_init PREFIX SERVER TOOLS... -- "$@"
#                   --help (the caller's header comment), root, the
#                   registrar binary, the tools (exit 77 when one is
#                   missing: a package is not installed), python3-slixmpp,
#                   the work dir ($PREFIX_WORKDIR or a new
#                   /tmp/PREFIX-run.XXXXXX), the cleanup trap
#   suite_start_pg  a throwaway PostgreSQL (pg.sh) in $WORK/pg, migrated
#                   by the superuser (pg.sh migrate), its env
#                   exported
#   suite_start_xmpp JID SECRET ...
#                   the XMPP server (SERVER.sh: prosody, ejabberd) in
#                   $XMPP_DIR ($WORK/xmpp) with those components, its env
#                   exported; suite_stop_xmpp stops it; suite_use_server
#                   SERVER [DIR] picks another server (and directory) for
#                   the next start (the benchmark runs one after another)
#   suite_add_users MODULE PREFIX
#                   E2E_PASSWORD (unless set: PREFIX and random digits),
#                   then the accounts "python3 -m MODULE users" prints,
#                   created on the XMPP server
#   suite_secret [PREFIX]
#                   prints PREFIX and 24 random hex digits (a component
#                   secret, a password)
#   suite_conf NAME SERVICE [KEY=VALUE ...]
#                   $WORK/NAME.conf from tests/fixtures (registrar.py conf),
#                   checked with registrar --check-config
#   suite_registrar_start NAME [CONF], suite_registrar_attached NAME
#   SECONDS, suite_registrar_stop NAME
#                   a long-running registrar on CONF ($WORK/NAME.conf; log
#                   $WORK/NAME.log, pid REG_PID[NAME]); stop records its
#                   exit status in REG_STATUS[NAME]
#   suite_spawn NAME MARKER CMD...
#                   any other long-running process (CMD, in the background;
#                   log $WORK/NAME.log; pid $SPAWNED), listed in $SUITE_PIDS
#   suite_wait_log NAME PATTERN COUNT SECONDS PID
#                   until $WORK/NAME.log holds COUNT lines with PATTERN;
#                   false (the log's tail shown) after SECONDS or when PID
#                   has exited
#   suite_stop_all  every registrar and listed process still running
#   suite_python TIMEOUT MODULE...
#                   python3 -m unittest in the suite's directory, in the
#                   background and waited for (a signal to the driver
#                   runs the cleanup at once)
#   suite_figures, suite_end_figures RC
#                   FAULTS_FIGURES, the file faults.record() appends to;
#                   then its table (faults.py summary) and suite_end
#   suite_end RC    PASS or FAIL, exit
# On exit, also on failure or ^C, the trap stops by PID what was started:
# the python suite, the registrars started here, every process listed in
# $SUITE_PIDS (suite_spawn, registrar.py and the tests append "PID
# MARKER"; stopped only while its command line still holds MARKER), the
# servers; then calls suite_on_cleanup if the suite defines it, and
# removes $WORK after a passing run unless $PREFIX_KEEP=1.
#
# Python: the suites' shared modules live here, in tests/harness (e2e.py,
# faults.py, net.py, registrar.py). This file exports PYTHONPATH with
# tests/harness first: that is how every Python file of every suite
# imports them ("import e2e", "from net import BlackHole"); none adds a
# folder to sys.path.
#
# Set for the suite: HERE (its directory), ROOT, HARNESS, XMPP_HARNESS,
# XMPP_SERVER, XMPP_DIR, PY, PYTHONPATH, REGISTRAR_BIN, WORK, SUITE_WORK,
# SUITE_PIDS, TESTS (the modules given, or every test_*.py).

HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HARNESS/../.." && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HARNESS/lib.sh"

PY=/usr/bin/python3
export PYTHONPATH=$HARNESS${PYTHONPATH:+:$PYTHONPATH}
REGISTRAR_BIN=${REGISTRAR_BIN:-$ROOT/build/registrar}
REGISTRAR_STOP_TIMEOUT=${REGISTRAR_STOP_TIMEOUT:-15}

declare -A REG_PID=()
# shellcheck disable=SC2034  # read by the suites
declare -A REG_STATUS=()
SUITE_NAME=suite
SUITE_KEEP=0
STARTED_PG=0
STARTED_XMPP=0
SUITE_PID=
FAILED=1

say()
{
    echo "$SUITE_NAME: $*" >&2
}

# suite_init PREFIX SERVER TOOL... -- ARGS...
suite_init()
{
    local prefix=$1 server=$2 tool workdir keep
    shift 2
    local tools=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do tools+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    SUITE_NAME=${prefix,,}
    HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)

    case ${1:-} in
    -h|--help)
        sed -n '2,/^set -u/p' "${BASH_SOURCE[1]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    esac

    [ "$(id -u)" = 0 ] || { say "run as root (it creates and switches to $HARNESS_USER)"; exit 1; }
    case $REGISTRAR_BIN in /*) ;; *) REGISTRAR_BIN=$PWD/$REGISTRAR_BIN ;; esac
    if [ ! -x "$REGISTRAR_BIN" ]; then
        say "no registrar binary at $REGISTRAR_BIN (build it, or set REGISTRAR_BIN)"
        exit 1
    fi
    suite_use_server "$server"
    for tool in "${tools[@]}"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            say "SKIP: $tool is missing (apt-get install postgresql-15 prosody python3-slixmpp)"
            exit 77
        fi
    done
    if ! "$PY" -c 'import slixmpp' 2>/dev/null; then
        say "SKIP: $PY has no slixmpp (apt-get install python3-slixmpp)"
        exit 77
    fi

    workdir=${prefix}_WORKDIR
    keep=${prefix}_KEEP
    SUITE_KEEP=${!keep:-0}
    if [ -n "${!workdir:-}" ]; then
        WORK=${!workdir}
        mkdir -p "$WORK"
    else
        WORK=$(mktemp -d "/tmp/$SUITE_NAME-run.XXXXXX")
    fi
    WORK=$(cd "$WORK" && pwd -P)
    chmod 755 "$WORK"
    XMPP_DIR=$WORK/xmpp
    export SUITE_WORK=$WORK SUITE_PIDS=$WORK/pids REGISTRAR_BIN
    : >"$SUITE_PIDS"

    if [ $# -gt 0 ]; then
        TESTS=("$@")
    else
        TESTS=()
        for f in "$HERE"/test_*.py; do
            TESTS+=("$(basename "$f" .py)")
        done
    fi
    trap suite_cleanup EXIT
    trap 'say "interrupted"; exit 130' INT TERM
}

# ---------------------------------------------------------------- cleanup

suite_stop_listed()
{
    local pid marker
    [ -f "$SUITE_PIDS" ] || return 0
    while read -r pid marker; do
        [ -n "$pid" ] || continue
        if pid_runs "$pid" "$marker"; then
            say "stopping pid $pid ($marker)"
            kill -CONT "$pid" 2>/dev/null
            stop_pid "$pid" 10 TERM
        fi
    done <"$SUITE_PIDS"
}

suite_cleanup()
{
    local rc=$? name
    trap - EXIT INT TERM
    if [ -n "$SUITE_PID" ]; then
        # timeout(1) passes the signal on to the python suite
        stop_pid "$SUITE_PID" 10 TERM
    fi
    suite_stop_all
    if declare -F suite_on_cleanup >/dev/null; then
        suite_on_cleanup
    fi
    suite_stop_xmpp
    [ "$STARTED_PG" = 1 ] && "$HARNESS/pg.sh" stop "$WORK/pg"
    if [ "$FAILED" = 0 ] && [ "$rc" = 0 ] && [ "$SUITE_KEEP" != 1 ]; then
        rm -rf "$WORK"
    else
        say "logs, configs and data kept in $WORK"
    fi
    exit "$rc"
}

# ---------------------------------------------------------------- servers

suite_start_pg()
{
    "$HARNESS/pg.sh" start "$WORK/pg" || exit 1
    STARTED_PG=1
    "$HARNESS/pg.sh" migrate "$WORK/pg" "$REGISTRAR_BIN" || exit 1
    set -a
    . "$WORK/pg/env"
    set +a
}

# suite_use_server SERVER [DIR]: the server the next suite_start_xmpp
# starts (tests/harness/SERVER.sh; exit 77 when there is none), in DIR
# (default: as before, $WORK/xmpp)
suite_use_server()
{
    XMPP_SERVER=$1
    XMPP_HARNESS=$HARNESS/$1.sh
    [ $# -lt 2 ] || XMPP_DIR=$2
    if [ ! -x "$XMPP_HARNESS" ]; then
        say "SKIP: the XMPP server is $1, but there is no $XMPP_HARNESS"
        exit 77
    fi
}

suite_start_xmpp()
{
    STARTED_XMPP=1
    "$XMPP_HARNESS" start "$XMPP_DIR" "$@" || exit 1
    set -a
    . "$XMPP_DIR/env"
    set +a
}

suite_stop_xmpp()
{
    [ "$STARTED_XMPP" = 1 ] || return 0
    "$XMPP_HARNESS" stop "$XMPP_DIR"
    STARTED_XMPP=0
}

# suite_add_users MODULE PREFIX: E2E_PASSWORD, every account's password
# (unless set: PREFIX and random digits), exported; then the accounts
# "python3 -m MODULE users" prints (MODULE in the suite's directory or in
# tests/harness)
suite_add_users()
{
    E2E_PASSWORD=${E2E_PASSWORD:-$(suite_secret "$2")}
    export E2E_PASSWORD
    say "creating test accounts on $XMPP_SERVER"
    # shellcheck disable=SC2046
    "$XMPP_HARNESS" adduser "$XMPP_DIR" $(cd "$HERE" && "$PY" -m "$1" users) ||
        exit 1
}

# suite_secret [PREFIX]: PREFIX and 24 random hex digits
suite_secret()
{
    "$PY" -c 'import secrets, sys; print(sys.argv[1] + secrets.token_hex(12))' "${1:-}"
}

# ---------------------------------------------------------------- registrar

# suite_conf NAME SERVICE [KEY=VALUE ...]: $WORK/NAME.conf from
# tests/fixtures/SERVICE.conf (tests/fixtures/README.md), which registrar
# must accept. It holds the component secret: created private (umask 077).
suite_conf()
{
    local name=$1 service=$2 conf=$WORK/$1.conf out
    shift 2
    ( umask 077; "$PY" "$HARNESS/registrar.py" conf "$service" "$@" >"$conf" ) ||
        exit 1
    if ! out=$(timeout 20 "$REGISTRAR_BIN" --check-config --config "$conf" 2>&1); then
        say "registrar --check-config rejects $conf ($name):"
        printf '%s\n' "$out" >&2
        exit 1
    fi
}

# suite_registrar_start NAME [CONF]: registrar on CONF (default
# $WORK/NAME.conf), under $REGISTRAR_WRAPPER when set
suite_registrar_start()
{
    local name=$1 conf=${2:-$WORK/$1.conf}
    # shellcheck disable=SC2086  # the wrapper is a command line
    ${REGISTRAR_WRAPPER:-} "$REGISTRAR_BIN" --config "$conf" \
        </dev/null >"$WORK/$name.log" 2>&1 &
    REG_PID[$name]=$!
    say "registrar $name started (pid ${REG_PID[$name]}, log $WORK/$name.log)"
}

# suite_registrar_attached NAME SECONDS [JID]: true once JID (NAME.localhost)
# answers disco#info; false after SECONDS or when the process exits
suite_registrar_attached()
{
    local name=$1 secs=$2 jid=${3:-$1.localhost}
    timeout $((secs + 35)) "$PY" "$HARNESS/e2e.py" \
        wait-component "$jid" "$secs" "${REG_PID[$name]}"
}

# suite_registrar_stop NAME: SIGTERM, wait (bounded), record its exit status
suite_registrar_stop()
{
    local name=$1 pid=${REG_PID[$1]:-} i rc
    [ -n "$pid" ] || return 0
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < REGISTRAR_STOP_TIMEOUT * 10; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            say "registrar $name (pid $pid) ignored SIGTERM for ${REGISTRAR_STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    # shellcheck disable=SC2034  # read by the suites
    REG_STATUS[$name]=$rc
    unset "REG_PID[$name]"
    return 0
}

# ---------------------------------------------------------------- others

# suite_spawn NAME MARKER CMD...: CMD in the background, its output in
# $WORK/NAME.log, its pid in $SPAWNED and in $SUITE_PIDS with MARKER
# (a word of its command line: it is stopped only while it holds MARKER)
suite_spawn()
{
    local name=$1 marker=$2
    shift 2
    "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    SPAWNED=$!
    echo "$SPAWNED $marker" >>"$SUITE_PIDS"
}

# suite_wait_log NAME PATTERN COUNT SECONDS PID: true once $WORK/NAME.log
# holds COUNT lines matching PATTERN (grep); false, with the log's tail,
# after SECONDS or once PID has exited
suite_wait_log()
{
    local log=$WORK/$1.log i
    for ((i = 0; i < $4 * 10; i++)); do
        [ "$(grep -c -- "$2" "$log" 2>/dev/null)" -ge "$3" ] && return 0
        pid_alive "$5" || break
        sleep 0.1
    done
    say "no '$2' in $log within $4 s:"
    tail -n 20 "$log" >&2
    return 1
}

# suite_stop_all: every registrar started here and every process listed
# in $SUITE_PIDS that still runs
suite_stop_all()
{
    local name
    for name in "${!REG_PID[@]}"; do
        suite_registrar_stop "$name"
    done
    suite_stop_listed
}

# ---------------------------------------------------------------- suite

# suite_python TIMEOUT MODULE...: the exit status of the unittest run
suite_python()
{
    local secs=$1 rc
    shift
    (cd "$HERE" && exec timeout -k 10 "$secs" "$PY" -m unittest -v "$@") &
    SUITE_PID=$!
    wait "$SUITE_PID"
    rc=$?
    SUITE_PID=
    [ "$rc" = 124 ] && say "the python run did not finish within ${secs}s"
    return "$rc"
}

# suite_figures: FAULTS_FIGURES, a new file where faults.record() (tests/
# harness/faults.py) appends the figures of each check
suite_figures()
{
    export FAULTS_FIGURES=$WORK/figures.jsonl
    : >"$FAULTS_FIGURES"
}

# suite_end_figures RC: the table of the figures, then suite_end: PASS
# when RC (the python run's status) is 0
suite_end_figures()
{
    "$PY" -m faults summary "$FAULTS_FIGURES" || true
    [ "$1" = 0 ] && suite_end 1
    suite_end 0
}

# suite_end OK: exit 0 (PASS) when OK is 1, else 1 (FAIL)
suite_end()
{
    if [ "$1" = 1 ]; then
        FAILED=0
        say "PASS"
        exit 0
    fi
    say "FAIL"
    exit 1
}
