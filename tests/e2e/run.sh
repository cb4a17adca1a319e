#!/usr/bin/env bash
# tests/e2e/run.sh: registrar end to end, against a real Prosody, a real
# PostgreSQL and a real XMPP client library (slixmpp).
#
#   tests/e2e/run.sh [UNITTEST-NAME ...]
#
# Starts a throwaway PostgreSQL (tests/harness/pg.sh) and XMPP server
# (tests/harness/prosody.sh, or $E2E_SERVER.sh) with one component per
# registrar, creates the test accounts, runs the registrar processes (each
# with its own config written here, below $WORK, from tests/fixtures):
#   contests  a data form (XEP-0077 example 6)
#   accounts  username/password/email, legacy and form
#   policy    username/password/email/x-mmn: password change and cancel by
#             form with proofs, blocked JIDs, small rate limits
#   redirect  mode = "redirect" (XEP-0077 section 5)
#   remote    local_domains = {"elsewhere.example"}: every test user is
#             "from another server"
#   survey    the contests form plus a url (jabber:x:oob beside the form)
#   reload    the contests form again, in a config test_reload.py rewrites
#             and reloads with SIGHUP
#   desk      registrations start pending, a consent field, notices to
#             deskops (test_desk.py; test_hostile.py's hostile text)
#   adhoc     the accounts form with an admin, adm01 (test_adhoc.py: the
#             XEP-0133 commands, registration as an ad-hoc command)
#   quiz      ONE registrar serving two components (tests/fixtures/
#             services.conf, the titled form): quiz.localhost (a nick and
#             team form) and newsletter.localhost (username/password/email)
#             (test_services.py)
#   events    the contests form again, for test_events.py: a LISTEN
#             backend reading registration_events during a burst
#   invites   the accounts form by invitation only (tests/fixtures/
#             invites.conf), admin adm01 (test_invites.py)
#   validate  XEP-0122 rules on the form's fields (tests/fixtures/
#             validate.conf) for test_validate.py
#   messages  messages to users (tests/fixtures/messages.conf: welcome,
#             activated, disabled, admin_notice; pending; adm01 an admin;
#             notices to msgops) for test_messages.py
#   challenge the accounts form with a challenge for every new registration
#             (tests/fixtures/challenge.conf, its questions copied to
#             $WORK/challenge_qa.txt) for test_challenge.py
#   captcha   the same with an image challenge (tests/fixtures/captcha.conf):
#             deploy/registrar-captcha behind a wrapper that notes each
#             answer in $WORK/captcha/answer for the test
#   captchafail  the same with an image command that fails (fails closed)
#   risk      the same with challenge { mode = "risk" } (tests/fixtures/
#             risk.conf): challenged over two sign-ups a minute
#   lang      forms in the user's language (tests/fixtures/lang.conf: a
#             French translation of the form, errors and welcome) for
#             test_lang.py
# waits until each answers disco#info, runs the python suite (all of
# test_*.py, or the names given, e.g.
# test_accounts.AccountsTest.test_race_same_username), then stops registrar
# with SIGTERM and fails unless it exits 0. test_notify.py starts its own
# registrar (component notify.localhost, config written here) to watch
# its sd_notify datagrams. Everything it starts is stopped on exit, also on
# failure or ^C (the driver: tests/harness/suite.sh).
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

E2E_SERVER=${E2E_SERVER:-prosody}
e2e_tools="/usr/lib/postgresql/15/bin/initdb psql pg_dump setpriv"
[ "$E2E_SERVER" = prosody ] && e2e_tools="$e2e_tools /usr/bin/prosody"
# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
# shellcheck disable=SC2086
suite_init E2E "$E2E_SERVER" $e2e_tools -- "$@"

REGISTRAR_WRAPPER=${REGISTRAR_WRAPPER:-}
E2E_TIMEOUT=${E2E_TIMEOUT:-600}
if [ -n "$REGISTRAR_WRAPPER" ]; then
    E2E_ATTACH_TIMEOUT=${E2E_ATTACH_TIMEOUT:-60}
    REGISTRAR_STOP_TIMEOUT=60
    export E2E_REPLY_TIMEOUT=${E2E_REPLY_TIMEOUT:-60}
else
    E2E_ATTACH_TIMEOUT=${E2E_ATTACH_TIMEOUT:-15}
fi
# the registrar instances run.sh starts, and the fixture each runs
# (tests/fixtures/SERVICE.conf); test_notify.py starts notify itself
declare -A SERVICE=([contests]=contests [accounts]=accounts [policy]=policy
    [redirect]=redirect [remote]=contests [survey]=contests [reload]=contests
    [notify]=contests [desk]=desk [quiz]=services [adhoc]=accounts
    [events]=contests [invites]=invites [messages]=messages
    [validate]=validate
    [challenge]=challenge [captcha]=captcha [captchafail]=captcha
    [risk]=risk [lang]=lang)
# an instance serving a second component from the same process
declare -A SECOND_JID=([quiz]=newsletter.localhost)
# what each adds to its fixture's registration section
declare -A REGISTRATION=(
    [remote]='    local_domains = {"elsewhere.example"}'   # every user is remote
    [survey]='    url = "https://example.org/survey"')
INSTANCES="contests accounts policy redirect remote survey reload desk quiz
    events
    adhoc invites messages challenge captcha captchafail risk
    validate lang"

show_logs()
{
    local name f
    for name in $INSTANCES; do
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

# ---------------------------------------------------------------- servers

suite_start_pg
# a fresh secret per run and component
declare -A SECRET=()
xmpp_args=()
for name in $INSTANCES notify; do
    SECRET[$name]=$(suite_secret)
    xmpp_args+=("$name.localhost" "${SECRET[$name]}")
    second=${SECOND_JID[$name]:-}
    if [ -n "$second" ]; then
        SECRET[$second]=$(suite_secret)
        xmpp_args+=("$second" "${SECRET[$second]}")
        second_name=${second%%.*}
        export "${second_name^^}_JID=$second"    # NEWSLETTER_JID
    fi
    # CONTESTS_JID, ACCOUNTS_JID, POLICY_JID, ...
    export "${name^^}_JID=$name.localhost"
done
suite_start_xmpp "${xmpp_args[@]}"

export E2E_SECRETS_FILE=$WORK/secrets.txt
export E2E_WORKDIR=$WORK REGISTRAR_WRAPPER
# what registrar must never log nor store: the component secrets and every
# password the suite sends (tests/harness/e2e.py adds those)
printf '%s\n' "${SECRET[@]}" >"$E2E_SECRETS_FILE"
suite_add_users e2e e2e-

# ---------------------------------------------------------------- registrar

# the admin of the adhoc instance (an account of the pool, e2e.py's POOL)
REGISTRATION[adhoc]="    admins = {\"adm01@$XMPP_DOMAIN\"}"
REGISTRATION[invites]="${REGISTRATION[adhoc]}"
# the challenge's questions, where registrar (its own user) reads them
cp "$(dirname "${BASH_SOURCE[0]}")/../fixtures/challenge_qa.txt" "$WORK/" ||
    exit 1
chmod 644 "$WORK/challenge_qa.txt"
# the image commands: the shipped one behind a wrapper that notes the
# answer (registrar runs them as its own user: the directory is open)
mkdir -p "$WORK/captcha" && chmod 1777 "$WORK/captcha" || exit 1
install -m 755 "$(dirname "${BASH_SOURCE[0]}")/../../deploy/registrar-captcha" \
    "$WORK/captcha/registrar-captcha" || exit 1
printf '#!/bin/sh\nprintf %%s "$1" >"%s/captcha/answer"\nexec "%s/captcha/registrar-captcha" "$1"\n' \
    "$WORK" "$WORK" >"$WORK/captcha/draw"
printf '#!/bin/sh\necho "no image today" >&2\nexit 1\n' >"$WORK/captcha/broken"
chmod 755 "$WORK/captcha/draw" "$WORK/captcha/broken"
declare -A IMAGE_CMD=([captcha]="$WORK/captcha/draw"
    [captchafail]="$WORK/captcha/broken")
export CAPTCHA_ANSWER=$WORK/captcha/answer
for name in $INSTANCES notify; do
    second=()
    if [ -n "${SECOND_JID[$name]:-}" ]; then
        second=(SECOND_JID="${SECOND_JID[$name]}"
            SECOND_SECRET="${SECRET[${SECOND_JID[$name]}]}")
    fi
    suite_conf "$name" "${SERVICE[$name]}" JID="$name.localhost" \
        SECRET="${SECRET[$name]}" LOG_LEVEL="${E2E_LOG_LEVEL:-debug}" \
        REGISTRATION="${REGISTRATION[$name]:-}" "${second[@]}" \
        QA_FILE="$WORK/challenge_qa.txt" \
        IMAGE_CMD="${IMAGE_CMD[$name]:-/bin/false}"
done
export NOTIFY_CONF=$WORK/notify.conf
export RELOAD_CONF=$WORK/reload.conf RELOAD_LOG=$WORK/reload.log
export MESSAGES_CONF=$WORK/messages.conf MESSAGES_LOG=$WORK/messages.log

for name in $INSTANCES; do
    suite_registrar_start "$name"
done
for name in $INSTANCES; do
    if ! suite_registrar_attached "$name" "$E2E_ATTACH_TIMEOUT"; then
        say "registrar $name did not attach as $name.localhost within ${E2E_ATTACH_TIMEOUT}s"
        if ! pid_alive "${REG_PID[$name]}"; then
            suite_registrar_stop "$name"
            say "registrar $name has exited with status ${REG_STATUS[$name]}"
        fi
        show_logs
        exit 1
    fi
    say "registrar $name attached as $name.localhost"
    if [ -n "${SECOND_JID[$name]:-}" ]; then
        if ! suite_registrar_attached "$name" "$E2E_ATTACH_TIMEOUT" "${SECOND_JID[$name]}"; then
            say "registrar $name did not attach as ${SECOND_JID[$name]} within ${E2E_ATTACH_TIMEOUT}s"
            show_logs
            exit 1
        fi
        say "registrar $name attached as ${SECOND_JID[$name]} too"
    fi
done
# test_reload.py signals it (under a wrapper: the wrapper passes SIGHUP on)
export RELOAD_PID=${REG_PID[reload]}

# ---------------------------------------------------------------- suite

say "running: ${TESTS[*]}"
suite_python "$E2E_TIMEOUT" "${TESTS[@]}"
suite_rc=$?

# Then, unless only some tests were asked for: restart the XMPP server and
# PostgreSQL under the running registrars; they must attach again,
# reconnect and go on serving (restart_checks.py).
if [ "$suite_rc" = 0 ] && [ $# -eq 0 ] && [ "${E2E_RESTARTS:-1}" = 1 ]; then
    say "restarting $E2E_SERVER (same ports): registrar must attach again"
    "$XMPP_HARNESS" restart "$WORK/xmpp" || suite_rc=1
    for name in $INSTANCES; do
        [ "$suite_rc" = 0 ] || break
        # reconnect_max_ms is 30 s by default: the backoff may be long
        if ! suite_registrar_attached "$name" $((E2E_ATTACH_TIMEOUT + 40)); then
            say "registrar $name did not attach again after the $E2E_SERVER restart"
            suite_rc=1
        else
            say "registrar $name attached again"
        fi
        second=${SECOND_JID[$name]:-}
        if [ -n "$second" ] && [ "$suite_rc" = 0 ] &&
                ! suite_registrar_attached "$name" $((E2E_ATTACH_TIMEOUT + 40)) "$second"; then
            say "registrar $name did not attach again as $second after the $E2E_SERVER restart"
            suite_rc=1
        fi
    done
    if [ "$suite_rc" = 0 ]; then
        say "restarting PostgreSQL (same port): registrar must reconnect"
        "$HARNESS/pg.sh" restart "$WORK/pg" || suite_rc=1
    fi
    if [ "$suite_rc" = 0 ]; then
        suite_python 300 restart_checks
        suite_rc=$?
    fi
fi

status_ok=1
for name in $INSTANCES; do
    if ! pid_alive "${REG_PID[$name]}"; then
        say "registrar $name exited during the suite"
        status_ok=0
    fi
    suite_registrar_stop "$name"
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
    elif [[ " ${TESTS[*]} " == *" test_accounts"* ]] &&
            ! grep -q -F "$ACCOUNTS_JID" "$WORK/final.dump"; then
        # (the sanity check needs test_accounts' rows: a run of other
        # modules has none)
        say "pg_dump sanity: $WORK/final.dump has no row of $ACCOUNTS_JID"
        status_ok=0
    elif grep -n -F -f "$SECRETS_CHECKED" "$WORK/final.dump" >&2; then
        say "the database holds a clear-text password or secret (lines above, $WORK/final.dump)"
        status_ok=0
    else
        say "pg_dump holds none of the $(wc -l <"$SECRETS_CHECKED") passwords and secrets sent"
    fi
fi
if [ -n "$REGISTRAR_WRAPPER" ]; then
    for name in $INSTANCES; do
        # valgrind's summary, when that is the wrapper
        grep -E '(ERROR SUMMARY|definitely lost|indirectly lost):' \
            "$WORK/$name.log" | sed "s/^/e2e: $name: /" >&2
    done
fi

if [ "$suite_rc" = 0 ] && [ "$status_ok" = 1 ]; then
    suite_end 1
fi
show_logs
suite_end 0
