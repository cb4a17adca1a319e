"""tests/harness/faults.py: the helpers of the suites that break things.

Imported as `import faults` by tests/faults and tests/ha (tests/harness
is on PYTHONPATH, exported by tests/harness/suite.sh). Builds on e2e.py
(clients, stanzas, psql) and registrar.py (the Registrar process class:
its output captured line by line with arrival times; configs from
tests/fixtures) and adds what those suites need: registrar processes
started per test (FaultCase), server control (Prosody restart/stop/
SIGSTOP, PostgreSQL immediate stop and restart), a client that notices a
lost stream, clients in a loop under a fault (LoadLoop), and a record of
observed figures.

tests/faults/run.sh sets the environment (besides e2e.py's and
registrar.py's: SUITE_WORK, SUITE_PIDS; tests/ha's run scripts set the
part they use):
  FAULTS_FIGURES     JSON lines of figures, one per check
  FAULTS_SECRET      every component's secret on the test Prosody
  FAULTS_PG_DIR, FAULTS_XMPP_DIR, FAULTS_XMPP2_DIR   harness directories
  XMPP_COMPONENT_PORT, XMPP2_COMPONENT_PORT          component listeners
  REGISTRAR_BIN

Command line:
  faults.py users              "user password" for every account of the
                               fault suite's pool (POOL)
  faults.py summary FILE       the table of figures (tests/faults, tests/ha)
"""

import asyncio
import contextlib
import datetime
import json
import os
import re
import subprocess
import sys

import e2e
from registrar import Registrar, conf_text, note_pid  # noqa: F401
from e2e import (NS_DATA, NS_REGISTER, E2ETestCase, bare, env,  # noqa: F401
                 esc, register_query, show, stanza_error, psql_json)

HERE = os.path.dirname(os.path.abspath(__file__))     # tests/harness
PGBIN = "/usr/lib/postgresql/15/bin"

# accounts on the test Prosody: 40 for the load tests, a few for the rest
LOAD_USERS = ["u%02d" % i for i in range(1, 41)]
POOL = ["probe"] + LOAD_USERS + ["b%02d" % i for i in range(1, 13)]


# ------------------------------------------------------------- figures

def record(fault, outcome, **figures):
    """One line of the closing summary."""
    line = {"fault": fault, "outcome": outcome, "figures": figures}
    path = os.environ.get("FAULTS_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    print("\n  [%s] %s %s" % (fault, outcome, json.dumps(figures)),
          file=sys.stderr)


def summary(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    if not rows:
        print("faults: no figures recorded")
        return
    print("\n%-34s | %-6s | %s" % ("fault", "result", "figures"))
    print("-" * 34 + "-+-" + "-" * 6 + "-+-" + "-" * 60)
    for r in rows:
        long = {k: v for k, v in r["figures"].items()
                if isinstance(v, str) and "; " in v}
        figs = ", ".join("%s=%s" % (k, v) for k, v in r["figures"].items()
                         if k not in long)
        print("%-34s | %-6s | %s" % (r["fault"][:34], r["outcome"], figs))
        for k, v in long.items():
            for item in v.split("; "):
                print("%-34s | %-6s |   %s" % ("", "", item))
    print()


# ------------------------------------------------------------ registrar

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def log_time(line):
    """The wall-clock time (epoch seconds) at the head of a log line."""
    m = STAMP.match(line)
    if not m:
        return None
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def config(jid, port=None, secret=None, service="contests",
           component_extra="", registration_extra="", level="info"):
    """The config of tests/fixtures/SERVICE.conf for a fault test: the
    run's component port and secret unless told, bcrypt cost 4."""
    return conf_text(
        service, JID=jid,
        XMPP_PORT=port or int(env("XMPP_COMPONENT_PORT")),
        SECRET=secret if secret is not None else env("FAULTS_SECRET"),
        COMPONENT=component_extra,
        REGISTRATION="    hash_cost = 4\n" + registration_extra,
        LOG_LEVEL=level)


# ------------------------------------------------------------- servers

def harness(script, *args, timeout=90):
    """tests/harness/SCRIPT ARGS... (pg.sh, prosody.sh, ejabberd.sh);
    a failure raises."""
    out = subprocess.run([os.path.join(HERE, script)]
                         + list(args), capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("%s %s failed (%d): %s" % (
            script, " ".join(args), out.returncode, out.stderr.strip()))
    return out


def read_env(path):
    vals = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                vals[k] = v.strip("'")
    return vals


def prosody_pid(dirname=None):
    dirname = dirname or env("FAULTS_XMPP_DIR")
    pid = int(read_env(os.path.join(dirname, "env"))["PROSODY_PID"])
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert os.path.join(dirname, "prosody.cfg.lua").encode() in f.read()
    return pid


def as_harness_user(cmd, timeout=60):
    return subprocess.run(
        ["timeout", str(timeout), "setpriv", "--reuid=registrar-test",
         "--regid=registrar-test", "--init-groups", "--reset-env", "--",
         "env", "HOME=/tmp", "LC_ALL=C.UTF-8"] + cmd,
        capture_output=True, text=True, timeout=timeout + 5)


def pg_stop_immediate():
    """pg_ctl stop -m immediate (a crash, as far as clients can tell)."""
    out = as_harness_user([os.path.join(PGBIN, "pg_ctl"), "-D",
                           os.path.join(env("FAULTS_PG_DIR"), "data"),
                           "stop", "-m", "immediate", "-w", "-t", "20"], 30)
    if out.returncode != 0:
        raise AssertionError("pg_ctl stop -m immediate failed: %s"
                             % out.stderr.strip())


def pg_stop_fast():
    harness("pg.sh", "stop", env("FAULTS_PG_DIR"))


def pg_start():
    """Start the stopped cluster again on the same data and port
    (pg.sh restart: stops nothing when it is down, keeps the data)."""
    harness("pg.sh", "restart", env("FAULTS_PG_DIR"))


def pg_up():
    return subprocess.run([os.path.join(PGBIN, "pg_isready"), "-q", "-t", "2",
                           "-h", "127.0.0.1", "-p", env("PGPORT")],
                          timeout=10).returncode == 0


def psql_super(sql, timeout=30, db=None):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v",
                          "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                          env("PGPORT"), "-U", "postgres", "-d",
                          db or env("PGDATABASE"), "-c", sql],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("psql (superuser) failed: %s\nSQL: %s"
                             % (out.stderr.strip(), sql))
    return out.stdout.strip()


def lock_registrations(hold):
    """A psql (listed in SUITE_PIDS) whose transaction takes ACCESS
    EXCLUSIVE on registrations and holds it for hold seconds; the caller
    waits for it (or kills it)."""
    locker = subprocess.Popen(
        ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", env("PGPORT"), "-U",
         "postgres", "-d", env("PGDATABASE")],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True)
    note_pid(locker.pid, "psql")
    locker.stdin.write("BEGIN; LOCK TABLE registrations IN ACCESS EXCLUSIVE "
                       "MODE; SELECT pg_sleep(%d); COMMIT;\n" % hold)
    locker.stdin.close()
    return locker


async def registrations_locked():
    """"1" once lock_registrations()' lock is granted (asked every 0.1 s,
    50 times), else the last count."""
    for _ in range(50):
        held = await asyncio.to_thread(
            psql_super, "SELECT count(*) FROM pg_locks WHERE relation = "
            "'registrations'::regclass AND mode = 'AccessExclusiveLock' "
            "AND granted")
        if held == "1":
            break
        await asyncio.sleep(0.1)
    return held


def rows_of(service):
    return psql_json("SELECT jid, username, fields FROM registrations "
                     "WHERE service = :'service' ORDER BY jid",
                     service=service)


# ------------------------------------------------------------- clients

class Client(e2e.Client):
    """e2e's client, plus a future that is set when the stream is lost."""

    def __init__(self, user, pw=None):
        super().__init__(user, pw)
        self.gone = self.loop.create_future()
        self.add_event_handler("disconnected", self._gone)

    def _gone(self, _event):
        if not self.gone.done():
            self.gone.set_result(True)

    async def ask(self, itype, to, payload, timeout):
        """The reply Element; None when no reply came in time; "lost" when
        the stream went away first."""
        if self.gone.done():
            return "lost"
        task = asyncio.ensure_future(self.iq(itype, to, payload, timeout))
        done, _ = await asyncio.wait({task, self.gone}, timeout=timeout + 1,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            try:
                return task.result()
            except AssertionError:
                return None
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, AssertionError, Exception):
            pass
        return "lost" if self.gone.done() else None


async def login(user, attempts=1, pause=0.5):
    """A logged-in Client, trying attempts times (the server may be down)."""
    last = None
    for i in range(attempts):
        c = Client(user)
        try:
            return await c.start()
        except (AssertionError, ConnectionError, OSError) as e:
            last = e
            try:
                await c.stop()
            except Exception:
                pass
            if i + 1 < attempts:
                await asyncio.sleep(pause)
    raise AssertionError("%s cannot log in: %s" % (user, last))


class LoadLoop:
    """Clients of users, each in a loop of requests while a fault happens:

        load = LoadLoop(users, stop_timeout=60)

        async def worker(user):
            c = load.clients[user]
            for m in load.markers(user):    # until load.end is set
                ...                 # marked_form(m); may replace
                                    # load.clients[user]

        async with load.run(worker):
            ...                     # the fault, under the load
        load.pending                # workers still busy at the end

    run() logs every user in (3 attempts each) and starts one worker task
    per user. Leaving the block sets end, waits up to stop_timeout for the
    workers to finish the request in hand, cancels those still busy
    (listed in pending), stops every client in clients, and then, unless
    the block raised, raises the first exception a worker raised.

    clients: {user: Client} already logged in, for a load run more than
    once on the same clients (tests/ha/test_failover.py); run() then logs
    no one in and stops no one (the caller does)."""

    def __init__(self, users, stop_timeout, clients=None):
        self.users = list(users)
        self.stop_timeout = stop_timeout
        self.end = asyncio.Event()
        self._own = clients is None
        self.clients = {} if clients is None else clients
        self.pending = set()
        self._tasks = []

    def markers(self, user):
        """"USER.1", "USER.2", ...: one per round of user's worker, until
        end is set."""
        k = 0
        while not self.end.is_set():
            k += 1
            yield "%s.%d" % (user, k)

    @contextlib.asynccontextmanager
    async def run(self, worker):
        if self._own:
            cs = await asyncio.gather(*(login(u, attempts=3)
                                        for u in self.users))
            self.clients.update(zip(self.users, cs))
        self._tasks = [asyncio.ensure_future(worker(u)) for u in self.users]
        try:
            yield self
        except BaseException:
            await self._stop()
            raise
        done = await self._stop()
        for t in done:
            if not t.cancelled() and t.exception():
                raise t.exception()

    async def _stop(self):
        self.end.set()
        done, self.pending = await asyncio.wait(self._tasks,
                                                timeout=self.stop_timeout)
        for t in self.pending:
            t.cancel()
        if self._own:
            await asyncio.gather(*(c.stop() for c in self.clients.values()),
                                 return_exceptions=True)
        return done


def kind(reply):
    """'result', 'error/TYPE/CONDITION', 'lost' or 'timeout'."""
    if reply is None:
        return "timeout"
    if isinstance(reply, str):
        return reply
    if reply.get("type") == "result":
        return "result"
    err = stanza_error(reply)
    if err is None:
        return "error/?"
    return "error/%s/%s" % (err[2], err[0])


def marked_form(marker, form_type=NS_REGISTER):
    """A contest registration whose every field carries marker."""
    return e2e.submit_form({"first": "F-" + marker, "last": "L-" + marker,
                            "email": marker + "@example.org"}, form_type)


def row_marker(fields):
    """The single marker in a row's fields, or None when they disagree."""
    first = fields.get("first", "")
    last = fields.get("last", "")
    email = fields.get("email", "")
    if not (first.startswith("F-") and last.startswith("L-")
            and email.endswith("@example.org")):
        return None
    m = first[2:]
    if last[2:] == m and email[:-len("@example.org")] == m:
        return m
    return None


class FaultCase(E2ETestCase):
    """A test case whose registrar processes are stopped after each test
    (also on failure)."""

    def setUp(self):
        super().setUp()
        self._registrars = []

    def tearDown(self):
        super().tearDown()
        for r in self._registrars:
            r.stop()

    def registrar(self, name, conf_text):
        r = Registrar(name, conf_text)
        self._registrars.append(r)
        return r

    def wait_attached(self, r, timeout=20, since=0):
        got = r.wait_for(r"attached to .* as ", timeout, since)
        self.assertIsNotNone(got, "registrar %s did not attach within %ss; "
                             "log:\n%s" % (r.name, timeout, r.tail()))
        return got

    def assertStopsCleanly(self, r):
        self.assertTrue(r.alive(), "registrar %s has exited (status %s); "
                        "log:\n%s" % (r.name, r.proc.poll(), r.tail()))
        rc = r.stop()
        self.assertEqual(rc, 0, "registrar %s: exit status after SIGTERM; "
                         "log:\n%s" % (r.name, r.tail()))


def main(argv):
    if len(argv) >= 2 and argv[1] == "users":
        for user in POOL:
            print(user, e2e.password())
        return 0
    if len(argv) == 3 and argv[1] == "summary":
        summary(argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
