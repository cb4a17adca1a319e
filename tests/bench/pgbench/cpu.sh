#!/usr/bin/env bash
# tests/bench/pgbench/cpu.sh: PostgreSQL's CPU per operation of registrar's
# write functions (put_*.sql, remove*.sql: the statements of
# component/store_sql.c) and of the floors (tests/bench/bench.py's
# floor_*.sql), measured from /proc.
#
#   cpu.sh setup ENV DB        setup.sql and floor_setup.sql (rows 10000)
#                              in DB, a migrated registrar database of the
#                              cluster whose pg.sh env file is ENV
#   cpu.sh run [--v11] ENV DB SCRIPT TX
#                              SCRIPT (a file of this directory) TX times on
#                              one connection (pgbench -c 1 -M prepared), as
#                              registrar (a login granted registrar_service;
#                              the floors as the superuser, as bench.py runs
#                              them), and one line: script, db, ops, CPU
#                              seconds, us per op, transactions per second.
#                              --v11: DB is at schema version 11 (before
#                              sql/012): the same operations through
#                              sql/010's functions, as registrar sent them
#
# The measure: the backend's utime + stime, read as the postmaster's
# cutime + cstime (the CPU of its children that exited and were reaped)
# before pgbench starts and after its backends are gone; pgbench's first
# connection (it checks the database) is in it, and the CPU of starting
# and ending the backends (a few ms): TX large enough that they weigh
# nothing.  Every other child of the postmaster must live on meanwhile:
# a cluster with autovacuum = off (VACUUM between runs, outside the
# measure).  ops: 10 for the scripts named *10.sql, else 1.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROWS=10000

ticks() # cutime + cstime of $1
{
    awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$1/stat"
}

children() # how many children $1 has
{
    pgrep -c -P "$1" || true
}

usage()
{
    sed -n '2,30p' "$0" >&2
    exit 64
}

v11=
if [ "${1:-}" = run ] && [ "${2:-}" = --v11 ]; then
    v11=1
    set -- "$1" "${@:3}"
fi
[ $# -ge 3 ] || usage
cmd=$1 envf=$2 db=$3
# shellcheck disable=SC1090
. "$envf"
psql_super()
{
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" \
        -U "$PGUSER" -d "$db" "$@"
}
case $cmd in
setup)
    psql_super -f "$here/setup.sql" >/dev/null &&
        psql_super -v rows=$ROWS -f "$here/floor_setup.sql" >/dev/null
    ;;
run)
    [ $# -eq 5 ] || usage
    name=$4 tx=$5 role=registrar
    name=${name%.sql}
    script=$here/$name.sql
    [ -r "$script" ] || usage
    case $name in *10) ops=10 ;; *) ops=1 ;; esac
    case $name in floor_*) role=$PGUSER ;; esac
    defines=(-D rows=$ROWS -D clients=1)
    if [ -n "$v11" ]; then
        tmp=$(mktemp /tmp/cpu-v11.XXXXXX.sql) || exit 1
        trap 'rm -f "$tmp"' EXIT
        sed -e 's/SELECT outcome, reason, event_id FROM registrar_put_event(/SELECT outcome, reason FROM registrar_put_checked(/' \
            -e 's/SELECT done, event_id FROM registrar_remove_event(/SELECT registrar_remove(/' \
            "$script" >"$tmp"
        script=$tmp
    fi
    case $name in
    remove*)
        # rows rm<base+1>.. of a block of numbers of this run's own
        base=$(psql_super -c "SELECT nextval('bench_write.rm_block')
                              * 100000000") || exit 1
        psql_super -v lo=$((base + 1)) -v hi=$((base + tx * ops)) \
            -f "$here/refill.sql" >/dev/null || exit 1
        defines+=(-D base="$base" -D k=0)
        ;;
    floor_remove*)
        base=$(psql_super -c "SELECT nextval('bench_write.rm_block')
                              * 100000000") || exit 1
        psql_super -v from=$((base + 1)) -v to=$((base + tx * ops)) \
            -f "$here/floor_topup.sql" >/dev/null || exit 1
        defines+=(-D base="$base" -D k=0)
        ;;
    esac
    pm=$PG_PID
    n0=$(children "$pm")
    t0=$(ticks "$pm")
    out=$("$PGBIN/pgbench" -n -h "$PGHOST" -p "$PGPORT" -U "$role" -c 1 -j 1 \
        -M prepared -t "$tx" "${defines[@]}" -f "$script" "$db" 2>&1) || {
        echo "$out" >&2
        exit 1
    }
    for _ in $(seq 100); do
        [ "$(children "$pm")" -le "$n0" ] && break
        sleep 0.05
    done
    t1=$(ticks "$pm")
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
    fail=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' \
        <<<"$out")
    [ "${fail:-0}" = 0 ] || {
        echo "$out" >&2
        exit 1
    }
    awk -v s="$name" -v db="$db" -v n=$((tx * ops)) -v t=$((t1 - t0)) \
        -v hz="$(getconf CLK_TCK)" -v tps="$tps" \
        'BEGIN { printf "%s %s %d %.2f %.1f %s\n", s, db, n, t / hz,
                        t / hz * 1e6 / n, tps }'
    ;;
*)
    usage
    ;;
esac
