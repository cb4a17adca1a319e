#!/usr/bin/python3
"""tests/bench/bench.py: the measuring half of tests/bench/run.sh.

run.sh starts the servers and the three systems; this runs the matrix and
prints the figures.  Every run of the load generator is one record (a JSON
line in RESULTS): the loadgen's own line, plus what the /proc files said
about the processes during that run:

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
                  the client backends of database "registrar" alive
                  across the run (pg_stat_activity): registrar's own
                  connections; their summed peak RSS
  client_cpu_s    the load generator (or pgbench) itself: the children's
                  rusage of this process across the run

Commands:
  bench.py c2s CONFIG      the matrix through the server
  bench.py direct CONFIG   direct mode and pgbench, alternated
  bench.py instances CONFIG
                           registrar with 1, 2, 3 ... processes on one
                           JID each (run.sh --instances), alternated with
                           the echo component, register workload
  bench.py report META RESULTS...
                           the table, the medians and every ratio

CONFIG is a JSON file written by run.sh.  Systems are alternated: in
repetition r the order of the systems is rotated by r.  A benchmark: it
prints figures and asserts nothing.
"""

import json
import os
import resource
import platform
import re
import statistics
import subprocess
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


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


# ---------------------------------------------------------------- runs

class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.out = open(cfg["results"], "a")

    def psql(self, sql):
        pg = self.cfg["pg"]
        r = subprocess.run(
            [pg["psql"], "-X", "-At", "-h", "127.0.0.1", "-p", str(pg["port"]),
             "-U", "postgres", "-d", "registrar", "-c", sql],
            capture_output=True, text=True, timeout=30)
        return r.stdout.split()

    def db_backends(self):
        return [int(p) for p in self.psql(
            "SELECT pid FROM pg_stat_activity WHERE datname = 'registrar'"
            " AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid()")]

    def measured(self, cmd, comp_pid, timeout, parse):
        """Runs cmd, measuring around it; the record parse() makes of its
        output, with the measures added (None when it failed).  comp_pid:
        the component's PID, a list of them (instances of one system), or
        None."""
        pm = self.cfg["pg"]["pid"]
        server = self.cfg.get("server_pid")
        comps = (list(comp_pid) if isinstance(comp_pid, (list, tuple))
                 else [comp_pid] if comp_pid else [])
        backends = self.db_backends()
        for p in backends + comps:
            reset_peak(p)
        c0 = [cpu_s(p) for p in comps]
        s0 = cpu_s(server) if server else 0
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        g0 = cluster_ticks(pm)
        b0 = {p: ticks(p) for p in backends}
        n0 = len(children_of(pm))
        t0 = time.time()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            print("bench: timed out: %s" % " ".join(cmd), file=sys.stderr)
            return None
        wall = time.time() - t0
        # backends that the run opened (pgbench's) must have exited and
        # been reaped, their CPU folded into the postmaster's cutime
        # (a zombie's own counters read as nothing): 5 s at most
        end = time.time() + 5
        while len(children_of(pm)) > n0 and time.time() < end:
            time.sleep(0.05)
        c1 = [cpu_s(p) for p in comps]
        s1 = cpu_s(server) if server else 0
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        g1 = cluster_ticks(pm)
        b1 = {p: ticks(p) for p in backends}
        rec = parse(r.stdout)
        if rec is None:
            print("bench: no result from %s\n%s" % (" ".join(cmd),
                                                    r.stderr[-2000:]),
                  file=sys.stderr)
            return None
        for line in r.stderr.splitlines():
            if "first error" in line or "closed" in line:
                print("  " + line[:300], file=sys.stderr)
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
            "db_backend_cpu_s": sum(b1[p] - b0[p] for p in backends
                                    if p in b1) / TCK,
            "db_hwm_kb": sum(status_kb(p, "VmHWM") for p in backends),
        })
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
                phase="full"):
        cfg = self.cfg
        n, w = level
        pw = workload == "password"
        jid = system["pw_jid"] if pw else system["jid"]
        pid = system["pw_pid"] if pw else system.get("pids") or system["pid"]
        cmd = [cfg["loadgen"], "--sessions", str(n), "--window", str(w),
               "--workload", workload, "--duration", str(cfg["duration"]),
               "--warmup", str(cfg["warmup"]), "--label", system["name"]]
        if direct:
            cmd += ["--direct", str(direct["port"]), direct["secret"], jid,
                    "--tag", "d%d-%s-%d" % (os.getpid(), system["name"], rep)]
        else:
            cmd += ["--port", str(cfg["c2s_port"]), "--to", jid,
                    "--password", cfg["password"]]
            if pw:
                cmd += ["--ping-to", jid]
        if rate:
            cmd += ["--rate", "%.0f" % rate]
        timeout = cfg["warmup"] + cfg["duration"] + 120

        def parse(out):
            lines = [l for l in out.splitlines() if l.startswith("{")]
            return json.loads(lines[-1]) if lines else None
        rec = self.measured(cmd, pid, timeout, parse)
        if rec is None:
            return None
        self.save(rec, system=system["name"], level="%dx%d" % level,
                  rep=rep, phase=phase, server=cfg.get("server", "none"),
                  instances=system.get("instances"))
        print("  %-8s %-9s %-9s %-6s rep %d: %8.1f rt/s  p50 %7.2f ms  "
              "p99 %8.2f ms  err %d  comp %.2fs  pg %.2fs%s" % (
                  cfg.get("server", "direct"), workload, system["name"],
                  "%dx%d" % level, rep, rec["rt_per_s"], rec["p50_ms"],
                  rec["p99_ms"], rec["errors"], rec["comp_cpu_s"],
                  rec["pg_cpu_s"],
                  "  @%.0f/s" % rate if rate else ""), flush=True)
        return rec

    def pgbench(self, script, rows, rep):
        cfg = self.cfg
        pg = cfg["pg"]
        cmd = [pg["pgbench"], "-n", "-h", "127.0.0.1", "-p", str(pg["port"]),
               "-U", "postgres", "-c", str(cfg["pgbench_clients"]), "-j", "1",
               "-M", "prepared", "-T", str(int(round(cfg["duration"]))),
               "-f", script, "registrar"]

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
                    "ok_all": int(tx.group(1)) * rows}
        rec = self.measured(cmd, None, cfg["duration"] + 60, parse)
        if rec is None:
            return None
        name = "pgbench-%d" % rows
        self.save(rec, system=name, level="c%d" % cfg["pgbench_clients"],
                  rep=rep, phase="direct", workload="register",
                  server="none")
        print("  %-8s %-9s %-9s %-6s rep %d: %8.1f rows/s  pg %.2fs" % (
            "pgbench", "upsert", name, "c%d" % cfg["pgbench_clients"], rep,
            rec["rt_per_s"], rec["pg_cpu_s"]), flush=True)
        return rec


def levels_of(cfg):
    return [tuple(int(x) for x in l.split("x")) for l in cfg["levels"]]


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
    here = os.path.dirname(os.path.abspath(__file__))
    for level in levels_of(cfg):
        for rep in range(cfg["reps"]):
            jobs = [("sys", s) for s in cfg["systems"]] + \
                [("pgb", 1), ("pgb", 10)]
            for kind, what in rotate(jobs, rep):
                if kind == "sys":
                    b.loadgen(what, "register", level, rep,
                              direct=what["direct"], phase="direct")
                else:
                    b.pgbench(os.path.join(here, "pgbench",
                                           "one.sql" if what == 1
                                           else "ten.sql"), what, rep)


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


def report(paths, meta):
    rs = []
    for p in paths:
        rs += read_results(p)
    print()
    print("registrar benchmark (tests/bench/run.sh), %s" % meta.get("date"))
    print("machine: %s cores, %s; %s" % (os.cpu_count(), cpu_model(),
                                         platform.platform()))
    for k in ("registrar", "servers", "reps", "duration", "hash_ms",
              "hash_cost", "pgbench_clients", "instances"):
        if k in meta:
            print("  %s: %s" % (k, meta[k]))
    print("medians of the repetitions; ratios are the median of the "
          "per-repetition ratios (systems alternated in each repetition)")

    def group(**kw):
        return [r for r in rs if all(r.get(k) == v for k, v in kw.items())]

    def ratio(a_rs, b_rs, key, fn=None):
        """Median over repetitions of a[key]/b[key] (same rep)."""
        fn = fn or (lambda r: r.get(key))
        by = {}
        for r in a_rs:
            by.setdefault(r["rep"], [None, None])[0] = fn(r)
        for r in b_rs:
            by.setdefault(r["rep"], [None, None])[1] = fn(r)
        vals = [a / b for a, b in by.values() if a is not None and b]
        return statistics.median(vals) if vals else None

    verdicts = []

    def verdict(name, value, ok, target):
        mark = "-" if value is None else ("MEETS" if ok(value) else "MISSES")
        verdicts.append("  %-62s %8s  (target %s)  %s" % (
            name, fmt(value, "%.2f"), target, mark))

    servers = sorted({r.get("server") for r in rs
                      if r.get("mode") == "c2s" and r.get("phase") != "instances"})
    systems = ["echo", "slixmpp", "registrar"]
    for server in servers:
        print("\n== through %s (c2s): median of the repetitions" % server)
        print("%-9s %-6s %-9s %9s %9s %8s %8s %6s %8s %8s %8s %8s %7s %7s" % (
            "workload", "level", "system", "rt/s", "ok/s", "p50 ms", "p99 ms",
            "err", "comp us", "srv us", "pg us", "comp MB", "db MB", "ping99"))
        workloads = []
        for r in rs:
            if r.get("server") == server and r["workload"] not in workloads:
                workloads.append(r["workload"])
        for wl in workloads:
            levels = []
            for r in group(server=server, workload=wl, phase="full"):
                if r["level"] not in levels:
                    levels.append(r["level"])
            for lv in levels:
                for sysname in systems:
                    g = group(server=server, workload=wl, level=lv,
                              system=sysname, phase="full")
                    if not g:
                        continue
                    print("%-9s %-6s %-9s %9s %9s %8s %8s %6s %8s %8s %8s "
                          "%8s %7s %7s" % (
                              wl, lv, sysname,
                              fmt(med(r["rt_per_s"] for r in g)),
                              fmt(med(okps(r) for r in g)),
                              fmt(med(r["p50_ms"] for r in g), "%.2f"),
                              fmt(med(r["p99_ms"] for r in g), "%.2f"),
                              fmt(med(r["errors"] for r in g), "%.0f"),
                              fmt(med(per_rt(r, "comp_cpu_s") for r in g),
                                  "%.1f"),
                              fmt(med(per_rt(r, "server_cpu_s") for r in g),
                                  "%.0f"),
                              fmt(med(per_rt(r, "pg_cpu_s") for r in g),
                                  "%.0f"),
                              fmt(max(r["comp_hwm_kb"] for r in g) / 1024,
                                  "%.1f"),
                              fmt(max(r["db_hwm_kb"] for r in g) / 1024
                                  if sysname == "registrar" else None, "%.1f"),
                              fmt(med(r.get("ping", {}).get("p99_ms")
                                      for r in g), "%.1f")))
                ech = group(server=server, workload=wl, level=lv,
                            system="echo", phase="full")
                reg = group(server=server, workload=wl, level=lv,
                            system="registrar", phase="full")
                slx = group(server=server, workload=wl, level=lv,
                            system="slixmpp", phase="full")
                cpu = lambda r: per_rt(r, "comp_cpu_s")
                print("  ratios %s %s: registrar/echo ok/s %s, "
                      "registrar/slixmpp ok/s %s, p99 registrar/echo %s, "
                      "comp CPU/rt registrar/echo %s" % (
                          wl, lv, fmt(ratio(reg, ech, None, okps), "%.2f"),
                          fmt(ratio(reg, slx, None, okps), "%.2f"),
                          fmt(ratio(reg, ech, "p99_ms"), "%.2f"),
                          fmt(ratio(reg, ech, None, cpu), "%.2f")))
                if wl == "register":
                    verdict("%s register %s: registrar/echo ok/s" % (server, lv),
                            ratio(reg, ech, None, okps), lambda v: v >= 0.9,
                            ">= 0.9")
                    verdict("%s register %s: registrar/slixmpp ok/s"
                            % (server, lv), ratio(reg, slx, None, okps),
                            lambda v: v >= 1.2, ">= 1.2")
                verdict("%s %s %s: comp CPU per rt, registrar/echo"
                        % (server, wl, lv), ratio(reg, ech, None, cpu),
                        lambda v: v <= 2, "<= 2")
                if wl == "password":
                    hash_s = meta.get("hash_ms", 0) / 1000
                    cores = os.cpu_count()
                    if hash_s:
                        ceiling = cores / hash_s
                        verdict("%s password %s: registrar ok/s / "
                                "(cores/hash %.1f/s)" % (server, lv, ceiling),
                                med(okps(r) for r in reg) / ceiling
                                if reg else None,
                                lambda v: v >= 0.9, ">= 0.9")
                    verdict("%s password %s: registrar ping p99 ms"
                            % (server, lv),
                            med(r.get("ping", {}).get("p99_ms") for r in reg),
                            lambda v: v < 50, "< 50")
                if lv == "50x16":
                    verdict("%s %s 50x16 (800 in flight): registrar peak RSS "
                            "MB" % (server, wl),
                            max(r["comp_hwm_kb"] for r in reg) / 1024
                            if reg else None, lambda v: v < 10, "< 10")
                    anon = [r["comp_anon_kb"] for r in reg
                            if r.get("comp_anon_kb")]
                    if anon:
                        print("  %s %s 50x16: registrar's own (anonymous) "
                              "memory after the runs: %.1f MB; the rest of "
                              "its RSS is shared library pages"
                              % (server, wl, max(anon) / 1024))
        half = group(server=server, phase="half")
        if half:
            print("\n-- %s, register at half the ceiling's rate (ceiling = "
                  "echo's median rt/s above)" % server)
            for lv in sorted({r["level"] for r in half}):
                row = []
                for sysname in systems:
                    g = group(server=server, phase="half", level=lv,
                              system=sysname)
                    row.append("%s p99 %s ms (p50 %s, %s rt/s, %s ok/s)" % (
                        sysname, fmt(med(r["p99_ms"] for r in g), "%.2f"),
                        fmt(med(r["p50_ms"] for r in g), "%.2f"),
                        fmt(med(r["rt_per_s"] for r in g), "%.0f"),
                        fmt(med(okps(r) for r in g), "%.0f")))
                ech = group(server=server, phase="half", level=lv,
                            system="echo")
                reg = group(server=server, phase="half", level=lv,
                            system="registrar")
                rate = med(r["rate_cap"] for r in ech)
                print("  %s @ %s/s: %s" % (lv, fmt(rate, "%.0f"),
                                           "; ".join(row)))
                verdict("%s register %s at half the ceiling: p99 "
                        "registrar/echo" % (server, lv),
                        ratio(reg, ech, "p99_ms"), lambda v: v < 2, "< 2")
        regs = [r for r in group(server=server, system="registrar")
                if r.get("comp_rss_kb")]
        if len(regs) >= 2:
            drift = (regs[-1]["comp_rss_kb"] - regs[0]["comp_rss_kb"]) / 1024
            print("\n  registrar RSS across the %s run: %.1f MB after the "
                  "first load, %.1f MB after the last (%d runs)" % (
                      server, regs[0]["comp_rss_kb"] / 1024,
                      regs[-1]["comp_rss_kb"] / 1024, len(regs)))
            late = [r["comp_rss_kb"] / 1024 for r in regs[len(regs) // 2:]]
            print("  registrar RSS over the second half of the runs: "
                  "%.1f to %.1f MB" % (min(late), max(late)))
            verdict("%s: registrar RSS drift, first run to last, MB" % server,
                    drift, lambda v: abs(v) <= 1, "within 1")
            verdict("%s: registrar RSS range, second half of the runs, MB"
                    % server, max(late) - min(late), lambda v: v <= 1,
                    "within 1")

    report_instances(group(phase="instances"), ratio)

    d = group(phase="direct")
    if d:
        print("\n== direct mode (loadgen as the XEP-0114 server; every "
              "registration from a fresh JID) and pgbench, same cluster")
        print("%-12s %-6s %10s %10s %7s %8s %8s %11s %9s %9s %7s" % (
            "system", "level", "rt/s", "ok rows/s", "err", "p50 ms",
            "p99 ms", "comp us/reg", "pg us/reg", "db us/reg", "comp MB"))
        for sysname in ["echo", "slixmpp", "registrar", "pgbench-1",
                        "pgbench-10"]:
            for lv in sorted({r["level"] for r in d if r["system"] == sysname}):
                g = [r for r in d if r["system"] == sysname
                     and r["level"] == lv]
                print("%-12s %-6s %10s %10s %7s %8s %8s %11s %9s %9s %7s" % (
                    sysname, lv, fmt(med(r["rt_per_s"] for r in g)),
                    fmt(med(okps(r) for r in g)),
                    fmt(med(r.get("errors", 0) for r in g), "%.0f"),
                    fmt(med(r.get("p50_ms") for r in g), "%.2f"),
                    fmt(med(r.get("p99_ms") for r in g), "%.2f"),
                    fmt(med(per_rt(r, "comp_cpu_s") for r in g), "%.1f")
                    if not sysname.startswith("pgb") else "-",
                    fmt(med(per_rt(r, "pg_cpu_s") for r in g), "%.0f"),
                    fmt(med(per_rt(r, "db_backend_cpu_s") for r in g), "%.0f")
                    if sysname == "registrar" else "-",
                    fmt(max(r["comp_hwm_kb"] for r in g) / 1024, "%.1f")
                    if not sysname.startswith("pgb") else "-"))
        reg = [r for r in d if r["system"] == "registrar"]
        ech = [r for r in d if r["system"] == "echo"]
        p10 = [r for r in d if r["system"] == "pgbench-10"]
        p1 = [r for r in d if r["system"] == "pgbench-1"]
        for lv in sorted({r["level"] for r in reg}):
            rl = [r for r in reg if r["level"] == lv]
            el = [r for r in ech if r["level"] == lv]
            pgc = lambda r: per_rt(r, "pg_cpu_s")
            print("  ratios %s: registrar/echo %s, registrar/pgbench-10 rows/s "
                  "%s, registrar/pgbench-1 rows/s %s, PG CPU per row "
                  "registrar/pgbench-10 %s, /pgbench-1 %s" % (
                      lv, fmt(ratio(rl, el, None, okps), "%.2f"),
                      fmt(ratio(rl, p10, None, okps), "%.2f"),
                      fmt(ratio(rl, p1, None, okps), "%.2f"),
                      fmt(ratio(rl, p10, None, pgc), "%.2f"),
                      fmt(ratio(rl, p1, None, pgc), "%.2f")))
            verdict("direct %s: registrar regs/s / pgbench ten-row rows/s" % lv,
                    ratio(rl, p10, None, okps), lambda v: v >= 0.7, ">= 0.7")
            verdict("direct %s: DB CPU per registration / pgbench-10 per row"
                    % lv, ratio(rl, p10, None, pgc), lambda v: v <= 1.5,
                    "<= 1.5")
            verdict("direct %s: comp CPU per registration, registrar/echo"
                    % lv, ratio(rl, el, None, lambda r: per_rt(r, "comp_cpu_s")),
                    lambda v: v <= 2, "<= 2")
    if verdicts:
        print("\n== targets (ratios inside this run)")
        for v in verdicts:
            print(v)


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
