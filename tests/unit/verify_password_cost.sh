#!/usr/bin/env bash
# verify_password_cost.sh: sql/queries/verify_password.sql checks an
# unknown username against a dummy salt of the service's bcrypt cost
# (registration.hash_cost), not a fixed one: the setting
# registrar.hash_cost when given, else the cost of the service's newest
# hash, else 10.  Run by tests/store/run.sh against a throwaway cluster
# (REGISTRAR_TEST_ADMIN_CONNINFO, a superuser); REGISTRAR_BIN is the
# daemon, whose --migrate makes the schema in a database of this test.
#
# Two checks: the cost the query works out (its 'cost' step run alone),
# and the time of the check of an unknown username, which must follow
# that cost (cost 12 is 256 times cost 4's work).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
query=$here/../../sql/queries/verify_password.sql
admin=${REGISTRAR_TEST_ADMIN_CONNINFO:?run me through tests/store/run.sh}
bin=${REGISTRAR_BIN:?REGISTRAR_BIN names the registrar binary}
db=vpcost_$$
ci=${admin/dbname=postgres/dbname=$db}
fail=0

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$admin" "$@"; }
psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$ci" "$@"; }
cleanup() { psql_admin -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
trap cleanup EXIT

psql_admin -c "CREATE DATABASE $db"
"$bin" --migrate --database "$ci" 2>&1 | sed 's/^/migrate: /'
psql_db -c "CREATE EXTENSION IF NOT EXISTS pgcrypto"

# The cost the query works out for service $1: the file with its last
# statement replaced by a look at its 'cost' step (exact, no timing).
cost_of() {
    local sql
    sql=$(sed -e '/^\\/d' "$query" |
          sed -e '/^SELECT coalesce(hash = computed, false) AS password_ok$/,$d')
    [ "$sql" != "$(sed -e '/^\\/d' "$query")" ] ||
        { echo "verify_password.sql: its last statement is not the one expected" >&2; return 1; }
    printf '%s\nSELECT n FROM cost;\n' "$sql" |
        PGOPTIONS=${2:-} psql_db -v service="$1" -v username=nobody \
            -v password=x -f -
}

# Milliseconds the check of username $2 (password "wrong") takes in
# service $1, the best of three (psql's \timing: the query alone).
time_of() {
    local best="" t i
    for i in 1 2 3; do
        t=$(REGISTRAR_PASSWORD=wrong PGOPTIONS=${3:-} psql_db \
                -v service="$1" -v username="$2" -c '\timing on' \
                -f "$query" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then
            best=$t
        fi
    done
    echo "$best"
}

check() {
    local what=$1 got=$2 want=$3
    if [ "$got" = "$want" ]; then
        echo "ok: $what: $got"
    else
        echo "FAIL: $what: $got, want $want"
        fail=1
    fi
}

put() { # service jid username cost
    psql_db -c "INSERT INTO registrations (service, jid, username,
                  password_hash, created_at)
                VALUES ('$1', '$2', '$3', crypt('pw', gen_salt('bf', $4)),
                        now() + interval '$4 seconds')"
}

check "no hash on file: registrar's default" "$(cost_of empty.example)" 10
put four.example a@x four 4
check "newest hash of cost 4" "$(cost_of four.example)" 4
put twelve.example b@x old 4
put twelve.example c@x new 12
check "newest hash of cost 12 (an older one of 4)" "$(cost_of twelve.example)" 12
check "the setting wins" \
    "$(cost_of twelve.example '-c registrar.hash_cost=5')" 5

# The work done follows: an unknown username costs what a known one does.
t4=$(time_of four.example nobody)
t12=$(time_of twelve.example nobody)
k12=$(time_of twelve.example new)
t12set=$(time_of twelve.example nobody '-c registrar.hash_cost=4')
echo "unknown username: cost 4 ${t4} ms, cost 12 ${t12} ms (a known one" \
     "of cost 12: ${k12} ms), cost 12 with registrar.hash_cost=4: ${t12set} ms"
awk -v a="$t12" -v b="$t4" 'BEGIN{exit !(a > 20 * b)}' ||
    { echo "FAIL: cost 12 (${t12} ms) is not 20 times cost 4 (${t4} ms)"; fail=1; }
awk -v a="$t12" -v b="$k12" 'BEGIN{exit !(2 * a > b)}' ||
    { echo "FAIL: an unknown username (${t12} ms) answers faster than a" \
           "known one (${k12} ms)"; fail=1; }
awk -v a="$t12" -v b="$t12set" 'BEGIN{exit !(a > 20 * b)}' ||
    { echo "FAIL: the setting does not change the work (${t12set} ms)"; fail=1; }
[ "$fail" = 0 ] && echo "verify_password.sql: the dummy hash has the service's cost"
exit "$fail"
