#!/usr/bin/env bash
# tests/package/run.sh [BUILD_DIR] - the Debian package, end to end, on
# this machine: builds it as doc/operating.md ("Installing the package")
# says, in BUILD_DIR (made; wiped first when an earlier run of this script
# made it; a temporary directory when not given), runs lintian on it (any
# E: fails), installs it with apt-get and checks what it installed and set
# up, runs the installed binary on the installed example config,
# reinstalls it, removes it (what Debian policy keeps stays), purges it and
# checks that all of it is gone.  Ends with "package: N checks passed".
#
# It installs system-wide: it runs only as root with CI=true or
# REGISTRAR_PACKAGE_TEST=1 (exit 77, skipped, otherwise; also when a tool
# is missing), and refuses a machine that already has the package or a
# user named registrar.  The package is purged again on every exit.
set -euo pipefail
SKIP=77
src=$(cd "$(dirname "$0")/../.." && pwd)
marker=.registrar-package-test

if [ "$(id -u)" != 0 ]; then
    echo "package: skipped: installs a package system-wide, run as root"
    exit $SKIP
fi
if [ "${REGISTRAR_PACKAGE_TEST:-}" != 1 ] && [ "${CI:-}" != true ]; then
    echo "package: skipped: installs a package system-wide; set CI=true" \
         "or REGISTRAR_PACKAGE_TEST=1 (on a throwaway machine)"
    exit $SKIP
fi
missing=()
for tool in cmake cpack dpkg-buildflags dpkg-shlibdeps lintian apt-get \
            file gzip setpriv; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "package: skipped: missing ${missing[*]}" \
         "(apt-get install cmake dpkg-dev lintian file)"
    exit $SKIP
fi
status() { dpkg-query -W -f='${db:Status-Status}' registrar 2>/dev/null; }
if [ -n "$(status)" ] && [ "$(status)" != not-installed ]; then
    echo "package: refused: registrar is installed here ($(status));" \
         "apt-get purge registrar first" >&2
    exit 1
fi
if getent passwd registrar >/dev/null || getent group registrar >/dev/null
then
    echo "package: refused: a user or group registrar exists already, and" \
         "purging the package removes them" >&2
    exit 1
fi

if [ $# -ge 1 ]; then
    build=$1
    if [ -e "$build" ] && [ ! -e "$build/$marker" ] &&
       [ -n "$(ls -A "$build")" ]; then
        echo "package: $build is not empty and not from this script" >&2
        exit 1
    fi
    rm -rf "$build"
    mkdir -p "$build"
    own_build=
else
    build=$(mktemp -d /tmp/registrar-package.XXXXXX)
    own_build=1
fi
touch "$build/$marker"
chmod 755 "$build"   # apt's _apt user reads the .deb from here
build=$(cd "$build" && pwd)

installed=
cleanup() {
    if [ -n "$installed" ] && [ -n "$(status)" ] &&
       [ "$(status)" != not-installed ]; then
        echo "== cleanup: apt-get purge registrar"
        apt-get purge -y -q registrar >/dev/null 2>&1 ||
            dpkg --purge registrar || true
    fi
    [ -z "$own_build" ] || rm -rf "$build"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then
        echo "ok - $1"
        passed=$((passed + 1))
    else
        echo "not ok - $1"
        failed=$((failed + 1))
    fi
}
# is WANT COMMAND...: the command's output is exactly WANT
is() {
    local got
    got=$("${@:2}" 2>&1) || true
    [ "$got" = "$1" ] || { echo "  got: $got"; echo "  want: $1"; return 1; }
}
perms() { stat -c '%U:%G %a' "$1"; }
export DEBIAN_FRONTEND=noninteractive

echo "== build (in $build)"
# Debian's build flags (dpkg-buildflags: fortify, stack protector, relro,
# bindnow); CMake reads CFLAGS and LDFLAGS, not CPPFLAGS.
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
export CFLAGS="$CPPFLAGS $CFLAGS"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX=/usr -DREGISTRAR_TESTS=OFF
cmake --build "$build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
(cd "$build" && cpack -G DEB)
debs=("$build"/registrar_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
    echo "package: cpack made no registrar_*.deb (or several)" >&2
    exit 1
fi
deb=${debs[0]}
upstream=$(sed -n 's/^#define REGISTRAR_VERSION "\(.*\)"$/\1/p' \
    "$build/version.h")
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
depends=$(dpkg-deb -f "$deb" Depends)
echo "$(basename "$deb"): Depends: $depends"
check "named registrar_${version}_${arch}.deb" \
    test "$(basename "$deb")" = "registrar_${version}_${arch}.deb"
check "version $version is the project's $upstream" \
    test "${version%-*}" = "$upstream"
check "architecture is dpkg's" test "$arch" = "$(dpkg --print-architecture)"
for dep in adduser libc6 libstrophe0 libpq5 libconfuse2 libcrypt1 libidn12 \
    libicu72 libmicrohttpd12 libpcre2-8-0; do
    check "depends on $dep" grep -Eq "(^|, )$dep( |,|$)" <<<"$depends"
done

changelog_by=$(sed -n 's/^ -- \(.* <[^>]*>\)  .*/\1/p' \
    "$src/deploy/debian/changelog" | head -n 1)
maintainer=$(dpkg-deb -f "$deb" Maintainer)
echo "Maintainer: $maintainer"
check "the maintainer is the changelog's" test "$maintainer" = "$changelog_by"
check "the maintainer is the project, not a placeholder" \
    bash -c '[[ $1 == "registrar developers <"*">" ]] &&
             [[ $1 != *noreply* && $1 != *.example\> ]]' _ "$maintainer"

echo "== lintian"
lint_rc=0
lint=$(lintian --pedantic --display-info --display-experimental "$deb" \
       2>&1) || lint_rc=$?
echo "$lint"
check "lintian: no error" bash -c '! grep -q "^E: " <<<"$1"' _ "$lint"
check "lintian ran (exit $lint_rc)" test "$lint_rc" -le 1

echo "== apt-get install ./$(basename "$deb")"
installed=1
(cd "$build" && apt-get install -y -q "./$(basename "$deb")")
check "dpkg: installed" test "$(status)" = installed
for f in /usr/sbin/registrar /lib/systemd/system/registrar.service \
         /lib/systemd/system/registrar@.service \
         /usr/share/doc/registrar/examples/backend.py \
         /usr/share/man/man8/registrar.8.gz \
         /usr/share/man/man5/registrar.conf.5.gz \
         /etc/registrar/registrar.conf /etc/registrar/secret \
         /usr/share/doc/registrar/copyright \
         /usr/share/doc/registrar/changelog.Debian.gz \
         /usr/share/doc/registrar/examples/registrar.conf \
         /usr/share/doc/registrar/examples/prosody.cfg.lua \
         /usr/share/doc/registrar/examples/ejabberd.yml; do
    check "installed $f" test -s "$f"
done
check "/usr/sbin/registrar is executable" test -x /usr/sbin/registrar
# The README and every guide of doc/ it points to, gzip'd beside it.
docs=(/usr/share/doc/registrar/README.md.gz)
for guide in "$src"/doc/*.md; do
    docs+=("/usr/share/doc/registrar/doc/$(basename "$guide").gz")
done
check "doc/ has guides to install" test ${#docs[@]} -gt 1
for f in "${docs[@]}"; do
    check "installed $f" test -s "$f"
done
check "the installed README is the tree's" \
    cmp <(zcat /usr/share/doc/registrar/README.md.gz) "$src/README.md"
for page in /usr/share/man/man8/registrar.8.gz \
            /usr/share/man/man5/registrar.conf.5.gz \
            /usr/share/doc/registrar/changelog.Debian.gz "${docs[@]}"; do
    check "$page: gzip -9n (no name, no time stamp)" \
        bash -c 'gzip -t "$1" && file -b "$1" |
                 grep -q "max compression" && ! file -b "$1" |
                 grep -Eq "was \"|last modified"' _ "$page"
done
# LICENSE's text is in the copyright file (DEP-5, Expat), and only there
copyright=/usr/share/doc/registrar/copyright
check "copyright: every file under Expat, the project's copyright" \
    bash -c 'grep -qx "License: Expat" "$1" &&
             grep -qx "Copyright: 2026 the registrar developers" "$1"' \
    _ "$copyright"
check "copyright carries LICENSE's permission notice" \
    cmp <(sed -n '/^Permission is hereby granted/,$p' "$src/LICENSE") \
        <(sed -n '/^ Permission is hereby granted/,$p' "$copyright" |
          sed -e 's/^ //' -e 's/^\.$//')
check "LICENSE names the registrar developers, 2026" \
    grep -qx 'Copyright (c) 2026 the registrar developers' "$src/LICENSE"
check "LICENSE is not shipped beside the copyright file" \
    test ! -e /usr/share/doc/registrar/LICENSE
(cd "$src/sql" && find . -type f | sort) >"$build/sql.want"
(cd /usr/share/registrar/sql && find . -type f | sort) >"$build/sql.got"
check "every file of sql/ is in /usr/share/registrar/sql" \
    diff "$build/sql.want" "$build/sql.got"
check "the example config is the shipped example" \
    cmp /etc/registrar/registrar.conf \
        /usr/share/doc/registrar/examples/registrar.conf
check "dpkg lists /etc/registrar/registrar.conf as a conffile" \
    bash -c "dpkg-query -W -f='\${Conffiles}\n' registrar |
             grep -q '^ /etc/registrar/registrar.conf [0-9a-f]\{32\}\$'"

pw=$(getent passwd registrar || true)
echo "user: $pw"
check "user registrar exists" test -n "$pw"
check "user registrar is a system user" \
    test "$(cut -d: -f3 <<<"$pw")" -lt 1000
check "user registrar has no home and no shell" \
    test "$(cut -d: -f6- <<<"$pw")" = /nonexistent:/usr/sbin/nologin
check "its primary group is registrar" \
    test "$(id -gn registrar 2>/dev/null)" = registrar
check "/nonexistent was not made" test ! -e /nonexistent
check "/etc/registrar is root:registrar 750" \
    is "root:registrar 750" perms /etc/registrar
check "registrar.conf is root:registrar 640" \
    is "root:registrar 640" perms /etc/registrar/registrar.conf
check "secret is root:registrar 640" \
    is "root:registrar 640" perms /etc/registrar/secret
check "secret is one line of 48 hex digits" \
    grep -Eqx '[0-9a-f]{48}' /etc/registrar/secret
check "another user (nobody) cannot read the secret" \
    bash -c '! setpriv --reuid=nobody --regid=nogroup --clear-groups \
             cat /etc/registrar/secret >/dev/null 2>&1'

unit=/lib/systemd/system/registrar.service
conf=/etc/registrar/registrar.conf
check "unit runs /usr/sbin/registrar on $conf" \
    grep -qx "ExecStart=/usr/sbin/registrar --config $conf" "$unit"
check "unit checks the config first" \
    grep -qx "ExecStartPre=/usr/sbin/registrar --check-config --config $conf" \
    "$unit"
check "unit runs as registrar:registrar" \
    bash -c 'grep -qx User=registrar "$1" && grep -qx Group=registrar "$1"' \
    _ "$unit"
template=/lib/systemd/system/registrar@.service
check "the template runs /usr/sbin/registrar on /etc/registrar/%i.conf" \
    grep -qx "ExecStart=/usr/sbin/registrar --config /etc/registrar/%i.conf" \
    "$template"
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify" systemd-analyze verify --man=no "$unit"
    check "systemd-analyze verify (the template)" \
        systemd-analyze verify --man=no "$template"
fi

check "registrar --version: registrar $upstream (schema N)" \
    bash -c 'registrar --version |
             grep -Eqx "registrar $1 \(schema [0-9]+\)"' _ "$upstream"
check "registrar --check-config on the installed config: OK" \
    is "$conf: OK" registrar --check-config --config "$conf"
check "the same as the user registrar (as the unit runs it)" \
    is "$conf: OK" setpriv --reuid=registrar --regid=registrar \
    --init-groups registrar --check-config --config "$conf"

echo "== apt-get install --reinstall (postinst again: user, secret kept)"
secret_sum=$(sha256sum /etc/registrar/secret)
(cd "$build" && apt-get install -y -q --reinstall "./$(basename "$deb")")
check "dpkg: installed" test "$(status)" = installed
check "the secret is kept" is "$secret_sum" sha256sum /etc/registrar/secret
check "registrar.conf is still root:registrar 640" \
    is "root:registrar 640" perms /etc/registrar/registrar.conf

echo "== apt-get remove (the config, secret and user stay until purge)"
apt-get remove -y -q registrar
check "dpkg: config-files" test "$(status)" = config-files
check "binary removed" test ! -e /usr/sbin/registrar
check "units removed" bash -c '! test -e "$1" && ! test -e "$2"' _ \
    "$unit" "$template"
check "sql removed" test ! -e /usr/share/registrar
check "registrar.conf kept, root:registrar 640" \
    is "root:registrar 640" perms /etc/registrar/registrar.conf
check "secret kept" is "$secret_sum" sha256sum /etc/registrar/secret
check "user kept" bash -c "getent passwd registrar >/dev/null"

echo "== apt-get purge"
apt-get purge -y -q registrar
check "dpkg: gone" bash -c '[ -z "$1" ] || [ "$1" = not-installed ]' _ \
    "$(status)"
for f in /usr/sbin/registrar "$unit" "$template" \
         /usr/share/man/man8/registrar.8.gz \
         /usr/share/man/man5/registrar.conf.5.gz /usr/share/registrar \
         /usr/share/doc/registrar /etc/registrar; do
    check "purged $f" test ! -e "$f"
done
check "user registrar removed" bash -c '! getent passwd registrar'
check "group registrar removed" bash -c '! getent group registrar'
check "no statoverride left" \
    bash -c '! dpkg-statoverride --list | grep -q /etc/registrar'
installed=

if [ $failed = 0 ]; then
    echo "package: $passed checks passed"
    exit 0
fi
echo "package: $passed checks passed, $failed failed"
exit 1
