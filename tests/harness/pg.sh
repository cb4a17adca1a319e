#!/usr/bin/env bash
# tests/harness/pg.sh: a throwaway PostgreSQL 15 cluster for tests.
#
#   pg.sh start DIR   initdb in DIR/data (as registrar-test), start it on a
#                     free 127.0.0.1 port with its unix socket in DIR, create
#                     role and database "registrar" and pgcrypto; write
#                     DIR/env (shell-sourceable):
#                       PGHOST PGPORT PGUSER PGDATABASE PG_SUPERUSER
#                       REGISTRAR_CONNINFO
#                     A DIR that exists is cleaned first (a server still
#                     running there is stopped).
#   pg.sh restart DIR restart it in place: same data, same port (for
#                     tests of clients that must reconnect).
#   pg.sh stop DIR    stop it (pg_ctl -m fast, then by PID).
#   pg.sh status DIR  exit 0 when it is running.
#
# Must start as root (to create/switch to registrar-test) or as the user
# that will own the cluster. Never touches the system cluster.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HERE/lib.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-30}

usage()
{
    echo "usage: $0 start|stop|restart|status DIR" >&2
    exit 64
}

pg_pid()
{
    local dir=$1
    [ -r "$dir/data/postmaster.pid" ] || return 1
    head -n 1 "$dir/data/postmaster.pid"
}

pg_stop()
{
    local dir=$1 pid
    [ -d "$dir/data" ] || return 0
    pid=$(pg_pid "$dir") || return 0
    # a stale postmaster.pid may name someone else's process by now
    pid_runs "$pid" "$dir/data" || return 0
    as_user 30 "$PGBIN/pg_ctl" -D "$dir/data" stop -m fast -w -t 20 \
        >/dev/null 2>&1
    if pid_alive "$pid"; then
        harness_log "pg_ctl stop failed, stopping postgres pid $pid"
        # SIGINT is "fast shutdown" for the postmaster
        stop_pid "$pid" 10 INT || harness_die "cannot stop postgres $pid"
    fi
    return 0
}

psql_super()
{
    # superuser over TCP (trust), database given as $1
    local port=$1 db=$2
    shift 2
    timeout 30 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

pg_start()
{
    local dir port attempt ok=0
    harness_ensure_user
    dir=$(harness_prepare_dir "$1") || exit 1

    pg_stop "$dir"
    rm -rf "$dir/data" "$dir/env" "$dir/postgres.log" "$dir/initdb.log" \
        "$dir"/.s.PGSQL.*

    if ! as_user 120 "$PGBIN/initdb" -D "$dir/data" -A trust --nosync \
            -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        harness_die "initdb failed in $dir/data"
    fi

    for attempt in 1 2 3 4 5; do
        port=$(free_port) || harness_die "no free port"
        cat >>"$dir/data/postgresql.conf" <<EOF

# --- tests/harness/pg.sh (attempt $attempt) ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
        if as_user $((PG_START_TIMEOUT + 5)) "$PGBIN/pg_ctl" -D "$dir/data" \
                -l "$dir/postgres.log" -w -t "$PG_START_TIMEOUT" start \
                >/dev/null 2>&1 &&
                "$PGBIN/pg_isready" -q -t 10 -h 127.0.0.1 -p "$port"; then
            ok=1
            break
        fi
        harness_log "postgres did not start on port $port (attempt $attempt)"
        pg_stop "$dir"
    done
    if [ "$ok" != 1 ]; then
        tail -n 30 "$dir/postgres.log" >&2
        harness_die "cannot start postgres in $dir"
    fi

    psql_super "$port" postgres <<'EOF' || harness_die "cannot create role/database"
CREATE ROLE registrar LOGIN;
CREATE DATABASE registrar OWNER registrar ENCODING 'UTF8' TEMPLATE template0;
EOF
    psql_super "$port" registrar -c 'CREATE EXTENSION IF NOT EXISTS pgcrypto' ||
        harness_die "cannot create extension pgcrypto"

    {
        echo "PGHOST=127.0.0.1"
        echo "PGPORT=$port"
        echo "PGUSER=registrar"
        echo "PGDATABASE=registrar"
        echo "PG_SUPERUSER=postgres"
        echo "PG_SOCKET_DIR=$(env_quote "$dir")"
        echo "PG_PID=$(pg_pid "$dir")"
        echo "REGISTRAR_CONNINFO=$(env_quote "host=127.0.0.1 port=$port dbname=registrar user=registrar")"
    } >"$dir/env"
    harness_log "postgres running on 127.0.0.1:$port (pid $(pg_pid "$dir")), env in $dir/env"
}

[ $# -eq 2 ] || usage
case $1 in
start)
    pg_start "$2"
    ;;
stop)
    [ -d "$2" ] || exit 0
    pg_stop "$(cd "$2" && pwd -P)"
    ;;
restart)
    dir=$(cd "$2" && pwd -P) || exit 1
    [ -f "$dir/data/postgresql.conf" ] || harness_die "no cluster in $dir"
    pg_stop "$dir"
    as_user $((PG_START_TIMEOUT + 5)) "$PGBIN/pg_ctl" -D "$dir/data" \
        -l "$dir/postgres.log" -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1 ||
        harness_die "cannot restart postgres in $dir"
    harness_log "postgres restarted (pid $(pg_pid "$dir"))"
    ;;
status)
    pid=$(pg_pid "$2") && pid_runs "$pid" "$(cd "$2" && pwd -P)/data"
    ;;
*)
    usage
    ;;
esac
