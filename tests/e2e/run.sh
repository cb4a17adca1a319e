#!/usr/bin/env bash
# tests/e2e/run.sh: registrar end to end, against a real Prosody, a real
# PostgreSQL and a real XMPP client library (slixmpp).
#
#   tests/e2e/run.sh [UNITTEST-NAME ...]
#
# Starts a throwaway PostgreSQL (tests/harness/pg.sh) and XMPP server
# (tests/harness/prosody.sh, or $E2E_SERVER.sh) with one component per
# registrar, creates the test accounts, runs the registrar processes (each
# with its own config written here, below $WORK):
#   contests  a data form (XEP-0077 example 6)
#   accounts  username/password/email, legacy and form
#   policy    username/password/email/x-mmn: password change and cancel by
#             form with proofs, blocked JIDs, small rate limits
#   redirect  mode = "redirect" (XEP-0077 section 5)
#   remote    local_domains = {"elsewhere.example"}: every test user is
#             "from another server"
#   survey    the contests form plus a url (jabber:x:oob beside the form)
#   reload    a contests-like service whose config test_reload.py rewrites
#             and reloads with SIGHUP
# waits until each answers disco#info, runs the python suite (all of
# test_*.py, or the names given, e.g.
# test_accounts.AccountsTest.test_race_same_username), then stops registrar
# with SIGTERM and fails unless it exits 0. test_notify.py starts its own
# registrar (component notify.localhost, configs written here) to watch
# its sd_notify datagrams. Everything it starts is stopped on exit, also on
# failure or ^C.
#
# Environment:
#   REGISTRAR_BIN      the binary (default: build/registrar)
#   REGISTRAR_WRAPPER  run it under this, e.g.
#                      "valgrind --error-exitcode=99 --leak-check=full"
#   E2E_WORKDIR        where servers, configs and logs go (default: a new
#                      /tmp/e2e-run.XXXXXX, removed after a passing run)
#   E2E_KEEP=1         keep E2E_WORKDIR even when everything passed
#   E2E_TIMEOUT        seconds for the whole python suite (default 600)
#   E2E_ATTACH_TIMEOUT seconds for a component to attach (default 15,
#                      60 under a wrapper)
#   E2E_REPLY_TIMEOUT  seconds to wait for one reply (default 20, 60 under
#                      a wrapper)
#   E2E_LOG_LEVEL      registrar's log level (default debug)
#   E2E_XMPP_LOG       write slixmpp's debug log (every stanza) to this file
#   PROSODY_LOG_LEVEL  Prosody's log level (default debug)
#   E2E_SERVER         the XMPP server: prosody (default) or any NAME with a
#                      tests/harness/NAME.sh of the same interface
#   E2E_RESTARTS=0     skip the restart phase (after a full passing suite,
#                      Prosody then PostgreSQL are restarted under the
#                      running registrars, and restart_checks.py runs)
# Besides the suite's own checks, it fails when registrar exits during the
# suite, exits non-zero on SIGTERM, logs a password or its secret, or when
# a pg_dump of the database after the whole run holds any password the
# suite sent (E2E_SECRETS_FILE).
# Exit status: 0 all passed, 1 anything failed, 77 skipped (a needed tool
# is missing).
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HARNESS=$ROOT/tests/harness
# shellcheck source=tests/harness/lib.sh
. "$HARNESS/lib.sh"

PY=/usr/bin/python3
REGISTRAR_BIN=${REGISTRAR_BIN:-$ROOT/build/registrar}
REGISTRAR_WRAPPER=${REGISTRAR_WRAPPER:-}
E2E_TIMEOUT=${E2E_TIMEOUT:-600}
if [ -n "$REGISTRAR_WRAPPER" ]; then
    E2E_ATTACH_TIMEOUT=${E2E_ATTACH_TIMEOUT:-60}
    STOP_TIMEOUT=60
    export E2E_REPLY_TIMEOUT=${E2E_REPLY_TIMEOUT:-60}
else
    E2E_ATTACH_TIMEOUT=${E2E_ATTACH_TIMEOUT:-15}
    STOP_TIMEOUT=15
fi
# the registrar instances run.sh starts (their configs: write_NAME_conf)
SERVICES="contests accounts policy redirect remote survey reload"
E2E_SERVER=${E2E_SERVER:-prosody}
XMPP_HARNESS=$HARNESS/$E2E_SERVER.sh

say()
{
    echo "e2e: $*" >&2
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
if [ ! -x "$XMPP_HARNESS" ]; then
    say "SKIP: E2E_SERVER=$E2E_SERVER, but there is no $XMPP_HARNESS"
    exit 77
fi
tools="/usr/lib/postgresql/15/bin/initdb psql pg_dump setpriv"
[ "$E2E_SERVER" = prosody ] && tools="$tools /usr/bin/prosody"
for tool in $tools; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        say "SKIP: $tool is missing (apt-get install postgresql-15 prosody python3-slixmpp)"
        exit 77
    fi
done
if ! "$PY" -c 'import slixmpp' 2>/dev/null; then
    say "SKIP: $PY has no slixmpp (apt-get install python3-slixmpp)"
    exit 77
fi

if [ -n "${E2E_WORKDIR:-}" ]; then
    WORK=$E2E_WORKDIR
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/e2e-run.XXXXXX)
fi
WORK=$(cd "$WORK" && pwd -P)
chmod 755 "$WORK"

# ---------------------------------------------------------------- cleanup

declare -A REG_PID=()
declare -A REG_STATUS=()
STARTED_PG=0
STARTED_XMPP=0
SUITE_PID=
FAILED=1

# stop_registrar NAME: SIGTERM, wait (bounded), record its exit status.
stop_registrar()
{
    local name=$1 pid=${REG_PID[$1]:-} i rc
    [ -n "$pid" ] || return 0
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            say "registrar $name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    REG_STATUS[$name]=$rc
    unset "REG_PID[$name]"
    return 0
}

show_logs()
{
    local name
    for name in $SERVICES; do
        if [ -f "$WORK/$name.log" ]; then
            echo "----- registrar $name: last 60 lines of $WORK/$name.log" >&2
            tail -n 60 "$WORK/$name.log" >&2
        fi
    done
    for f in "$WORK"/xmpp/*.log; do
        [ -f "$f" ] || continue
        echo "----- $E2E_SERVER: last 20 lines of $f" >&2
        tail -n 20 "$f" >&2
    done
    echo "-----" >&2
}

cleanup()
{
    local rc=$? name
    trap - EXIT INT TERM
    if [ -n "$SUITE_PID" ]; then
        # timeout(1) passes the signal on to the python suite
        stop_pid "$SUITE_PID" 10 TERM
    fi
    for name in "${!REG_PID[@]}"; do
        stop_registrar "$name"
    done
    [ "$STARTED_XMPP" = 1 ] && "$XMPP_HARNESS" stop "$WORK/xmpp"
    [ "$STARTED_PG" = 1 ] && "$HARNESS/pg.sh" stop "$WORK/pg"
    if [ "$FAILED" = 0 ] && [ "$rc" = 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
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

secret_for()
{
    # a fresh secret per run and component
    "$PY" -c 'import secrets; print(secrets.token_hex(12))'
}
declare -A JID=() SECRET=()
for name in $SERVICES notify; do
    JID[$name]=$name.localhost
    SECRET[$name]=$(secret_for)
done
CONTESTS_JID=${JID[contests]}
ACCOUNTS_JID=${JID[accounts]}

xmpp_args=()
for name in $SERVICES notify; do
    xmpp_args+=("${JID[$name]}" "${SECRET[$name]}")
done
"$XMPP_HARNESS" start "$WORK/xmpp" "${xmpp_args[@]}" || exit 1
STARTED_XMPP=1
set -a
. "$WORK/xmpp/env"
set +a

export E2E_PASSWORD=${E2E_PASSWORD:-$("$PY" -c 'import secrets; print("e2e-" + secrets.token_hex(6))')}
export CONTESTS_JID ACCOUNTS_JID
for name in $SERVICES notify; do
    # POLICY_JID, REDIRECT_JID, ...
    export "${name^^}_JID=${JID[$name]}"
done
export E2E_SECRETS_FILE=$WORK/secrets.txt
export E2E_WORKDIR=$WORK REGISTRAR_BIN REGISTRAR_WRAPPER
# what registrar must never log nor store: the component secrets and every
# password the suite sends (e2e.py adds those)
for name in $SERVICES notify; do
    printf '%s\n' "${SECRET[$name]}"
done >"$E2E_SECRETS_FILE"
say "creating test accounts on $E2E_SERVER"
# shellcheck disable=SC2046
"$XMPP_HARNESS" adduser "$WORK/xmpp" $("$PY" "$HERE/e2e.py" users) || exit 1

# ---------------------------------------------------------------- registrar

# conf_common NAME [PORT [COMPONENT-LINES]]: the component, database and
# log sections
conf_common()
{
    local name=$1 port=${2:-$XMPP_COMPONENT_PORT} extra=${3:-}
    cat <<EOF
# written by tests/e2e/run.sh
component {
    jid    = "${JID[$name]}"
    server = "127.0.0.1"
    port   = $port
    secret = "${SECRET[$name]}"
$extra
}
database {
    conninfo = "$REGISTRAR_CONNINFO"
}
log { level = "${E2E_LOG_LEVEL:-debug}" }
EOF
}

# the registration section of XEP-0077 example 6; $1 = extra lines
contests_registration()
{
    local title=$1 extra=${2:-}
    cat <<EOF
registration {
    title        = "$title"
    instructions = "Please provide the following information to sign up for our special contests!"
    field "first"    { type = "text-single" label = "Given Name"    required = true }
    field "last"     { type = "text-single" label = "Family Name"   required = true }
    field "email"    { type = "text-single" label = "Email Address" required = true }
    field "x-gender" {
        type  = "list-single"
        label = "Gender"
        option "M" { label = "Male" }
        option "F" { label = "Female" }
    }
$extra
}
EOF
}

write_contests_conf()
{
    conf_common contests
    contests_registration "Contest Registration"
}

write_accounts_conf()
{
    conf_common accounts
    cat <<'EOF'
registration {
    title        = "Account Registration"
    instructions = "Choose a username and password for use with this service. Please also provide your email address."
    field "username" { type = "text-single"  label = "Username"      required = true }
    field "password" { type = "text-private" label = "Password"      required = true }
    field "email"    { type = "text-single"  label = "Email Address" required = true }
}
EOF
}

# password change and cancel by form with a proof, blocked JIDs, and
# small rate limits (test_policy.py)
write_policy_conf()
{
    conf_common policy
    cat <<EOF
registration {
    title        = "Policy Registration"
    instructions = "Choose a username and password; tell us your mother's maiden name."
    field "username" { type = "text-single"  label = "Username"      required = true }
    field "password" { type = "text-private" label = "Password"      required = true }
    field "email"    { type = "text-single"  label = "Email Address" required = true }
    field "x-mmn"    { type = "text-single"  label = "Mother's Maiden Name" }
    password_change       = "form"
    password_change_proof = {"x-mmn"}
    remove                = "form"
    remove_proof          = {"x-mmn"}
    blocked_jids          = {"blocked*@$XMPP_DOMAIN"}
    local_domains         = {"$XMPP_DOMAIN"}
    hash_cost             = 4
}
limits {
    jid_burst         = 3
    jid_per_minute    = 60
    domain_per_minute = 0
    global_per_minute = 0
}
EOF
}

write_redirect_conf()
{
    conf_common redirect
    cat <<'EOF'
registration {
    mode         = "redirect"
    url          = "https://example.org/signup"
    title        = "Redirected Registration"
    field "email" { type = "text-single" label = "Email Address" required = true }
}
EOF
}

# every user of the test server is "from another server" here
write_remote_conf()
{
    conf_common remote
    contests_registration "Remote Registration" \
        '    local_domains = {"elsewhere.example"}'
}

write_survey_conf()
{
    conf_common survey
    contests_registration "Survey Registration" \
        '    url = "https://example.org/survey"'
}

write_reload_conf()
{
    conf_common reload
    contests_registration "Reload Registration"
}

# test_notify.py runs these itself: attached, and pointed at a closed port
write_notify_conf()
{
    conf_common notify
    contests_registration "Notify Registration"
}

write_notify_down_conf()
{
    # a port nobody listens on; short back-off, so several attempts
    conf_common notify "$(free_port)" \
        '    reconnect_min_ms = 200
    reconnect_max_ms = 600'
    contests_registration "Notify Registration"
}

# The suite sends more registrations from one domain than a production
# limit allows (the race alone is 25 at once): lift the rate limits when
# this registrar has them (all but policy, which tests its own).
LIMITS_SECTION='
limits {
    jid_burst = 1000
    jid_per_minute = 6000
    domain_burst = 10000
    domain_per_minute = 60000
    global_burst = 10000
    global_per_minute = 60000
}'
write_contests_conf >"$WORK/limits-probe.conf"
printf '%s\n' "$LIMITS_SECTION" >>"$WORK/limits-probe.conf"
if timeout 20 "$REGISTRAR_BIN" --check-config --config "$WORK/limits-probe.conf" \
        >/dev/null 2>&1; then
    HAVE_LIMITS=1
else
    HAVE_LIMITS=0
    say "this registrar has no limits section; the suite runs with its defaults"
fi
rm -f "$WORK/limits-probe.conf"

for name in $SERVICES notify notify_down; do
    conf=$WORK/${name//_/-}.conf
    "write_${name}_conf" >"$conf"
    [ "$HAVE_LIMITS" = 1 ] && [ "$name" != policy ] &&
        printf '%s\n' "$LIMITS_SECTION" >>"$conf"
    if ! out=$(timeout 20 "$REGISTRAR_BIN" --check-config --config "$conf" 2>&1); then
        say "registrar --check-config rejects $conf:"
        printf '%s\n' "$out" >&2
        exit 1
    fi
done
export NOTIFY_CONF=$WORK/notify.conf NOTIFY_DOWN_CONF=$WORK/notify-down.conf
export RELOAD_CONF=$WORK/reload.conf RELOAD_LOG=$WORK/reload.log

start_registrar()
{
    local name=$1
    # shellcheck disable=SC2086  # the wrapper is a command line
    $REGISTRAR_WRAPPER "$REGISTRAR_BIN" --config "$WORK/$name.conf" \
        </dev/null >"$WORK/$name.log" 2>&1 &
    REG_PID[$name]=$!
    say "registrar $name started (pid ${REG_PID[$name]}, log $WORK/$name.log)"
}

for name in $SERVICES; do
    start_registrar "$name"
done
for name in $SERVICES; do
    jid=${JID[$name]}
    if ! timeout $((E2E_ATTACH_TIMEOUT + 30)) "$PY" "$HERE/e2e.py" \
            wait-component "$jid" "$E2E_ATTACH_TIMEOUT" "${REG_PID[$name]}"; then
        say "registrar $name did not attach as $jid within ${E2E_ATTACH_TIMEOUT}s"
        if ! pid_alive "${REG_PID[$name]}"; then
            stop_registrar "$name"
            say "registrar $name has exited with status ${REG_STATUS[$name]}"
        fi
        show_logs
        exit 1
    fi
    say "registrar $name attached as $jid"
done
# test_reload.py signals it (under a wrapper: the wrapper passes SIGHUP on)
export RELOAD_PID=${REG_PID[reload]}

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
# in the background and waited for, so that a signal to this script runs
# the cleanup at once instead of after the suite
(cd "$HERE" && exec timeout -k 10 "$E2E_TIMEOUT" "$PY" -m unittest -v "${TESTS[@]}") &
SUITE_PID=$!
wait "$SUITE_PID"
suite_rc=$?
SUITE_PID=
[ "$suite_rc" = 124 ] && say "the suite did not finish within ${E2E_TIMEOUT}s"

# Then, unless only some tests were asked for: restart Prosody and
# PostgreSQL under the running registrars; they must attach again,
# reconnect and go on serving (restart_checks.py).
if [ "$suite_rc" = 0 ] && [ $# -eq 0 ] && [ "${E2E_RESTARTS:-1}" = 1 ]; then
    say "restarting $E2E_SERVER (same ports): registrar must attach again"
    "$XMPP_HARNESS" restart "$WORK/xmpp" || suite_rc=1
    for name in $SERVICES; do
        [ "$suite_rc" = 0 ] || break
        jid=${JID[$name]}
        # reconnect_max_ms is 30 s by default: the backoff may be long
        if ! timeout $((E2E_ATTACH_TIMEOUT + 75)) "$PY" "$HERE/e2e.py" \
                wait-component "$jid" $((E2E_ATTACH_TIMEOUT + 40)) "${REG_PID[$name]}"; then
            say "registrar $name did not attach again after the $E2E_SERVER restart"
            suite_rc=1
        else
            say "registrar $name attached again"
        fi
    done
    if [ "$suite_rc" = 0 ]; then
        say "restarting PostgreSQL (same port): registrar must reconnect"
        "$HARNESS/pg.sh" restart "$WORK/pg" || suite_rc=1
    fi
    if [ "$suite_rc" = 0 ]; then
        (cd "$HERE" && exec timeout -k 10 300 "$PY" -m unittest -v restart_checks) &
        SUITE_PID=$!
        wait "$SUITE_PID"
        suite_rc=$?
        SUITE_PID=
    fi
fi

status_ok=1
for name in $SERVICES; do
    if ! pid_alive "${REG_PID[$name]}"; then
        say "registrar $name exited during the suite"
        status_ok=0
    fi
    stop_registrar "$name"
    if [ "${REG_STATUS[$name]}" != 0 ]; then
        say "registrar $name exited with status ${REG_STATUS[$name]} (expected 0 after SIGTERM)"
        status_ok=0
    fi
done
# registrar logs at debug level here: still never a password. Every
# secret the suite noted with at least 4 characters other than blanks, so
# that no pattern matches by chance.
SECRETS_CHECKED=$WORK/secrets-checked.txt
awk '{ t = $0; gsub(/[ \t\r]/, "", t) } length(t) >= 4' "$E2E_SECRETS_FILE" |
    sort -u >"$SECRETS_CHECKED"
if [ -s "$SECRETS_CHECKED" ]; then
    # every registrar log: the instances above and test_notify.py's
    for log in "$WORK"/*.log; do
        [ -f "$log" ] || continue
        if grep -n -F -f "$SECRETS_CHECKED" "$log" >&2; then
            say "registrar logged a secret or password in $log (lines above)"
            status_ok=0
        fi
    done
    # and the database, after everything: only hashes, never a password
    if ! timeout 60 pg_dump --no-owner --inserts >"$WORK/final.dump"; then
        say "pg_dump failed"
        status_ok=0
    elif ! grep -q -F "${JID[accounts]}" "$WORK/final.dump"; then
        say "pg_dump sanity: $WORK/final.dump has no row of ${JID[accounts]}"
        status_ok=0
    elif grep -n -F -f "$SECRETS_CHECKED" "$WORK/final.dump" >&2; then
        say "the database holds a clear-text password or secret (lines above, $WORK/final.dump)"
        status_ok=0
    else
        say "pg_dump holds none of the $(wc -l <"$SECRETS_CHECKED") passwords and secrets sent"
    fi
fi
if [ -n "$REGISTRAR_WRAPPER" ]; then
    for name in $SERVICES; do
        # valgrind's summary, when that is the wrapper
        grep -E '(ERROR SUMMARY|definitely lost|indirectly lost):' \
            "$WORK/$name.log" | sed "s/^/e2e: $name: /" >&2
    done
fi

if [ "$suite_rc" = 0 ] && [ "$status_ok" = 1 ]; then
    FAILED=0
    say "PASS"
    exit 0
fi
show_logs
say "FAIL"
exit 1
