"""Run by tests/e2e/run.sh after it restarted Prosody and then PostgreSQL
under the running registrars (not part of the default test_*.py set):
both services must answer again and store registrations, and what was
registered before the restarts must still be there."""

import time
import unittest

from e2e import (NS_PING, E2ETestCase, bare, legacy, q, query_of,
                 register_query, rows_for, show, stanza_error, submit_form)

# how long the store may take to notice the new server and reconnect
RECOVERY_SECONDS = 30


class RestartMixin:
    USER = None

    def register_payload(self):
        raise NotImplementedError

    def test_answers_after_restarts(self):
        c = self.client(self.USER)
        reply = self.send(c, "get", "<ping xmlns='%s'/>" % NS_PING)
        self.assertResult(reply, "ping after Prosody and PostgreSQL restarts")

    def test_registers_after_restarts(self):
        """The first request after a database restart may find the old
        connection dead: registrar may answer it with a temporary error
        (type 'wait'), but must recover on its own."""
        c = self.client(self.USER)
        deadline = time.monotonic() + RECOVERY_SECONDS
        attempts = []
        while True:
            reply = self.send(c, "set", self.register_payload())
            attempts.append(reply)
            if reply.get("type") == "result":
                break
            err = stanza_error(reply)
            self.assertEqual(err and err[2], "wait",
                             "while the database reconnects, only temporary "
                             "errors (type='wait'):\n  %s" % show(reply))
            self.assertLess(time.monotonic(), deadline,
                            "no successful registration within %ss of the "
                            "database restart; last reply:\n  %s"
                            % (RECOVERY_SECONDS, show(reply)))
            time.sleep(1)
        self.assertEqual(len(rows_for(self.service, bare(self.USER))), 1)
        if len(attempts) > 1:
            print("\n  note: %d attempt(s) failed before the store "
                  "reconnected; first reply: %s"
                  % (len(attempts) - 1, show(attempts[0])))
        reply = self.send(c, "get", register_query())
        self.assertIsNotNone(query_of(reply).find(q("registered")),
                             "registered after the restarts:\n  %s"
                             % show(reply))


class ContestsRestartTest(RestartMixin, E2ETestCase):
    SERVICE_ENV = "CONTESTS_JID"
    USER = "c19"

    def register_payload(self):
        return submit_form({"first": "Rosaline", "last": "Capulet",
                            "email": "rosaline@capulet.lit"})

    def test_earlier_registrations_survive(self):
        rows = rows_for(self.service, bare("c02"))
        self.assertEqual(len(rows), 1, "c02's registration from the main "
                         "suite is still there: %r" % rows)


class AccountsRestartTest(RestartMixin, E2ETestCase):
    SERVICE_ENV = "ACCOUNTS_JID"
    USER = "a19"

    def register_payload(self):
        return legacy(username="after-restart", password="pw-restart-a19",
                      email="restart@example.org")


if __name__ == "__main__":
    unittest.main()
