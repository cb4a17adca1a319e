#!/usr/bin/env bash
# tests/deploy/test_install.sh BUILD_DIR: installs the build into a
# throwaway prefix and checks the tree: every file in place, the unit
# pointing at this prefix (both units, and systemd-analyze verify on them:
# test_units.sh), the man pages free of groff warnings, the example config
# valid (with its secret file made for the test) and the example backend
# valid Python.
set -u -o pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/registrar-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi
}

cmake --install "$build" --prefix "$tmp/usr" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
for f in sbin/registrar lib/systemd/system/registrar.service \
         lib/systemd/system/registrar@.service \
         share/doc/registrar/examples/backend.py \
         share/man/man8/registrar.8 share/man/man5/registrar.conf.5 \
         share/doc/registrar/examples/registrar.conf \
         share/doc/registrar/examples/prosody.cfg.lua \
         share/doc/registrar/examples/ejabberd.yml \
         share/registrar/sql/001_registrations.sql \
         share/registrar/sql/roles.sql \
         share/doc/registrar/README.md share/doc/registrar/LICENSE \
         share/doc/registrar/doc/operating.md \
         share/doc/registrar/doc/backend.md \
         share/doc/registrar/doc/protocol.md \
         share/doc/registrar/doc/architecture.md \
         share/doc/registrar/doc/benchmark.md; do
    check "installed $f" test -s "$tmp/usr/$f"
done
check "binary is executable" test -x "$tmp/usr/sbin/registrar"
unit=$tmp/usr/lib/systemd/system/registrar.service
check "unit runs the installed binary" \
    grep -q "^ExecStart=$tmp/usr/sbin/registrar --config $tmp/usr/etc/registrar/registrar.conf\$" "$unit"
check "unit is Type=notify" grep -q '^Type=notify$' "$unit"
for d in LimitCORE=0 TasksMax=32 MemoryMax=256M RemoveIPC=yes \
         PrivateMounts=yes ProcSubset=pid IPAddressDeny=any \
         IPAddressAllow=localhost; do
    check "unit has $d" grep -qx "$d" "$unit"
done
if command -v python3 >/dev/null; then
    check "the example backend compiles" \
        python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' \
        "$tmp/usr/share/doc/registrar/examples/backend.py"
fi
for page in man8/registrar.8 man5/registrar.conf.5; do
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -l \
        "$tmp/usr/share/man/$page" 2>&1 >/dev/null)
    check "man page $page renders without warnings" test -z "$warnings"
    [ -z "$warnings" ] || echo "$warnings"
done
printf 'test-secret\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
sed "s|/etc/registrar/secret|$tmp/secret|" \
    "$tmp/usr/share/doc/registrar/examples/registrar.conf" >"$tmp/registrar.conf"
check "example registrar.conf is valid" \
    "$tmp/usr/sbin/registrar" --check-config --config "$tmp/registrar.conf"
chmod 644 "$tmp/secret"
check "a world-readable secret_file is refused (exit 78)" \
    bash -c "'$tmp/usr/sbin/registrar' --check-config --config '$tmp/registrar.conf' 2>&1 | grep -q 'readable by every user'; test \${PIPESTATUS[0]} = 78"
# The process makes itself non-dumpable (no core, no ptrace by its own
# user): then proc(5) gives its /proc/PID files to root.  Run as nobody
# against nothing (no database, no XMPP server: it keeps retrying).
chmod 711 "$tmp"
printf 'test-secret\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
chown nobody "$tmp/secret"
sed -e 's|^\( *conninfo *=\).*|\1 "host=127.0.0.1 port=1 dbname=none connect_timeout=1"|' \
    -e 's|^\( *port *=\).*|\1 1|' \
    "$tmp/registrar.conf" >"$tmp/run.conf"
chmod 644 "$tmp/run.conf"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$tmp/usr/sbin/registrar" --config "$tmp/run.conf" 2>"$tmp/run.log" &
pid=$!
for _ in $(seq 50); do
    grep -q 'starting for' "$tmp/run.log" && break
    sleep 0.1
done
owner=$(stat -c %U "/proc/$pid/status" 2>/dev/null)
kill "$pid" 2>/dev/null
wait "$pid"
check "the running registrar is not dumpable (/proc/PID/status owned by $owner)" \
    test "$owner" = root
exit $fail
