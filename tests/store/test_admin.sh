#!/usr/bin/env bash
# tests/store/test_admin.sh - `registrar admin` (component/admin.c) against
# a real PostgreSQL: run by tests/store/run.sh, which starts a throwaway
# cluster and gives its superuser in REGISTRAR_TEST_ADMIN_CONNINFO;
# REGISTRAR_BIN is the built registrar.
#
# A database and login roles of its own (names carry the pid, dropped at
# the end), migrated by `registrar --migrate` as the superuser, as an
# operator does: registrar's own role (daemon_PID, granted
# registrar_service) in the configuration's conninfo, an admin's
# (admin_PID, registrar_admin) and a reader's (reader_PID) given with
# --database.  Each command is run as the built binary: its output (table
# and --json, the JSON read back by PostgreSQL), its exit code, the rows
# and events it left (the actor os:USER), a missing row and a missing
# right.
set -u -o pipefail

bin=${REGISTRAR_BIN:?REGISTRAR_BIN is not set}
admin=${REGISTRAR_TEST_ADMIN_CONNINFO:?REGISTRAR_TEST_ADMIN_CONNINFO is not set}
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
[ -x "$PSQL" ] || PSQL=psql

pid=$$
db=registrar_admin_$pid
daemon=daemon_$pid admin_role=admin_$pid reader=reader_$pid
base=$(sed 's/dbname=[^ ]*//' <<<"$admin")
super="$base dbname=$db"
work=$(mktemp -d /tmp/registrar-admin.XXXXXX) || exit 1
chmod 755 "$work"
failures=0 checks=0

cleanup() {
    "$PSQL" -X -q -d "$admin" >/dev/null 2>&1 <<EOF
DROP DATABASE IF EXISTS $db WITH (FORCE);
DROP ROLE IF EXISTS $daemon;
DROP ROLE IF EXISTS $admin_role;
DROP ROLE IF EXISTS $reader;
EOF
    rm -rf "$work"
}
trap cleanup EXIT

die() {
    echo "test_admin: $*" >&2
    exit 1
}

# sql STATEMENTS: run as the superuser on the test database, rows on stdout
sql() {
    "$PSQL" -X -At -q -v ON_ERROR_STOP=1 -d "$super" -c "$1"
}

# json_sql JSON QUERY: QUERY (reading the JSON as :'j') on the database
json_sql() {
    printf '%s\n' "$2" | "$PSQL" -X -At -q -v ON_ERROR_STOP=1 -d "$super" \
        -v j="$1"
}

check() { # check WHAT CONDITION-EXIT-STATUS
    checks=$((checks + 1))
    if [ "$2" != 0 ]; then
        failures=$((failures + 1))
        echo "FAIL: $1" >&2
        echo "  stdout: $(head -c 2000 "$work/out")" >&2
        echo "  stderr: $(head -c 2000 "$work/err")" >&2
    fi
}

# run RC ARGS...: `registrar admin ARGS` must exit RC; output in
# $work/out and $work/err
run() {
    local want=$1 rc
    shift
    timeout 60 "$bin" admin "$@" >"$work/out" 2>"$work/err"
    rc=$?
    check "registrar admin $* exited $rc, want $want" \
        "$([ "$rc" = "$want" ] && echo 0 || echo 1)"
}

# out_has / err_has / out_lacks TEXT (fixed strings)
out_has() { grep -qF -- "$1" "$work/out"; check "stdout has '$1'" $?; }
err_has() { grep -qF -- "$1" "$work/err"; check "stderr has '$1'" $?; }
out_lacks() {
    ! grep -qF -- "$1" "$work/out"
    check "stdout lacks '$1'" $?
}
out_empty() { [ ! -s "$work/out" ]; check "stdout is empty" $?; }
# equals WHAT GOT WANT
equals() {
    [ "$2" = "$3" ]
    check "$1: got '$2', want '$3'" $?
}

# ---- the database, roles and configurations --------------------------------

"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$admin" <<EOF || die "cannot create $db"
CREATE DATABASE $db ENCODING 'UTF8' TEMPLATE template0;
EOF
sql "CREATE EXTENSION IF NOT EXISTS pgcrypto" >/dev/null || die "pgcrypto"
timeout 120 "$bin" --migrate --database "$super" >"$work/migrate.log" 2>&1 ||
    die "registrar --migrate failed: $(cat "$work/migrate.log")"
sql "CREATE ROLE $daemon LOGIN IN ROLE registrar_service;
     CREATE ROLE $admin_role LOGIN IN ROLE registrar_admin;
     CREATE ROLE $reader LOGIN IN ROLE registrar_reader" >/dev/null ||
    die "cannot create the roles"

svc=accounts.example svc2=news.example
one=$work/one.conf two=$work/two.conf
cat >"$one" <<EOF
component {
    jid    = "$svc"
    server = "127.0.0.1"
    port   = 5347
    secret = "not-used"
}
database { conninfo = "$base dbname=$db user=$daemon" }
EOF
cat >"$two" <<EOF
database { conninfo = "$base dbname=$db user=$daemon" }
component "$svc" {
    server = "127.0.0.1"
    port   = 5347
    secret = "not-used"
    registration { field "username" { type = "text-single" } }
}
component "$svc2" {
    server = "127.0.0.1"
    port   = 5347
    secret = "not-used-either"
    registration { field "username" { type = "text-single" } }
}
EOF
chmod 600 "$one" "$two"
as_admin="$base dbname=$db user=$admin_role"
as_reader="$base dbname=$db user=$reader"

# The actor registrar admin must write: the login uid's user, else ours.
actor_of() { # actor_of FALLBACK_USER
    local luid
    luid=$(cat /proc/self/loginuid 2>/dev/null || echo 4294967295)
    if [ "$luid" != 4294967295 ]; then
        echo "os:$(getent passwd "$luid" | cut -d: -f1)"
    else
        echo "os:$1"
    fi
}
actor=$(actor_of "$(id -un)")

# Registrations as registrar writes them (its own function, as its role);
# one with a text-private field (its hash must never be printed).
hash='$2a$04$abcdefghijklmnopqrstuu9uQnkI0OAIhGm3rQyWXdQqJkL0GeXWa'
put() { # put SERVICE JID USERNAME STATE
    "$PSQL" -X -At -q -v ON_ERROR_STOP=1 \
        -d "$base dbname=$db user=$daemon" >/dev/null <<EOF
SELECT registrar_put_checked('$1', '$2', NULLIF('$3', ''),
    '{"email": "x@example.org", "pin": "$hash"}'::jsonb, '$hash', '$4',
    '{}'::jsonb, 'iq-$2', NULL, '{}');
EOF
}
put "$svc" alice@example.org alice active
put "$svc" bob@example.org bob pending
put "$svc" carol@example.org '' pending
put "$svc2" alice@example.org alice2 active
last_event() { # the id of the newest event
    sql "SELECT coalesce(max(id), 0) FROM registration_events"
}

# ---- usage: nothing connects ---------------------------------------------

run 64
err_has "no command given"
run 64 -c "$one" frobnicate
err_has "unknown command 'frobnicate'"
run 64 -c "$one" list --state bogus
err_has "--state bogus"
run 64 -c "$one" show 'not@a@jid'
err_has "'not@a@jid'"
run 64 -c "$one" show
err_has "show needs a JID"
run 64 -c "$one" list --reason why
err_has "list takes no such option"
run 64 -c "$one" disable bob@example.org --reason "$(printf 'bad\033[31m')"
err_has "--reason"
run 64 list
err_has "--config FILE or --database CONNINFO is needed"
run 64 -c "$two" list
err_has "has 2 services"
err_has "$svc2"
run 64 -c "$one" --service other.example list
err_has "has no service other.example"
run 64 -c "$one" --service "$svc" forget alice@example.org
err_has "acts on every service"
run 64 --database "$as_admin" list
err_has "needs --service JID without --config"
run 0 --help
out_has "Exit codes:"
printf 'component {\n' >"$work/bad.conf"
run 78 -c "$work/bad.conf" list

# ---- reading -------------------------------------------------------------

run 0 -c "$one" list
out_has "JID                STATE    USERNAME  CREATED_AT"
out_has "(3 registrations)"
equals "list's JIDs in JID order" \
    "$(sed -n '2,4p' "$work/out" | cut -d' ' -f1 | tr '\n' ' ')" \
    "alice@example.org bob@example.org carol@example.org "
out_lacks "news.example"

run 0 -c "$one" list --json
equals "list --json, read by PostgreSQL" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT jsonb_array_length(:'j'::jsonb),
                (:'j'::jsonb)->1->>'jid', (:'j'::jsonb)->1->>'state',
                (:'j'::jsonb)->2->'username'")" \
    "3|bob@example.org|pending|null"

run 0 -c "$one" list --state pending
out_has "(2 registrations)"
out_lacks "alice@example.org"

run 0 -c "$two" --service "$svc2" list
out_has "(1 registration)"
out_has "alice2"

run 0 -c "$one" show alice@example.org
out_has "state            active"
out_has '"pin": true'
out_has "has_password     t"
out_lacks '$2a$'
run 0 -c "$one" show alice@example.org --json
out_lacks '$2a$'
equals "show --json, read by PostgreSQL" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT (:'j'::jsonb)->>'service', (:'j'::jsonb)->>'username',
                (:'j'::jsonb)->'fields'->>'pin',
                (:'j'::jsonb)->>'has_password'")" \
    "$svc|alice|true|true"
run 1 -c "$one" show nobody@example.org
err_has "no registration of nobody@example.org with $svc"
out_empty
# a JID is prepared as the servers prepare it
run 0 -c "$one" show 'Alice@Example.ORG/desk'
out_has "jid              alice@example.org"

run 0 -c "$one" stats
out_has "registrations   3"
out_has "pending         2"
run 0 -c "$one" stats --json
equals "stats --json" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT (:'j'::jsonb)->>'registrations', (:'j'::jsonb)->>'active',
                (:'j'::jsonb)->>'pending', (:'j'::jsonb)->>'banned',
                (:'j'::jsonb)->>'oldest_pending' IS NOT NULL")" \
    "3|1|2|0|t"

run 0 -c "$one" export alice@example.org
out_lacks '$2a$'
equals "export: every service, the events" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT jsonb_array_length((:'j'::jsonb)->'registrations'),
                jsonb_array_length((:'j'::jsonb)->'events'),
                (:'j'::jsonb)->>'jid'")" \
    "2|2|alice@example.org"
run 1 -c "$one" export nobody@example.org
err_has "nothing is stored about nobody@example.org"

# ---- changes: events with the actor --------------------------------------

before=$(last_event)
run 0 -c "$one" activate bob@example.org
out_has "activated bob@example.org with $svc (actor $actor)"
equals "activate: the row" \
    "$(sql "SELECT state FROM registrations
             WHERE service = '$svc' AND jid = 'bob@example.org'")" active
equals "activate: its event" \
    "$(sql "SELECT event, detail->>'from', detail->>'to', detail->>'actor',
                   iq_id IS NULL
              FROM registration_events WHERE id > $before")" \
    "state_changed|pending|active|$actor|t"
run 2 -c "$one" activate bob@example.org
err_has "is not pending: left as it is"
run 1 -c "$one" activate nobody@example.org
err_has "no registration of nobody@example.org with $svc"

before=$(last_event)
run 0 -c "$one" --json disable carol@example.org --reason "spam, twice"
equals "disable --json" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT (:'j'::jsonb)->>'command', (:'j'::jsonb)->>'result',
                (:'j'::jsonb)->>'jid', (:'j'::jsonb)->>'actor'")" \
    "disable|disabled|carol@example.org|$actor"
equals "disable: the row" \
    "$(sql "SELECT state, disabled_reason, disabled_by FROM registrations
             WHERE service = '$svc' AND jid = 'carol@example.org'")" \
    "disabled|spam, twice|$actor"
equals "disable: its event" \
    "$(sql "SELECT detail->>'to', detail->>'reason', detail->>'actor'
              FROM registration_events WHERE id > $before")" \
    "disabled|spam, twice|$actor"

run 0 -c "$one" reenable carol@example.org
out_has "re-enabled carol@example.org"
run 2 -c "$one" reenable carol@example.org
err_has "is not disabled: left as it is"

# a user who cancels a disabled registration leaves a ban; reenable lifts it
run 0 -c "$one" disable carol@example.org
"$PSQL" -X -At -q -v ON_ERROR_STOP=1 -d "$base dbname=$db user=$daemon" \
    -c "SELECT registrar_remove('$svc', 'carol@example.org', 'iq-c', NULL)" \
    >/dev/null
run 0 -c "$one" list --state banned
out_has "carol@example.org"
out_has "(1 ban)"
run 0 -c "$one" stats
out_has "banned          1"
before=$(last_event)
run 0 -c "$one" reenable carol@example.org
out_has "lifted the ban"
equals "reenable of a ban: its event" \
    "$(sql "SELECT event, detail->>'actor' FROM registration_events
             WHERE id > $before")" \
    "ban_lifted|$actor"
equals "no ban left" "$(sql "SELECT count(*) FROM registration_bans")" 0
run 1 -c "$one" reenable carol@example.org
err_has "no registration of carol@example.org with $svc, and no ban"

before=$(last_event)
run 0 -c "$one" delete bob@example.org
out_has "deleted the registration of bob@example.org"
equals "delete: the row gone, nobody banned, its event" \
    "$(sql "SELECT (SELECT count(*) FROM registrations
                     WHERE jid = 'bob@example.org'),
                   (SELECT count(*) FROM registration_bans),
                   (SELECT string_agg(event || ':' || (detail->>'actor'), ',')
                      FROM registration_events WHERE id > $before)")" \
    "0|0|removed:$actor"
run 1 -c "$one" delete bob@example.org
err_has "no registration of bob@example.org"

# ---- events --------------------------------------------------------------

run 0 -c "$one" events
out_has "ID  AT"
out_has "state_changed"
out_has "$actor"
run 0 -c "$one" events --json --since 2 --jid carol@example.org
equals "events --json --since --jid" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT bool_and((e->>'id')::bigint > 2)
                AND bool_and(e->>'jid' = 'carol@example.org')
                AND bool_and(e->>'service' = '$svc'), count(*)
           FROM jsonb_array_elements(:'j'::jsonb) e")" \
    "t|$(sql "SELECT count(*) FROM registration_events WHERE id > 2
               AND jid = 'carol@example.org' AND service = '$svc'")"
run 0 -c "$one" events --json --limit 2
equals "events --limit 2" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT jsonb_array_length(:'j'::jsonb),
                (:'j'::jsonb)->0->>'id', (:'j'::jsonb)->1->>'id'")" \
    "2|1|2"
run 0 -c "$one" events --since 999999
out_has "(0 events)"

# what a user or plain SQL stored cannot drive the admin's terminal
sql "UPDATE registrations SET state = 'disabled',
           disabled_reason = E'red\\033[31m\\u202eflip'
      WHERE service = '$svc' AND jid = 'alice@example.org'" >/dev/null
run 0 -c "$one" list
out_has "red?[31m?flip"
out_lacks "$(printf '\033')"

# ---- rights: the database decides ----------------------------------------

run 76 -c "$one" forget alice@example.org
err_has "forget needs a role granted registrar_admin"
equals "forget refused: still there" \
    "$(sql "SELECT count(*) FROM registrations WHERE jid = 'alice@example.org'")" 2
run 76 --database "$as_admin" --service "$svc" disable alice@example.org
err_has "disable needs a role granted registrar_service"
run 76 --database "$as_reader" --service "$svc" list
err_has "list needs a role granted registrar_service or registrar_backend"
run 0 --database "$as_admin" --service "$svc" list
out_has "alice@example.org"
run 0 --database "$as_reader" --service "$svc" events --limit 1
out_has "(1 event)"

# forget: every service, its bans and events; as an admin's own role
run 0 --database "$as_admin" forget alice@example.org --json
equals "forget --json" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT (:'j'::jsonb)->>'registrations', (:'j'::jsonb)->>'bans',
                (:'j'::jsonb)->>'events' > '0'")" \
    "2|0|t"
equals "forget: nothing left of alice" \
    "$(sql "SELECT (SELECT count(*) FROM registrations
                     WHERE jid = 'alice@example.org'),
                   (SELECT count(*) FROM registration_events
                     WHERE jid = 'alice@example.org')")" \
    "0|0"
run 1 --database "$as_admin" forget alice@example.org
err_has "nothing is stored about alice@example.org"

# ---- another operating-system user is another actor ----------------------

if [ "$(id -u)" = 0 ] && id registrar-test >/dev/null 2>&1; then
    chown registrar-test "$one"
    # The build tree may sit where registrar-test cannot reach (a clone
    # in a mktemp -d directory is 0700): run a copy from a directory it can.
    theirs=$(mktemp -d /tmp/registrar-admin-bin.XXXXXX)
    chmod 755 "$theirs"
    install -m 755 "$bin" "$theirs/registrar"
    put "$svc" dave@example.org dave pending
    other=$(actor_of registrar-test)
    before=$(last_event)
    runuser -u registrar-test -- timeout 60 "$theirs/registrar" admin \
        -c "$one" activate dave@example.org >"$work/out" 2>"$work/err"
    check "activate as registrar-test" $?
    rm -rf "$theirs"
    equals "the actor of another user" \
        "$(sql "SELECT detail->>'actor' FROM registration_events
                 WHERE id > $before")" "$other"
else
    echo "test_admin: not root, or no user registrar-test: the actor of" \
        "another user not checked"
fi

# ---- invitations (sql/013) ------------------------------------------------

run 64 -c "$one" invite-create --expires soon
err_has "--expires soon"
run 64 -c "$one" invite-create --state disabled
err_has "--state disabled: give active or pending"
run 64 -c "$one" invite-create --for 'not@a@jid'
err_has "--for not@a@jid"
run 64 -c "$one" invite-revoke
err_has "invite-revoke needs an invitation id"
run 64 -c "$one" invite-revoke abc
err_has "give an invitation's id"
run 64 -c "$one" invite-list --uses 3
err_has "invite-list takes no such option"
before=$(last_event)
run 0 -c "$one" invite-create --uses 2 --expires 2d --for Example.ORG \
    --state pending --label "for carol"
out_has "uri          xmpp:$svc?register;preauth="
out_has "(shown once: only its hash is stored)"
token=$(sed -n 's/^token *\([A-Za-z0-9_-]*\) .*/\1/p' "$work/out")
equals "a token of 144 bits, base64url" "${#token}" 24
equals "the row: only the token's SHA-256, the values given, the actor" \
    "$(sql "SELECT token_hash = sha256(convert_to('$token', 'UTF8')),
                   max_uses, uses, bound_to, initial_state, label,
                   creator = '$actor',
                   extract(epoch FROM expires_at - created_at)::bigint
              FROM registration_invites")" \
    "t|2|0|example.org|pending|for carol|t|172800"
equals "the token is stored nowhere" \
    "$(sql "SELECT count(*) FROM registration_invites i
             WHERE i::text LIKE '%$token%'")" 0
equals "its event" \
    "$(sql "SELECT event || ' ' || jid || ' ' || (detail->>'label')
              FROM registration_events WHERE id > $before")" \
    "invite_created $actor for carol"
run 0 -c "$one" invite-create --json --uses 0
equals "invite-create --json: unlimited, 7 days, the uri" \
    "$(json_sql "$(cat "$work/out")" "SELECT i.max_uses IS NULL,
            extract(epoch FROM i.expires_at - i.created_at)::bigint,
            (:'j'::jsonb)->>'uri' = 'xmpp:$svc?register;preauth='
                                     || ((:'j'::jsonb)->>'token')
       FROM registration_invites i
      WHERE i.id = ((:'j'::jsonb)->>'id')::bigint")" "t|604800|t"
id=$(sql "SELECT min(id) FROM registration_invites")
run 0 -c "$one" invite-list
out_has "for carol"
out_has "(2 invitations)"
out_lacks "$token"
run 0 --database "$as_reader" --service "$svc" invite-list --json --limit 1
equals "invite-list --json --limit 1: the newest" \
    "$(json_sql "$(cat "$work/out")" \
        "SELECT jsonb_array_length(:'j'::jsonb),
                (:'j'::jsonb)->0->>'state'")" "1|usable"
run 0 -c "$one" invite-revoke "$id"
out_has "revoked invitation $id of $svc (actor $actor)"
run 1 -c "$one" invite-revoke "$id"
err_has "no invitation $id of $svc, or revoked already"
equals "revoked, by the actor, an event" \
    "$(sql "SELECT i.revoked_by = '$actor', e.event
              FROM registration_invites i JOIN registration_events e
                ON e.detail->>'invite' = i.id::text
               AND e.event = 'invite_revoked'
             WHERE i.id = $id")" "t|invite_revoked"
# SQL for backends: an admin's role may create and revoke, a reader not
equals "registrar_invite_create as registrar_admin" \
    "$("$PSQL" -X -At -q -d "$as_admin" -c "SELECT length(token)
        FROM registrar_invite_create('$svc', NULL, interval '1 day', 1,
             NULL, NULL, NULL, 'backend', NULL, NULL)")" 43
"$PSQL" -X -At -q -d "$as_reader" -c "SELECT registrar_invite_create('$svc',
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)" \
    >"$work/out" 2>"$work/err"
[ $? != 0 ] && grep -q "permission denied" "$work/err"
check "a reader may not create an invitation" $?
"$PSQL" -X -At -q -d "$as_reader" -c "SELECT token_hash
    FROM registration_invites" >"$work/out" 2>"$work/err"
[ $? != 0 ] && grep -q "permission denied" "$work/err"
check "a reader may not read the hashes" $?

# ---- an unreachable database ---------------------------------------------

run 75 --database "host=127.0.0.1 port=1 dbname=$db connect_timeout=2" \
    --service "$svc" list
err_has "cannot reach the database"

echo "test_admin: $checks checks, $failures failed"
[ "$failures" = 0 ]
