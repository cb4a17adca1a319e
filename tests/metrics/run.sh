#!/usr/bin/env bash
# tests/metrics/run.sh: registrar's metrics read back through a real
# Prometheus, while real clients register against a real Prosody 0.12 and
# a real PostgreSQL 15.
#
#   tests/metrics/run.sh [UNITTEST-NAME ...]
#
# Starts a throwaway PostgreSQL (tests/harness/pg.sh) and Prosody
# (tests/harness/prosody.sh) with the component metrics.localhost, creates
# the client accounts, writes registrar's config (tests/fixtures/
# accounts.conf, plus metrics { listen = "127.0.0.1:PORT" } and
# log { stats_interval_s = 1 }) and Prometheus' (one job scraping that
# address every second), and starts Prometheus (Debian's prometheus
# package) as the unprivileged test user on a free loopback port, its
# data below the work dir. The python suite (test_prometheus.py) starts
# registrar itself, with NOTIFY_SOCKET, and reads the counters back
# through Prometheus' HTTP API (/api/v1/query).
#
# Everything started here or by the tests (servers, Prometheus, registrar)
# is stopped on exit by PID, also on failure or ^C (the driver:
# tests/harness/suite.sh).
#
# Environment:
#   REGISTRAR_BIN      the binary (default: build/registrar)
#   REGISTRAR_WRAPPER  run it under this (e.g. valgrind)
#   METRICS_WORKDIR    where servers, configs and logs go (default: a new
#                      /tmp/metrics-run.XXXXXX, removed after a passing run)
#   METRICS_KEEP=1     keep it even when everything passed
#   METRICS_TIMEOUT    seconds for the python run (default 300)
# Exit status: 0 all passed, 1 anything failed, 77 skipped (a needed tool
# is missing: postgresql-15, prosody, python3-slixmpp, prometheus).
set -u -o pipefail

# shellcheck source=tests/harness/suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/suite.sh"
suite_init METRICS prosody /usr/lib/postgresql/15/bin/initdb psql setpriv \
    /usr/bin/prosody prometheus promtool -- "$@"

METRICS_TIMEOUT=${METRICS_TIMEOUT:-300}
export REGISTRAR_WRAPPER=${REGISTRAR_WRAPPER:-}
[ -n "$REGISTRAR_WRAPPER" ] && export E2E_REPLY_TIMEOUT=${E2E_REPLY_TIMEOUT:-60}

# ---------------------------------------------------------------- servers

suite_start_pg
secret=$(suite_secret)
suite_start_xmpp metrics.localhost "$secret"
export METRICS_JID=metrics.localhost E2E_SECRETS_FILE=$WORK/secrets.txt
echo "$secret" >"$E2E_SECRETS_FILE"
suite_add_users e2e e2e-

# ---------------------------------------------------------------- registrar

METRICS_PORT=$(free_port)
suite_conf metrics accounts JID=metrics.localhost SECRET="$secret"
# the stats line every second, and the endpoint on a free port
sed -i "s|^log {.*|log { level = \"info\" stats_interval_s = 1 }|" \
    "$WORK/metrics.conf"
printf 'metrics {\n    listen = "127.0.0.1:%s"\n}\n' "$METRICS_PORT" \
    >>"$WORK/metrics.conf"
if ! out=$("$REGISTRAR_BIN" --check-config --config "$WORK/metrics.conf" 2>&1); then
    say "registrar --check-config rejects $WORK/metrics.conf: $out"
    exit 1
fi
export METRICS_CONF=$WORK/metrics.conf METRICS_PORT

# ---------------------------------------------------------------- prometheus

PROM_DIR=$(harness_prepare_dir "$WORK/prometheus") || exit 1
PROM_PORT=$(free_port)
cat >"$PROM_DIR/prometheus.yml" <<EOF
# written by tests/metrics/run.sh
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: registrar
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF
chown -R "$HARNESS_USER:" "$PROM_DIR"
if ! promtool check config "$PROM_DIR/prometheus.yml" >&2; then
    say "promtool check config rejects $PROM_DIR/prometheus.yml"
    exit 1
fi
suite_spawn prometheus "$PROM_DIR/prometheus.yml" \
    setpriv --reuid="$HARNESS_USER" --regid="$HARNESS_USER" --init-groups \
    --reset-env -- prometheus --config.file="$PROM_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROM_DIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
PROM_PID=$SPAWNED
if ! wait_port "$PROM_PORT" 30 "$PROM_PID"; then
    say "Prometheus did not listen on 127.0.0.1:$PROM_PORT:"
    tail -n 20 "$WORK/prometheus.log" >&2
    exit 1
fi
say "Prometheus running (pid $PROM_PID) on 127.0.0.1:$PROM_PORT, scraping 127.0.0.1:$METRICS_PORT"
export PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT PG_DIR=$WORK/pg HARNESS

# ---------------------------------------------------------------- suite

say "running: ${TESTS[*]}"
suite_python "$METRICS_TIMEOUT" "${TESTS[@]}"
rc=$?
stop_pid "$PROM_PID" 10 TERM
[ "$rc" = 0 ] && suite_end 1
for f in "$WORK"/metrics*.log "$WORK/prometheus.log"; do
    [ -f "$f" ] || continue
    echo "----- last 30 lines of $f" >&2
    tail -n 30 "$f" >&2
done
suite_end 0
