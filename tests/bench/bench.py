#!/usr/bin/python3
"""tests/bench/bench.py: the measuring half of tests/bench/run.sh.

run.sh starts the servers and the systems; this runs the matrix and
prints the figures.  Every run of the load generator (or of pgbench) is
one record (a JSON line in RESULTS): the loadgen's own line, plus what
the /proc files said about the processes during that run:

  comp_cpu_s      utime+stime of the component process (all threads);
                  of all its processes for a system of several instances
                  (comp_cpu_each_s: each one's, in the order started)
  comp_hwm_kb     its peak RSS during the run (VmHWM, reset before the run
                  through /proc/PID/clear_refs); summed over instances
  comp_rss_kb     its RSS after the run (summed likewise)
  server_cpu_s    the XMPP server's process (c2s mode)
  pg_cpu_s        the whole PostgreSQL cluster: every postgres process,
                  with the backends that exited during the run (the
                  postmaster's cutime/cstime): the same measure for
                  registrar and for pgbench
  db_backend_cpu_s, db_hwm_kb
                  the client backends that served the system: for a
                  registrar, those of pg_stat_activity with
                  application_name 'registrar' in its database when the
                  run starts, and those it opens during the run (user
                  registrar, its database: sampled every 50 ms as
                  below); for pgbench, its backends (user
                  postgres, database registrar), which it opens and closes
                  within the run: sampled every 50 ms and, when only they
                  exited during the run, exactly from the postmaster's
                  cutime/cstime; their summed peak RSS
  client_cpu_s    the load generator (or pgbench) itself: the children's
                  rusage of this process across the run
  metrics         registrar's GET /metrics (when its system has a metrics
                  URL), read before and after the run: the change of
                  every registrar_cache_* series (summed over labels) and
                  of registrar_db_transactions_total and
                  registrar_db_transaction_operations_{sum,count}

Commands:
  bench.py c2s CONFIG      the matrix through the server
  bench.py direct CONFIG   direct mode: echo, slixmpp and registrar(s)
                           beside pgbench's one.sql and ten.sql (into
                           registrar's own table), alternated; then, with
                           "stmt" in CONFIG, the database's CPU per
                           statement: registrar(s) on update, registered
                           get, registration and removal, each beside its
                           pgbench floors (pgbench/floor_*.sql, one and ten
                           per transaction), alternated
  bench.py instances CONFIG
                           registrar with 1, 2, 3 ... processes on one
                           JID each (run.sh --instances), alternated with
                           the echo component, register workload
  bench.py report META RESULTS...
                           the tables, the medians, every ratio, and with
                           two registrars (run.sh --compare) the targets
                           side by side

CONFIG is a JSON file written by run.sh.  Systems are alternated: in
repetition r the order of the systems is rotated by r.  A system is echo,
slixmpp or a registrar ("kind"); run.sh --compare runs two registrars,
registrar-old and registrar-new, each with its own database in the same
cluster.  A benchmark: it prints figures and asserts nothing.
"""

import json
import os
import resource
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
PGBENCH_DIR = os.path.join(HERE, "pgbench")

# the per-statement phase: registrar's workload in direct mode, and its
# floor (tests/bench/pgbench/FLOOR.sql and FLOOR10.sql).  In this order in
# every repetition: the update registers the sessions' JIDs (their first
# set), so that the get reads registered rows; the removal removes the
# rows the registration run created, one each.
STMTS = [("update", "floor_update", "update"),
         ("get", "floor_get", "registered get"),
         ("register", "floor_register", "registration"),
         ("unregister", "floor_remove", "removal")]


def kind_of(x):
    """echo, slixmpp or registrar: of a system or a record (records
    before the kinds: by name)."""
    k = x.get("kind")
    if k:
        return k
    name = x.get("system") or x.get("name") or ""
    return "registrar" if name.startswith("registrar") else name


# ---------------------------------------------------------------- /proc

def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def ticks(pid, children=False):
    """utime+stime of pid (and the reaped children's, with children)."""
    try:
        f = stat_fields(pid)
    except (OSError, ValueError):
        return 0
    t = int(f[11]) + int(f[12])
    if children:
        t += int(f[13]) + int(f[14])
    return t


def reaped_ticks(pid):
    """cutime+cstime of pid: its children that exited and were reaped."""
    try:
        f = stat_fields(pid)
    except (OSError, ValueError):
        return 0
    return int(f[13]) + int(f[14])


def cpu_s(pid):
    """CPU seconds of every thread of pid, from /proc/PID/task/*/schedstat
    (nanoseconds: the 10 ms ticks of /proc/PID/stat are too coarse for the
    echo component), or from the ticks when schedstat is missing."""
    total, seen = 0, False
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
                    seen = True
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return 0.0
    return total / 1e9 if seen else ticks(pid) / TCK


def children_of(ppid):
    """ppid's children: /proc/PID/task/PID/children, else a scan of
    /proc."""
    try:
        with open("/proc/%d/task/%d/children" % (ppid, ppid)) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        pass
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if int(stat_fields(int(name))[1]) == ppid:
                out.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def cluster_ticks(postmaster):
    return ticks(postmaster, True) + sum(ticks(p) for p in
                                         children_of(postmaster))


def title(pid):
    """The process title (a backend's: "postgres: USER DB HOST(PORT)
    STATE")."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak(pid):
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass


def settle(pid, since_s, limit=90):
    """Waits (at most limit s) until pid is idle (at most 1 tick in
    0.5 s), so that work left over from a run (requests abandoned by the
    load generator, e.g. queued bcrypt hashes) never lands in the next
    run's figures.  (seconds waited, CPU seconds spent meanwhile)."""
    t0 = time.time()
    last = ticks(pid)
    while time.time() - t0 < limit:
        time.sleep(0.5)
        now = ticks(pid)
        if now - last <= 1:
            break
        last = now
    return round(time.time() - t0, 1), round(cpu_s(pid) - since_s, 3)


class Sampler(threading.Thread):
    """The CPU of the client backends that a run opens and closes
    (pgbench's): the postmaster's children whose title starts with
    prefix, born after the sampler was made, read every period s while
    the run lasts (a backend's last value is at most one period old when
    it exits)."""

    def __init__(self, postmaster, prefix, period=0.05):
        super().__init__(daemon=True)
        self.pm, self.prefix, self.period = postmaster, prefix, period
        self.titles = {}   # pid -> its title, once it is a backend's
        self.last = {}     # pid -> CPU s, of the backends that match
        self.halt = threading.Event()
        # only the backends born during the run
        self.before = set(children_of(postmaster))

    def sample(self):
        for pid in children_of(self.pm):
            if pid in self.before:
                continue
            t = self.titles.get(pid)
            if t is None:
                t = title(pid)
                if not t.startswith("postgres: "):
                    continue  # just forked: the postmaster's command line
                self.titles[pid] = t
            if t.startswith(self.prefix):
                v = cpu_s(pid)
                if v:
                    self.last[pid] = v

    def run(self):
        while not self.halt.wait(self.period):
            self.sample()

    def stop(self):
        self.halt.set()
        self.join()
        self.sample()


def prom_values(text):
    """The series of a Prometheus text exposition that bench.py keeps:
    name -> value summed over the labels."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m:
            continue
        name = m.group(1)
        if not (name.startswith("registrar_cache") or name in (
                "registrar_db_transactions_total",
                "registrar_db_transaction_operations_sum",
                "registrar_db_transaction_operations_count")):
            continue
        try:
            out[name] = out.get(name, 0) + float(m.group(3))
        except ValueError:
            pass
    return out


def scrape(url):
    if not url:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return prom_values(r.read().decode(errors="replace"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- runs

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.out = open(cfg["results"], "a")
        self.rm_next = 1        # floor_remove: the next key put in
        self.rm_rate = {}       # floor script -> last removals/s

    def psql(self, sql, db="registrar", files=(), variables=()):
        pg = self.cfg["pg"]
        cmd = [pg["psql"], "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(pg["port"]), "-U", "postgres",
               "-d", db]
        for k, v in variables:
            cmd += ["-v", "%s=%s" % (k, v)]
        cmd += ["-c", sql] if sql else []
        for f in files:
            cmd += ["-f", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print("bench: psql failed: %s" % r.stderr.strip()[-500:],
                  file=sys.stderr)
        return r.stdout.split()

    def db_backends(self, db):
        """registrar's backends in database db (pg_stat_activity)."""
        return [int(p) for p in self.psql(
            "SELECT pid FROM pg_stat_activity WHERE datname = '%s'"
            " AND application_name = 'registrar'"
            " AND backend_type = 'client backend'" % db)
            if p.isdigit()]

    def measured(self, cmd, comp_pid, timeout, parse, db=None,
                 sample_prefix=None, metrics=None):
        """Runs cmd, measuring around it; the record parse() makes of its
        output, with the measures added (None when it failed).  comp_pid:
        the component's PID, a list of them (instances of one system), or
        None.  db: the database whose registrar backends serve it;
        sample_prefix: the title of the backends the run opens itself
        (pgbench); metrics: registrar's /metrics URL."""
        pm = self.cfg["pg"]["pid"]
        server = self.cfg.get("server_pid")
        comps = (list(comp_pid) if isinstance(comp_pid, (list, tuple))
                 else [comp_pid] if comp_pid else [])
        backends = self.db_backends(db) if db else []
        if db:
            # registrar's backends opened during the run (a reconnection,
            # a connection not made yet): registrar logs in as registrar
            sample_prefix = "postgres: registrar %s " % db
        m0 = scrape(metrics)
        for p in backends + comps:
            reset_peak(p)
        # the backends of bench.py's own psql (the superuser's) gone
        # first, 2 s at most: none exits during the run but the run's
        end = time.time() + 2
        while time.time() < end and any(
                title(p).startswith("postgres: postgres ")
                for p in children_of(pm)):
            time.sleep(0.02)
        sampler = Sampler(pm, sample_prefix) if sample_prefix else None
        kids0 = set(children_of(pm))
        c0 = [cpu_s(p) for p in comps]
        s0 = cpu_s(server) if server else 0
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        g0 = cluster_ticks(pm)
        r0 = reaped_ticks(pm)
        b0 = {p: cpu_s(p) for p in backends}
        n0 = len(kids0)
        if sampler:
            sampler.start()
        t0 = time.time()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            print("bench: timed out: %s" % " ".join(cmd), file=sys.stderr)
            if sampler:
                sampler.stop()
            return None
        wall = time.time() - t0
        # backends that the run opened (pgbench's) must have exited and
        # been reaped, their CPU folded into the postmaster's cutime
        # (a zombie's own counters read as nothing): 5 s at most
        end = time.time() + 5
        while len(children_of(pm)) > n0 and time.time() < end:
            time.sleep(0.05)
        if sampler:
            sampler.stop()
        c1 = [cpu_s(p) for p in comps]
        s1 = cpu_s(server) if server else 0
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        g1 = cluster_ticks(pm)
        r1 = reaped_ticks(pm)
        b1 = {p: cpu_s(p) for p in backends}
        kids1 = set(children_of(pm))
        m1 = scrape(metrics)
        rec = parse(r.stdout)
        if rec is None:
            print("bench: no result from %s\n%s" % (" ".join(cmd),
                                                    r.stderr[-2000:]),
                  file=sys.stderr)
            return None
        for line in r.stderr.splitlines():
            if "first error" in line or "closed" in line:
                print("  " + line[:300], file=sys.stderr)
        backend_s = sum(b1[p] - b0[p] for p in backends if p in b1)
        hwm = sum(status_kb(p, "VmHWM") for p in backends)
        if sampler and db:
            new = [p for p in sampler.last if p not in b0]
            backend_s += sum(sampler.last[p] for p in new)
            hwm += sum(status_kb(p, "VmHWM") for p in new)
            rec["db_backends"] = len(backends) + len(new)
        elif sampler:
            gone = (kids0 | set(sampler.titles)) - kids1
            mine = set(sampler.last)
            rec["db_exact"] = bool(gone) and gone <= mine
            if rec["db_exact"]:
                # exact: what exited is the run's backends, and only them
                backend_s = (r1 - r0) / TCK + sum(
                    v for p, v in sampler.last.items() if p in kids1)
            else:
                backend_s = sum(sampler.last.values())
            rec["db_backends"] = len(mine)
        rec.update({
            "wall_s": round(wall, 3),
            "comp_cpu_s": sum(c1) - sum(c0),
            "comp_hwm_kb": sum(status_kb(p, "VmHWM") for p in comps),
            # the process's own memory after the run (no shared library
            # pages): what its work costs, beside the RSS
            "comp_anon_kb": sum(status_kb(p, "RssAnon") for p in comps),
            "comp_rss_kb": sum(status_kb(p, "VmRSS") for p in comps),
            "server_cpu_s": s1 - s0,
            "client_cpu_s": round(k1.ru_utime + k1.ru_stime
                                  - k0.ru_utime - k0.ru_stime, 3),
            "pg_cpu_s": (g1 - g0) / TCK,
            "db_backend_cpu_s": backend_s,
            "db_hwm_kb": hwm,
        })
        if m0 is not None and m1 is not None:
            rec["metrics"] = {k: m1[k] - m0.get(k, 0) for k in m1}
        if len(comps) > 1:
            rec["comp_cpu_each_s"] = [b - a for a, b in zip(c0, c1)]
        for p, since in zip(comps, c1):
            waited, spent = settle(p, since)
            rec["settle_s"] = round(rec.get("settle_s", 0) + waited, 1)
            rec["settle_cpu_s"] = round(rec.get("settle_cpu_s", 0) + spent, 3)
        return rec

    def save(self, rec, **extra):
        rec.update(extra)
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()

    def loadgen(self, system, workload, level, rep, rate=0, direct=None,
                phase="full", tag=None, max_iq=None):
        cfg = self.cfg
        n, w = level
        pw = workload == "password"
        jid = system["pw_jid"] if pw else system["jid"]
        pid = system["pw_pid"] if pw else system.get("pids") or system["pid"]
        # a bounded run (the rows a registration run made) is measured
        # from its start to its last answer: no warm-up to lose them in
        warmup = 0 if max_iq is not None else cfg["warmup"]
        cmd = [cfg["loadgen"], "--sessions", str(n), "--window", str(w),
               "--workload", workload, "--duration", str(cfg["duration"]),
               "--warmup", str(warmup), "--label", system["name"]]
        if direct:
            cmd += ["--direct", str(direct["port"]), direct["secret"], jid,
                    "--tag", tag or "d%d-%s-%d" % (os.getpid(),
                                                   system["name"], rep)]
        else:
            cmd += ["--port", str(cfg["c2s_port"]), "--to", jid,
                    "--password", cfg["password"]]
            if pw:
                cmd += ["--ping-to", jid]
        if rate:
            cmd += ["--rate", "%.0f" % rate]
        if max_iq is not None:
            cmd += ["--max-iq", str(max_iq)]
        timeout = cfg["warmup"] + cfg["duration"] + 120

        def parse(out):
            lines = [l for l in out.splitlines() if l.startswith("{")]
            return json.loads(lines[-1]) if lines else None
        reg = kind_of(system) == "registrar"
        rec = self.measured(cmd, pid, timeout, parse,
                            db=system.get("db", "registrar") if reg else None,
                            metrics=system.get("metrics") if reg else None)
        if rec is None:
            return None
        if max_iq is not None and rec.get("sent", 0) >= max_iq:
            rec["bounded"] = True  # sent all it was allowed before the end
        self.save(rec, system=system["name"], kind=kind_of(system),
                  level="%dx%d" % level, rep=rep, phase=phase,
                  server=cfg.get("server", "none"),
                  instances=system.get("instances"))
        hits = hit_ratio(rec)
        print("  %-8s %-10s %-13s %-6s rep %d: %8.1f rt/s  p50 %7.2f ms  "
              "p99 %8.2f ms  err %d  comp %.2fs  pg %.2fs  db %.2fs%s%s%s"
              % (cfg.get("server", "direct"), workload, system["name"],
                 "%dx%d" % level, rep, rec["rt_per_s"], rec["p50_ms"],
                 rec["p99_ms"], rec["errors"], rec["comp_cpu_s"],
                 rec["pg_cpu_s"], rec["db_backend_cpu_s"],
                 "  @%.0f/s" % rate if rate else "",
                 "  cache hits %.0f%%" % (100 * hits) if hits is not None
                 else "", "  (all %d rows done: ended early)" % max_iq
                 if rec.get("bounded") else ""), flush=True)
        return rec

    def pgbench(self, script, rows, rep, name=None, workload="register",
                level=None, defines=(), ops_sql=None, phase="direct"):
        """pgbench on script for the run's duration; rows: the rows (ops)
        per transaction, or ops_sql: a query whose value grows by one per
        op done (read before and after the run)."""
        cfg = self.cfg
        pg = cfg["pg"]
        cmd = [pg["pgbench"], "-n", "-h", "127.0.0.1", "-p", str(pg["port"]),
               "-U", "postgres", "-c", str(cfg["pgbench_clients"]), "-j", "1",
               "-M", "prepared", "-T", str(int(round(cfg["duration"])))]
        for k, v in defines:
            cmd += ["-D", "%s=%s" % (k, v)]
        cmd += ["-f", script, "registrar"]

        def parse(out):
            tx = re.search(r"number of transactions actually processed: (\d+)",
                           out)
            tps = re.search(r"tps = ([\d.]+) \(without initial", out)
            if not tx or not tps:
                return None
            return {"mode": "pgbench", "tx": int(tx.group(1)),
                    "tps": float(tps.group(1)), "rows_per_tx": rows,
                    "rt_per_s": float(tps.group(1)) * rows,
                    "rt_all": int(tx.group(1)) * rows,
                    "ok_all": int(tx.group(1)) * rows,
                    "errors": 0}
        before = self.psql(ops_sql) if ops_sql else None
        rec = self.measured(cmd, None, cfg["duration"] + 60, parse,
                            sample_prefix="postgres: postgres registrar ")
        if rec is None:
            return None
        if ops_sql:
            after = self.psql(ops_sql)
            try:
                ops = int(after[0]) - int(before[0])
            except (IndexError, ValueError):
                ops = None
            if ops is not None and rec["tx"]:
                rec["rows_per_tx"] = ops / rec["tx"]
                rec["rt_all"] = rec["ok_all"] = ops
                rec["rt_per_s"] = rec["tps"] * ops / rec["tx"]
        name = name or "pgbench-%d" % rows
        self.save(rec, system=name, kind="pgbench",
                  level=level or "c%d" % cfg["pgbench_clients"],
                  rep=rep, phase=phase, workload=workload, server="none")
        print("  %-8s %-10s %-13s %-6s rep %d: %8.1f ops/s  pg %.2fs  "
              "db %.2fs (%s backends)" % (
                  "pgbench", workload, name, "c%d" % cfg["pgbench_clients"],
                  rep, rec["rt_per_s"], rec["pg_cpu_s"],
                  rec["db_backend_cpu_s"], rec.get("db_backends", "?")),
              flush=True)
        return rec

    def floor_setup(self, rows):
        self.psql(None, files=[os.path.join(PGBENCH_DIR, "floor_setup.sql")],
                  variables=[("rows", rows)])

    def floor(self, script, per_tx, workload, level, rep):
        """The floor of workload (pgbench/script.sql, or script10.sql with
        per_tx 10), as system floor-1 or floor-10."""
        cfg = self.cfg
        n = level[0]
        clients = cfg["pgbench_clients"]
        path = os.path.join(PGBENCH_DIR, script + ("10" if per_tx == 10
                                                  else "") + ".sql")
        defines = [("rows", n), ("clients", clients)]
        ops_sql = None
        if script != "floor_get":
            # every write adds one event row: the events made are the ops
            ops_sql = ("SELECT CASE WHEN is_called THEN last_value ELSE 0"
                       " END FROM bench_floor.events_id_seq")
        if script == "floor_remove":
            # rows enough for the run: twice the last rate seen, or
            # 40,000 a second the first time (keys beyond base + clients)
            rate = self.rm_rate.get(path, 20000)
            want = int(2 * rate * (cfg["duration"] + 1)) + 1000
            base = self.rm_next
            self.psql(None, files=[os.path.join(PGBENCH_DIR,
                                                "floor_topup.sql")],
                      variables=[("from", base), ("to", base + want)])
            self.rm_next = base + want + 1
            defines += [("base", base - clients), ("k", 0)]
        rec = self.pgbench(path, per_tx, rep, name="floor-%d" % per_tx,
                           workload=workload, level="%dx%d" % level,
                           defines=defines, ops_sql=ops_sql, phase="stmt")
        if rec and script == "floor_remove":
            self.rm_rate[path] = rec["rt_per_s"]
        return rec


def levels_of(cfg, key="levels"):
    return [tuple(int(x) for x in l.split("x")) for l in cfg[key]]


def rotate(items, r):
    r %= len(items)
    return items[r:] + items[:r]


def run_c2s(cfg):
    b = Bench(cfg)
    systems = cfg["systems"]
    for workload in cfg["workloads"]:
        for level in levels_of(cfg):
            for rep in range(cfg["reps"]):
                for s in rotate(systems, rep):
                    b.loadgen(s, workload, level, rep)
            if workload != "register":
                continue
            # the same load at half the ceiling's rate: latency, not
            # throughput (the ceiling: echo's median of the runs above)
            rates = [r["rt_per_s"] for r in read_results(cfg["results"])
                     if r.get("system") == "echo" and r.get("phase") == "full"
                     and r.get("workload") == "register"
                     and r.get("level") == "%dx%d" % level
                     and r.get("server") == cfg["server"]]
            if not rates:
                continue
            half = statistics.median(rates) / 2
            for rep in range(cfg["reps"]):
                for s in rotate(systems, rep):
                    b.loadgen(s, workload, level, rep, rate=half,
                              phase="half")


def run_instances(cfg):
    """run.sh --instances: registrar with 1, 2, 3 ... processes (one
    system each, on its own JID) and the echo component, alternated in
    each repetition, on the register workload."""
    b = Bench(cfg)
    for level in levels_of(cfg):
        for rep in range(cfg["reps"]):
            for s in rotate(cfg["systems"], rep):
                b.loadgen(s, "register", level, rep, phase="instances")


def run_direct(cfg):
    b = Bench(cfg)
    for level in levels_of(cfg):
        for rep in range(cfg["reps"]):
            jobs = [("sys", s) for s in cfg["systems"]] + \
                [("pgb", 1), ("pgb", 10)]
            for kind, what in rotate(jobs, rep):
                if kind == "sys":
                    b.loadgen(what, "register", level, rep,
                              direct=what["direct"], phase="direct")
                else:
                    b.pgbench(os.path.join(PGBENCH_DIR,
                                           "one.sql" if what == 1
                                           else "ten.sql"), what, rep)
    if cfg.get("stmt_levels"):
        run_stmt(b, cfg)


def run_stmt(b, cfg):
    """The database's CPU per statement: each registrar in direct mode on
    update, get (of the rows the update registered), register (fresh
    JIDs) and unregister (the rows that registration run created, one
    each, at most as many as it registered), each alternated with its
    pgbench floors, one and ten per transaction."""
    regs = [s for s in cfg["systems"] if kind_of(s) == "registrar"]
    levels = levels_of(cfg, "stmt_levels")
    b.floor_setup(max(n for n, _ in levels))
    # registrar connects to its database once attached: a first run (its
    # record's phase "warmup", in no table) so that the connection and
    # the statements' preparation land in no figure
    for s in regs:
        b.loadgen(s, "update", levels[0], 0, direct=s["direct"],
                  phase="warmup")
    for level in levels:
        for rep in range(cfg["reps"]):
            made = {}
            for workload, script, _ in STMTS:
                jobs = [("sys", s) for s in regs] + [("floor", 1),
                                                     ("floor", 10)]
                for kind, what in rotate(jobs, rep):
                    if kind == "floor":
                        b.floor(script, what, workload, level, rep)
                        continue
                    tag = "s%d-%s-%d-%dx%d" % ((os.getpid(), what["name"],
                                                rep) + level)
                    if workload == "unregister":
                        if what["name"] not in made:
                            continue
                        b.loadgen(what, workload, level, rep,
                                  direct=what["direct"], phase="stmt",
                                  tag=tag, max_iq=made[what["name"]])
                        continue
                    rec = b.loadgen(what, workload, level, rep,
                                    direct=what["direct"], phase="stmt",
                                    tag=tag)
                    if rec and workload == "register":
                        made[what["name"]] = rec["ok_all"]


# ---------------------------------------------------------------- report

def read_results(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def okps(r):
    """Successful round trips per second (an error answered at once is no
    registration)."""
    return r.get("ok_per_s", r["rt_per_s"])


def per_rt(r, key):
    """CPU microseconds of key per successful round trip of the whole run
    (warm-up included, as the CPU is): an error answered at once costs
    little and registers nothing."""
    n = r.get("ok_all")
    if n is None and "rt" not in r:
        n = r.get("rt_all")
    if n is None:  # records of an older loadgen: the window's error share
        rt = r.get("rt") or 0
        n = (r.get("rt_all") or 0) * (1 - (r.get("errors") or 0) / rt) \
            if rt else 0
    return r[key] * 1e6 / n if n else None


def hit_ratio(r):
    """The read cache's hits / (hits + misses) in the run, from
    registrar's registrar_cache_* counters (None without them)."""
    m = r.get("metrics") or {}
    hits = sum(v for k, v in m.items()
               if k.startswith("registrar_cache") and "hit" in k)
    miss = sum(v for k, v in m.items()
               if k.startswith("registrar_cache") and "miss" in k)
    return hits / (hits + miss) if hits + miss > 0 else None


def ops_per_txn(r):
    """Operations per database transaction in the run: registrar's
    registrar_db_transaction_operations histogram, or pgbench's rows."""
    if r.get("mode") == "pgbench":
        return r.get("rows_per_tx")
    m = r.get("metrics") or {}
    n = m.get("registrar_db_transaction_operations_count")
    return m["registrar_db_transaction_operations_sum"] / n if n else None


SYSTEM_ORDER = ["echo", "slixmpp", "registrar", "registrar-old",
                "registrar-new", "floor-1", "floor-10", "pgbench-1",
                "pgbench-10"]


def system_key(name):
    return (SYSTEM_ORDER.index(name) if name in SYSTEM_ORDER
            else len(SYSTEM_ORDER), name)


class Report:
    def __init__(self, rs, meta):
        self.rs = rs
        self.meta = meta
        self.verdicts = []
        # figure name -> (want, {system: {rep: value}}), in order
        self.figures = {}
        self.regs = sorted({r["system"] for r in rs
                            if kind_of(r) == "registrar"
                            and r.get("phase") != "instances"},
                           key=system_key)

    def group(self, **kw):
        return [r for r in self.rs
                if all(r.get(k) == v for k, v in kw.items())]

    @staticmethod
    def per_rep(g, fn):
        """{rep: fn(record)} (the median when a rep has several)."""
        by = {}
        for r in g:
            v = fn(r)
            if v is not None:
                by.setdefault(r["rep"], []).append(v)
        return {k: statistics.median(v) for k, v in by.items()}

    @staticmethod
    def rep_ratio(a, b):
        """Median over the repetitions of a[rep] / b[rep]."""
        vals = [a[k] / b[k] for k in a if k in b and b[k]]
        return statistics.median(vals) if vals else None

    def ratio(self, a_rs, b_rs, key, fn=None):
        """Median over repetitions of a[key]/b[key] (same rep)."""
        fn = fn or (lambda r: r.get(key))
        return self.rep_ratio(self.per_rep(a_rs, fn), self.per_rep(b_rs, fn))

    def verdict(self, name, value, ok, target):
        mark = "-" if value is None else ("MEETS" if ok(value) else "MISSES")
        self.verdicts.append("  %-78s %8s  (target %s)  %s" % (
            name, fmt(value, "%.2f"), target, mark))

    def figure(self, name, system, by_rep, want):
        """A figure of system for the side-by-side table (--compare):
        want "up" or "down" (which way is better), or "flat" (a drift:
        compared by difference)."""
        if by_rep:
            self.figures.setdefault(name, [want, {}])[1][system] = by_rep

    def reg_label(self, name):
        return "" if len(self.regs) < 2 else name + " "


# loadgen's kinds of request (its JSON keys)
KINDS_WITH_SIZES = ("get", "register", "update", "password", "remove")


def report(paths, meta):
    rs = []
    for p in paths:
        rs += read_results(p)
    print()
    print("registrar benchmark (tests/bench/run.sh), %s" % meta.get("date"))
    print("machine: %s cores, %s; %s" % (os.cpu_count(), cpu_model(),
                                         platform.platform()))
    for k in ("command", "registrar", "registrar-old", "registrar-new",
              "servers", "database", "reps", "duration", "hash_ms",
              "hash_cost", "pgbench_clients", "instances"):
        if k in meta:
            print("  %s: %s" % (k, meta[k]))
    print("medians of the repetitions; ratios are the median of the "
          "per-repetition ratios (systems alternated in each repetition)")
    R = Report(rs, meta)
    report_c2s(R)
    report_instances(R.group(phase="instances"), R.ratio)
    report_direct(R)
    report_stmt(R)
    if R.verdicts:
        print("\n== targets (ratios inside this run)")
        for v in R.verdicts:
            print(v)
    report_compare(R)


def report_c2s(R):
    rs = R.rs
    servers = sorted({r.get("server") for r in rs
                      if r.get("mode") == "c2s"
                      and r.get("phase") != "instances"})
    for server in servers:
        print("\n== through %s (c2s): median of the repetitions" % server)
        print("%-9s %-6s %-13s %9s %9s %8s %8s %6s %7s %7s %6s %6s %7s "
              "%6s %6s %5s" % (
                  "workload", "level", "system", "rt/s", "ok/s", "p50 ms",
                  "p99 ms", "err", "comp us", "srv us", "db us", "pg us",
                  "comp MB", "db MB", "ping99", "hits"))
        workloads = []
        for r in rs:
            if (r.get("server") == server and r.get("phase") == "full"
                    and r["workload"] not in workloads):
                workloads.append(r["workload"])
        systems = sorted({r["system"] for r in R.group(server=server,
                                                       phase="full")},
                         key=system_key)
        for wl in workloads:
            levels = []
            for r in R.group(server=server, workload=wl, phase="full"):
                if r["level"] not in levels:
                    levels.append(r["level"])
            for lv in levels:
                report_c2s_level(R, server, wl, lv, systems)
        report_half(R, server, systems)
        report_sizes(R, server, systems)
        report_rss(R, server)


def report_sizes(R, server, systems):
    """The mean bytes and elements of a successful reply of each kind,
    as the server delivered it (loadgen's reply_bytes, reply_elements),
    per system, with registrar's against slixmpp's (issue 19: lighter
    answers)."""
    rows = {}
    for r in R.group(server=server, phase="full"):
        for kind in KINDS_WITH_SIZES:
            k = r.get(kind)
            if isinstance(k, dict) and k.get("reply_bytes") is not None:
                rows.setdefault((r["workload"], kind, r["system"]),
                                []).append(k)
    if not rows:
        return
    print("  answers through %s (a successful reply's mean size as it "
          "arrived, median of the runs):" % server)
    seen = sorted({(wl, kind) for wl, kind, _ in rows})
    for wl, kind in seen:
        line = []
        by = {}
        for name in systems:
            ks = rows.get((wl, kind, name))
            if not ks:
                continue
            b = med(k["reply_bytes"] for k in ks)
            e = med(k["reply_elements"] for k in ks)
            by[name] = (b, e)
            line.append("%s %s bytes, %s elements" % (
                name, fmt(b, "%.0f"), fmt(e, "%.1f")))
        slix = by.get("slixmpp")
        for name in R.regs:
            if name in by and slix and slix[0]:
                line.append("%s/slixmpp bytes %.2f" % (
                    name, by[name][0] / slix[0]))
        print("    %s %s: %s" % (wl, kind, "; ".join(line)))


def report_c2s_level(R, server, wl, lv, systems):
    def g_of(name):
        return R.group(server=server, workload=wl, level=lv, system=name,
                       phase="full")
    for sysname in systems:
        g = g_of(sysname)
        if not g:
            continue
        reg = kind_of(g[0]) == "registrar"
        hits = med(hit_ratio(r) for r in g)
        print("%-9s %-6s %-13s %9s %9s %8s %8s %6s %7s %7s %6s %6s %7s "
              "%6s %6s %5s" % (
                  wl, lv, sysname,
                  fmt(med(r["rt_per_s"] for r in g)),
                  fmt(med(okps(r) for r in g)),
                  fmt(med(r["p50_ms"] for r in g), "%.2f"),
                  fmt(med(r["p99_ms"] for r in g), "%.2f"),
                  fmt(med(r["errors"] for r in g), "%.0f"),
                  fmt(med(per_rt(r, "comp_cpu_s") for r in g), "%.1f"),
                  fmt(med(per_rt(r, "server_cpu_s") for r in g), "%.0f"),
                  fmt(med(per_rt(r, "db_backend_cpu_s") for r in g), "%.0f")
                  if reg else "-",
                  fmt(med(per_rt(r, "pg_cpu_s") for r in g), "%.0f"),
                  fmt(max(r["comp_hwm_kb"] for r in g) / 1024, "%.1f"),
                  fmt(max(r["db_hwm_kb"] for r in g) / 1024
                      if reg else None, "%.1f"),
                  fmt(med(r.get("ping", {}).get("p99_ms") for r in g),
                      "%.1f"),
                  fmt(100 * hits if hits is not None else None, "%.0f%%")))
    ech, slx = g_of("echo"), g_of("slixmpp")
    cpu = lambda r: per_rt(r, "comp_cpu_s")
    srv = lambda r: per_rt(r, "server_cpu_s")
    for name in R.regs:
        reg = g_of(name)
        if not reg:
            continue
        key = "%s %s %s" % (server, wl, lv)
        vals = {
            "ok/s": R.per_rep(reg, okps),
            "ok/s / echo's": rr(R, reg, ech, okps),
            "ok/s / slixmpp's": rr(R, reg, slx, okps),
            "%s CPU per rt / slixmpp's" % server: rr(R, reg, slx, srv),
            "comp CPU per rt / echo's": rr(R, reg, ech, cpu),
            "p99 / echo's": rr(R, reg, ech, lambda r: r["p99_ms"]),
            "db backend us per rt": R.per_rep(
                reg, lambda r: per_rt(r, "db_backend_cpu_s")),
            "pg cluster us per rt": R.per_rep(
                reg, lambda r: per_rt(r, "pg_cpu_s")),
            "cache hit ratio": R.per_rep(reg, hit_ratio),
        }
        want = {"%s CPU per rt / slixmpp's" % server: "down",
                "comp CPU per rt / echo's": "down", "p99 / echo's": "down",
                "db backend us per rt": "down",
                "pg cluster us per rt": "down"}
        for k, v in vals.items():
            R.figure("%s: %s" % (key, k), name, v, want.get(k, "up"))
        m = {k: med(v.values()) for k, v in vals.items()}
        print("  ratios %s %s %s: ok/s /echo %s (the ceiling: echo's %s "
              "ok/s), /slixmpp %s; %s CPU per rt /slixmpp's %s; comp CPU per "
              "rt /echo's %s; p99 /echo's %s%s" % (
                  wl, lv, name, fmt(m["ok/s / echo's"], "%.2f"),
                  fmt(med(okps(r) for r in ech), "%.0f"),
                  fmt(m["ok/s / slixmpp's"], "%.2f"), server,
                  fmt(m["%s CPU per rt / slixmpp's" % server], "%.2f"),
                  fmt(m["comp CPU per rt / echo's"], "%.2f"),
                  fmt(m["p99 / echo's"], "%.2f"),
                  "; cache hits %.1f%%" % (100 * m["cache hit ratio"])
                  if m["cache hit ratio"] is not None else ""))
        p = R.reg_label(name)
        if wl == "register":  # issue 11's
            R.verdict("%s%s %s %s: registrar/echo ok/s" % (p, server, wl, lv),
                      m["ok/s / echo's"], lambda v: v >= 0.9, ">= 0.9")
            R.verdict("%s%s %s %s: registrar/slixmpp ok/s"
                      % (p, server, wl, lv), m["ok/s / slixmpp's"],
                      lambda v: v >= 1.2, ">= 1.2")
        if wl == "getupdate" and server == "ejabberd":  # issue 19's
            R.verdict("%s%s %s %s: registrar/echo ok/s" % (p, server, wl, lv),
                      m["ok/s / echo's"], lambda v: v >= 0.5, ">= 0.5")
        if wl == "getupdate" and server == "prosody":  # issue 19's
            R.verdict("%s%s %s %s: registrar/slixmpp ok/s"
                      % (p, server, wl, lv), m["ok/s / slixmpp's"],
                      lambda v: v >= 0.9, ">= 0.9")
            R.verdict("%s%s %s %s: prosody CPU per rt, registrar/slixmpp"
                      % (p, server, wl, lv),
                      m["%s CPU per rt / slixmpp's" % server],
                      lambda v: v <= 1.2, "<= 1.2")
        R.verdict("%s%s %s %s: comp CPU per rt, registrar/echo"
                  % (p, server, wl, lv), m["comp CPU per rt / echo's"],
                  lambda v: v <= 2, "<= 2")
        if wl == "password":
            hash_s = R.meta.get("hash_ms", 0) / 1000
            cores = os.cpu_count()
            if hash_s:
                ceiling = cores / hash_s
                R.verdict("%s%s password %s: registrar ok/s / (cores/hash "
                          "%.1f/s)" % (p, server, lv, ceiling),
                          med(okps(r) for r in reg) / ceiling,
                          lambda v: v >= 0.9, ">= 0.9")
            R.verdict("%s%s password %s: registrar ping p99 ms"
                      % (p, server, lv),
                      med(r.get("ping", {}).get("p99_ms") for r in reg),
                      lambda v: v < 50, "< 50")
        if lv == "50x16":
            R.verdict("%s%s %s 50x16 (800 in flight): registrar peak RSS "
                      "MB" % (p, server, wl),
                      max(r["comp_hwm_kb"] for r in reg) / 1024,
                      lambda v: v < 10, "< 10")
            anon = [r["comp_anon_kb"] for r in reg if r.get("comp_anon_kb")]
            if anon:
                print("  %s %s 50x16: %s's own (anonymous) memory after the "
                      "runs: %.1f MB; the rest of its RSS is shared library "
                      "pages" % (server, wl, name, max(anon) / 1024))


def rr(R, a, b, fn):
    """{rep: a's fn / b's fn} of two groups of records."""
    pa, pb = R.per_rep(a, fn), R.per_rep(b, fn)
    return {k: pa[k] / pb[k] for k in pa if k in pb and pb[k]}


def report_half(R, server, systems):
    half = R.group(server=server, phase="half")
    if not half:
        return
    print("\n-- %s, register at half the ceiling's rate (ceiling = "
          "echo's median rt/s above)" % server)
    for lv in sorted({r["level"] for r in half}):
        row = []
        for sysname in systems:
            g = R.group(server=server, phase="half", level=lv, system=sysname)
            if not g:
                continue
            row.append("%s p99 %s ms (p50 %s, %s rt/s, %s ok/s)" % (
                sysname, fmt(med(r["p99_ms"] for r in g), "%.2f"),
                fmt(med(r["p50_ms"] for r in g), "%.2f"),
                fmt(med(r["rt_per_s"] for r in g), "%.0f"),
                fmt(med(okps(r) for r in g), "%.0f")))
        ech = R.group(server=server, phase="half", level=lv, system="echo")
        rate = med(r["rate_cap"] for r in ech)
        print("  %s @ %s/s: %s" % (lv, fmt(rate, "%.0f"), "; ".join(row)))
        for name in R.regs:
            reg = R.group(server=server, phase="half", level=lv, system=name)
            R.verdict("%s%s register %s at half the ceiling: p99 "
                      "registrar/echo" % (R.reg_label(name), server, lv),
                      R.ratio(reg, ech, "p99_ms"), lambda v: v < 2, "< 2")


def report_rss(R, server):
    """RSS once warm: registrar's RSS after each run, in the order run,
    the highest of the first third of its runs against the highest of
    the last third (within 1 MB)."""
    for name in R.regs:
        regs = [r for r in R.group(server=server, system=name)
                if r.get("comp_rss_kb")]
        if len(regs) < 3:
            continue
        third = len(regs) // 3
        first = max(r["comp_rss_kb"] for r in regs[:third]) / 1024
        last = max(r["comp_rss_kb"] for r in regs[-third:]) / 1024
        print("\n  %s RSS across the %s run (%d runs): %.1f MB after the "
              "first, at most %.1f MB over the first third, %.1f MB over "
              "the last third: %+.1f MB" % (
                  name, server, len(regs), regs[0]["comp_rss_kb"] / 1024,
                  first, last, last - first))
        R.verdict("%s%s: registrar RSS, last third of the runs - first "
                  "third, MB" % (R.reg_label(name), server), last - first,
                  lambda v: abs(v) <= 1, "within 1")
        R.figure("%s: RSS, last third - first third, MB" % server, name,
                 {0: last - first}, "flat")


def report_direct(R):
    d = R.group(phase="direct")
    if not d:
        return
    print("\n== direct mode (loadgen as the XEP-0114 server; every "
          "registration from a fresh JID) and pgbench, same cluster")
    print("%-13s %-6s %10s %10s %7s %8s %8s %11s %9s %9s %7s" % (
        "system", "level", "rt/s", "ok rows/s", "err", "p50 ms",
        "p99 ms", "comp us/reg", "pg us/reg", "db us/reg", "comp MB"))
    for sysname in sorted({r["system"] for r in d}, key=system_key):
        for lv in sorted({r["level"] for r in d if r["system"] == sysname}):
            g = [r for r in d if r["system"] == sysname and r["level"] == lv]
            pgb = kind_of(g[0]) == "pgbench"
            print("%-13s %-6s %10s %10s %7s %8s %8s %11s %9s %9s %7s" % (
                sysname, lv, fmt(med(r["rt_per_s"] for r in g)),
                fmt(med(okps(r) for r in g)),
                fmt(med(r.get("errors", 0) for r in g), "%.0f"),
                fmt(med(r.get("p50_ms") for r in g), "%.2f"),
                fmt(med(r.get("p99_ms") for r in g), "%.2f"),
                fmt(med(per_rt(r, "comp_cpu_s") for r in g), "%.1f")
                if not pgb else "-",
                fmt(med(per_rt(r, "pg_cpu_s") for r in g), "%.0f"),
                fmt(med(per_rt(r, "db_backend_cpu_s") for r in g), "%.0f")
                if kind_of(g[0]) in ("registrar", "pgbench") else "-",
                fmt(max(r["comp_hwm_kb"] for r in g) / 1024, "%.1f")
                if not pgb else "-"))
    ech = [r for r in d if r["system"] == "echo"]
    p10 = [r for r in d if r["system"] == "pgbench-10"]
    p1 = [r for r in d if r["system"] == "pgbench-1"]
    pgc = lambda r: per_rt(r, "pg_cpu_s")
    for name in R.regs:
        reg = [r for r in d if r["system"] == name]
        for lv in sorted({r["level"] for r in reg}):
            rl = [r for r in reg if r["level"] == lv]
            el = [r for r in ech if r["level"] == lv]
            print("  ratios %s %s: /echo %s, rows/s /pgbench-10 %s, "
                  "/pgbench-1 %s, PG CPU per row /pgbench-10 %s, "
                  "/pgbench-1 %s" % (
                      name, lv, fmt(R.ratio(rl, el, None, okps), "%.2f"),
                      fmt(R.ratio(rl, p10, None, okps), "%.2f"),
                      fmt(R.ratio(rl, p1, None, okps), "%.2f"),
                      fmt(R.ratio(rl, p10, None, pgc), "%.2f"),
                      fmt(R.ratio(rl, p1, None, pgc), "%.2f")))
            p = R.reg_label(name)
            R.verdict("%sdirect %s: registrar regs/s / pgbench ten-row "
                      "rows/s" % (p, lv), R.ratio(rl, p10, None, okps),
                      lambda v: v >= 0.7, ">= 0.7")
            R.verdict("%sdirect %s: DB CPU per registration / pgbench-10 "
                      "per row" % (p, lv), R.ratio(rl, p10, None, pgc),
                      lambda v: v <= 1.5, "<= 1.5")
            R.verdict("%sdirect %s: comp CPU per registration, registrar/"
                      "echo" % (p, lv), R.ratio(
                          rl, el, None, lambda r: per_rt(r, "comp_cpu_s")),
                      lambda v: v <= 2, "<= 2")
            R.figure("direct %s: registrations/s" % lv, name,
                     R.per_rep(rl, okps), "up")
            R.figure("direct %s: pg cluster us per registration" % lv, name,
                     R.per_rep(rl, pgc), "down")


def report_stmt(R):
    st = R.group(phase="stmt")
    if not st:
        return
    print("\n== the database's CPU per statement (direct mode: loadgen as "
          "the XEP-0114 server, so only registrar and PostgreSQL work), "
          "beside the floors: pgbench, %s clients, plain SQL on copies of "
          "the tables (no function, no trigger) plus one event row per "
          "write, one (floor-1) or ten (floor-10) per pipelined "
          "transaction" % R.meta.get("pgbench_clients", "?"))
    print("  db us/op: the CPU of the backends that served it (registrar's: "
          "application_name=registrar; pgbench's) per successful op; pg "
          "us/op: the whole cluster's (every postgres process)")
    print("%-15s %-6s %-13s %9s %8s %8s %8s %8s %8s %5s" % (
        "statement", "level", "system", "ok/s", "p99 ms", "db us/op",
        "pg us/op", "comp us", "ops/txn", "hits"))
    for workload, _, what in STMTS:
        for lv in sorted({r["level"] for r in st if r["workload"] == workload}):
            at = [r for r in st if r["workload"] == workload
                  and r["level"] == lv]
            for name in sorted({r["system"] for r in at}, key=system_key):
                g = [r for r in at if r["system"] == name]
                reg = kind_of(g[0]) == "registrar"
                hits = med(hit_ratio(r) for r in g)
                print("%-15s %-6s %-13s %9s %8s %8s %8s %8s %8s %5s%s" % (
                    what, lv, name, fmt(med(okps(r) for r in g)),
                    fmt(med(r.get("p99_ms") for r in g), "%.2f")
                    if reg else "-",
                    fmt(med(per_rt(r, "db_backend_cpu_s") for r in g),
                        "%.1f"),
                    fmt(med(per_rt(r, "pg_cpu_s") for r in g), "%.1f"),
                    fmt(med(per_rt(r, "comp_cpu_s") for r in g), "%.1f")
                    if reg else "-",
                    fmt(med(ops_per_txn(r) for r in g), "%.1f"),
                    fmt(100 * hits if hits is not None else None, "%.0f%%"),
                    "  (ended early: every row removed)"
                    if any(r.get("bounded") for r in g) else ""))
            f1 = [r for r in at if r["system"] == "floor-1"]
            f10 = [r for r in at if r["system"] == "floor-10"]
            db = lambda r: per_rt(r, "db_backend_cpu_s")
            pg = lambda r: per_rt(r, "pg_cpu_s")
            for name in R.regs:
                g = [r for r in at if r["system"] == name]
                if not g:
                    continue
                vals = {
                    "db backend us per op": (R.per_rep(g, db), "down"),
                    "db backend CPU / floor-1's": (rr(R, g, f1, db), "down"),
                    "db backend CPU / floor-10's": (rr(R, g, f10, db),
                                                    "down"),
                    "pg cluster us per op": (R.per_rep(g, pg), "down"),
                    "pg cluster CPU / floor-1's": (rr(R, g, f1, pg), "down"),
                    "pg cluster CPU / floor-10's": (rr(R, g, f10, pg),
                                                    "down"),
                    "ok/s": (R.per_rep(g, okps), "up"),
                }
                for k, (v, want) in vals.items():
                    R.figure("stmt %s %s: %s" % (what, lv, k), name, v, want)
                m = {k: med(v.values()) for k, (v, _) in vals.items()}
                print("  ratios %s %s %s: db backend CPU per op /floor-1's "
                      "%s, /floor-10's %s; pg cluster CPU per op /floor-1's "
                      "%s, /floor-10's %s" % (
                          what, lv, name,
                          fmt(m["db backend CPU / floor-1's"], "%.2f"),
                          fmt(m["db backend CPU / floor-10's"], "%.2f"),
                          fmt(m["pg cluster CPU / floor-1's"], "%.2f"),
                          fmt(m["pg cluster CPU / floor-10's"], "%.2f")))
                p = R.reg_label(name)
                if what == "update":  # issue 19's
                    R.verdict("%sstmt update %s: db backend CPU per op / "
                              "floor-10's" % (p, lv),
                              m["db backend CPU / floor-10's"],
                              lambda v: v <= 1.5, "<= 1.5")
                if what == "registered get":  # issue 19's: warm cache
                    R.verdict("%sstmt registered get %s: db backend us per "
                              "op" % (p, lv), m["db backend us per op"],
                              lambda v: v < 1, "< 1, none")


def report_compare(R):
    """run.sh --compare: every figure of the two registrars side by side,
    with new/old (the median of the per-repetition ratios)."""
    old = R.meta.get("compare_old", "registrar-old")
    new = R.meta.get("compare_new", "registrar-new")
    if old not in R.regs or new not in R.regs:
        return
    print("\n== %s vs %s, side by side (same servers, same cluster, "
          "alternated; better: which way is better)" % (new, old))
    print("  old: %s\n  new: %s" % (R.meta.get(old, old),
                                    R.meta.get(new, new)))
    print("  old, new: the medians of the repetitions; new/old: the median "
          "of the per-repetition\n  new/old (not the quotient of the two "
          "medians); a drift (RSS): new - old")
    print("%-66s %10s %10s %8s  %s" % ("figure", "old", "new", "new/old",
                                       "better"))
    for name, (want, by) in R.figures.items():
        if old not in by and new not in by:
            continue
        a, b = by.get(old, {}), by.get(new, {})
        ma, mb = med(a.values()), med(b.values())
        if want == "flat":
            cmp_ = fmt(mb - ma if ma is not None and mb is not None
                       else None, "%+.2f")
        else:
            cmp_ = fmt(R.rep_ratio(b, a), "%.2f")
        spec = "%.3f" if (ma or mb or 0) < 10 else "%.1f"
        print("%-66s %10s %10s %8s  %s" % (
            name[:66], fmt(ma, spec), fmt(mb, spec), cmp_,
            {"up": "higher", "down": "lower",
             "flat": "nearer 0 (diff)"}[want]))


def report_instances(rs, ratio):
    """run.sh --instances: each system's medians, its ok/s as a ratio to
    one instance and to echo (per repetition), and where the CPU went:
    seconds per run of each registrar process, of ejabberd (beam.smp),
    of the PostgreSQL cluster and of the load generator, and the share of
    the machine's cores that each used over the run."""
    if not rs:
        return
    cores = os.cpu_count() or 1
    for server in sorted({r["server"] for r in rs}):
        srv = [r for r in rs if r["server"] == server]
        print("\n== %s: registrar instances on one JID (ejabberd "
              "domain_balancing bare_source, component_number N), register "
              "workload; median of the repetitions" % server)
        print("%-6s %-13s %9s %8s %7s %8s %8s %6s | %-28s %7s %7s %7s %7s"
              % ("level", "system", "ok/s", "x one", "/echo", "p50 ms",
                 "p99 ms", "err", "CPU s: registrar (each)", "ejabb",
                 "pg", "loadgen", "wall"))
        for lv in sorted({r["level"] for r in srv},
                         key=lambda l: [int(x) for x in l.split("x")]):
            at = [r for r in srv if r["level"] == lv]
            names = sorted({r["system"] for r in at},
                           key=lambda n: (n != "echo", n))
            one = [r for r in at if r.get("instances") == 1]
            ech = [r for r in at if r["system"] == "echo"]
            for name in names:
                g = [r for r in at if r["system"] == name]
                each = ""
                if any("comp_cpu_each_s" in r for r in g):
                    k = max(len(r.get("comp_cpu_each_s", [])) for r in g)
                    each = " (%s)" % "+".join(
                        fmt(med(r["comp_cpu_each_s"][i] for r in g
                                if len(r.get("comp_cpu_each_s", [])) > i),
                            "%.2f") for i in range(k))
                print("%-6s %-13s %9s %8s %7s %8s %8s %6s | %-28s %7s %7s "
                      "%7s %7s" % (
                          lv, name, fmt(med(okps(r) for r in g)),
                          fmt(ratio(g, one, None, okps), "%.2f")
                          if one and name != "echo" else "-",
                          fmt(ratio(g, ech, None, okps), "%.2f")
                          if name != "echo" else "-",
                          fmt(med(r["p50_ms"] for r in g), "%.2f"),
                          fmt(med(r["p99_ms"] for r in g), "%.2f"),
                          fmt(med(r["errors"] for r in g), "%.0f"),
                          fmt(med(r["comp_cpu_s"] for r in g), "%.2f") + each,
                          fmt(med(r["server_cpu_s"] for r in g), "%.2f"),
                          fmt(med(r["pg_cpu_s"] for r in g), "%.2f"),
                          fmt(med(r.get("client_cpu_s") for r in g), "%.2f"),
                          fmt(med(r["wall_s"] for r in g), "%.2f")))
            print("  share of the %d cores over each run (CPU s / (wall s x "
                  "cores)), medians:" % cores)
            for name in names:
                g = [r for r in at if r["system"] == name]

                def share(key):
                    return fmt(med(100 * (r.get(key) or 0)
                                   / (r["wall_s"] * cores) for r in g),
                               "%.0f%%")
                print("    %-13s %s %s, ejabberd %s, postgres %s, loadgen "
                      "%s, idle or others %s" % (
                          name, "echo" if name == "echo" else "registrar",
                          share("comp_cpu_s"), share("server_cpu_s"),
                          share("pg_cpu_s"), share("client_cpu_s"),
                          fmt(med(100 - 100 * sum(
                              r.get(k) or 0 for k in
                              ("comp_cpu_s", "server_cpu_s", "pg_cpu_s",
                               "client_cpu_s")) / (r["wall_s"] * cores)
                              for r in g), "%.0f%%")))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv):
    if len(argv) >= 3 and argv[1] in ("c2s", "direct", "instances"):
        with open(argv[2]) as f:
            cfg = json.load(f)
        {"c2s": run_c2s, "direct": run_direct,
         "instances": run_instances}[argv[1]](cfg)
    elif len(argv) >= 4 and argv[1] == "report":
        with open(argv[2]) as f:
            meta = json.load(f)
        report(argv[3:], meta)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
