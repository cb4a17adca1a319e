"""tests/ha/test_failover.py: registrar through a PostgreSQL failover.

A primary and a synchronous streaming standby (tests/harness/pg.sh start,
pg.sh standby), registrar on a multi-host conninfo naming both with
target_session_attrs=read-write, and ten slixmpp clients that each update
their registration in a loop, the form's fields carrying "USER.SEQ" with
an increasing SEQ. Under that load the primary is stopped hard (pg_ctl
stop -m immediate) and the standby promoted a second later, as a failover
manager would; the load runs on until every client has been answered
'result' again, and two seconds more.

Checked, per client: the registration stored on the new primary carries a
SEQ at least as high as the highest one answered 'result' (no
acknowledged registration lost) and one the client sent (never invented);
every request got a result, a "try again" error or a timeout; no result
came for a request sent once the primary was gone and answered before the
promotion began; registrar connected to the new primary (its port), is
alive, serves every client again, and stops cleanly. Printed: the counts,
and the time to resume after the stop and after the promotion, next to
registrar's own account of its reconnect attempts (debug log: the back-off
delays).

tests/ha/run_failover.sh sets the environment (besides e2e.py's and
registrar.py's): HA_SECRET, HA_FAILOVER_REPS, HA_FAILOVER_SYNC,
HA_FAILOVER_PROMOTE_DELAY, FAULTS_FIGURES.

Command line:
  test_failover.py users     "user password" for every account it uses
"""

import asyncio
import collections
import os
import re
import statistics
import sys
import time

from faults import (PGBIN, FaultCase, LoadLoop, as_harness_user, harness,
                    kind, log_time, login, marked_form, read_env, record,
                    row_marker)
from e2e import bare, env, password
from registrar import conf_text

USERS = ["f%02d" % i for i in range(1, 11)]
POOL = ["probe"] + USERS
STANDBY_NAME = "standby1"
WARM_S = 3.0           # load before the primary is stopped
# from the stop to the promotion, as a failover manager takes it
PROMOTE_DELAY_S = float(os.environ.get("HA_FAILOVER_PROMOTE_DELAY", "1"))
AFTER_S = 2.0          # load once every client is served again
RESUME_MAX_S = 20.0    # after the promotion, at most, to be served again
REPLY_TIMEOUT_S = 12   # registrar answers within its client deadline (7 s)
PAUSE_AFTER_ERROR_S = 0.1
# what registrar may answer while the database is unavailable
TRY_AGAIN = {"error/wait/internal-server-error",
             "error/wait/resource-constraint",
             "error/cancel/service-unavailable"}


def sync_wanted():
    return os.environ.get("HA_FAILOVER_SYNC", "1") != "0"


def sql(port, query, args=None, db="registrar"):
    """Rows of query (None for a command) as the superuser, autocommit."""
    import psycopg2
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                            dbname=db, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def replication_state(port):
    """(state, sync_state) of the standby on the primary at port, or None."""
    rows = sql(port, "SELECT state, sync_state FROM pg_stat_replication "
                     "WHERE application_name = %s", (STANDBY_NAME,),
               db="postgres")
    return tuple(rows[0]) if rows else None


def pg_stop_immediate(dirname):
    """pg_ctl stop -m immediate: a crash, as far as clients can tell."""
    out = as_harness_user([os.path.join(PGBIN, "pg_ctl"), "-D",
                           os.path.join(dirname, "data"), "stop", "-m",
                           "immediate", "-w", "-t", "20"], 30)
    if out.returncode != 0:
        raise AssertionError("pg_ctl stop -m immediate failed: %s"
                             % out.stderr.strip())


def seq_of(user, fields):
    """The SEQ of the row's "USER.SEQ" marker; None when the row is mixed
    or someone else's."""
    m = row_marker(fields)
    if m is None or not m.startswith(user + "."):
        return None
    try:
        return int(m[len(user) + 1:])
    except ValueError:
        return None


class FailoverTest(FaultCase):

    def test_failover_under_load(self):
        reps = int(env("HA_FAILOVER_REPS", "3"))
        self.assertGreaterEqual(reps, 1)
        logged_in = self.arun(asyncio.gather(
            *(login(u, attempts=3) for u in USERS)), timeout=60)
        self.addCleanup(lambda: self.arun(asyncio.gather(
            *(c.stop() for c in logged_in), return_exceptions=True),
            timeout=20))
        clients = dict(zip(USERS, logged_in))
        outcomes = []
        for n in range(1, reps + 1):
            outcomes.append(self.repetition(n, clients))
        after_stop = [o["resumed_after_stop_s"] for o in outcomes]
        after_promote = [o["resumed_after_promotion_s"] for o in outcomes]
        print("\nfailover, %d repetition(s), %s replication, promoted "
              "%.1f s after the stop: resumed %s s after the primary "
              "stopped (median %.1f), %s s after the promotion (median "
              "%.1f); acknowledged registrations lost: %d"
              % (reps, "synchronous" if sync_wanted() else "asynchronous",
                 PROMOTE_DELAY_S,
                 ", ".join("%.1f" % x for x in after_stop),
                 statistics.median(after_stop),
                 ", ".join("%.1f" % x for x in after_promote),
                 statistics.median(after_promote),
                 sum(o["lost"] for o in outcomes)), file=sys.stderr)

    # ------------------------------------------------------------ one pair

    def pair(self, n):
        """A fresh primary and its streaming standby; their directories
        and ports. Both are stopped after the test."""
        base = os.path.join(env("SUITE_WORK"), "rep%d" % n)
        primary = os.path.join(base, "primary")
        standby = os.path.join(base, "standby")
        self.addCleanup(harness, "pg.sh", "stop", primary)
        self.addCleanup(harness, "pg.sh", "stop", standby)
        harness("pg.sh", "start", primary, timeout=150)
        harness("pg.sh", "migrate", primary, env("REGISTRAR_BIN"),
                timeout=150)
        p1 = int(read_env(os.path.join(primary, "env"))["PGPORT"])
        # pg.sh runs clusters with synchronous_commit = off; an operator
        # who wants no acknowledged commit lost runs with it on (copied to
        # the standby by the base backup: on once promoted, too)
        sql(p1, "ALTER SYSTEM SET synchronous_commit = on")
        sql(p1, "SELECT pg_reload_conf()")
        harness("pg.sh", "standby", standby, primary, STANDBY_NAME,
                timeout=150)
        p2 = int(read_env(os.path.join(standby, "env"))["PGPORT"])
        if sync_wanted():
            # each commit waits until standby1 has flushed its WAL
            sql(p1, "ALTER SYSTEM SET synchronous_standby_names = '%s'"
                % STANDBY_NAME)
            sql(p1, "SELECT pg_reload_conf()")
        want = ("streaming", "sync" if sync_wanted() else "async")
        state = None
        for _ in range(100):
            state = replication_state(p1)
            if state == want:
                break
            time.sleep(0.1)
        self.assertEqual(state, want, "standby %s on the primary"
                         % STANDBY_NAME)
        return primary, standby, p1, p2

    def repetition(self, n, clients):
        jid = "failover%d.localhost" % n
        primary, standby, p1, p2 = self.pair(n)
        conninfo = ("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=registrar "
                    "user=registrar target_session_attrs=read-write "
                    "connect_timeout=2" % (p1, p2))
        r = self.registrar("failover%d" % n, conf_text(
            "contests", JID=jid, XMPP_PORT=env("XMPP_COMPONENT_PORT"),
            SECRET=env("HA_SECRET"), CONNINFO=conninfo,
            REGISTRATION="    hash_cost = 4\n", LOG_LEVEL="debug"))
        self.wait_attached(r)
        marks = {}
        log = self.arun(self.load(r, clients, jid, primary, standby, p1,
                                  marks), timeout=120)
        return self.check(n, r, jid, log, marks, p2)

    # ---------------------------------------------------------------- load

    async def load(self, r, clients, jid, primary, standby, p1, marks):
        """Per user, (seq, kind, sent, answered) of every request."""
        log = {u: [] for u in USERS}
        load = LoadLoop(USERS, stop_timeout=REPLY_TIMEOUT_S + 5,
                        clients=clients)

        async def worker(user):
            c, k = clients[user], 0
            while not load.end.is_set():
                k += 1
                t0 = time.time()
                reply = await c.ask("set", jid,
                                    marked_form("%s.%d" % (user, k)),
                                    timeout=REPLY_TIMEOUT_S)
                log[user].append((k, kind(reply), t0, time.time()))
                if reply == "lost":
                    return
                if kind(reply) != "result":
                    await asyncio.sleep(PAUSE_AFTER_ERROR_S)

        def served_again(user):
            return any(k == "result" and t1 > marks["promote"]
                       for _, k, _, t1 in log[user])

        async with load.run(worker):
            await asyncio.sleep(WARM_S)
            marks["state_at_stop"] = await asyncio.to_thread(
                replication_state, p1)
            marks["log_mark"] = r.mark()
            marks["stop"] = time.time()
            await asyncio.to_thread(pg_stop_immediate, primary)
            marks["stopped"] = time.time()
            await asyncio.sleep(max(0, marks["stop"] + PROMOTE_DELAY_S
                                    - time.time()))
            marks["promote"] = time.time()
            await asyncio.to_thread(harness, "pg.sh", "promote", standby)
            marks["promoted"] = time.time()
            while (time.time() < marks["promoted"] + RESUME_MAX_S
                   and not all(served_again(u) for u in USERS)):
                await asyncio.sleep(0.1)
            await asyncio.sleep(AFTER_S)
        self.assertEqual(load.pending, set(),
                         "clients stuck waiting for replies")
        return log

    # -------------------------------------------------------------- checks

    def check(self, n, r, jid, log, marks, p2):
        in_recovery = sql(p2, "SELECT pg_is_in_recovery()")[0][0]
        rows = {row[0]: row[1] for row in sql(
            p2, "SELECT jid, fields FROM registrations WHERE service = %s",
            (jid,))}
        kinds = collections.Counter(k for e in log.values()
                                    for _, k, _, _ in e)
        lost, invented, unacked_on_file = [], [], 0
        for user, entries in log.items():
            sent = {s for s, _, _, _ in entries}
            acked = [s for s, k, _, _ in entries if k == "result"]
            fields = rows.get(bare(user))
            stored = seq_of(user, fields) if fields is not None else None
            if acked and (stored is None or stored < max(acked)):
                lost.append((user, max(acked), stored))
            if fields is not None and stored not in sent:
                invented.append((user, fields))
            if stored is not None and (not acked or stored > max(acked)):
                unacked_on_file += 1
        bad = {k: c for k, c in kinds.items()
               if k != "result" and k != "timeout" and k not in TRY_AGAIN}
        # no primary from the stop to the promotion: a request sent then
        # cannot have been committed and answered before the promotion
        without_primary = [(u, s) for u, e in log.items()
                           for s, k, t0, t1 in e
                           if k == "result" and t0 > marks["stopped"]
                           and t1 < marks["promote"]]
        # sent before the primary was gone, answered after the stop began
        at_stop = collections.Counter(
            k for e in log.values() for _, k, t0, t1 in e
            if t0 < marks["stopped"] and t1 > marks["stop"])
        before = sum(1 for e in log.values() for _, k, _, t1 in e
                     if k == "result" and t1 < marks["stop"])
        after = [t1 for e in log.values() for _, k, _, t1 in e
                 if k == "result" and t1 > marks["promote"]]
        not_served = [u for u, e in log.items()
                      if not any(k == "result" and t1 > marks["promote"]
                                 for _, k, _, t1 in e)]
        resumed = min(after) if after else None

        # registrar's account: its attempts while the database was away
        since = marks["log_mark"]
        attempts = r.matching(r"database (still )?unreachable", since)
        delays = []
        for _, l in attempts:
            m = re.search(r"next attempt in (\d+) ms|back-off \((\d+) ms", l)
            if m:
                delays.append(int(m.group(1) or m.group(2)))
        connected = r.matching(r"connected to database \S+ on 127\.0\.0\.1:%d "
                               % p2, since)
        t_conn = log_time(connected[0][1]) if connected else None
        story = (r.matching(r"connection to the database lost", since)[:1]
                 + r.matching(r"database unreachable", since)[:1]
                 + r.matching(r"database reachable again", since)[:1])
        alive = r.alive()
        rc = r.stop()

        fig = dict(
            rep=n, replication=marks["state_at_stop"][1]
            if marks["state_at_stop"] else None,
            acknowledged=kinds["result"], acknowledged_before_stop=before,
            stored=len(rows), lost=len(lost), invented=len(invented),
            stored_beyond_last_ack=unacked_on_file,
            errors=sum(c for k, c in kinds.items()
                       if k.startswith("error/")),
            error_kinds="; ".join("%s %d" % (k, c) for k, c in kinds.items()
                                  if k.startswith("error/")) or "none",
            timeouts=kinds["timeout"], other=sum(bad.values()),
            in_flight_at_stop="; ".join("%s %d" % kc
                                        for kc in sorted(at_stop.items()))
            or "none",
            results_without_primary=len(without_primary),
            stop_took_s=round(marks["stopped"] - marks["stop"], 2),
            promote_took_s=round(marks["promoted"] - marks["promote"], 2),
            resumed_after_stop_s=round(resumed - marks["stop"], 2)
            if resumed else None,
            resumed_after_promotion_s=round(resumed - marks["promote"], 2)
            if resumed else None,
            registrar_failed_attempts=len(attempts),
            registrar_delays_ms=delays,
            registrar_connected_after_stop_s=round(t_conn - marks["stop"], 2)
            if t_conn else None,
            registrar_connected_after_promoted_s=round(
                t_conn - marks["promoted"], 2) if t_conn else None,
            registrar_log="; ".join(
                l.split(" ", 1)[1] if " " in l else l
                for _, l in story) or "none",
            exit_on_sigterm=rc)
        # asynchronous replication may lose the last acknowledged commits:
        # counted, not failed
        ok = ((not lost or not sync_wanted()) and not invented and not bad
              and not without_primary and not not_served and alive
              and rc == 0 and connected and not in_recovery and before > 0
              and resumed is not None
              and resumed - marks["promote"] < RESUME_MAX_S)
        record("failover %d (%s)" % (n, fig["replication"]),
               "PASS" if ok else "FAIL", **fig)
        print("rep %d: acknowledged %d, stored %d, lost %d, errors %d, "
              "timeouts %d; resumed %s s after the primary stopped (%s s "
              "after the promotion)"
              % (n, fig["acknowledged"], fig["stored"], fig["lost"],
                 fig["errors"], fig["timeouts"],
                 "%.1f" % fig["resumed_after_stop_s"] if resumed else "-",
                 "%.1f" % fig["resumed_after_promotion_s"]
                 if resumed else "-"), file=sys.stderr)

        self.assertFalse(in_recovery, "the standby is still a standby")
        self.assertEqual(bad, {}, "answers other than result, a try-again "
                         "error or a timeout")
        self.assertGreater(before, 0, "no registration before the stop")
        self.assertEqual(invented, [], "stored values no client sent")
        if sync_wanted():
            self.assertEqual(marks["state_at_stop"],
                             ("streaming", "sync"))
            self.assertEqual(lost, [], "acknowledged registrations not on "
                             "the new primary (user, acked, stored)")
        self.assertEqual(without_primary, [], "results with no primary")
        self.assertTrue(connected, "registrar never connected to the new "
                        "primary (port %d):\n%s" % (p2, r.tail()))
        self.assertEqual(not_served, [], "clients never served after the "
                         "promotion")
        self.assertLess(resumed - marks["promote"], RESUME_MAX_S)
        self.assertTrue(alive, "registrar has exited:\n%s" % r.tail())
        self.assertEqual(rc, 0, "registrar's exit status after SIGTERM")
        return fig


def main(argv):
    if len(argv) >= 2 and argv[1] == "users":
        for user in POOL:
            print(user, password())
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
