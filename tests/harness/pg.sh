#!/usr/bin/env bash
# tests/harness/pg.sh: a throwaway PostgreSQL 15 cluster for tests.
#
#   pg.sh start DIR   initdb in DIR/data (as registrar-test), start it on a
#                     free 127.0.0.1 port with its unix socket in DIR, create
#                     the login role "registrar" (registrar's own, owning
#                     nothing) and the database "registrar" (owned by the
#                     superuser postgres) with pgcrypto; write DIR/env
#                     (shell-sourceable):
#                       PGHOST PGPORT PGUSER PGDATABASE PG_SUPERUSER
#                       REGISTRAR_CONNINFO REGISTRAR_MIGRATE_CONNINFO
#                     PGUSER is the superuser (the tests' own SQL);
#                     REGISTRAR_CONNINFO logs in as "registrar".
#                     A DIR that exists is cleaned first (a server still
#                     running there is stopped).
#                     Not durable (fsync, synchronous_commit and
#                     full_page_writes off: a test's cluster is thrown
#                     away) unless PG_DURABLE=1: then PostgreSQL's own
#                     defaults, all three on, as registrar is meant to
#                     run (the benchmark's default, tests/bench/run.sh).
#   pg.sh migrate DIR BIN
#                     what an operator does once per database (doc/operating.md
#                     "Database set-up and roles"): BIN --migrate --database with the
#                     superuser's conninfo (the schema, owned by the NOLOGIN
#                     role registrar_owner, and the group roles), then
#                     GRANT registrar_service TO registrar.
#   pg.sh restart DIR restart it in place: same data, same port (for
#                     tests of clients that must reconnect).
#   pg.sh stop DIR    stop it (pg_ctl -m fast, then by PID).
#   pg.sh status DIR  exit 0 when it is running.
#   pg.sh standby DIR PRIMARY_DIR [NAME]
#                     a streaming standby of the running cluster that
#                     "pg.sh start PRIMARY_DIR" made: pg_basebackup -R into
#                     DIR/data over 127.0.0.1 (its primary_conninfo carries
#                     application_name=NAME, default standby1), started on
#                     its own free port with its socket in DIR, and waited
#                     for until the primary lists it as streaming. The
#                     primary gets a pg_hba replication line for 127.0.0.1
#                     if it has none (initdb writes one) and is otherwise
#                     left alone: making NAME synchronous
#                     (synchronous_standby_names) is the caller's, as it is
#                     an operator's. The standby has synchronous_standby_names
#                     = '': once promoted, it commits alone. Writes DIR/env
#                     as start does, plus PG_PRIMARY_PORT, PG_STANDBY_NAME.
#   pg.sh promote DIR the standby in DIR becomes a primary (pg_ctl promote,
#                     waited for).
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
    echo "usage: $0 start|stop|restart|status|promote DIR" >&2
    echo "       $0 migrate DIR REGISTRAR_BIN" >&2
    echo "       $0 standby DIR PRIMARY_DIR [NAME]" >&2
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

    local durability=off
    [ "${PG_DURABLE:-0}" = 1 ] && durability=on
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || harness_die "no free port"
        cat >>"$dir/data/postgresql.conf" <<EOF

# --- tests/harness/pg.sh (attempt $attempt; PG_DURABLE=${PG_DURABLE:-0}) ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = $durability
synchronous_commit = $durability
full_page_writes = $durability
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
CREATE DATABASE registrar OWNER postgres ENCODING 'UTF8' TEMPLATE template0;
EOF
    psql_super "$port" registrar -c 'CREATE EXTENSION IF NOT EXISTS pgcrypto' ||
        harness_die "cannot create extension pgcrypto"

    pg_env "$dir" "$port" >"$dir/env"
    harness_log "postgres running on 127.0.0.1:$port (pid $(pg_pid "$dir"), fsync/synchronous_commit/full_page_writes $durability), env in $dir/env"
}

# pg_env DIR PORT: the lines of DIR/env for the cluster in DIR on PORT
pg_env()
{
    local dir=$1 port=$2
    echo "PGHOST=127.0.0.1"
    echo "PGPORT=$port"
    echo "PGUSER=postgres"
    echo "PGDATABASE=registrar"
    echo "PG_SUPERUSER=postgres"
    echo "PG_SOCKET_DIR=$(env_quote "$dir")"
    echo "PG_PID=$(pg_pid "$dir")"
    echo "REGISTRAR_CONNINFO=$(env_quote "host=127.0.0.1 port=$port dbname=registrar user=registrar")"
    echo "REGISTRAR_MIGRATE_CONNINFO=$(env_quote "host=127.0.0.1 port=$port dbname=registrar user=postgres")"
}

# pg_migrate DIR BIN: the schema by the superuser, registrar's role granted
# registrar_service (its only right)
pg_migrate()
{
    local dir bin=$2 port
    dir=$(cd "$1" 2>/dev/null && pwd -P) || harness_die "no such directory $1"
    [ -x "$bin" ] || harness_die "no registrar binary at $bin"
    port=$(sed -n 's/^PGPORT=//p' "$dir/env")
    [ -n "$port" ] || harness_die "no cluster of 'pg.sh start' in $dir"
    if ! timeout 120 "$bin" --migrate --database \
            "host=127.0.0.1 port=$port dbname=registrar user=postgres" \
            >"$dir/migrate.log" 2>&1; then
        cat "$dir/migrate.log" >&2
        harness_die "registrar --migrate failed in $dir"
    fi
    psql_super "$port" registrar -c 'GRANT registrar_service TO registrar' ||
        harness_die "cannot grant registrar_service to registrar"
    harness_log "schema migrated by postgres, registrar granted registrar_service (log in $dir/migrate.log)"
}

# pg_standby DIR PRIMARY_DIR NAME
pg_standby()
{
    local dir primary name=$3 pport port attempt i ok=0 hba streaming
    case $name in
    '' | *[!A-Za-z0-9_]*)
        harness_die "standby name '$name': letters, digits and _ only"
        ;;
    esac
    harness_ensure_user
    primary=$(cd "$2" 2>/dev/null && pwd -P) || harness_die "no such directory $2"
    [ -r "$primary/env" ] || harness_die "no cluster of 'pg.sh start' in $primary"
    pport=$(sed -n 's/^PGPORT=//p' "$primary/env")
    "$PGBIN/pg_isready" -q -t 10 -h 127.0.0.1 -p "$pport" ||
        harness_die "the primary in $primary is not running"
    dir=$(harness_prepare_dir "$1") || exit 1
    [ "$dir" != "$primary" ] || harness_die "a standby needs a directory of its own"

    # replication connections from loopback: initdb -A trust writes this
    # line already (an operator writes one for the standby's address, for
    # a replication role with a password)
    hba=$primary/data/pg_hba.conf
    if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]' "$hba"; then
        echo "host replication postgres 127.0.0.1/32 trust" >>"$hba"
        as_user 30 "$PGBIN/pg_ctl" -D "$primary/data" reload >/dev/null 2>&1 ||
            harness_die "cannot reload the primary in $primary"
    fi

    pg_stop "$dir"
    rm -rf "$dir/data" "$dir/env" "$dir/postgres.log" "$dir/basebackup.log" \
        "$dir"/.s.PGSQL.*
    # -R: standby.signal, and primary_conninfo (the connection string
    # given, application_name included) in postgresql.auto.conf
    if ! as_user 120 "$PGBIN/pg_basebackup" -D "$dir/data" -R -X stream \
            -c fast --no-sync \
            -d "host=127.0.0.1 port=$pport user=postgres application_name=$name" \
            >"$dir/basebackup.log" 2>&1; then
        cat "$dir/basebackup.log" >&2
        harness_die "pg_basebackup from $primary failed"
    fi
    grep -q "^primary_conninfo = .*application_name=$name" \
        "$dir/data/postgresql.auto.conf" ||
        harness_die "pg_basebackup -R wrote no primary_conninfo naming $name"

    # the copied postgresql.conf holds the primary's port and socket
    # directory: the lines appended here come later, so they win
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || harness_die "no free port"
        cat >>"$dir/data/postgresql.conf" <<EOF

# --- tests/harness/pg.sh: standby $name of $primary (attempt $attempt) ---
port = $port
unix_socket_directories = '$dir'
hot_standby = on
# a standby has no standby of its own: once promoted it commits alone,
# until the operator names a new synchronous standby
synchronous_standby_names = ''
EOF
        if as_user $((PG_START_TIMEOUT + 5)) "$PGBIN/pg_ctl" -D "$dir/data" \
                -l "$dir/postgres.log" -w -t "$PG_START_TIMEOUT" start \
                >/dev/null 2>&1 &&
                "$PGBIN/pg_isready" -q -t 10 -h 127.0.0.1 -p "$port"; then
            ok=1
            break
        fi
        harness_log "standby did not start on port $port (attempt $attempt)"
        pg_stop "$dir"
    done
    if [ "$ok" != 1 ]; then
        tail -n 30 "$dir/postgres.log" >&2
        harness_die "cannot start the standby in $dir"
    fi

    streaming=0
    for ((i = 0; i < PG_START_TIMEOUT * 10; i++)); do
        streaming=$(psql_super "$pport" postgres -A -t -c \
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$name' AND state = 'streaming'" \
            2>/dev/null) || streaming=0
        [ "$streaming" = 1 ] && break
        sleep 0.1
    done
    if [ "$streaming" != 1 ]; then
        tail -n 30 "$dir/postgres.log" >&2
        harness_die "standby $name in $dir is not streaming from $primary"
    fi

    {
        pg_env "$dir" "$port"
        echo "PG_PRIMARY_PORT=$pport"
        echo "PG_STANDBY_NAME=$name"
    } >"$dir/env"
    harness_log "standby $name running on 127.0.0.1:$port (pid $(pg_pid "$dir")), streaming from 127.0.0.1:$pport, env in $dir/env"
}

# pg_promote DIR: the standby in DIR becomes a primary
pg_promote()
{
    local dir
    dir=$(cd "$1" 2>/dev/null && pwd -P) || harness_die "no such directory $1"
    [ -f "$dir/data/standby.signal" ] ||
        harness_die "no standby in $dir (no standby.signal)"
    as_user 40 "$PGBIN/pg_ctl" -D "$dir/data" promote -w -t 30 \
        >/dev/null 2>&1 || harness_die "pg_ctl promote failed in $dir"
    harness_log "postgres in $dir promoted (pid $(pg_pid "$dir"))"
}

[ $# -ge 2 ] || usage
if [ "$1" = migrate ]; then
    [ $# -eq 3 ] || usage
    pg_migrate "$2" "$3"
    exit
fi
if [ "$1" = standby ]; then
    [ $# -eq 3 ] || [ $# -eq 4 ] || usage
    pg_standby "$2" "$3" "${4:-standby1}"
    exit
fi
[ $# -eq 2 ] || usage
case $1 in
promote)
    pg_promote "$2"
    ;;
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
