"""tests/ha/test_instances.py: several registrar processes on one
component JID, behind one ejabberd 23.01, on one database (issue 12).

Driven by tests/ha/run_instances.sh, which starts a throwaway PostgreSQL
and ejabberd with three component JIDs (all with the run's secret):

  ha.localhost     domain_balancing bare_source, component_number 3: each
                   user is sent to one of three slots by a hash of its
                   bare JID
  harnd.localhost  no domain_balancing: ejabberd's default, each stanza to
                   one connection at random
  race.localhost   bare_source, component_number 2 (the username race)

Tests (each starts its own registrar processes, tests/harness/
registrar.py, configs from tests/fixtures; all stopped after the test):

  1 bare_source: 3 instances attach and share the users; under the load
    of 20 clients (each registers and then updates in a loop, a sequence
    number in every field), one instance is SIGKILLed; it is started again
    3 s later, as systemd's Restart= would. The instance is SIGSTOPped
    0.3 s before (HA_KILL_STALL): it dies holding requests, as a crash
    under load does (the python clients are the bottleneck here, and a
    bare SIGKILL often lands between two requests and loses none).
  2 random: the same with ejabberd's default balancing and no restart:
    the survivors take the killed instance's share.
  3 a username race across instances: two JIDs served by two different
    instances claim the same username at the same time, ten rounds.
  4 a single-use invitation raced across instances (issue 20.1, the
    invites fixture: invitations required): each round a token made by
    the SQL function of backends (registrar_invite_create), two JIDs served
    by two different instances register with it at the same time: exactly
    one result and one item-not-found, one row, the token used once.
  5 messages to users (issue 20) with two instances of race.localhost
    listening: 8 users' states changed by plain SQL (activated, then
    disabled with a reason, one commit each): each user gets each message
    exactly once, from one instance or the other.
  6 challenges (issue 21.1, the challenge fixture: a challenge for every
    new registration) with two instances of harnd.localhost (each stanza
    to one of them at random): 12 users each get the form and answer its
    challenge; every one registers, and the rounds where one instance
    issued the challenge and the other checked the answer are counted
    (at least one; 1 - 2^-12 likely): the challenge is the database's.

Every test checks that each registration answered 'result' is in the
database (the row holds the last acknowledged submission or one sent
after it, never a mix), that the clients saw errors or timeouts and never
a false result for what the killed instance lost, and when every client
was served again; it prints acknowledged and stored counts, errors and
timeouts, and how long the killed instance's users were without service.

Environment (besides e2e.py's, registrar.py's and faults.py's): HA_SECRET
(every component's secret), HA_REQ_TIMEOUT (seconds a client waits for a
reply, default 3), HA_KILL_STALL (seconds between SIGSTOP and SIGKILL,
default 0.3; 0: SIGKILL alone).

Command line: test_instances.py users   "user password" per account.
"""

import asyncio
import collections
import os
import re
import signal
import statistics
import sys
import time

import e2e
import faults
from faults import (FaultCase, LoadLoop, conf_text, env, kind, login,
                    marked_form, psql_super, record, row_marker, rows_of)
from e2e import bare, legacy, psql_json, register_query

LOAD_USERS = ["h%02d" % i for i in range(1, 21)]
RACE_USERS = ["x%02d" % i for i in range(1, 13)]
MSG_USERS = ["y%02d" % i for i in range(1, 9)]
POOL = ["probe"] + LOAD_USERS + RACE_USERS + MSG_USERS

REQ_TIMEOUT = float(os.environ.get("HA_REQ_TIMEOUT", "3"))
KILL_STALL_S = float(os.environ.get("HA_KILL_STALL", "0.3"))
WARM_S = 3.0        # load before the kill
HOLD_S = 4.0        # load kept at least this long after the kill
RESTART_S = 3.0     # test 1: the killed instance comes back after this
SERVED = re.compile(r" reg: (\S+) (?:registered|updated the registration) "
                    r"with (\S+) \(id=")


def config(jid, service="contests", level="info"):
    """A fixture's config for jid on the run's ejabberd: bcrypt cost 4,
    a short back-off (an instance started again attaches at once)."""
    return conf_text(
        service, JID=jid, XMPP_PORT=int(env("XMPP_COMPONENT_PORT")),
        SECRET=env("HA_SECRET"),
        COMPONENT="    reconnect_min_ms = 200\n    reconnect_max_ms = 1000",
        REGISTRATION="    hash_cost = 4\n", LOG_LEVEL=level)


def challenge_config(jid):
    """The challenge fixture for jid, its questions copied to the run's
    directory (where registrar, as its own user, reads them)."""
    qa = os.path.join(env("SUITE_WORK"), "challenge_qa.txt")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "fixtures", "challenge_qa.txt"),
              encoding="utf-8") as f, open(qa, "w", encoding="utf-8") as o:
        o.write(f.read())
    return conf_text(
        "challenge", JID=jid, XMPP_PORT=int(env("XMPP_COMPONENT_PORT")),
        SECRET=env("HA_SECRET"),
        COMPONENT="    reconnect_min_ms = 200\n    reconnect_max_ms = 1000",
        REGISTRATION="    hash_cost = 4\n", LOG_LEVEL="debug", QA_FILE=qa)


def served_by(r, jid, since=0):
    """Counter of the bare JIDs whose registration r stored for jid."""
    return collections.Counter(
        m.group(1) for _, line in r.matching(SERVED.pattern, since)
        for m in [SERVED.search(line)] if m.group(2) == jid)


def rnd(v, n=2):
    return None if v is None else round(v, n)


class InstancesTest(FaultCase):

    # ------------------------------------------------------------ helpers

    def start_instances(self, jid, names, **kw):
        rs = [self.registrar(n, config(jid, **kw)) for n in names]
        for r in rs:
            self.wait_attached(r, 30)
        return rs

    async def _load(self, jid, rs, restart_after):
        """20 clients in a loop against jid; kill the instance that served
        the most of them, optionally start it again after restart_after
        seconds; keep going until every client was served after that (at
        most 30 s), and at least HOLD_S after the kill."""
        log = {u: [] for u in LOAD_USERS}   # (marker, sent, answered, kind)
        load = LoadLoop(LOAD_USERS, stop_timeout=REQ_TIMEOUT + 10)

        async def worker(user):
            c = load.clients[user]
            for m in load.markers(user):
                t0 = time.time()
                reply = await c.ask("set", jid, marked_form(m),
                                    timeout=REQ_TIMEOUT)
                log[user].append((m, t0, time.time(), kind(reply)))
                if reply == "lost":
                    raise AssertionError("%s lost its c2s stream" % user)
                if kind(reply) != "result":
                    await asyncio.sleep(0.1)

        async with load.run(worker):
            await asyncio.sleep(WARM_S)
            before = {r.name: served_by(r, jid) for r in rs}
            victim = max(rs, key=lambda r: len(before[r.name]))
            # the service stops here: SIGSTOP, then SIGKILL
            t_kill = time.time()
            if KILL_STALL_S > 0:
                victim.signal(signal.SIGSTOP)
                await asyncio.sleep(KILL_STALL_S)
            victim.signal(signal.SIGKILL)
            await asyncio.to_thread(victim.wait_exit, 10)
            t_restart = t_back = None
            restarted = None
            if restart_after is not None:
                await asyncio.sleep(restart_after)
                t_restart = time.time()
                restarted = self.registrar(victim.name + "-again",
                                           config(jid))
                got = await asyncio.to_thread(restarted.wait_for,
                                              r"attached to .* as ", 30)
                t_back = faults.log_time(got[1]) if got else None
            t_ref = t_restart or t_kill
            deadline = time.time() + 30
            while time.time() < deadline:
                if all(any(k == "result" and t0 >= t_ref
                           for _, t0, _, k in log[u]) for u in LOAD_USERS):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(max(0.0, t_kill + HOLD_S - time.time()))
            await asyncio.sleep(1.0)
        return dict(log=log, before=before, victim=victim,
                    restarted=restarted, t_kill=t_kill, t_restart=t_restart,
                    t_back=t_back)

    def check_rows(self, jid, log):
        """Every acknowledged registration on file: (acked, stored rows,
        problems)."""
        rows = rows_of(jid)
        by_jid = {row["jid"]: row for row in rows}
        problems = []
        acked = 0
        for user, entries in log.items():
            sent = [m for m, _, _, _ in entries]
            ok = [m for m, _, _, k in entries if k == "result"]
            acked += len(ok)
            if not ok:
                continue
            row = by_jid.get(bare(user))
            if row is None:
                problems.append("%s: %d acknowledged, no row" % (user,
                                                                 len(ok)))
                continue
            m = row_marker(row["fields"])
            if m is None:
                problems.append("%s: a row mixing submissions: %r"
                                % (user, row["fields"]))
            elif m not in sent:
                problems.append("%s: row %s was never sent" % (user, m))
            elif sent.index(m) < sent.index(ok[-1]):
                problems.append("%s: row %s older than the last acknowledged "
                                "%s" % (user, m, ok[-1]))
        return acked, len(rows), problems

    def outages(self, log, users, t_kill):
        """Per user: the longest time without a result after the kill (the
        SIGSTOP before it): the largest gap between two answered results,
        counted from the kill when the first is before it (None: no result
        after the kill)."""
        out = {}
        for u in users:
            ts = sorted(t1 for _, _, t1, k in log[u] if k == "result")
            gaps = [b - max(a, t_kill) for a, b in zip([t_kill] + ts, ts)
                    if b > t_kill]
            out[u] = max(gaps) if gaps else None
        return out

    def kill_test(self, label, jid, names, restart_after):
        rs = self.start_instances(jid, names)
        attached = [bool(r.matching(r"attached to .* as %s" % re.escape(jid)))
                    for r in rs]
        st = self.arun(self._load(jid, rs, restart_after), timeout=240)
        log, victim, t_kill = st["log"], st["victim"], st["t_kill"]
        everyone = rs + ([st["restarted"]] if st["restarted"] else [])
        per_instance = {r.name: sum(served_by(r, jid).values())
                        for r in everyone}
        users_of = {r.name: sorted(served_by(r, jid)) for r in everyone}
        victim_users = sorted(u for u in LOAD_USERS
                              if bare(u) in st["before"][victim.name])
        counts = collections.Counter(k for u in log.values()
                                     for _, _, _, k in u)
        after_kill = collections.Counter(k for u in log.values()
                                         for _, t0, t1, k in u
                                         if t1 > t_kill)
        hit = sorted(u for u in LOAD_USERS
                     if any(k != "result" and t1 > t_kill
                            for _, _, t1, k in log[u]))
        acked, stored, problems = self.check_rows(jid, log)
        out = self.outages(log, LOAD_USERS, t_kill)
        t_ref = st["t_restart"] or t_kill
        unserved = [u for u in LOAD_USERS
                    if not any(k == "result" and t0 >= t_ref
                               for _, t0, _, k in log[u])]
        lost_users = victim_users if restart_after is not None else hit
        down = [out[u] for u in lost_users if out[u] is not None]
        others = [out[u] for u in LOAD_USERS
                  if u not in lost_users and out[u] is not None]
        # between the kill and the restart, did anyone serve the victim's
        # users (bare_source: nobody can; the slot is empty)
        rerouted = sorted(u for u in victim_users if any(
            k == "result" and t0 > t_kill + 0.2 and
            (st["t_restart"] is None or t1 < st["t_restart"])
            for _, t0, t1, k in log[u]))
        served_during = sorted(u for u in LOAD_USERS if u not in victim_users
                               and any(k == "result" and t0 > t_kill and
                                       (st["t_restart"] is None or
                                        t1 < st["t_restart"])
                                       for _, t0, t1, k in log[u]))
        rcs = {r.name: r.stop() for r in everyone if r is not victim}
        fig = dict(
            instances=len(rs), attached=sum(attached),
            registrations_per_instance=per_instance,
            users_per_instance={k: len(v) for k, v in users_of.items()},
            killed=victim.name, killed_users=len(victim_users),
            sets=sum(counts.values()), outcomes=dict(counts),
            outcomes_after_kill=dict(after_kill),
            acked=acked, stored_rows=stored, problems=len(problems),
            clients_with_errors_or_timeouts=len(hit),
            victim_users_served_before_restart=len(rerouted),
            other_users_served_meanwhile=len(served_during),
            outage_s_max=rnd(max(down) if down else None),
            outage_s_median=rnd(statistics.median(down) if down else None),
            others_longest_gap_s_max=rnd(max(others) if others else None),
            restarted_attached_after_kill_s=rnd(
                st["t_back"] - t_kill if st["t_back"] else None),
            clients_unserved_at_end=len(unserved),
            exit_on_sigterm=rcs)
        ok = (all(attached) and sum(1 for n in per_instance.values() if n)
              >= 2 and not problems and not unserved
              and all(rc == 0 for rc in rcs.values()))
        record(label, "PASS" if ok else "FAIL", **fig)
        print("\n  %s: %d acknowledged, %d rows stored, %d errors/timeouts "
              "(%s); users that lost requests were without service: max "
              "%s s, median %s s" % (label, acked, stored,
                               sum(n for k, n in counts.items()
                                   if k != "result"),
                               ", ".join("%s %d" % kv for kv in
                                         sorted(counts.items())
                                         if kv[0] != "result") or "none",
                               fig["outage_s_max"], fig["outage_s_median"]),
              file=sys.stderr)
        self.assertTrue(all(attached), "not every instance attached")
        self.assertGreaterEqual(
            sum(1 for n in per_instance.values() if n), 2,
            "ejabberd sent every request to one instance: %r" % per_instance)
        self.assertGreater(len(victim_users), 0)
        self.assertEqual(problems, [], "acknowledged but not on file")
        self.assertLessEqual(stored, len(LOAD_USERS))
        self.assertEqual(unserved, [], "clients never served again after "
                         "the kill%s" % (" and restart" if restart_after
                                         is not None else ""))
        for name, rc in rcs.items():
            self.assertEqual(rc, 0, "%s: exit status after SIGTERM" % name)
        return fig, st, victim_users, rerouted, served_during, hit

    # -------------------------------------------- 1. bare_source, restart

    def test_1_bare_source_kill_and_restart(self):
        fig, st, victim_users, rerouted, served_during, hit = self.kill_test(
            "ha 1 bare_source: kill, restart", "ha.localhost",
            ["haA", "haB", "haC"], RESTART_S)
        # a user stays on one instance: no bare JID stored by two of the
        # three first instances before the kill
        seen = collections.Counter(j for c in st["before"].values()
                                   for j in c)
        self.assertEqual([j for j, n in seen.items() if n > 1], [],
                         "a user served by two instances under bare_source")
        # the victim's users lost their requests (the slot is empty),
        # everyone else was served meanwhile by the survivors
        self.assertEqual(rerouted, [], "ejabberd 23.01 drops what goes to "
                         "an empty slot; now it served them elsewhere: "
                         "update doc/operating.md 'Scaling and high availability'")
        others = [u for u in LOAD_USERS if u not in victim_users]
        self.assertEqual(sorted(served_during), sorted(others),
                         "users of the surviving instances not served "
                         "while one was down")
        self.assertIsNotNone(st["t_back"], "the restarted instance did not "
                             "attach")
        # it took the free slot: it served the killed instance's users
        self.assertEqual(sorted(served_by(st["restarted"], "ha.localhost")),
                         sorted(bare(u) for u in victim_users),
                         "the restarted instance did not take the slot of "
                         "the killed one")

    # ----------------------------------------------- 2. random, no restart

    def test_2_random_kill_survivors_take_over(self):
        fig, st, victim_users, rerouted, served_during, hit = self.kill_test(
            "ha 2 random: kill, no restart", "harnd.localhost",
            ["rndA", "rndB", "rndC"], None)
        # with random balancing every user is sent to every instance
        self.assertGreaterEqual(
            sum(1 for n in fig["registrations_per_instance"].values() if n),
            3, fig["registrations_per_instance"])
        # the survivors serve everyone: each client that lost a request
        # was answered again within one reply timeout and a margin
        self.assertIsNotNone(fig["outage_s_max"] if hit else 0)
        self.assertLess(fig["outage_s_max"] or 0, REQ_TIMEOUT + 3,
                        "the killed instance's share was not rerouted")

    # ------------------------------------------- 3. username race, 2 inst.

    def test_3_username_race_across_instances(self):
        jid = "race.localhost"
        rs = self.start_instances(jid, ["raceA", "raceB"],
                                  service="accounts", level="debug")
        rounds = 10
        res = self.arun(self._race(jid, rs, rounds), timeout=240)
        outcomes = collections.Counter(tuple(sorted(r["kinds"]))
                                       for r in res["rounds"])
        good = [r for r in res["rounds"]
                if sorted(r["kinds"]) == ["error/cancel/conflict", "result"]
                and r["rows"] == [r["winner"]] and r["two_instances"]]
        rcs = {r.name: r.stop() for r in rs}
        fig = dict(rounds=rounds, users_per_instance=res["mapping"],
                   outcomes={" + ".join(k): n for k, n in outcomes.items()},
                   one_result_one_conflict=len(good),
                   winners_per_instance=dict(collections.Counter(
                       r["winner_instance"] for r in res["rounds"]
                       if r["winner_instance"])),
                   exit_on_sigterm=rcs)
        ok = len(good) == rounds and all(rc == 0 for rc in rcs.values())
        record("ha 3 username race, 2 instances", "PASS" if ok else "FAIL",
               **fig)
        bad = [r for r in res["rounds"] if r not in good]
        self.assertEqual(bad, [], "rounds without exactly one result and "
                         "one conflict, decided across both instances")
        for name, rc in rcs.items():
            self.assertEqual(rc, 0, "%s: exit status after SIGTERM" % name)

    # ------------------------------ 5. state changes told once, 2 inst.

    def test_5_state_changes_told_once_by_two_instances(self):
        """Two instances of race.localhost with messages { activated
        disabled } (tests/fixtures/messages.conf), both attached, both
        listening: each user's state changed by plain SQL (activated, then
        disabled with a reason, each its own commit, all users at once) is
        told to that user exactly once, by one instance or the other."""
        jid = "race.localhost"
        rs = self.start_instances(jid, ["msgA", "msgB"], service="messages",
                                  level="debug")
        res = self.arun(self._told_once(jid, rs), timeout=180)
        rcs = {r.name: r.stop() for r in rs}
        told = {r.name: len(r.matching(r" messages: told \S+ that its "
                                        r"registration with %s is " % jid))
                for r in rs}
        fig = dict(users=len(MSG_USERS), changes=2 * len(MSG_USERS),
                   messages_received=res["received"],
                   told_per_instance=told, exit_on_sigterm=rcs)
        bad = {u: bodies for u, bodies in res["per_user"].items()
               if sorted(bodies) != sorted(res["want"][u])}
        ok = not bad and sum(told.values()) == 2 * len(MSG_USERS) and \
            all(rc == 0 for rc in rcs.values())
        record("ha 5 state changes told once, 2 instances",
               "PASS" if ok else "FAIL", **fig)
        self.assertEqual(bad, {}, "users not told exactly once of each "
                         "change (got, per user)")
        self.assertEqual(sum(told.values()), 2 * len(MSG_USERS), told)
        for name, rc in rcs.items():
            self.assertEqual(rc, 0, "%s: exit status after SIGTERM" % name)

    async def _told_once(self, jid, rs):
        cs = await asyncio.gather(*(login(u, attempts=3) for u in MSG_USERS))
        got = {u: [] for u in MSG_USERS}
        for u, c in zip(MSG_USERS, cs):
            def on_message(msg, u=u):
                if msg["from"].bare == jid and msg["type"] == "normal":
                    got[u].append(msg["body"])
            c.add_event_handler("message", on_message)
            c.send_presence()
        try:
            await asyncio.sleep(0.5)
            names = {}
            for u, c in zip(MSG_USERS, cs):
                names[u] = "%s-%s" % (u, os.urandom(3).hex())
                reply = await c.ask("set", jid, legacy(
                    username=names[u], password="pw-" + os.urandom(4).hex(),
                    email="%s@example.org" % u), REQ_TIMEOUT * 3)
                self.assertEqual(kind(reply), "result", "%s registers" % u)
            # the welcomes (one each), then nothing else yet
            deadline = time.time() + 20
            while time.time() < deadline and any(len(got[u]) < 1
                                                 for u in MSG_USERS):
                await asyncio.sleep(0.1)
            for u in MSG_USERS:
                got[u].clear()
            # a backend's plain SQL: every user activated, then disabled,
            # one commit each, all at once
            stmts = []
            for u in MSG_USERS:
                stmts.append("UPDATE registrations SET state = 'active' "
                             "WHERE service = '%s' AND jid = '%s';"
                             % (jid, bare(u)))
            for u in MSG_USERS:
                stmts.append("UPDATE registrations SET state = 'disabled', "
                             "disabled_reason = 'reason %s' WHERE service = "
                             "'%s' AND jid = '%s';" % (u, jid, bare(u)))
            await asyncio.to_thread(psql_super, " ".join(
                "BEGIN; %s COMMIT;" % st for st in stmts))
            want = {u: ["%s, your registration with %s is active."
                        % (names[u], jid),
                        "Your registration with %s is disabled: reason %s"
                        % (jid, u)] for u in MSG_USERS}
            deadline = time.time() + 30
            while time.time() < deadline and any(
                    len(got[u]) < 2 for u in MSG_USERS):
                await asyncio.sleep(0.1)
            # and no second copy comes later (a poll of each instance)
            await asyncio.sleep(7)
            return dict(per_user={u: list(b) for u, b in got.items()},
                        want=want,
                        received=sum(len(b) for b in got.values()))
        finally:
            await asyncio.gather(*(c.stop() for c in cs),
                                 return_exceptions=True)

    async def _race(self, jid, rs, rounds):
        cs = await asyncio.gather(*(login(u, attempts=3) for u in RACE_USERS))
        clients = dict(zip(RACE_USERS, cs))
        try:
            # which instance serves whom: the debug line of each get
            marks = [r.mark() for r in rs]
            await asyncio.gather(*(c.ask("get", jid, register_query(),
                                         REQ_TIMEOUT * 3)
                                   for c in cs))
            inst = {}
            for r, mk in zip(rs, marks):
                for _, line in r.matching(r"iq get id=\S+ from x\d+@", mk):
                    u = re.search(r"from (x\d+)@", line).group(1)
                    inst[u] = r.name
            groups = collections.defaultdict(list)
            for u in RACE_USERS:
                groups[inst.get(u)].append(u)
            mapping = {k: v for k, v in groups.items()}
            self.assertTrue(all(groups.get(r.name) for r in rs),
                            "the %d users all went to one instance: %r"
                            % (len(RACE_USERS), mapping))
            a, b = groups[rs[0].name][0], groups[rs[1].name][0]
            token = os.urandom(3).hex()
            out = []
            for i in range(rounds):
                name = "racer-%s-%d" % (token, i)
                marks = [r.mark() for r in rs]
                pw = "pw-%s-%d" % (token, i)
                replies = await asyncio.gather(*(
                    clients[u].ask("set", jid, legacy(
                        username=name, password=pw,
                        email="%s@example.org" % u), REQ_TIMEOUT * 3)
                    for u in (a, b)))
                kinds = [kind(x) for x in replies]
                handled = [bool(r.matching(r"iq set id=\S+ from %s@" % u,
                                           mk))
                           for r, mk, u in zip(rs, marks, (a, b))]
                rows = [row["jid"] for row in psql_json(
                    "SELECT jid FROM registrations WHERE service = "
                    ":'service' AND registrar_username_key(username) = "
                    "registrar_username_key(:'name')",
                    service=jid, name=name)]
                winner = winner_inst = None
                for u, k, r in zip((a, b), kinds, rs):
                    if k == "result":
                        winner, winner_inst = bare(u), r.name
                out.append(dict(round=i, users=(a, b), kinds=kinds,
                                rows=rows, winner=winner,
                                winner_instance=winner_inst,
                                two_instances=all(handled)))
                # the winner cancels: both race again next round
                if winner:
                    u = a if winner == bare(a) else b
                    rm = await clients[u].ask("set", jid,
                                              register_query("<remove/>"),
                                              REQ_TIMEOUT * 3)
                    self.assertEqual(kind(rm), "result",
                                     "%s could not cancel" % u)
            return dict(mapping=mapping, rounds=out)
        finally:
            await asyncio.gather(*(c.stop() for c in cs),
                                 return_exceptions=True)


class InviteRaceTest(FaultCase):

    # ------------------------------- 4. a single-use invitation, 2 inst.

    def test_4_single_use_invite_across_instances(self):
        jid = "race.localhost"
        rs = [self.registrar(n, config(jid, service="invites",
                                       level="debug"))
              for n in ("inviteA", "inviteB")]
        for r in rs:
            self.wait_attached(r, 30)
        rounds = 10
        res = self.arun(self._invite_race(jid, rs, rounds), timeout=240)
        outcomes = collections.Counter(tuple(sorted(r["kinds"]))
                                       for r in res["rounds"])
        good = [r for r in res["rounds"]
                if sorted(r["kinds"]) == ["error/cancel/item-not-found",
                                          "result"]
                and len(r["rows"]) == 1 and r["uses"] == 1
                and r["two_instances"]]
        rcs = {r.name: r.stop() for r in rs}
        fig = dict(rounds=rounds, users_per_instance=res["mapping"],
                   outcomes={" + ".join(k): n for k, n in outcomes.items()},
                   one_result_one_item_not_found=len(good),
                   winners_per_instance=dict(collections.Counter(
                       r["winner_instance"] for r in res["rounds"]
                       if r["winner_instance"])),
                   exit_on_sigterm=rcs)
        ok = len(good) == rounds and all(rc == 0 for rc in rcs.values())
        record("ha 4 single-use invitation, 2 instances",
               "PASS" if ok else "FAIL", **fig)
        bad = [r for r in res["rounds"] if r not in good]
        self.assertEqual(bad, [], "rounds without exactly one result and "
                         "one item-not-found across both instances")
        for name, rc in rcs.items():
            self.assertEqual(rc, 0, "%s: exit status after SIGTERM" % name)

    async def _invite_race(self, jid, rs, rounds):
        cs = await asyncio.gather(*(login(u, attempts=3) for u in RACE_USERS))
        clients = dict(zip(RACE_USERS, cs))
        try:
            marks = [r.mark() for r in rs]
            await asyncio.gather(*(c.ask("get", jid, register_query(),
                                         REQ_TIMEOUT * 3)
                                   for c in cs))
            inst = {}
            for r, mk in zip(rs, marks):
                for _, line in r.matching(r"iq get id=\S+ from x\d+@", mk):
                    u = re.search(r"from (x\d+)@", line).group(1)
                    inst[u] = r.name
            groups = collections.defaultdict(list)
            for u in RACE_USERS:
                groups[inst.get(u)].append(u)
            mapping = {k: v for k, v in groups.items()}
            self.assertTrue(all(groups.get(r.name) for r in rs),
                            "the %d users all went to one instance: %r"
                            % (len(RACE_USERS), mapping))
            a, b = groups[rs[0].name][0], groups[rs[1].name][0]
            tag = os.urandom(3).hex()
            out = []
            for i in range(rounds):
                token = psql_json(
                    "SELECT token FROM registrar_invite_create(:'s', NULL, "
                    "interval '1 hour', 1, NULL, NULL, NULL, :'l', NULL, "
                    "NULL)", s=jid, l="race %s %d" % (tag, i))[0]["token"]
                e2e.note_secret(token)
                marks = [r.mark() for r in rs]
                replies = await asyncio.gather(*(
                    clients[u].ask("set", jid, e2e.submit_form({
                        "username": "inv-%s-%d-%s" % (tag, i, u),
                        "password": "pw-%s-%d" % (tag, i),
                        "email": "%s@example.org" % u,
                        "preauth": token}), REQ_TIMEOUT * 3)
                    for u in (a, b)))
                kinds = [kind(x) for x in replies]
                handled = [bool(r.matching(r"iq set id=\S+ from %s@" % u,
                                           mk))
                           for r, mk, u in zip(rs, marks, (a, b))]
                rows = [row["jid"] for row in psql_json(
                    "SELECT jid FROM registrations WHERE service = :'s' "
                    "AND jid IN (:'a', :'b')", s=jid, a=bare(a), b=bare(b))]
                uses = psql_json(
                    "SELECT uses FROM registration_invites WHERE "
                    "token_hash = sha256(convert_to(:'t', 'UTF8'))",
                    t=token)[0]["uses"]
                winner = winner_inst = None
                for u, k, r in zip((a, b), kinds, rs):
                    if k == "result":
                        winner, winner_inst = bare(u), r.name
                out.append(dict(round=i, users=(a, b), kinds=kinds,
                                rows=rows, uses=uses, winner=winner,
                                winner_instance=winner_inst,
                                two_instances=all(handled)))
                # the winner cancels: both race again next round
                if winner:
                    u = a if winner == bare(a) else b
                    rm = await clients[u].ask("set", jid,
                                              register_query("<remove/>"),
                                              REQ_TIMEOUT * 3)
                    self.assertEqual(kind(rm), "result",
                                     "%s could not cancel" % u)
            return dict(mapping=mapping, rounds=out)
        finally:
            await asyncio.gather(*(c.stop() for c in cs),
                                 return_exceptions=True)


class ChallengeAcrossTest(FaultCase):

    # ------------------- 6. a challenge issued by one, checked by another

    def test_6_challenge_across_instances(self):
        jid = "harnd.localhost"
        rs = [self.registrar(n, challenge_config(jid))
              for n in ("challengeA", "challengeB")]
        for r in rs:
            self.wait_attached(r, 30)
        try:
            res = self.arun(self._challenge_rounds(jid, rs), timeout=240)
        finally:
            # harnd.localhost is test 2's too, which counts its rows
            psql_super("DELETE FROM registrations WHERE service = '%s'"
                       % jid)
        crossed = [r for r in res if r["issued_by"] and r["checked_by"]
                   and r["issued_by"] != r["checked_by"]]
        good = [r for r in res if r["kind"] == "result" and r["row"]]
        rcs = {r.name: r.stop() for r in rs}
        fig = dict(rounds=len(res), registered=len(good),
                   issued_by_one_checked_by_other=len(crossed),
                   pairs=dict(collections.Counter(
                       "%s->%s" % (r["issued_by"], r["checked_by"])
                       for r in res)),
                   exit_on_sigterm=rcs)
        ok = (len(good) == len(res) and crossed
              and all(rc == 0 for rc in rcs.values()))
        record("ha 6 challenge across instances", "PASS" if ok else "FAIL",
               **fig)
        self.assertEqual(len(good), len(res), "every right answer "
                         "registers: %r" % res)
        self.assertTrue(crossed, "no round had the challenge issued by one "
                        "instance and checked by the other: %r" % res)
        for name, rc in rcs.items():
            self.assertEqual(rc, 0, "%s: exit status after SIGTERM" % name)

    async def _challenge_rounds(self, jid, rs):
        cs = await asyncio.gather(*(login(u, attempts=3) for u in RACE_USERS))
        out = []
        try:
            for u, c in zip(RACE_USERS, cs):
                marks = [r.mark() for r in rs]
                reply = await c.ask("get", jid, register_query(),
                                    REQ_TIMEOUT * 3)
                fields = e2e.form_fields(e2e.form_of(reply))
                cid = fields["challenge"]["values"][0]
                issued = [r.name for r, mk in zip(rs, marks)
                          if r.matching(r"challenged %s@" % u, mk)]
                marks = [r.mark() for r in rs]
                reply = await c.ask("set", jid, e2e.submit_form({
                    "username": "ch-%s-%s" % (u, os.urandom(3).hex()),
                    "password": "pw-%s" % os.urandom(5).hex(),
                    "email": "%s@example.org" % u,
                    "challenge": cid, "from": jid,
                    "sid": fields["sid"]["values"][0],
                    "qa": "Quetzal-Bird"}), REQ_TIMEOUT * 3)
                checked = [r.name for r, mk in zip(rs, marks)
                           if r.matching(r"%s@\S+ answered \S+'s challenge"
                                         % u, mk)]
                row = bool(psql_json(
                    "SELECT 1 FROM registrations WHERE service = :'s' AND "
                    "jid = :'j'", s=jid, j=bare(u)))
                out.append(dict(user=u, kind=kind(reply), row=row,
                                issued_by=issued[0] if issued else None,
                                checked_by=checked[0] if checked else None))
            return out
        finally:
            await asyncio.gather(*(c.stop() for c in cs),
                                 return_exceptions=True)


def main(argv):
    if len(argv) >= 2 and argv[1] == "users":
        for user in POOL:
            print(user, e2e.password())
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
