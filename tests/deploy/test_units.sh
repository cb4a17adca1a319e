#!/usr/bin/env bash
# tests/deploy/test_units.sh BUILD_DIR: the systemd units as installed
# into a throwaway prefix: registrar.service and the template
# registrar@.service run the installed binary on the prefix's config
# (registrar.conf; %i.conf for the template), the template is the same
# unit otherwise (its header comment, Description, Restart=always and
# RestartSec= aside), and systemd-analyze verify passes on both (the
# template as systemd instantiates it, registrar@i.service).  Exit 77
# (skipped) without systemd-analyze.
set -u -o pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then
    echo "skipped: systemd-analyze is missing (apt-get install systemd)"
    exit 77
fi
tmp=$(mktemp -d /tmp/registrar-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi
}

cmake --install "$build" --prefix "$tmp/usr" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
dir=$tmp/usr/lib/systemd/system
sbin=$tmp/usr/sbin/registrar
etc=$tmp/usr/etc/registrar
for pair in "registrar.service:registrar.conf" "registrar@.service:%i.conf"; do
    unit=$dir/${pair%%:*}
    conf=$etc/${pair#*:}
    check "${unit##*/} installed" test -s "$unit"
    check "${unit##*/} checks $conf first" \
        grep -qxF "ExecStartPre=$sbin --check-config --config $conf" "$unit"
    check "${unit##*/} runs $sbin on $conf" \
        grep -qxF "ExecStart=$sbin --config $conf" "$unit"
    check "${unit##*/}: no @PLACEHOLDER@ left" \
        bash -c '! grep -n "@[A-Z]*@" "$1"' _ "$unit"
    check "systemd-analyze verify ${unit##*/}" \
        systemd-analyze verify --man=no "$unit"
done
check "registrar@.service names its instance" \
    grep -qx 'Description=registrar %i: .*' "$dir/registrar@.service"
check "registrar@.service restarts always, after 1 s" \
    bash -c 'grep -qx Restart=always "$1" && grep -qx RestartSec=1s "$1"' \
    _ "$dir/registrar@.service"
# the same unit otherwise: what one gets, the other gets
same() {
    grep -v -e '^#' -e '^Description=' -e '^ExecStart' -e '^Restart=' \
        -e '^RestartSec=' "$1"
}
check "registrar@.service is registrar.service but for its instance" \
    diff <(same "$dir/registrar.service") <(same "$dir/registrar@.service")
exit $fail
