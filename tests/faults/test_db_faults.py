"""Faults on the PostgreSQL side: an immediate stop under load (5), down
at start-up (6), a backend killed between requests (7a), a statement
stuck behind a lock (7b), 10,000 gets behind a lock (9a), an address that
accepts and never speaks (9b)."""

import asyncio
import collections
import signal
import os
import threading
import time

import faults
from faults import (LOAD_USERS, FaultCase, LoadLoop, config, env, kind,
                    login, marked_form, record, row_marker, rows_of, show,
                    stanza_error)
from e2e import NS_DISCO_INFO, NS_PING, bare, register_query
from net import BlackHole

DISCO = "<query xmlns='%s'/>" % NS_DISCO_INFO
PING = "<ping xmlns='%s'/>" % NS_PING


class DbFaultsTest(FaultCase):

    def tearDown(self):
        super().tearDown()
        # whatever happened, leave PostgreSQL running for the next test
        if not faults.pg_up():
            faults.pg_start()

    def assertWait500(self, reply, what):
        self.assertEqual(kind(reply), "error/wait/internal-server-error",
                         "%s: %s" % (what, show(reply)
                                     if not isinstance(reply, str) else reply))
        cond, code, etype, text = stanza_error(reply)
        self.assertEqual(code, "500", show(reply))
        self.assertTrue(text, "no <text/>: %s" % show(reply))

    # ---------------------------------------- 5. immediate stop under load

    def test_5_pg_immediate_stop_under_load(self):
        jid = "pgkill.localhost"
        users = LOAD_USERS[:30]
        r = self.registrar("pgkill", config(jid))
        self.wait_attached(r)
        stats = self.arun(self._pg_load(jid, users), timeout=200)
        counts = collections.Counter(k for u in stats["log"].values()
                                     for _, k, _ in u)
        rows = rows_of(jid)
        per_jid = collections.Counter(row["jid"] for row in rows)
        by_jid = {row["jid"]: row for row in rows}
        acked_total = sum(1 for u in stats["log"].values()
                          for _, k, _ in u if k == "result")
        missing, mixed, stale, found = [], [], [], 0
        row_from_error = 0
        for user, entries in stats["log"].items():
            sent = [m for m, _, _ in entries]
            acked = [m for m, k, _ in entries if k == "result"]
            row = by_jid.get(bare(user))
            if row is None:
                if acked:
                    missing.append(user)
                continue
            m = row_marker(row["fields"])
            if m is None:
                mixed.append((user, row["fields"]))
                continue
            if acked and (m not in sent or sent.index(m) < sent.index(acked[-1])):
                stale.append((user, m, acked[-1]))
                continue
            if acked:
                found += 1   # the last acknowledged value (or a later one)
            if m in sent and entries[sent.index(m)][1] != "result":
                row_from_error += 1
        # submissions sent once PostgreSQL was down and acknowledged
        # before its restart began: impossible unless a reply was sent
        # without a commit.  (A submission committed just before the stop
        # may be answered a little after it: a busy machine delays the
        # reply, not the commit.)
        down_results = [(u, m) for u, e in stats["log"].items()
                        for m, k, t in e
                        if k == "result" and stats["t_down"] < stats[
                            "sent_at"][m] and t < stats["t_up"]]
        others = {k: n for k, n in counts.items()
                  if k not in ("result", "error/wait/internal-server-error")}
        alive = r.alive()
        rc = r.stop()
        ok = (not missing and not mixed and not stale and not down_results
              and set(stats["while_down"]) <= {"error/wait/internal-server-error"}
              and not others and alive and rc == 0
              and all(n == 1 for n in per_jid.values())
              and stats["recovery_s"] is not None)
        record("5 PG stop -m immediate, load", "PASS" if ok else "FAIL",
               clients=len(users), sets=sum(counts.values()),
               result=counts["result"],
               wait=counts["error/wait/internal-server-error"],
               other=sum(others.values()), acknowledged=acked_total,
               users_acked=sum(1 for e in stats["log"].values()
                               if any(k == "result" for _, k, _ in e)),
               found_in_db=found, missing=len(missing), mixed=len(mixed),
               stale=len(stale), rows_holding_an_errored_submission=row_from_error,
               results_while_down=len(down_results),
               in_flight_at_stop=stats["at_stop"],
               sent_while_down=stats["while_down"],
               pg_ctl_stop_s=round(stats["stop_took"], 2),
               store_errors_logged=len(r.matching(r"store: .* failed")),
               pg_down_s=round(stats["t_up"] - stats["t_down"], 2),
               pg_restart_s=round(stats["restart_took"], 2),
               first_result_after_restart_began_s=stats["recovery_s"],
               exit_on_sigterm=rc)
        self.assertEqual(others, {}, "replies other than result or "
                         "wait/internal-server-error")
        self.assertEqual(missing, [], "acknowledged, not in the database")
        self.assertEqual(mixed, [], "half-written rows")
        self.assertEqual(stale, [], "rows older than the last acknowledged "
                         "submission (lost commits)")
        self.assertEqual(down_results, [], "results while PostgreSQL was down")
        self.assertLessEqual(set(stats["while_down"]),
                             {"error/wait/internal-server-error"},
                             "answers to requests sent while PostgreSQL "
                             "was down")
        self.assertTrue(all(n == 1 for n in per_jid.values()))
        self.assertIsNotNone(stats["recovery_s"], "no result after restart")
        self.assertTrue(alive, r.tail())
        self.assertEqual(rc, 0)

    async def _pg_load(self, jid, users):
        log = {u: [] for u in users}
        load = LoadLoop(users, stop_timeout=60)
        first_after = []
        inflight = []
        sent_at = {}
        state = {"t_start": None}

        async def worker(user):
            c = load.clients[user]
            for m in load.markers(user):
                t_sent = time.time()
                reply = await c.ask("set", jid, marked_form(m), timeout=12)
                t = time.time()
                log[user].append((m, kind(reply), t))
                sent_at[m] = t_sent
                inflight.append((t_sent, t, kind(reply)))
                if kind(reply) == "result":
                    if state["t_start"] and t > state["t_start"]:
                        first_after.append(t)
                else:
                    await asyncio.sleep(0.2)
                if reply == "lost":
                    return

        async with load.run(worker):
            await asyncio.sleep(2.5)
            t_down = time.time()
            await asyncio.to_thread(faults.pg_stop_immediate)
            t_down_done = time.time()
            await asyncio.sleep(3)
            # down for sure from t_down_done until now: the restart starts
            # here (and PostgreSQL may accept connections before pg.sh
            # returns)
            t_start = state["t_start"] = time.time()
            await asyncio.to_thread(faults.pg_start)
            t_up = time.time()
            await asyncio.sleep(5)
        self.assertEqual(load.pending, set(),
                         "clients stuck waiting for replies")
        rec = round(min(first_after) - t_start, 2) if first_after else None
        # answered after the stop began, sent before it was complete
        at_stop = collections.Counter(k for a, b, k in inflight
                                      if a < t_down_done and b > t_down)
        # sent once the server was gone, answered before its restart began
        while_down = collections.Counter(k for a, b, k in inflight
                                         if a > t_down_done and b < t_start)
        return dict(log=log, sent_at=sent_at, t_down=t_down_done,
                    t_up=t_start, recovery_s=rec,
                    at_stop=dict(at_stop), while_down=dict(while_down),
                    stop_took=t_down_done - t_down,
                    restart_took=t_up - t_start)

    # -------------------------------------------- 6. PG down at start-up

    def test_6_pg_down_at_startup(self):
        jid = "pgdown.localhost"
        # a fresh database, so that the migration at first contact shows
        faults.psql_super("DROP DATABASE IF EXISTS fresh", db="postgres")
        faults.psql_super("CREATE DATABASE fresh OWNER registrar "
                          "ENCODING 'UTF8' TEMPLATE template0", db="postgres")
        conninfo = env("REGISTRAR_CONNINFO").replace("dbname=registrar",
                                                     "dbname=fresh")
        self.assertIn("dbname=fresh", conninfo)
        conf = config(jid).replace(env("REGISTRAR_CONNINFO"), conninfo)
        faults.pg_stop_fast()
        self.assertFalse(faults.pg_up())
        r = self.registrar("pgdown", conf)
        self.wait_attached(r)
        startup_msg = r.matching(r"database unavailable at start-up")

        async def down_checks():
            c = await login("b01", attempts=3)
            try:
                out = {}
                t0 = time.time()
                out["disco"] = await c.ask("get", jid, DISCO, timeout=10)
                out["ping"] = await c.ask("get", jid, PING, timeout=10)
                out["get"] = await c.ask("get", jid, register_query(), timeout=10)
                out["set"] = await c.ask("set", jid, marked_form("b01.1"),
                                         timeout=10)
                out["seconds"] = round(time.time() - t0, 2)
                return out
            finally:
                await c.stop()

        down = self.arun(down_checks(), timeout=90)
        mark = r.mark()
        faults.pg_start()
        t_up = time.time()

        async def until_registered():
            c = await login("b01", attempts=3)
            tries = []
            try:
                while time.time() - t_up < 20:
                    reply = await c.ask("set", jid, marked_form("b01.2"),
                                        timeout=10)
                    tries.append(kind(reply))
                    if kind(reply) == "result":
                        return time.time() - t_up, tries
                    await asyncio.sleep(0.5)
                return None, tries
            finally:
                await c.stop()

        took, tries = self.arun(until_registered(), timeout=90)
        migrated = r.matching(r"applied migration", mark)
        versions = faults.psql_super(
            "SELECT count(*) FROM registrar_schema_migrations", db="fresh") \
            if took is not None else None
        fresh_rows = faults.psql_super(
            "SELECT fields->>'first' FROM registrations WHERE service = "
            "'pgdown.localhost' AND jid = '%s'" % bare("b01"), db="fresh") \
            .replace("\n", " ") if took is not None else None
        alive = r.alive()
        rc = r.stop()
        ok = (kind(down["disco"]) == "result" and kind(down["ping"]) == "result"
              and kind(down["get"]) == "error/wait/internal-server-error"
              and kind(down["set"]) == "error/wait/internal-server-error"
              and took is not None and took < 10 and migrated and alive
              and rc == 0 and bool(startup_msg))
        record("6 PG down at start-up", "PASS" if ok else "FAIL",
               startup_logged=bool(startup_msg),
               disco=kind(down["disco"]), ping=kind(down["ping"]),
               reg_get=kind(down["get"]), reg_set=kind(down["set"]),
               four_answers_s=down["seconds"],
               registered_after_pg_up_s=round(took, 2) if took else None,
               attempts=len(tries), migrations_applied=len(migrated),
               schema_versions=versions,
               exit_on_sigterm=rc)
        faults.psql_super("SELECT 1")  # PG is back
        self.assertTrue(startup_msg, r.tail())
        self.assertEqual(kind(down["disco"]), "result")
        self.assertEqual(kind(down["ping"]), "result")
        self.assertWait500(down["get"], "register get, database down")
        self.assertWait500(down["set"], "register set, database down")
        self.assertIsNotNone(took, "no registration within 20 s of PG up: "
                             "%s\n%s" % (tries, r.tail()))
        self.assertLess(took, 10)
        self.assertTrue(migrated, "no migration logged:\n%s" % r.tail())
        self.assertEqual(fresh_rows, "F-b01.2")
        self.assertTrue(alive)
        self.assertEqual(rc, 0)

    # ----------------------------------------- 7a. backend terminated

    def test_7a_backend_terminated_between_requests(self):
        jid = "pgterm.localhost"
        r = self.registrar("pgterm", config(jid))
        self.wait_attached(r)

        async def run():
            c = await login("b02", attempts=3)
            out = []
            try:
                reply = await c.ask("set", jid, marked_form("b02.0"),
                                    timeout=10)
                self.assertEqual(kind(reply), "result")
                for i in range(1, 6):
                    killed = await asyncio.to_thread(
                        faults.psql_super,
                        "SELECT count(pg_terminate_backend(pid)) FROM "
                        "pg_stat_activity WHERE application_name = "
                        "'registrar'")
                    await asyncio.sleep(0.3)
                    op = "set" if i % 2 else "get"
                    payload = (marked_form("b02.%d" % i) if op == "set"
                               else register_query())
                    t0 = time.time()
                    reply = await c.ask(op, jid, payload, timeout=15)
                    out.append((op, int(killed), kind(reply),
                                round(time.time() - t0, 3)))
                return out
            finally:
                await c.stop()

        out = self.arun(run(), timeout=150)
        row = faults.rows_of(jid)
        alive = r.alive()
        rc = r.stop()
        kinds = [k for _, _, k, _ in out]
        ok = (all(k in ("result", "error/wait/internal-server-error")
                  for k in kinds) and alive and rc == 0
              and max(t for *_, t in out) < 10)
        record("7a backend terminated", "PASS" if ok else "FAIL",
               rounds=len(out), backends_killed=[n for _, n, _, _ in out],
               answers=kinds, seconds=[t for *_, t in out],
               final_row=row_marker(row[0]["fields"]) if row else None,
               exit_on_sigterm=rc)
        for op, n, k, t in out:
            self.assertIn(k, ("result", "error/wait/internal-server-error"),
                          "%s after pg_terminate_backend" % op)
            self.assertLess(t, 10)
        self.assertTrue(alive)
        self.assertEqual(rc, 0)

    # -------------------------------------------- 7b. stuck behind a lock

    def test_7b_statement_behind_lock(self):
        jid = "pglock.localhost"
        r = self.registrar("pglock", config(jid))
        self.wait_attached(r)
        hold = 9

        async def run():
            c = await login("b03", attempts=3)
            c2 = await login("b04", attempts=3)
            try:
                reply = await c.ask("set", jid, marked_form("b03.0"),
                                    timeout=10)
                self.assertEqual(kind(reply), "result", show(reply))
                locker = faults.lock_registrations(hold)
                try:
                    t_lock = time.time()
                    held = await faults.registrations_locked()
                    self.assertEqual(held, "1", "lock not taken")
                    t0 = time.time()
                    set_task = asyncio.ensure_future(
                        c.ask("set", jid, marked_form("b03.1"), timeout=20))
                    await asyncio.sleep(0.5)
                    t1 = time.time()
                    ping = await c2.ask("get", jid, PING, timeout=5)
                    ping_s = round(time.time() - t1, 3)
                    reply = await set_task
                    set_s = round(time.time() - t0, 2)
                    set_kind = kind(reply)
                    # released at the end of pg_sleep
                    await asyncio.to_thread(locker.wait, hold + 10)
                    t_rel = time.time()
                finally:
                    if locker.poll() is None:
                        locker.kill()
                        locker.wait(5)
                after = await c.ask("set", jid, marked_form("b03.2"),
                                    timeout=15)
                after_s = round(time.time() - t_rel, 2)
                return dict(set_kind=set_kind, set_s=set_s,
                            ping=kind(ping), ping_s=ping_s,
                            after=kind(after), after_s=after_s,
                            reply=reply,
                            lock_held_s=round(t_rel - t_lock, 1))
            finally:
                await c.stop()
                await c2.stop()

        out = self.arun(run(), timeout=120)
        rows = faults.rows_of(jid)
        final = row_marker(rows[0]["fields"]) if rows else None
        alive = r.alive()
        rc = r.stop()
        ok = (out["set_kind"] == "error/wait/internal-server-error"
              and 2.5 <= out["set_s"] <= 6.5 and out["ping"] == "result"
              and out["ping_s"] < 1 and out["after"] == "result"
              and final == "b03.2" and alive and rc == 0)
        record("7b statement behind a lock", "PASS" if ok else "FAIL",
               answer=out["set_kind"], answer_after_s=out["set_s"],
               ping_during_lock=out["ping"], ping_s=out["ping_s"],
               lock_held_s=out["lock_held_s"],
               after_release=out["after"], after_release_s=out["after_s"],
               final_row=final, exit_on_sigterm=rc)
        self.assertEqual(out["set_kind"], "error/wait/internal-server-error",
                         show(out["reply"]))
        self.assertGreaterEqual(out["set_s"], 2.5)
        self.assertLessEqual(out["set_s"], 6.5)
        self.assertEqual(out["ping"], "result")
        self.assertLess(out["ping_s"], 1)
        self.assertEqual(out["after"], "result")
        self.assertEqual(final, "b03.2")
        self.assertTrue(alive)
        self.assertEqual(rc, 0)

    # ------------------- 9a. a burst of gets while the database is locked

    def test_9a_get_burst_behind_lock(self):
        """10,000 gets from one client while another connection holds
        LOCK TABLE registrations: nearly all answered at once with an
        error of type wait (the per-JID cap in reg, the store's queue
        bound), the component keeps answering pings, its memory stays
        flat, and registrations work once the lock is gone."""
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher.base import MatcherBase

        class IdPrefix(MatcherBase):
            def match(self, stanza):
                return str(stanza["id"]).startswith(self._criteria)

        jid = "pgburst.localhost"
        n = 10000
        hold = 12
        r = self.registrar("pgburst", config(jid))
        self.wait_attached(r)

        def rss_kb():
            with open("/proc/%d/status" % r.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            return 0

        async def run():
            c = await login("b05", attempts=3)
            c2 = await login("b06", attempts=3)
            replies = {}
            all_in = asyncio.get_running_loop().create_future()

            def got(stanza):
                replies[stanza["id"]] = (time.time(), kind(stanza.xml))
                if len(replies) == n and not all_in.done():
                    all_in.set_result(True)

            c.register_handler(Callback("burst", IdPrefix("burst-"), got))
            locker = None
            try:
                # warm up: the statements are prepared, the row is absent
                warm = await c.ask("get", jid, register_query(), timeout=10)
                self.assertEqual(kind(warm), "result", show(warm))
                rss0 = rss_kb()
                locker = faults.lock_registrations(hold)
                held = await faults.registrations_locked()
                self.assertEqual(held, "1", "lock not taken")
                t_lock = time.time()
                peak = [rss0]
                sampling = True

                def sample():
                    while sampling:
                        try:
                            peak[0] = max(peak[0], rss_kb())
                        except OSError:
                            return
                        time.sleep(0.05)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                t0 = time.time()
                q = register_query()
                for i in range(n):
                    c.send_raw("<iq type='get' id='burst-%d' to='%s'>%s"
                               "</iq>" % (i, jid, q))
                    if i % 500 == 499:
                        await asyncio.sleep(0)
                t_sent = time.time()
                pings = []
                while not all_in.done() and time.time() - t0 < 15:
                    t1 = time.time()
                    p = await c2.ask("get", jid, PING, timeout=5)
                    pings.append((kind(p), round(time.time() - t1, 3)))
                    await asyncio.sleep(0.5)
                try:
                    await asyncio.wait_for(asyncio.shield(all_in),
                                           max(0.1, t0 + 40 - time.time()))
                except asyncio.TimeoutError:
                    pass
                sampling = False
                sampler.join(2)
                await asyncio.to_thread(locker.wait, hold + 20)
                t_rel = time.time()
                after = await c.ask("set", jid, marked_form("b05.1"),
                                    timeout=15)
                after_s = round(time.time() - t_rel, 2)
                return dict(replies=dict(replies), t0=t0,
                            send_s=round(t_sent - t0, 2), pings=pings,
                            rss0=rss0, peak=peak[0], after=kind(after),
                            after_s=after_s,
                            lock_held_s=round(t_rel - t_lock, 1))
            finally:
                if locker is not None and locker.poll() is None:
                    locker.kill()
                    locker.wait(5)
                await c.stop()
                await c2.stop()

        out = self.arun(run(), timeout=150)
        replies, t0 = out["replies"], out["t0"]
        times = sorted(t - t0 for t, _ in replies.values())
        kinds = collections.Counter(k for _, k in replies.values())
        in_15 = sum(1 for t in times if t <= 15)
        wait_in_15 = sum(1 for t, k in replies.values()
                         if t - t0 <= 15 and k.startswith("error/wait/"))
        p90 = times[int(0.9 * n) - 1] if len(times) >= int(0.9 * n) else None
        growth_mb = (out["peak"] - out["rss0"]) / 1024.0
        ping_ok = (out["pings"] and all(k == "result"
                                        for k, _ in out["pings"]))
        rows = faults.rows_of(jid)
        alive = r.alive()
        rc = r.stop()
        # Under AddressSanitizer freed memory sits in its quarantine (up to
        # 256 MB), so RSS says nothing about what registrar holds: the
        # bound is checked on the plain build.
        asan = "ASAN_OPTIONS" in os.environ
        ok = (wait_in_15 >= 0.9 * n and (asan or growth_mb < 30) and ping_ok
              and out["after"] == "result" and alive and rc == 0)
        record("9a 10k gets behind a lock", "PASS" if ok else "FAIL",
               gets=n, send_s=out["send_s"], answered=len(replies),
               answered_within_15s=in_15,
               wait_errors_within_15s=wait_in_15,
               p90_answer_s=round(p90, 2) if p90 is not None else None,
               last_answer_s=round(times[-1], 2) if times else None,
               answers=dict(kinds),
               rss_before_mb=round(out["rss0"] / 1024.0, 1),
               rss_peak_mb=round(out["peak"] / 1024.0, 1),
               rss_growth_mb=round(growth_mb, 1),
               pings=len(out["pings"]),
               ping_max_s=max((t for _, t in out["pings"]), default=None),
               lock_held_s=out["lock_held_s"],
               set_after_release=out["after"],
               set_after_release_s=out["after_s"],
               rows=len(rows), exit_on_sigterm=rc)
        self.assertGreaterEqual(wait_in_15, 0.9 * n,
                                "answers: %s\n%s" % (dict(kinds), r.tail()))
        if not asan:
            self.assertLess(growth_mb, 30)
        self.assertTrue(ping_ok, out["pings"])
        self.assertEqual(out["after"], "result", r.tail())
        self.assertTrue(alive)
        self.assertEqual(rc, 0)

    # ------------- 9b. a database address that accepts and never speaks

    def test_9b_silent_database(self):
        """PostgreSQL's address accepts TCP and never answers (a wedged
        host, a black-holing proxy): requests are answered 'try again
        later' within the connect timeout, one connect attempt at a time,
        and SIGTERM ends the process within 10 s with the attempt in hand
        still running (that request answered too)."""
        jid = "pgsilent.localhost"
        timeout = 8
        with BlackHole(64) as hole:
            conninfo = ("host=127.0.0.1 port=%d dbname=registrar "
                        "user=registrar connect_timeout=%d"
                        % (hole.port, timeout))
            conf = config(jid).replace(env("REGISTRAR_CONNINFO"), conninfo)
            t_start = time.time()
            r = self.registrar("pgsilent", conf)
            self.wait_attached(r, timeout=timeout + 20)
            attach_s = round(time.time() - t_start, 2)

            async def run():
                c = await login("b07", attempts=3)
                try:
                    async def one():
                        t1 = time.time()
                        reply = await c.ask("get", jid, register_query(),
                                            timeout=timeout + 5)
                        return kind(reply), round(time.time() - t1, 2)

                    # past the start-up failure's back-off: the first get
                    # makes one attempt, the others wait behind it
                    await asyncio.sleep(1.0)
                    n0 = len(hole.accepted)
                    burst = await asyncio.gather(*[one() for _ in range(6)])
                    attempts = len(hole.accepted) - n0
                    # right after: backing off, answered at once
                    quick = await one()
                    # a new attempt in hand when SIGTERM comes
                    await asyncio.sleep(1.0)
                    pending = asyncio.ensure_future(one())
                    await asyncio.sleep(0.5)
                    t_term = time.time()
                    r.proc.send_signal(signal.SIGTERM)
                    last = await pending
                    rc = await asyncio.to_thread(r.wait_exit, 30)
                    return dict(burst=burst, attempts=attempts, quick=quick,
                                last=last, rc=rc,
                                stop_s=round(time.time() - t_term, 2))
                finally:
                    await c.stop()

            out = self.arun(run(), timeout=120)
        wait500 = "error/wait/internal-server-error"
        burst_ok = all(k == wait500 and t <= timeout + 1
                       for k, t in out["burst"])
        ok = (burst_ok and out["quick"][0] == wait500
              and out["quick"][1] < 1 and out["last"][0] == wait500
              and out["rc"] == 0 and out["stop_s"] < 10
              and out["attempts"] == 1)
        record("9b silent database address", "PASS" if ok else "FAIL",
               connect_timeout_s=timeout, start_to_attached_s=attach_s,
               burst_answers=[k for k, _ in out["burst"]],
               burst_answer_s=[t for _, t in out["burst"]],
               connect_attempts_during_burst=out["attempts"],
               next_answer_s=out["quick"][1],
               during_stop_answer=out["last"][0],
               during_stop_answer_s=out["last"][1],
               stop_s=out["stop_s"], exit_on_sigterm=out["rc"],
               down_logged=len(r.matching(r"database unreachable")))
        for k, t in out["burst"]:
            self.assertEqual(k, wait500)
            self.assertLessEqual(t, timeout + 1)
        self.assertEqual(out["attempts"], 1)
        self.assertEqual(out["quick"][0], wait500)
        self.assertLess(out["quick"][1], 1)
        self.assertEqual(out["last"][0], wait500, r.tail())
        self.assertLess(out["stop_s"], 10, r.tail())
        self.assertEqual(out["rc"], 0, r.tail())
