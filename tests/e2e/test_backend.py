"""deploy/backend.py, the example backend of doc/backend.md, run as its own
process against the suite's database, logged in as a role of its own
(granted registrar_backend, owning a schema for its tables).

20 clients of the desk service (registrations start pending) each register,
wait for the backend to activate them and remove, three times. Once 10
registrations are acknowledged, PostgreSQL is stopped under registrar and
the backend, and started again 2 s later (pg.sh stop, then pg.sh restart:
the same data and port); ten of the clients start while it is stopped, so
that their first sets find no database (registrar answers them 'wait', and
they send them again). The backend
must survive the restart, handle every event of the service exactly once
(its journal, written in the transaction that moves its cursor, against
registration_events) and activate every registration. Then a resubmission
of the same form writes no event (sql/011) and a changed one writes one
'updated', which the backend handles too.

Needs python3-psycopg2 (tests/run.sh installs it).
"""

import asyncio
import collections
import os
import re
import subprocess
import sys
import threading
import time
import unittest
import uuid

import psycopg2

import e2e
from e2e import (E2ETestCase, bare, env, register_query, show, stanza_error,
                 submit_form)
from registrar import note_pid

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.normpath(os.path.join(HERE, "..", "..", "deploy",
                                        "backend.py"))
PG_SH = os.path.join(os.path.dirname(os.path.abspath(e2e.__file__)), "pg.sh")
ROLE = "e2e_backend"  # its login role, and the schema of its tables
CLIENTS = ["c%02d" % i for i in range(1, 21)]
LATE = CLIENTS[10:]  # start once PostgreSQL is stopped
ROUNDS = 3
RESTART_AFTER = 10  # registrations acknowledged before PostgreSQL stops
DOWN_S = 2.0  # how long it stays stopped


def query(statement, *params):
    """The rows (or the row count) of statement, as the suite's superuser
    (the PG* environment); tried again while the server restarts."""
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = psycopg2.connect("")
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params or None)
                return cur.fetchall() if cur.description else cur.rowcount
        finally:
            conn.close()


def create_role():
    """What an admin does once for a backend (doc/backend.md): a login
    granted registrar_backend, and a schema of its own."""
    query("DO $$ BEGIN"
          " IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN"
          "  CREATE ROLE %s LOGIN IN ROLE registrar_backend;"
          " END IF; END $$" % (ROLE, ROLE))
    query("CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s" % (ROLE, ROLE))


class BackendProcess:
    """deploy/backend.py for service, its cursor named name, started at the
    newest event; its log in the suite's work dir."""

    def __init__(self, service, name):
        self.name = name
        self.log_path = os.path.join(env("E2E_WORKDIR"),
                                     "backend-%s.log" % name)
        conninfo = ("host=%s port=%s dbname=%s user=%s"
                    % (env("PGHOST"), env("PGPORT"), env("PGDATABASE"), ROLE))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, BACKEND], stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, REGISTRAR_SERVICE=service,
                         BACKEND_CONNINFO=conninfo, BACKEND_NAME=name,
                         BACKEND_START="now", BACKEND_BATCH="7"))
        note_pid(self.proc.pid, "backend.py")

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, count, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if len(re.findall(pattern, self.log())) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("backend.py: %d x %r not in its log (exit "
                             "status %s):\n%s" % (count, pattern,
                                                  self.proc.poll(),
                                                  self.log()[-3000:]))

    def journal(self, after=0):
        """(event_id, event, jid, activated) of each event it handled,
        after the id after."""
        return query("SELECT event_id, event, jid, activated"
                     "  FROM %s.backend_journal"
                     " WHERE name = %%s AND event_id > %%s"
                     " ORDER BY event_id" % ROLE, self.name, after)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class States(threading.Thread):
    """The state of each registration of service, read every 100 ms (one
    connection at a time; none while the server is away)."""

    def __init__(self, service):
        super().__init__(daemon=True)
        self.service = service
        self.states = {}
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.1):
            try:
                rows = query("SELECT jid, state FROM registrations"
                             " WHERE service = %s", self.service)
            except psycopg2.Error:
                continue
            self.states = dict(rows)

    async def wait(self, jid, state, seconds):
        end = time.monotonic() + seconds
        while self.states.get(jid) != state:
            if time.monotonic() > end:
                raise AssertionError("%s: not %s within %d s (%s)"
                                     % (jid, state, seconds,
                                        self.states.get(jid)))
            await asyncio.sleep(0.05)


class BackendTest(E2ETestCase):
    SERVICE_ENV = "DESK_JID"

    def setUp(self):
        super().setUp()
        create_role()
        self.backend = None

    def tearDown(self):
        if self.backend:
            status = self.backend.stop()
            self.assertEqual(status, 0, "backend.py after SIGTERM:\n%s"
                             % self.backend.log()[-2000:])
        # the clients are the contests tests' too: no row of theirs left
        # in another service (test_contests counts them)
        query("DELETE FROM registrations WHERE service = %s"
              " AND jid = ANY(%s)", self.service, [bare(u) for u in CLIENTS])
        super().tearDown()

    def start_backend(self):
        self.backend = BackendProcess(self.service,
                                      "e2e-" + uuid.uuid4().hex[:8])
        self.backend.wait_log("listening", 1, 20)

    def signup(self, user, email=None):
        return submit_form({"username": "%s-bk" % user,
                            "email": email or "%s@example.org" % user,
                            "terms": "true"}, types={"terms": "boolean"})

    def events_after(self, start):
        return query("SELECT id, event, jid, detail FROM registration_events"
                     " WHERE service = %s AND id > %s ORDER BY id",
                     self.service, start)

    def wait_handled(self, start, seconds):
        """Until the backend's journal holds every event of the service
        after start (and nothing else) twice in a row; those events."""
        end = time.monotonic() + seconds
        seen = None
        while time.monotonic() < end:
            events = self.events_after(start)
            ids = [e[0] for e in events]
            if ids == [j[0] for j in self.backend.journal(start)]:
                if seen == ids:
                    return events
                seen = ids
            time.sleep(0.3)
        return self.events_after(start)

    def test_restart_under_registrations(self):
        jids = [bare(u) for u in CLIENTS]
        query("DELETE FROM registrations WHERE service = %s"
              " AND jid = ANY(%s)", self.service, jids)
        start = query("SELECT coalesce(max(id), 0)"
                      "  FROM registration_events")[0][0]
        self.start_backend()
        clients = self.clients(CLIENTS)
        states = States(self.service)
        states.start()
        acked = [0]   # registrations acknowledged
        retried = collections.Counter()
        figures = {}
        done = threading.Event()
        down = asyncio.Event()  # PostgreSQL has been stopped
        pg_dir = os.path.join(env("E2E_WORKDIR"), "pg")

        def restart():
            end = time.monotonic() + 120
            while acked[0] < RESTART_AFTER and not done.is_set():
                if time.monotonic() > end:
                    return
                time.sleep(0.01)
            if done.is_set():
                return
            figures["acked_before"] = acked[0]
            began = time.monotonic()
            # stopped (fast: every session told), down for DOWN_S, started
            # again on its data and port
            for step in ("stop", "restart"):
                out = subprocess.run([PG_SH, step, pg_dir],
                                     capture_output=True, text=True,
                                     timeout=90)
                figures["rc"] = figures.get("rc", 0) or out.returncode
                figures["stderr"] = out.stderr.strip()
                if step == "stop":
                    self.loop.call_soon_threadsafe(down.set)
                    time.sleep(DOWN_S)
            figures["took"] = time.monotonic() - began
            figures["acked_during"] = acked[0] - figures["acked_before"]

        async def request(c, payload, what, removal=False):
            """A set, sent again while the database is away (errors of
            type wait only)."""
            attempts = 0
            while True:
                attempts += 1
                reply = await c.iq("set", self.service, payload)
                if reply.get("type") == "result":
                    return
                err = stanza_error(reply)
                if (removal and attempts > 1 and err
                        and err[0] == "item-not-found"):
                    return  # the first attempt had removed it
                self.assertEqual(err and err[2], "wait",
                                 "%s: while the database restarts, only "
                                 "temporary errors:\n  %s"
                                 % (what, show(reply)))
                retried[what.split()[0]] += 1
                await asyncio.sleep(0.2)

        async def one_client(c):
            jid = bare(c.user)
            if c.user in LATE:
                await down.wait()  # their first sets find no database
            for n in range(ROUNDS):
                await request(c, self.signup(c.user), "registration %d of %s"
                              % (n, jid))
                acked[0] += 1
                await states.wait(jid, "active", 60)
                if n < ROUNDS - 1:
                    await request(c, register_query("<remove/>"),
                                  "removal %d of %s" % (n, jid), True)
                    await states.wait(jid, None, 60)

        restarter = threading.Thread(target=restart, daemon=True)
        restarter.start()
        began = time.monotonic()
        try:
            self.arun(asyncio.gather(*(one_client(c) for c in clients)),
                      timeout=240)
        finally:
            done.set()
            states.stopping.set()
            restarter.join(100)
        took = time.monotonic() - began
        self.assertEqual(figures.get("rc"), 0,
                         "pg.sh stop and restart (%r)" % figures)
        self.assertGreater(retried["registration"], 0,
                           "registrations sent while the database was away")

        # the backend lived through it, noticed and connected again
        events = self.wait_handled(start, 60)
        self.assertIsNone(self.backend.proc.poll(),
                          "backend.py exited:\n%s" % self.backend.log())
        log = self.backend.log()
        self.assertIn("database: ", log, "the restart, in its log")
        self.assertGreaterEqual(log.count("listening"), 2, log[-3000:])

        # every event of the service exactly once, in id order
        journal = self.backend.journal(start)
        ids = [e[0] for e in events]
        self.assertEqual([j[0] for j in journal], ids,
                         "journal against registration_events")
        self.assertEqual(len(set(ids)), len(ids))
        kinds = collections.Counter(e[1] for e in events)
        total = len(CLIENTS) * ROUNDS
        self.assertEqual(kinds, collections.Counter(
            registered=total, state_changed=total,
            removed=len(CLIENTS) * (ROUNDS - 1)), "events: %r" % kinds)
        # each registration activated by the backend, once
        for event_id, event, jid, detail in events:
            if event == "state_changed":
                self.assertEqual((detail["from"], detail["to"],
                                  detail.get("db_user")),
                                 ("pending", "active", ROLE), detail)
        activated = [j for j in journal if j[3]]
        self.assertEqual([j[0] for j in activated],
                         [e[0] for e in events if e[1] == "registered"])
        for jid in jids:
            rows = query("SELECT state FROM registrations"
                         " WHERE service = %s AND jid = %s",
                         self.service, jid)
            self.assertEqual(rows, [("active",)], jid)
        print("\nbackend: %d registrations from %d clients in %.1f s; "
              "PostgreSQL stopped after %d acknowledged and started again "
              "%.1f s later (%d acknowledged meanwhile); %d sets sent "
              "again; %d events, each handled once (%s); %d reconnection(s) "
              "of the backend"
              % (total, len(CLIENTS), took, figures["acked_before"],
                 figures["took"], figures["acked_during"],
                 sum(retried.values()), len(events), dict(kinds),
                 log.count("listening") - 1))

    def test_resubmission_writes_no_event(self):
        self.start_backend()
        same, changed = self.clients(["c18", "c19"])
        for c in (same, changed):
            self.assertResult(self.send(c, "set", self.signup(c.user)),
                              "registration of %s" % c.user)
        deadline = time.monotonic() + 30
        while query("SELECT count(*) FROM registrations WHERE service = %s"
                    " AND jid IN (%s, %s) AND state = 'active'", self.service,
                    bare("c18"), bare("c19"))[0][0] < 2:
            self.assertLess(time.monotonic(), deadline,
                            "activated by the backend:\n%s"
                            % self.backend.log()[-2000:])
            time.sleep(0.1)
        mark = query("SELECT coalesce(max(id), 0)"
                     "  FROM registration_events")[0][0]
        for c in (same, changed):
            self.assertResult(self.send(c, "set", self.signup(c.user)),
                              "the same form again from %s" % c.user)
        self.assertResult(self.send(changed, "set", self.signup(
            "c19", email="c19-new@example.org")), "a changed email")
        events = self.wait_handled(mark, 30)
        self.assertEqual([e[1:] for e in events],
                         [("updated", bare("c19"), {"changed": ["email"]})],
                         "after the resubmissions")
        self.assertEqual([j[0] for j in self.backend.journal(mark)],
                         [events[0][0]])


if __name__ == "__main__":
    unittest.main()
