#!/usr/bin/env bash
# tests/connect/run.sh: registrar --check-config --connect against a real
# PostgreSQL and a real Prosody (or $CONNECT_SERVER.sh), one configuration
# per case, each line and exit code checked:
#   good        the harness's set-up (schema migrated by the superuser, the
#               login role granted registrar_service): every check ok, 0
#   two         two titled services, one with a wrong secret: that one's
#               line FAIL, the other's ok, 77
#   wrong       a wrong component secret: xmpp FAIL, 77; the database ok
#   norights    a login role granted nothing: schema FAIL (its version
#               unreadable), rights FAIL naming what registrar_service
#               gives, 76
#   owner       the superuser: owner warn, 0
#   behind      the schema's last migration forgotten: schema FAIL, 76
#   nodomain    the XMPP server's component port closed: xmpp FAIL, 69
#   invalid     a mistake in the file: nothing connected, 78
#   attached    while a registrar is attached as the JID: still ok, 0
#   dbdown      PostgreSQL stopped: database FAIL, 75; the handshake still
#               checked (ok)
# Exit status: 0 all passed, 1 anything failed, 77 skipped (a tool is
# missing).
#
# Environment: REGISTRAR_BIN (default build/registrar), CONNECT_WORKDIR,
# CONNECT_KEEP=1, CONNECT_SERVER (prosody, or ejabberd).
set -u -o pipefail

CONNECT_SERVER=${CONNECT_SERVER:-prosody}
connect_tools="/usr/lib/postgresql/15/bin/initdb psql setpriv"
[ "$CONNECT_SERVER" = prosody ] && connect_tools="$connect_tools /usr/bin/prosody"
# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
# shellcheck disable=SC2086
suite_init CONNECT "$CONNECT_SERVER" $connect_tools -- "$@"

JID=check.localhost
JID2=other.localhost
SECRET=$(suite_secret)
SECRET2=$(suite_secret)
suite_start_pg
suite_start_xmpp "$JID" "$SECRET" "$JID2" "$SECRET2"

failures=0
checks=0

# conf NAME KEY=VALUE...: $WORK/NAME.conf, the contests fixture for $JID
conf()
{
    local name=$1
    shift
    ( umask 077; "$PY" "$HARNESS/registrar.py" conf contests JID="$JID" \
        SECRET="$SECRET" "$@" >"$WORK/$name.conf" ) || exit 1
}

# run NAME: registrar --check-config --connect on $WORK/NAME.conf; its
# output in $WORK/NAME.out, its exit status in $RC
run()
{
    timeout 120 "$REGISTRAR_BIN" --check-config --connect \
        --config "$WORK/$1.conf" >"$WORK/$1.out" 2>"$WORK/$1.err"
    RC=$?
    say "$1: exit $RC"
    sed 's/^/    /' "$WORK/$1.out" >&2
}

# expect NAME CODE LINE...: the exit status was CODE and each LINE (an
# extended regex) matches a whole line of the output
expect()
{
    local name=$1 code=$2 re
    shift 2
    checks=$((checks + 1))
    if [ "$RC" != "$code" ]; then
        say "FAIL: $name: exit $RC, expected $code"
        sed 's/^/    stderr: /' "$WORK/$name.err" >&2
        failures=$((failures + 1))
    fi
    for re in "$@"; do
        checks=$((checks + 1))
        if ! grep -qE "^$re\$" "$WORK/$name.out"; then
            say "FAIL: $name: no line matching '$re'"
            failures=$((failures + 1))
        fi
    done
}

# expect_not NAME REGEX: no line of the output matches
expect_not()
{
    checks=$((checks + 1))
    if grep -qE "$2" "$WORK/$1.out"; then
        say "FAIL: $1: a line matches '$2'"
        failures=$((failures + 1))
    fi
}

super()
{
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" \
        -U postgres -d registrar "$@"
}
PGBIN=/usr/lib/postgresql/15/bin
PORT_RE='127\.0\.0\.1:[0-9]+'

# ---------------------------------------------------------------- cases

conf good
run good
expect good 0 \
    "$WORK/good.conf: OK" \
    "database: ok: connected to registrar on $PORT_RE as registrar" \
    "schema: ok: version [0-9]+, this registrar's" \
    "rights: ok: registrar may read registrations and run registrar's write functions \(registrar_service's rights\)" \
    "owner: ok: registrar owns none of registrar's tables \(registrar_owner does\)" \
    "xmpp $JID: ok: $PORT_RE accepted the secret for $JID"
expect_not good "FAIL|warn"
if grep -qF "$SECRET" "$WORK/good.out" "$WORK/good.err"; then
    say "FAIL: good: the secret is in the output"
    failures=$((failures + 1))
fi

( umask 077; "$PY" "$HARNESS/registrar.py" conf services JID="$JID" \
    SECRET="$SECRET" SECOND_JID="$JID2" SECOND_SECRET="not-$SECRET2" \
    >"$WORK/two.conf" ) || exit 1
run two
expect two 77 \
    "xmpp $JID: ok: $PORT_RE accepted the secret for $JID" \
    "xmpp $JID2: FAIL: $PORT_RE refused the handshake for $JID2: the secret does not match the server's component secret"

conf wrong SECRET="not-$SECRET"
run wrong
expect wrong 77 \
    "database: ok: connected to registrar on $PORT_RE as registrar" \
    "xmpp $JID: FAIL: $PORT_RE refused the handshake for $JID: the secret does not match the server's component secret"

super -c "CREATE ROLE norights LOGIN" || exit 1
conf norights CONNINFO="host=127.0.0.1 port=$PGPORT dbname=registrar user=norights"
run norights
expect norights 76 \
    "database: ok: connected to registrar on $PORT_RE as norights" \
    "schema: FAIL: cannot read its version: norights may not read registrar_schema_migrations \(see rights\)" \
    "rights: FAIL: norights lacks SELECT on registrations, SELECT on registration_events, SELECT on registration_bans, SELECT on registrar_schema_migrations, EXECUTE on registrar_put_event\(\), EXECUTE on registrar_remove_event\(\), EXECUTE on registrar_set_password_event\(\), EXECUTE on registrar_set_state_event\(\), EXECUTE on registrar_unban_event\(\), EXECUTE on registrar_claim_state_changes\(\), EXECUTE on registrar_put_invite_event\(\), EXECUTE on registrar_invite_create\(\), EXECUTE on registrar_invite_revoke\(\), EXECUTE on registrar_invite_bind\(\), EXECUTE on registrar_invite_prefill\(\), SELECT on registration_invites_admin, EXECUTE on registrar_challenge_issue\(\), EXECUTE on registrar_challenge_check\(\), EXECUTE on registrar_challenge_status\(\), EXECUTE on registrar_challenge_image\(\): GRANT registrar_service TO norights" \
    "xmpp $JID: ok: .*"

# SELECT granted, EXECUTE not: the write functions are named
super -c "GRANT SELECT ON registrations, registration_events, registration_bans, registrar_schema_migrations TO norights" ||
    exit 1
run norights
expect norights 76 \
    "schema: ok: version [0-9]+, this registrar's" \
    "rights: FAIL: norights lacks EXECUTE on registrar_put_event\(\), EXECUTE on registrar_remove_event\(\), EXECUTE on registrar_set_password_event\(\), EXECUTE on registrar_set_state_event\(\), EXECUTE on registrar_unban_event\(\), EXECUTE on registrar_claim_state_changes\(\), .*: GRANT registrar_service TO norights"
super -c "GRANT registrar_service TO norights" || exit 1
run norights
expect norights 0 "rights: ok: .*"

conf owner CONNINFO="host=127.0.0.1 port=$PGPORT dbname=registrar user=postgres"
run owner
expect owner 0 \
    "owner: warn: postgres owns registrar's tables, or their schema, or is a superuser: .*"

# the last migration forgotten: the binary is ahead of the schema
last=$(super -Atc "SELECT max(version) FROM registrar_schema_migrations")
super -c "DELETE FROM registrar_schema_migrations WHERE version = $last" ||
    exit 1
run good
expect good 76 \
    "schema: FAIL: version $((last - 1)), this registrar needs $last: run registrar --migrate --database CONNINFO as the superuser" \
    "rights: skipped: the schema is not this registrar's"
super -c "INSERT INTO registrar_schema_migrations (version, name) VALUES ($last, 'put back')" ||
    exit 1

closed=$(free_port)
conf nodomain XMPP_PORT="$closed"
run nodomain
expect nodomain 69 \
    "xmpp $JID: FAIL: cannot attach to 127\.0\.0\.1:$closed: Connection refused"

conf invalid COMPONENT="    colour = \"blue\""
run invalid
expect invalid 78
checks=$((checks + 1))
if ! grep -qE "^$WORK/invalid.conf:[0-9]+: no such option 'colour'$" \
        "$WORK/invalid.err" || [ -s "$WORK/invalid.out" ]; then
    say "FAIL: invalid: expected only FILE:LINE: no such option 'colour'"
    failures=$((failures + 1))
fi

# a registrar attached: the check neither fails nor takes its place
cp "$WORK/good.conf" "$WORK/attached.conf"
suite_registrar_start attached
if suite_wait_log attached "attached to .* as $JID" 1 20 "${REG_PID[attached]}"; then
    run attached
    expect attached 0 "xmpp $JID: ok: .*"
    checks=$((checks + 1))
    if ! pid_alive "${REG_PID[attached]}" ||
            grep -q "lost the connection\|stream error" "$WORK/attached.log"; then
        say "FAIL: attached: the running registrar lost its stream"
        failures=$((failures + 1))
    fi
else
    say "FAIL: attached: registrar did not attach"
    failures=$((failures + 1))
fi
suite_registrar_stop attached

"$HARNESS/pg.sh" stop "$WORK/pg"
run good
expect good 75 \
    "database: FAIL: cannot connect: .*" \
    "schema: skipped: no database" \
    "xmpp $JID: ok: $PORT_RE accepted the secret for $JID"
expect_not good "^rights:|^owner:"

say "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ] && suite_end 1
suite_end 0
