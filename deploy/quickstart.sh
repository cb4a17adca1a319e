#!/usr/bin/env bash
# deploy/quickstart.sh: registrar from nothing to a first registration, on a
# fresh Debian 12 machine, as root.
#
#   deploy/quickstart.sh
#
# 1. installs the build and run dependencies with apt-get;
# 2. builds registrar with CMake;
# 3. starts a throwaway PostgreSQL and a throwaway Prosody (tests/harness/),
#    on free 127.0.0.1 ports, as the unprivileged user registrar-test;
# 4. starts registrar as the component contests.localhost;
# 5. registers the account juliet@localhost with it through a real XMPP
#    client (tests/e2e/client_register.py, slixmpp): fetch the form, fill it,
#    submit, ask again and get <registered/>;
# 6. prints the stored row;
# 7. stops everything it started (also on failure or ^C).
#
# Safe to run again: each run starts from clean servers, in a new work
# directory from mktemp -d (never a predictable /tmp path that another
# user could have made first). It never touches /etc/prosody or the
# system's PostgreSQL cluster; the Debian packages may start those
# services, and they are left as they are. Files holding a secret are
# created under umask 077.
#
# Environment:
#   QUICKSTART_DIR        servers, config and logs (default: a new
#                         /tmp/registrar-quickstart.XXXXXX)
#   QUICKSTART_BUILD_DIR  CMake build directory (default: build/ in the source tree)
#   QUICKSTART_SKIP_APT=1 do not run apt-get (the packages are there already)
#   REGISTRAR_BIN         use this binary and skip the build
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS=$ROOT/tests/harness
QS_DIR=${QUICKSTART_DIR:-}
BUILD_DIR=${QUICKSTART_BUILD_DIR:-$ROOT/build}
PY=/usr/bin/python3
JID=contests.localhost
USER_NAME=juliet

step()
{
    printf '\n==> %s\n' "$*"
}

die()
{
    echo "quickstart: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root (apt-get, and a user for the servers)"

# ------------------------------------------------------------ packages

PACKAGES=(build-essential cmake pkg-config libstrophe-dev libpq-dev
          libconfuse-dev libcmocka-dev libcrypt-dev libidn-dev libicu-dev
          libmicrohttpd-dev
          postgresql prosody python3 python3-slixmpp procps util-linux)
if [ "${QUICKSTART_SKIP_APT:-0}" != 1 ]; then
    step "Installing packages: ${PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -q
    timeout 1800 apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

# ------------------------------------------------------------ build

if [ -n "${REGISTRAR_BIN:-}" ]; then
    BIN=$REGISTRAR_BIN
    step "Using $BIN (REGISTRAR_BIN given, not building)"
else
    step "Building registrar in $BUILD_DIR"
    timeout 600 cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    timeout 1200 cmake --build "$BUILD_DIR" --target registrar -j "$(nproc)"
    BIN=$BUILD_DIR/registrar
fi
[ -x "$BIN" ] || die "no registrar binary at $BIN"
"$BIN" --version

# ------------------------------------------------------------ servers

if [ -z "$QS_DIR" ]; then
    QS_DIR=$(mktemp -d /tmp/registrar-quickstart.XXXXXX)
else
    mkdir -p "$QS_DIR"
fi
# the servers' user (registrar-test) must get through, not list it
chmod 711 "$QS_DIR"

REG_PID=
cleanup()
{
    local rc=$?
    trap - EXIT INT TERM
    set +e
    step "Stopping everything"
    if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
        kill -TERM "$REG_PID"
        for _ in $(seq 100); do
            kill -0 "$REG_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$REG_PID" 2>/dev/null
        wait "$REG_PID" 2>/dev/null
        echo "registrar stopped (exit status $?)"
    fi
    "$HARNESS/prosody.sh" stop "$QS_DIR/xmpp"
    "$HARNESS/pg.sh" stop "$QS_DIR/pg"
    if [ "$rc" = 0 ]; then
        echo "Done. Logs and config are in $QS_DIR."
    else
        echo "quickstart FAILED (status $rc); logs in $QS_DIR" >&2
        [ -f "$QS_DIR/registrar.log" ] && tail -n 40 "$QS_DIR/registrar.log" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
PASSWORD=$("$PY" -c 'import secrets; print("qs-" + secrets.token_hex(6))')

step "Starting a throwaway PostgreSQL in $QS_DIR/pg"
"$HARNESS/pg.sh" start "$QS_DIR/pg"
set -a
. "$QS_DIR/pg/env"
set +a
# as an operator does once per database: the schema by the superuser
# (owned by the NOLOGIN role registrar_owner), and registrar's own role
# granted registrar_service, nothing more
step "Migrating as the superuser: registrar --migrate --database ..."
"$HARNESS/pg.sh" migrate "$QS_DIR/pg" "$BIN"

step "Starting a throwaway Prosody in $QS_DIR/xmpp, with component $JID"
"$HARNESS/prosody.sh" start "$QS_DIR/xmpp" "$JID" "$SECRET"
set -a
. "$QS_DIR/xmpp/env"
set +a
"$HARNESS/prosody.sh" adduser "$QS_DIR/xmpp" "$USER_NAME" "$PASSWORD" probe "$PASSWORD"
echo "accounts $USER_NAME@$XMPP_DOMAIN and probe@$XMPP_DOMAIN created"

# ------------------------------------------------------------ registrar

step "Writing $QS_DIR/registrar.conf and starting registrar"
# it holds the component secret: created private, not chmod-ed afterwards
rm -f "$QS_DIR/registrar.conf"
( umask 077; cat >"$QS_DIR/registrar.conf" ) <<EOF
component {
    jid    = "$JID"
    server = "127.0.0.1"
    port   = $XMPP_COMPONENT_PORT
    secret = "$SECRET"
}
database {
    conninfo = "$REGISTRAR_CONNINFO"
}
registration {
    title        = "Contest Registration"
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
}
log { level = "info" }
EOF
"$BIN" --check-config --config "$QS_DIR/registrar.conf"
"$BIN" --config "$QS_DIR/registrar.conf" </dev/null >"$QS_DIR/registrar.log" 2>&1 &
REG_PID=$!
echo "registrar running (pid $REG_PID, log $QS_DIR/registrar.log)"

E2E_PASSWORD=$PASSWORD timeout 60 "$PY" "$HARNESS/e2e.py" \
    wait-component "$JID" 15 ||
    die "registrar did not attach to Prosody as $JID"
echo "$JID answers disco#info: attached"

# ------------------------------------------------------------ a client

step "Registering $USER_NAME@$XMPP_DOMAIN with $JID (slixmpp)"
timeout 120 "$PY" "$ROOT/tests/e2e/client_register.py" \
    --jid "$USER_NAME@$XMPP_DOMAIN" --password "$PASSWORD" --service "$JID" \
    --host "$XMPP_HOST" --port "$XMPP_C2S_PORT" \
    --set first=Juliet --set last=Capulet --set email=juliet@capulet.com \
    --set x-gender=F

step "The row in PostgreSQL (127.0.0.1:$PGPORT, database registrar)"
# the admin view: no hash of any kind (sql/004_admin_no_hashes.sql)
timeout 30 psql -X -x -c \
    "SELECT service, jid, username, jsonb_pretty(fields) AS fields,
            has_password, created_at, updated_at
       FROM registrations_admin ORDER BY created_at"
