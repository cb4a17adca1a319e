#!/usr/bin/env bash
# tests/run.sh - the whole test suite, on a fresh Debian 12 machine.
#
# As root it first installs what it needs from Debian's packages (set
# REGISTRAR_SKIP_APT=1 to skip).  Then it builds twice and runs ctest in
# each build (ctest -j, the cores: tests/CMakeLists.txt says which run
# alone): a normal build (unit, PostgreSQL and end-to-end tests), and
# one with AddressSanitizer + UndefinedBehaviorSanitizer, in which any
# report, leaks included, fails the run.  Servers are started on free
# loopback ports as the unprivileged user registrar-test and stopped again.
# As root with CI=true (or REGISTRAR_PACKAGE_TEST=1), the normal build's
# ctest also builds the Debian package, lints it, installs it with apt-get
# and purges it again (tests/package/run.sh); it is skipped otherwise.
# Last, a clang build replays the fuzzing corpus and fuzzes the stanza path
# for REGISTRAR_FUZZ_SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake pkg-config
    libstrophe-dev libpq-dev libconfuse-dev libcrypt-dev libidn-dev libicu-dev
    libmicrohttpd-dev libcmocka-dev libpcre2-dev prometheus
    postgresql postgresql-contrib prosody ejabberd python3 python3-slixmpp
    python3-aioxmpp python3-yaml python3-psycopg2 python3-pil python3-nbxmpp
    openssl
    procps util-linux systemd man-db groff-base
    clang clang-format libclang-rt-14-dev
    dpkg-dev lintian fakeroot file adduser
)

if [ "$(id -u)" = 0 ] && [ -z "${REGISTRAR_SKIP_APT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
status=0
total_passed=0
total_failed=0

# run_suite DIR CTEST_ARGS -- CMAKE_ARGS: configure, build, run ctest, and
# add its counts to the totals.
run_suite() {
    local dir=$1 ctest_args=() line total failed
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ctest_args+=("$1"); shift; done
    shift
    cmake -S . -B "$dir" "$@"
    cmake --build "$dir" -j"$jobs"
    # a failing suite must not end the script (set -e, pipefail): the
    # later builds still run and the closing line still counts
    set +e
    (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$jobs" \
        "${ctest_args[@]}") \
        2>&1 | tee "$dir/ctest.log"
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
    set -e
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$dir/ctest.log" |
           tail -n 1)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
        total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
        total_passed=$((total_passed + total - failed))
        total_failed=$((total_failed + failed))
    else
        status=1
    fi
}

echo "== build and test (RelWithDebInfo) =="
run_suite build/tests -- -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== build and test with ASan + UBSan =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/sanitize -E 'deploy_install|package_deb|bench_' -- \
    -DCMAKE_BUILD_TYPE=Debug \
    -DREGISTRAR_SANITIZE=ON

echo "== fuzz the stanza path (libFuzzer, ${REGISTRAR_FUZZ_SECONDS:-60} s) =="
CC=clang run_suite build/fuzz -L fuzz -- -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DREGISTRAR_FUZZ=ON -DREGISTRAR_SANITIZE=OFF
if tests/fuzz/run.sh build/fuzz "${REGISTRAR_FUZZ_SECONDS:-60}" \
        >build/fuzz/fuzz.log 2>&1; then
    grep -E '^(Done|stat::)' build/fuzz/fuzz.log
    total_passed=$((total_passed + 1))
else
    total_failed=$((total_failed + 1))
    tail -n 60 build/fuzz/fuzz.log
    echo "fuzzing found a failure: see build/fuzz/fuzz-artifacts/"
    status=1
fi

echo "== summary: every ctest run above =="
echo "${total_passed} passed, ${total_failed} failed"
exit $status
