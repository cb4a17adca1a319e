"""Messages to users (issue 20 part 2) on the "messages" service
(tests/fixtures/messages.conf: registrations start pending, adm01 an
admin, notices to msgops, every message a template): received by real
logged-in clients (slixmpp), each <message type='normal'/> from the
service with its template filled in, never a private value:
  - after a registration, the admins' notice naming the state, then the
    welcome to the user naming it, then the result;
  - an activation by the admin's ad-hoc command, by `registrar admin`
    (the command line), by a backend's plain SQL: one message each;
  - a disable (the command line, plain SQL) with its reason: one message;
  - no message for what is no state change (an update, a pending write)."""

import asyncio
import os
import subprocess
import time
import uuid

from e2e import (bare, env, note_secret, psql_json, show, submit_form)
from test_adhoc import AdhocBase, psql_exec

# how long a test waits to be sure a second message does not come
QUIET_S = 3.0


class MessagesTest(AdhocBase):
    SERVICE_ENV = "MESSAGES_JID"

    def listener(self, user):
        """A logged-in, available client of user whose messages from the
        service are collected in its .got list."""
        c = self.commands_client(user)
        c.got = []

        def on_message(msg):
            if msg["from"].bare == self.service:
                c.got.append(msg)

        c.add_event_handler("message", on_message)
        # a message to a bare JID goes to the available resources: be one
        c.send_presence()
        self.arun(asyncio.sleep(0.5))
        return c

    def wait_messages(self, client, n, what, timeout=20.0):
        """Waits until client has n messages, then QUIET_S more: exactly n
        must have come."""
        end = time.time() + timeout
        while len(client.got) < n and time.time() < end:
            self.arun(asyncio.sleep(0.1))
        self.arun(asyncio.sleep(QUIET_S))
        self.assertEqual(len(client.got), n, "%s: %d message(s), got %r"
                         % (what, n, [m["body"] for m in client.got]))
        for m in client.got:
            self.assertEqual(m["type"], "normal", show(m.xml))
            self.assertEqual(str(m["from"]), self.service, show(m.xml))
            self.assertEqual(m["to"].bare, client.boundjid.bare, show(m.xml))
        return [m["body"] for m in client.got]

    def signup(self, user, client):
        values = {"username": "%s-%s" % (user, uuid.uuid4().hex[:6]),
                  "password": "pw-" + uuid.uuid4().hex[:10],
                  "email": "%s@example.org" % user}
        note_secret(values["password"])
        reply = self.send(client, "set", submit_form(values))
        self.assertResult(reply, "registration of %s" % user)
        return values

    def admin_cli(self, *args):
        """`registrar admin --config MESSAGES_CONF ARGS`: its output."""
        out = subprocess.run([env("REGISTRAR_BIN"), "admin", "--config",
                              env("MESSAGES_CONF")] + list(args),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, "registrar admin %s: %s %s"
                         % (" ".join(args), out.stdout, out.stderr))
        return out.stdout

    # -- tests

    def test_welcome_and_notice(self):
        ops = self.listener("msgops")
        user = self.listener("w01")
        values = self.signup("w01", user)
        bodies = self.wait_messages(user, 1, "the welcome")
        self.assertEqual(bodies[0], "Welcome to %s, %s: your registration is "
                         "pending." % (self.service, values["username"]))
        end = time.time() + 20
        while time.time() < end and not any(
                bare("w01") in m["body"] for m in ops.got):
            self.arun(asyncio.sleep(0.1))
        notices = [m["body"] for m in ops.got if bare("w01") in m["body"]]
        self.assertEqual(notices, ["New registration with %s: %s (%s), "
                                   "pending" % (self.service, bare("w01"),
                                                values["username"])])
        for body in bodies + notices:
            self.assertNotIn(values["password"], body)
        # an update: neither again
        user.got.clear()
        values["email"] = "other@example.org"
        self.assertResult(self.send(user, "set", submit_form(values)),
                          "update")
        self.wait_messages(user, 0, "after an update")
        self.assertEqual(self.state_of("w01"), "pending")

    def test_activated_by_adhoc_command(self):
        user = self.listener("w02")
        values = self.signup("w02", user)
        self.wait_messages(user, 1, "the welcome")
        user.got.clear()
        admin = self.commands_client("adm01")
        self.two_stage(admin, "registrar#activate-user",
                       {"accountjids": [bare("w02")]}, "activate")
        self.assertEqual(self.state_of("w02"), "active")
        bodies = self.wait_messages(user, 1, "the activation")
        self.assertEqual(bodies[0], "%s, your registration with %s is "
                         "active." % (values["username"], self.service))

    def test_command_line_activate_and_disable(self):
        user = self.listener("w03")
        values = self.signup("w03", user)
        self.wait_messages(user, 1, "the welcome")
        user.got.clear()
        self.admin_cli("activate", bare("w03"))
        bodies = self.wait_messages(user, 1, "registrar admin activate")
        self.assertIn("is active", bodies[0])
        self.assertIn(values["username"], bodies[0])
        user.got.clear()
        self.admin_cli("disable", bare("w03"), "--reason", "too many posts")
        bodies = self.wait_messages(user, 1, "registrar admin disable")
        self.assertEqual(bodies[0], "Your registration with %s is disabled: "
                         "too many posts" % self.service)

    def test_plain_sql_once_each(self):
        user = self.listener("w04")
        self.signup("w04", user)
        self.wait_messages(user, 1, "the welcome")
        user.got.clear()
        psql_exec("UPDATE registrations SET state = 'active' "
                  "WHERE service = :'s' AND jid = :'j'",
                  s=self.service, j=bare("w04"))
        bodies = self.wait_messages(user, 1, "activated by SQL")
        self.assertIn("is active", bodies[0])
        user.got.clear()
        # no state change: no message (a no-op write, back to pending)
        psql_exec("UPDATE registrations SET state = 'active' "
                  "WHERE service = :'s' AND jid = :'j'",
                  s=self.service, j=bare("w04"))
        psql_exec("UPDATE registrations SET state = 'pending' "
                  "WHERE service = :'s' AND jid = :'j'",
                  s=self.service, j=bare("w04"))
        self.wait_messages(user, 0, "no state change told")
        psql_exec("UPDATE registrations SET state = 'disabled', "
                  "disabled_reason = 'unpaid' "
                  "WHERE service = :'s' AND jid = :'j'",
                  s=self.service, j=bare("w04"))
        bodies = self.wait_messages(user, 1, "disabled by SQL")
        self.assertEqual(bodies[0], "Your registration with %s is disabled: "
                         "unpaid" % self.service)

    def test_counted_and_logged(self):
        """Each message sent is one log line naming the JID, the service
        and the state (never the body)."""
        user = self.listener("w05")
        self.signup("w05", user)
        self.wait_messages(user, 1, "the welcome")
        user.got.clear()
        psql_exec("UPDATE registrations SET state = 'active' "
                  "WHERE service = :'s' AND jid = :'j'",
                  s=self.service, j=bare("w05"))
        self.wait_messages(user, 1, "activated by SQL")
        with open(env("MESSAGES_LOG"), encoding="utf-8") as f:
            log = f.read()
        self.assertEqual(log.count("welcomed %s to %s (pending;"
                                   % (bare("w05"), self.service)), 1, log[-2000:])
        self.assertEqual(log.count("told %s that its registration with %s is "
                                   "active" % (bare("w05"), self.service)), 1)
