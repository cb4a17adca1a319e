"""The event log (sql/005) as the service's backend sees it: a process
that LISTENs on registrar's channel on a real PostgreSQL connection and,
on each notification, reads registration_events WHERE id > $last (the
doc/backend.md's example) collects every event of a burst of
200 registrations from 20 clients exactly once, each with the stanza id
that caused it; a state changed by SQL is an event without a stanza id and
shows in the next get.

The "events" instance runs the contests form (tests/fixtures/contests.conf,
no rate limits). Needs python3-psycopg2 (tests/run.sh installs it).
"""

import asyncio
import collections
import json
import select
import threading
import time
import unittest

import psycopg2

from e2e import (E2ETestCase, bare, q, query_of, register_query, show,
                 submit_form)

CLIENTS = ["c%02d" % i for i in range(1, 21)]
SETS_PER_CLIENT = 10


class Backend(threading.Thread):
    """The worked example of doc/backend.md, in a thread: LISTEN registrar;
    on each notification (and once at start) read the events after the
    last one seen. Keeps every event read and the notifications."""

    def __init__(self):
        super().__init__(daemon=True)
        self.conn = psycopg2.connect("")     # the PG* environment
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("LISTEN registrar")
            # start from now: what came before is not ours
            cur.execute("SELECT coalesce(max(id), 0)"
                        " FROM registration_events")
            self.last = cur.fetchone()[0]
        self.events = []          # (id, service, jid, event, iq_id, detail)
        self.payloads = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.error = None

    def read_new(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT id, service, jid, event, iq_id, detail"
                        "  FROM registration_events"
                        " WHERE id > %s ORDER BY id", (self.last,))
            rows = cur.fetchall()
        with self.lock:
            for row in rows:
                if row[0] <= self.last:
                    raise AssertionError("id %d after %d" % (row[0],
                                                             self.last))
                self.last = row[0]
                self.events.append(row)

    def run(self):
        try:
            self.read_new()
            while not self.stopping.is_set():
                # a notification that arrived during read_new's query is
                # already in conn.notifies, and the socket is not readable
                # for it any more: look there before waiting
                if (not self.conn.notifies and
                        select.select([self.conn], [], [], 0.2)
                        == ([], [], [])):
                    continue
                self.conn.poll()
                got = False
                while self.conn.notifies:
                    n = self.conn.notifies.pop(0)
                    with self.lock:
                        self.payloads.append(json.loads(n.payload))
                    got = True
                if got:
                    self.read_new()
        except Exception as e:  # reported by the test
            self.error = e

    def of(self, service):
        with self.lock:
            return [e for e in self.events if e[1] == service]

    def wait_for(self, service, count, seconds):
        end = time.time() + seconds
        while time.time() < end and len(self.of(service)) < count:
            if self.error:
                raise self.error
            time.sleep(0.1)
        return self.of(service)

    def wait_notified(self, event_id, seconds):
        """Waits for the notification of the commit that wrote event_id:
        the reads on earlier notifications may already have fetched it
        (they read every committed id > $last), before its own NOTIFY is
        delivered."""
        end = time.time() + seconds
        while time.time() < end:
            with self.lock:
                if any(p.get("id", 0) >= event_id for p in self.payloads):
                    return
            if self.error:
                raise self.error
            time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.conn.close()


def sql(statement, *params):
    conn = psycopg2.connect("")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.rowcount
    finally:
        conn.close()


class EventsTest(E2ETestCase):
    SERVICE_ENV = "EVENTS_JID"

    def setUp(self):
        super().setUp()
        self.backend = None

    def tearDown(self):
        if self.backend:
            self.backend.stop()
        super().tearDown()

    def assertResult(self, reply, what):
        self.assertEqual(reply.get("type"), "result",
                         "%s must succeed:\n  %s" % (what, show(reply)))

    def test_backend_collects_a_burst_exactly_once(self):
        sql("DELETE FROM registrations WHERE service = %s", self.service)
        self.backend = Backend()
        self.backend.start()
        clients = self.clients(CLIENTS)

        async def one_client(c):
            ids = []
            for i in range(SETS_PER_CLIENT):
                reply = await c.iq("set", self.service, submit_form({
                    "first": "%s-%d" % (c.user, i), "last": "Burst",
                    "email": "%s@example.org" % c.user, "x-gender": "F"}))
                self.assertResult(reply, "set %d of %s" % (i, c.user))
                ids.append(reply.get("id"))
            return c.user, ids

        started = time.time()
        sent = self.arun(asyncio.gather(*(one_client(c) for c in clients)))
        took = time.time() - started
        total = len(CLIENTS) * SETS_PER_CLIENT
        events = self.backend.wait_for(self.service, total, 30)

        # every event once, in id order, none missing
        ids = [e[0] for e in events]
        self.assertEqual(len(ids), total, "events collected: %d of %d"
                         % (len(ids), total))
        self.assertEqual(ids, sorted(set(ids)), "each id once, in order")
        in_table = sql_count("SELECT count(*) FROM registration_events"
                             " WHERE service = %s AND id > %s",
                             self.service, ids[0] - 1)
        self.assertEqual(in_table, total)
        # each set's stanza id on exactly one event, of its JID
        by_iq = {e[4]: e for e in events}
        self.assertEqual(len(by_iq), total, "one event per stanza id")
        per_jid = collections.defaultdict(list)
        for user, iq_ids in sent:
            for n, iq_id in enumerate(iq_ids):
                self.assertIn(iq_id, by_iq, "event of %s set %d" % (user, n))
                event = by_iq[iq_id]
                self.assertEqual(event[2], bare(user))
                per_jid[user].append(event[3])
        for user in CLIENTS:
            self.assertEqual(per_jid[user], ["registered"]
                             + ["updated"] * (SETS_PER_CLIENT - 1), user)
        # never a value of the form in a detail (names only)
        for e in events:
            self.assertNotIn("Burst", json.dumps(e[5]))
        # fewer notifications than commits is allowed (none is lost: each
        # carries the highest id of its commit); never more than commits
        self.backend.wait_notified(ids[-1], 10)
        with self.backend.lock:
            ours = [p for p in self.backend.payloads
                    if p.get("service") in (None, self.service)]
        self.assertLessEqual(len(ours), total)
        self.assertEqual(max(p["id"] for p in ours), ids[-1])
        print("\nevents: %d sets from %d clients in %.2f s, %d events read "
              "once each on %d notifications"
              % (total, len(CLIENTS), took, len(events), len(ours)))

    def test_state_changed_by_sql_shows_in_next_get(self):
        c = self.client("c20")
        reply = self.send(c, "set", submit_form({
            "first": "Sue", "last": "Sql", "email": "sue@example.org"}))
        self.assertResult(reply, "registration")
        self.backend = Backend()
        self.backend.start()
        changed = sql("UPDATE registrations SET state = 'disabled'"
                      " WHERE service = %s AND jid = %s",
                      self.service, bare("c20"))
        self.assertEqual(changed, 1)
        events = self.backend.wait_for(self.service, 1, 10)
        self.assertEqual(len(events), 1, events)
        _, _, jid, event, iq_id, detail = events[0]
        self.assertEqual((jid, event, iq_id), (bare("c20"), "state_changed",
                                               None))
        self.assertEqual((detail["from"], detail["to"]),
                         ("active", "disabled"))
        # the next get reads it: still registered (how the state shows in
        # the reply is registrar's part, tested with the desk service)
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "get after the state change")
        self.assertIsNotNone(query_of(reply).find(q("registered")),
                             show(reply))
        state = sql_count("SELECT count(*) FROM registrations"
                          " WHERE service = %s AND jid = %s"
                          "   AND state = 'disabled'",
                          self.service, bare("c20"))
        self.assertEqual(state, 1)
        sql("UPDATE registrations SET state = 'active'"
            " WHERE service = %s AND jid = %s", self.service, bare("c20"))


def sql_count(statement, *params):
    conn = psycopg2.connect("")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()[0]
    finally:
        conn.close()


if __name__ == "__main__":
    unittest.main()
