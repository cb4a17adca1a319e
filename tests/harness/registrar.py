"""tests/harness/registrar.py: registrar as the Python suites drive it.

One process class for every suite (tests/e2e, tests/faults, tests/ha), as
PgBouncer's test/utils.py has its Bouncer: Registrar writes a config,
starts the binary (optionally under a wrapper such as valgrind), keeps its
output in NAME.log and in memory with arrival times, waits for log lines,
and stops it with SIGTERM, reporting the exit status.

Configurations come from tests/fixtures (see its README): conf_text()
joins component.conf and SERVICE.conf (or takes SERVICE.conf alone when it
holds its own titled component sections) and fills in the @PLACEHOLDERS@.
SERVICE may name several fixtures joined by "+" (bench+bench_pw: the
titled services of both, in that order, in one file).

Environment (set by tests/harness/suite.sh):
  REGISTRAR_BIN        the binary
  SUITE_WORK           the run's directory (configs, logs)
  SUITE_PIDS           "PID MARKER" per process started here; the
                       driver's trap stops the ones still running
  XMPP_COMPONENT_PORT, REGISTRAR_CONNINFO, XMPP_DOMAIN   defaults for
                       the placeholders

Command line (used by suite.sh):
  registrar.py conf SERVICE [KEY=VALUE ...]   the config text on stdout
                                              (tests/harness/suite.sh's
                                              suite_conf)
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
PLACEHOLDER = re.compile(r"@([A-Z][A-Z_]*)@")


def _env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise KeyError("environment variable %s is not set (run the suite "
                       "through its run.sh)" % name)
    return value


def conf_text(service, **values):
    """The config of tests/fixtures/SERVICE.conf, with component.conf in
    front and every @KEY@ replaced by values[KEY] (str() of it). The slots
    COMPONENT and REGISTRATION (extra lines) default to empty, LOG_LEVEL
    to info; XMPP_PORT, CONNINFO and XMPP_DOMAIN to the run's environment.
    A placeholder left without a value is an error. "A+B": the fixtures A
    and B one after the other (titled services: no component.conf)."""
    vals = {"COMPONENT": "", "REGISTRATION": "", "LOG_LEVEL": "info"}
    for key, var in (("XMPP_PORT", "XMPP_COMPONENT_PORT"),
                     ("CONNINFO", "REGISTRAR_CONNINFO"),
                     ("XMPP_DOMAIN", "XMPP_DOMAIN")):
        if var in os.environ:
            vals[key] = os.environ[var]
    vals.update({k: str(v) for k, v in values.items()})
    own = ""
    for part in service.split("+"):
        with open(os.path.join(FIXTURES, part + ".conf"),
                  encoding="utf-8") as f:
            own += f.read()
    # a fixture of titled 'component "JID" { }' sections is a whole file
    # (the two forms cannot be mixed)
    text = own
    if not re.search(r'^\s*component\s+"', own, re.M):
        with open(os.path.join(FIXTURES, "component.conf"),
                  encoding="utf-8") as f:
            text = f.read() + own

    def fill(m):
        if m.group(1) not in vals:
            raise KeyError("fixture %s: no value for @%s@"
                           % (service, m.group(1)))
        return vals[m.group(1)]
    return PLACEHOLDER.sub(fill, text)


def note_pid(pid, marker):
    """Lists pid in SUITE_PIDS, so that the driver's trap stops it (when its
    command line still contains marker) if the test does not."""
    path = os.environ.get("SUITE_PIDS")
    if path:
        with open(path, "a") as f:
            f.write("%d %s\n" % (pid, marker))


class Registrar:
    """A registrar process. conf_text is written to DIR/NAME.conf (DIR:
    workdir, default SUITE_WORK); its output (stdout and stderr) goes to
    DIR/NAME.log and to memory, each line with the wall-clock time it was
    read. env: the process's environment (default ours); wrapper: a
    command line to run it under (e.g. "valgrind --error-exitcode=99")."""

    def __init__(self, name, conf_text, workdir=None, env=None, wrapper=""):
        self.name = name
        workdir = workdir or _env("SUITE_WORK")
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.conf_path, "w") as f:
            f.write(conf_text)
        self.lines = []          # (arrival time, line)
        self.cond = threading.Condition()
        self.rc = None
        self.started = time.time()
        self.proc = subprocess.Popen(
            (wrapper or "").split()
            + [_env("REGISTRAR_BIN"), "--config", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env)
        note_pid(self.proc.pid, self.conf_path)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w", encoding="utf-8") as log, \
                self.proc.stdout:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self.cond:
                    self.lines.append((time.time(), line))
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def mark(self):
        """An index into the log: wait_for(..., since=mark) looks after it."""
        with self.cond:
            return len(self.lines)

    def matching(self, pattern, since=0):
        rx = re.compile(pattern)
        with self.cond:
            return [(t, l) for t, l in self.lines[since:] if rx.search(l)]

    def wait_for(self, pattern, timeout, since=0):
        """(arrival time, line) of the first line after since matching
        pattern, waiting up to timeout seconds; None when none came (or
        the process ended)."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.lines):
                    t, l = self.lines[i]
                    i += 1
                    if rx.search(l):
                        return t, l
                left = deadline - time.time()
                if left <= 0:
                    return None
                if self.proc.poll() is not None and not self.reader.is_alive():
                    return None
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reader.join(5)
        return self.rc

    def stop(self, timeout=15):
        """SIGTERM; the exit status (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait(10)
                self.reader.join(5)
                self.rc = None
                return None
        else:
            self.rc = self.proc.returncode
        self.reader.join(5)
        return self.rc

    def tail(self, n=40):
        with self.cond:
            return "\n".join(l for _, l in self.lines[-n:])


def main(argv):
    if len(argv) >= 3 and argv[1] == "conf":
        values = {}
        for arg in argv[3:]:
            key, sep, value = arg.partition("=")
            if not sep:
                print("registrar.py conf: %r is not KEY=VALUE" % arg,
                      file=sys.stderr)
                return 64
            values[key] = value
        try:
            sys.stdout.write(conf_text(argv[2], **values))
        except (KeyError, OSError) as e:
            print("registrar.py conf: %s" % e, file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
