"""registrar's metrics end to end: registrar (run here with NOTIFY_SOCKET)
serves GET /metrics, a real Prometheus scrapes it every second (started by
run.sh), clients register, and the counters are read back through
Prometheus' HTTP API (/api/v1/query): the registrations made, the gets,
a conflict, the registrations by state, the links and the database up;
then PostgreSQL is stopped and started again: registrar_db_up goes to 0
and back, a reconnect is counted, and STATUS= says "database unreachable
since ..." then "database up". A scrape passes promtool check metrics,
and the stats line is in the log every second."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

from e2e import E2ETestCase, env, legacy, register_query
from registrar import Registrar

USERS = ["a%02d" % i for i in range(1, 6)]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def prom_query(expr):
    """The instant vector of expr as [(labels, value)], from Prometheus."""
    url = "%s/api/v1/query?%s" % (env("PROMETHEUS_URL"),
                                  urllib.parse.urlencode({"query": expr}))
    _, _, body = http_get(url)
    data = json.loads(body)
    if data.get("status") != "success":
        raise AssertionError("query %s: %s" % (expr, body))
    return [(s["metric"], float(s["value"][1]))
            for s in data["data"]["result"]]


class PrometheusTest(E2ETestCase):
    SERVICE_ENV = "METRICS_JID"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="metrics-notify-")
        path = os.path.join(cls.dir, "notify.sock")
        cls.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        cls.sock.bind(path)
        cls.sock.settimeout(0.1)
        cls.notes = []
        cls.notes_lock = threading.Lock()
        cls.reading = True
        cls.reader = threading.Thread(target=cls._read_notes, daemon=True)
        cls.reader.start()
        with open(env("METRICS_CONF"), encoding="utf-8") as f:
            conf = f.read()
        cls.reg = Registrar("metrics", conf,
                            env=dict(os.environ, NOTIFY_SOCKET=path),
                            wrapper=env("REGISTRAR_WRAPPER", ""))
        if not cls.wait_note(lambda t: t == "READY=1", 60):
            raise AssertionError("no READY=1 within 60 s:\n%s"
                                 % cls.reg.tail())

    @classmethod
    def _read_notes(cls):
        while cls.reading:
            try:
                text = cls.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            with cls.notes_lock:
                cls.notes.append(text)

    @classmethod
    def wait_note(cls, pred, seconds, since=0):
        """The first datagram after the since-th matching pred, waiting
        up to seconds; None when none came."""
        end = time.time() + seconds
        while time.time() < end:
            with cls.notes_lock:
                for t in cls.notes[since:]:
                    if pred(t):
                        return t
            time.sleep(0.1)
        return None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.reg.alive():
                cls.reg.stop(30)
        finally:
            cls.reading = False
            cls.reader.join(5)
            # kept in the work dir: every datagram registrar sent
            with open(os.path.join(env("SUITE_WORK"), "notify.txt"),
                      "w") as f:
                f.write("\n".join(cls.notes) + "\n")
            cls.sock.close()
            shutil.rmtree(cls.dir, ignore_errors=True)
            super().tearDownClass()

    def wait_value(self, expr, want, seconds=30):
        """Polls Prometheus until expr is the one sample want; fails with
        what it last saw."""
        end = time.time() + seconds
        got = None
        while time.time() < end:
            got = prom_query(expr)
            if len(got) == 1 and got[0][1] == want:
                return got[0]
            time.sleep(0.5)
        self.fail("%s: expected %s within %d s, Prometheus says %r"
                  % (expr, want, seconds, got))

    def scrape(self):
        status, ctype, body = http_get("http://127.0.0.1:%s/metrics"
                                       % env("METRICS_PORT"))
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        return body

    # -- the tests, in order (unittest runs them by name)

    def test_1_scrape_passes_promtool(self):
        body = self.scrape()
        check = subprocess.run(["promtool", "check", "metrics"],
                               input=body.encode(), capture_output=True,
                               timeout=30)
        self.assertEqual(check.returncode, 0,
                         "promtool check metrics: %s\n%s"
                         % (check.stdout.decode() + check.stderr.decode(),
                            body))
        for name in ("registrar_requests_total", "registrar_db_up",
                     "registrar_db_transaction_duration_seconds_bucket",
                     "process_cpu_seconds_total", "process_open_fds",
                     "process_start_time_seconds"):
            self.assertIn("\n" + name, body)
        # Prometheus scrapes it
        self.wait_value('up{job="registrar"}', 1)

    def test_2_registrations_read_back(self):
        service = 'service="%s"' % self.service
        cs = self.clients(USERS)
        for c, user in zip(cs, USERS):
            reply = self.send(c, "get", register_query())
            self.assertResult(reply, "get of " + user)
            reply = self.send(c, "set", legacy(
                username=user, password="pw-" + user + "-M3tr1cs",
                email=user + "@example.org"))
            self.assertResult(reply, "registration of " + user)
        # another's username: a conflict
        reply = self.send(cs[0], "set", legacy(
            username=USERS[1], password="pw-x-M3tr1cs",
            email="x@example.org"))
        self.assertStanzaError(reply, "conflict", 409, "cancel")
        # read back through Prometheus
        n = len(USERS)
        self.wait_value('registrar_requests_total{%s,kind="register",'
                        'outcome="ok"}' % service, n)
        self.wait_value('registrar_requests_total{%s,kind="get",'
                        'outcome="ok"}' % service, n)
        self.wait_value('registrar_requests_total{%s,kind="update",'
                        'outcome="conflict"}' % service, 1)
        self.wait_value('registrar_registrations{%s,state="active"}'
                        % service, n)
        self.wait_value('registrar_requests_in_flight{%s}' % service, 0)
        self.wait_value('registrar_xmpp_up{%s}' % service, 1)
        self.wait_value("registrar_db_up", 1)
        got = prom_query("registrar_db_transaction_duration_seconds_count")
        self.assertTrue(got and got[0][1] >= n, got)
        # kept in the work dir: a scrape, and what Prometheus answered
        work = env("SUITE_WORK")
        with open(os.path.join(work, "scrape.txt"), "w") as f:
            f.write(self.scrape())
        expr = ('registrar_requests_total{%s,kind="register",outcome="ok"}'
                % service)
        _, _, answer = http_get("%s/api/v1/query?%s" % (
            env("PROMETHEUS_URL"), urllib.parse.urlencode({"query": expr})))
        with open(os.path.join(work, "query.json"), "w") as f:
            f.write(expr + "\n" + answer + "\n")
        got = prom_query('registrar_db_transactions_total{outcome="commit"}')
        self.assertTrue(got and got[0][1] >= n, got)

    def test_3_status_and_stats_line(self):
        status = self.wait_note(lambda t: t.startswith("STATUS=attached"), 5)
        self.assertIsNotNone(status)
        self.assertTrue(status.endswith("; database up"), status)
        line = self.reg.wait_for(r" stats: [0-9.]+ req/s, [0-9.]+ err/s, "
                                 r"[0-9.]+ refused/s, [0-9]+ in flight, "
                                 r"[0-9.]+ xact/s \(avg [0-9.]+ ms, "
                                 r"[0-9.]+ ops\), database up, xmpp 1/1 "
                                 r"attached", 5)
        self.assertIsNotNone(line, self.reg.tail())

    def test_4_database_down_and_back(self):
        with self.notes_lock:
            since = len(self.notes)
        pg = [os.path.join(env("HARNESS"), "pg.sh")]
        subprocess.run(pg + ["stop", env("PG_DIR")], check=True, timeout=60)
        try:
            # the registrations are read every 5 s: that read fails
            down = self.wait_note(
                lambda t: "; database unreachable since " in t, 30, since)
            self.assertIsNotNone(down, "STATUS= while the database is "
                                 "down:\n%s" % self.reg.tail())
            self.assertRegex(down, r"database unreachable since "
                             r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
            self.wait_value("registrar_db_up", 0)
            self.assertIsNotNone(self.reg.wait_for(
                r" stats: .*, database unreachable since ", 5))
        finally:
            subprocess.run(pg + ["restart", env("PG_DIR")], check=True,
                           timeout=60)
        with self.notes_lock:
            since = len(self.notes)
        up = self.wait_note(lambda t: t.endswith("; database up"), 30, since)
        self.assertIsNotNone(up, self.reg.tail())
        self.wait_value("registrar_db_up", 1)
        got = prom_query("registrar_db_reconnects_total")
        self.assertTrue(got and got[0][1] >= 1, got)
        # and it serves again
        c = self.client("a06")
        reply = self.send(c, "set", legacy(username="a06",
                                           password="pw-a06-M3tr1cs",
                                           email="a06@example.org"))
        self.assertResult(reply, "registration after the restart")
        self.wait_value('registrar_requests_total{service="%s",'
                        'kind="register",outcome="ok"}' % self.service,
                        len(USERS) + 1)

    def test_9_stops_cleanly(self):
        rc = self.reg.stop(30)
        self.assertEqual(rc, 0, "registrar's exit status after SIGTERM "
                         "(99: a sanitizer report):\n%s" % self.reg.tail())
        # the endpoint is gone with it
        with self.assertRaises(OSError):
            http_get("http://127.0.0.1:%s/metrics" % env("METRICS_PORT"), 2)


if __name__ == "__main__":
    unittest.main()
