#!/usr/bin/env bash
# tests/store/run.sh TEST_STORE_BINARY: runs the store tests against a
# throwaway PostgreSQL cluster (tests/harness/pg.sh) made for this run in
# a fresh directory under /tmp, and stops it afterwards whatever happens.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
dir=$(mktemp -d /tmp/registrar-store.XXXXXX) || exit 1
chmod 755 "$dir"
cleanup() {
    "$here/../harness/pg.sh" stop "$dir/pg"
    rm -rf "$dir"
}
trap cleanup EXIT
"$here/../harness/pg.sh" start "$dir/pg" || exit 1
. "$dir/pg/env"
REGISTRAR_TEST_ADMIN_CONNINFO="host=127.0.0.1 port=$PGPORT user=$PG_SUPERUSER dbname=postgres" \
    timeout 300 "$bin"
