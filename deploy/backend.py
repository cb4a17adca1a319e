#!/usr/bin/env python3
"""deploy/backend.py - an example backend of registrar's database contract
(doc/backend.md): it activates the pending registrations of one service as
they come, and survives PostgreSQL restarts.

    REGISTRAR_SERVICE=contests.example \\
    BACKEND_CONNINFO="dbname=registrar user=contest_backend" \\
        python3 backend.py

It LISTENs on the channel "registrar" and, at start, on every notification
and once a minute, reads registration_events WHERE id > its cursor, the last
event id it handled (doc/backend.md says why that never misses nor repeats
an event). A batch of events is one transaction: its work (the UPDATE that
activates a pending registration, a row of its journal per event of its
service) and the cursor moved past the batch commit together, so a crash
or a lost connection leaves the batch done once or not at all. A lost or
refused connection is tried again with a growing, jittered delay; what was
notified meanwhile is read from the cursor at the next connection.

Environment:
  REGISTRAR_SERVICE  the component JID whose registrations it activates
  BACKEND_CONNINFO   a libpq connection string (default: empty, i.e. the
                     PG* variables: PGHOST, PGDATABASE, PGUSER, ...)
  BACKEND_SCHEMA     where its own tables go (default: the login role's
                     name); the schema must exist and the role may create
                     in it; registrar's tables are found on the search_path
  BACKEND_NAME       the name of its cursor (default: REGISTRAR_SERVICE);
                     two processes of one name take turns, batch by batch
  BACKEND_START      where a new cursor starts: "0" (every event on file,
                     the default) or "now" (the newest)
  BACKEND_BATCH      events per transaction (default 100)

Its role (once, as an admin; doc/backend.md, "The example backend"):
  CREATE ROLE contest_backend LOGIN PASSWORD '...' IN ROLE registrar_backend;
  CREATE SCHEMA contest_backend AUTHORIZATION contest_backend;

Its tables, created when missing, in BACKEND_SCHEMA:
  backend_cursor (name, last_id)         the last event id handled
  backend_journal (name, event_id, ...)  one row per event of its service
                                         handled: the work of this example,
                                         where a real backend does its own

It logs to standard error, one line per batch and per connection change.
Exit status: 0 on SIGTERM or SIGINT, 1 on an error that waiting does not
cure (a missing privilege or schema), 2 on a bad environment.
"""

import os
import random
import select
import signal
import sys
import time

import psycopg2
from psycopg2 import sql

# a read even without a notification, which also finds a dead connection
IDLE_SECONDS = 60
# the delay before connecting again: doubled after each failure, up to max
DELAY_MIN_S = 0.5
DELAY_MAX_S = 30.0
# an advisory lock for the set-up of the tables, between processes (any
# bigint but registrar's own, 7454127761211159138)
SETUP_LOCK = 7454127761211159139


class CursorGone(Exception):
    pass


def log(message):
    print("backend: " + message, file=sys.stderr, flush=True)


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Backend:
    def __init__(self, env):
        self.service = env["REGISTRAR_SERVICE"]
        self.conninfo = env.get("BACKEND_CONNINFO", "")
        self.schema = env.get("BACKEND_SCHEMA", "")
        self.name = env.get("BACKEND_NAME") or self.service
        self.start = env.get("BACKEND_START", "0")
        self.batch = int(env.get("BACKEND_BATCH", "100"))
        if self.start not in ("0", "now") or self.batch < 1:
            raise ValueError("BACKEND_START is 0 or now, BACKEND_BATCH >= 1")
        self.delay = DELAY_MIN_S

    def set_up(self, cur):
        """Its tables and its cursor, then LISTEN, before the first read."""
        if not self.schema:
            cur.execute("SELECT current_user")
            self.schema = cur.fetchone()[0]
        names = {"cursor": sql.Identifier(self.schema, "backend_cursor"),
                 "journal": sql.Identifier(self.schema, "backend_journal")}
        self.q_cursor = sql.SQL(
            "SELECT last_id FROM {cursor} WHERE name = %s FOR UPDATE"
        ).format(**names)
        self.q_move = sql.SQL(
            "UPDATE {cursor} SET last_id = %s WHERE name = %s").format(**names)
        self.q_journal = sql.SQL(
            "INSERT INTO {journal} (name, event_id, event, jid, activated)"
            " VALUES (%s, %s, %s, %s, %s)").format(**names)
        cur.execute("BEGIN")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {cursor} ("
            " name text PRIMARY KEY, last_id bigint NOT NULL)"
        ).format(**names))
        cur.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {journal} ("
            " name text NOT NULL, event_id bigint NOT NULL,"
            " event text NOT NULL, jid text NOT NULL,"
            " activated boolean NOT NULL,"
            " handled_at timestamptz NOT NULL DEFAULT now(),"
            " PRIMARY KEY (name, event_id))").format(**names))
        cur.execute(sql.SQL(
            "INSERT INTO {cursor} (name, last_id)"
            " SELECT %s, CASE WHEN %s THEN coalesce(max(id), 0) ELSE 0 END"
            "   FROM registration_events"
            " ON CONFLICT (name) DO NOTHING").format(**names),
            (self.name, self.start == "now"))
        cur.execute("COMMIT")
        cur.execute("LISTEN registrar")

    def handle_batch(self, cur):
        """One transaction: the events after the cursor (at most batch),
        the work of each, the cursor past them. Returns how many were
        read."""
        cur.execute("BEGIN")
        # taken first: the events are read after any other process of this
        # name has committed its batch
        cur.execute(self.q_cursor, (self.name,))
        row = cur.fetchone()
        if row is None:  # deleted under it: where to go on is not known
            raise CursorGone("its cursor %r is gone from %s.backend_cursor"
                             % (self.name, self.schema))
        last = row[0]
        cur.execute("SELECT id, service, jid, event FROM registration_events"
                    " WHERE id > %s ORDER BY id LIMIT %s", (last, self.batch))
        rows = cur.fetchall()
        ours = activated = 0
        for event_id, service, jid, event in rows:
            if service != self.service:
                continue
            ours += 1
            done = False
            if event == "registered":
                # itself an event (state_changed, with this role as
                # db_user): read in a later batch
                cur.execute("UPDATE registrations SET state = 'active'"
                            " WHERE service = %s AND jid = %s"
                            "   AND state = 'pending'", (service, jid))
                done = cur.rowcount == 1
                activated += done
            cur.execute(self.q_journal,
                        (self.name, event_id, event, jid, done))
        if rows:
            cur.execute(self.q_move, (rows[-1][0], self.name))
        cur.execute("COMMIT")
        if rows:
            log("events %d..%d handled: %d of %s, %d activated"
                % (rows[0][0], rows[-1][0], ours, self.service, activated))
        return len(rows)

    def catch_up(self, cur):
        while self.handle_batch(cur):
            pass

    def serve(self):
        """Connects, catches up, then waits for notifications; returns only
        by an exception."""
        conn = psycopg2.connect(self.conninfo,
                                application_name="registrar-backend")
        try:
            # transactions are BEGIN ... COMMIT, explicit; LISTEN is at once
            conn.autocommit = True
            cur = conn.cursor()
            self.set_up(cur)
            self.catch_up(cur)
            log("connected, caught up, listening (%s, cursor %s in %s)"
                % (self.service, self.name, self.schema))
            self.delay = DELAY_MIN_S
            while True:
                # a notification that came during the last read is already
                # in conn.notifies, and the socket is no longer readable
                if not conn.notifies:
                    select.select([conn], [], [], IDLE_SECONDS)
                conn.poll()
                conn.notifies.clear()  # the payload is a hint only
                self.catch_up(cur)
        finally:
            conn.close()

    def run(self):
        while True:
            try:
                self.serve()
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
                # the server restarting or unreachable, a deadlock, a
                # cancelled statement: what was not committed is read again
                wait = self.delay / 2 + random.uniform(0, self.delay / 2)
                log("database: %s; connecting again in %.1f s"
                    % (first_line(e), wait))
                time.sleep(wait)
                self.delay = min(self.delay * 2, DELAY_MAX_S)


def stop(signum, _frame):
    log("stopping (%s)" % signal.Signals(signum).name)
    sys.exit(0)


def main():
    if not os.environ.get("REGISTRAR_SERVICE"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        backend = Backend(os.environ)
    except ValueError as e:
        log(str(e))
        return 2
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        backend.run()
    except (psycopg2.Error, CursorGone) as e:
        log("giving up: %s" % first_line(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
