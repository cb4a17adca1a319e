"""SIGHUP: the "reload" registrar (run.sh) re-reads its file; a good file
takes effect at once, a bad one is refused with FILE:LINE: reason and the
running configuration is kept."""

import os
import signal
import time

from e2e import E2ETestCase, env, form_of, register_query


class ReloadTest(E2ETestCase):
    SERVICE_ENV = "RELOAD_JID"

    def title(self, client):
        reply = self.send(client, "get", register_query())
        self.assertResult(reply, "get")
        return form_of(reply).findtext("{jabber:x:data}title")

    def wait_log(self, needle, since, timeout=10):
        path = env("RELOAD_LOG")
        end = time.time() + timeout
        while time.time() < end:
            with open(path, encoding="utf-8") as f:
                text = f.read()[since:]
            if needle in text:
                return text
            time.sleep(0.1)
        self.fail("%r not in %s within %d s:\n%s" % (needle, path, timeout,
                                                     text[-2000:]))

    def test_reload_good_then_bad(self):
        path, pid = env("RELOAD_CONF"), int(env("RELOAD_PID"))
        with open(path, encoding="utf-8") as f:
            original = f.read()
        c = self.client("p15")
        self.assertEqual(self.title(c), "Contest Registration")
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace('"Contest Registration"',
                                         '"Reloaded Title"'))
            since = os.path.getsize(env("RELOAD_LOG"))
            os.kill(pid, signal.SIGHUP)
            self.wait_log("reloaded " + path, since)
            self.assertEqual(self.title(c), "Reloaded Title",
                             "a good file takes effect")

            with open(path, "w", encoding="utf-8") as f:
                f.write(original + "\nno_such_option = 1\n")
            since = os.path.getsize(env("RELOAD_LOG"))
            os.kill(pid, signal.SIGHUP)
            text = self.wait_log("keeping the running configuration", since)
            self.assertIn("%s:" % path, text)
            self.assertIn("no such option 'no_such_option'", text)
            os.kill(pid, 0)  # still running
            self.assertEqual(self.title(c), "Reloaded Title",
                             "a bad file keeps what runs")
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
