"""systemd's notification protocol: registrar run with NOTIFY_SOCKET (an
AF_UNIX datagram socket bound here) says READY=1 only once attached,
STATUS= lines while it cannot attach, WATCHDOG=1 as often as asked, and
STOPPING=1 on SIGTERM (then exits 0)."""

import os
import re
import signal
import socket
import tempfile
import time
import unittest

from e2e import env
from net import closed_port
from registrar import Registrar


class NotifyTest(unittest.TestCase):
    runs = 0

    def run_with_socket(self, conf_path, seconds, stop=True):
        """Runs registrar (registrar.Registrar) with the config of conf_path
        for seconds with NOTIFY_SOCKET; returns the datagrams as (time,
        text) and its exit status."""
        d = tempfile.mkdtemp(prefix="e2e-notify-")
        path = os.path.join(d, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.1)
        envv = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
        envv.pop("WATCHDOG_PID", None)
        with open(conf_path, encoding="utf-8") as f:
            conf = f.read()
        NotifyTest.runs += 1
        start = time.time()
        proc = Registrar("notify-run%d" % NotifyTest.runs, conf, env=envv,
                         wrapper=env("REGISTRAR_WRAPPER", ""))
        got = []
        try:
            while time.time() - start < seconds:
                try:
                    got.append((time.time() - start,
                                sock.recv(4096).decode()))
                except socket.timeout:
                    pass
            proc.signal(signal.SIGTERM)
            end = time.time() + 15
            while time.time() < end and proc.alive():
                try:
                    got.append((time.time() - start,
                                sock.recv(4096).decode()))
                except socket.timeout:
                    pass
            rc = proc.wait_exit(15)
        finally:
            if proc.alive():
                proc.stop(0)
            sock.close()
            os.unlink(path)
            os.rmdir(d)
        return got, rc

    def test_ready_only_when_attached(self):
        got, rc = self.run_with_socket(env("NOTIFY_CONF"), 4)
        texts = [t for _, t in got]
        self.assertIn("READY=1", texts, texts)
        ready = texts.index("READY=1")
        self.assertTrue(any(t.startswith("STATUS=attached") for t in
                            texts[:ready + 1]),
                        "attached before READY=1: %r" % texts)
        dogs = [t for t in texts if t == "WATCHDOG=1"]
        self.assertGreaterEqual(len(dogs), 5,
                                "WATCHDOG=1 every 0.5 s: %r" % texts)
        self.assertIn("STOPPING=1", texts)
        self.assertEqual(rc, 0)

    def test_no_ready_while_server_unreachable(self):
        with open(env("NOTIFY_CONF"), encoding="utf-8") as f:
            conf = f.read()
        conf = re.sub(r"port\s*=\s*\d+", "port   = %d" % closed_port(),
                      conf, count=1)
        fd, path = tempfile.mkstemp(prefix="e2e-notify-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(conf)
        try:
            got, rc = self.run_with_socket(path, 3)
        finally:
            os.unlink(path)
        texts = [t for _, t in got]
        self.assertNotIn("READY=1", texts, texts)
        self.assertTrue(any(t.startswith("STATUS=not attached: reconnecting")
                            for t in texts), texts)
        self.assertEqual(rc, 0)
