"""The "desk" service (tests/fixtures/desk.conf): a service behind a desk.
Registrations start pending; a consent field must be true and its version
is recorded; states set by SQL show in the next get, and a disabled
registration cannot be updated but can cancel; every new registration is
told to deskops by a message, received by a real logged-in client."""

import asyncio
import subprocess
import time

from e2e import (E2ETestCase, bare, env, form_fields, form_of, psql_json,
                 q, register_query, show, submit_form)


def desk_row(jid):
    rows = psql_json(
        "SELECT state, consents, fields FROM registrations "
        "WHERE service = :'service' AND jid = :'jid'",
        service=env("DESK_JID"), jid=jid)
    return rows[0] if rows else None


def set_state(jid, state):
    """The backend's move: plain SQL, as an operator would run it."""
    script = ("\\set ON_ERROR_STOP 1\n\\set jid '%s'\n\\set st '%s'\n"
              "UPDATE registrations SET state = :'st' "
              "WHERE service = '%s' AND jid = :'jid';\n"
              % (jid, state, env("DESK_JID")))
    out = subprocess.run(["psql", "-X", "-q"], input=script,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def instructions(reply):
    query = reply.find(q("query"))
    return query.findtext(q("instructions")) if query is not None else None


class DeskTest(E2ETestCase):
    SERVICE_ENV = "DESK_JID"

    def signup(self, user, terms="true"):
        values = {"username": user, "email": "%s@example.org" % user}
        if terms is not None:
            values["terms"] = terms
        return submit_form(values, types={"terms": "boolean"})

    def test_consent_must_be_true(self):
        c = self.client("d01")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "the form")
        terms = form_fields(form_of(reply))["terms"]
        self.assertEqual(terms["type"], "boolean", show(reply))
        self.assertTrue(terms["required"], show(reply))
        for value, what in ((None, "absent"), ("false", "false"),
                            ("0", "0")):
            reply = self.send(c, "set", self.signup("done", value))
            self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                                   "consent %s" % what,
                                   text_contains="'terms'")
        self.assertIsNone(desk_row(bare("d01")), "nothing stored")
        reply = self.send(c, "set", self.signup("done", "1"))
        self.assertResult(reply, "consent given")
        row = desk_row(bare("d01"))
        self.assertEqual(row["consents"]["terms"]["version"], "2026-01",
                         row)
        self.assertTrue(row["consents"]["terms"]["at"], row)

    def get_once_seen(self, c, word):
        """The registered get, again until its instructions name word: a
        change made by plain SQL reaches registrar's read cache with its
        notification (doc/operating.md, Caching registered gets: within
        milliseconds; here 2 s at most, the machine may be loaded)."""
        deadline = time.monotonic() + 2
        while True:
            reply = self.send(c, "get", register_query())
            if (word in (instructions(reply) or "")
                    or time.monotonic() > deadline):
                return reply
            time.sleep(0.02)

    def test_states_from_sql(self):
        c = self.client("d02")
        self.assertResult(self.send(c, "set", self.signup("dtwo")),
                          "registration")
        self.assertEqual(desk_row(bare("d02"))["state"], "pending")
        reply = self.send(c, "get", register_query())
        self.assertIsNotNone(reply.find(q("query")).find(q("registered")),
                             show(reply))
        self.assertIn("pending", instructions(reply), show(reply))
        # the backend disables it: the next get says so
        set_state(bare("d02"), "disabled")
        reply = self.get_once_seen(c, "disabled")
        self.assertIsNotNone(reply.find(q("query")).find(q("registered")),
                             show(reply))
        self.assertIn("disabled", instructions(reply), show(reply))
        reply = self.send(c, "set", submit_form(
            {"username": "dtwo", "email": "new@example.org",
             "terms": "true"}))
        self.assertStanzaError(reply, "not-allowed", 405, "cancel",
                               "update of a disabled registration",
                               text_contains="disabled")
        self.assertEqual(desk_row(bare("d02"))["fields"]["email"],
                         "dtwo@example.org", "nothing stored")
        # activated: updates work again, and the state stays
        set_state(bare("d02"), "active")
        reply = self.send(c, "set", submit_form(
            {"username": "dtwo", "email": "new@example.org",
             "terms": "true"}))
        self.assertResult(reply, "update once active")
        row = desk_row(bare("d02"))
        self.assertEqual((row["state"], row["fields"]["email"]),
                         ("active", "new@example.org"))
        # disabled again: cancelling still works
        set_state(bare("d02"), "disabled")
        reply = self.send(c, "set", register_query("<remove/>"))
        self.assertResult(reply, "removal of a disabled registration")
        self.assertIsNone(desk_row(bare("d02")))

    def test_notice_reaches_the_desk(self):
        desk = self.client("deskops")
        got = desk.loop.create_future()

        def on_message(msg):
            if (msg["from"].bare == self.service and not got.done()
                    and bare("d03") in msg["body"]):
                got.set_result(msg)

        desk.add_event_handler("message", on_message)
        # a message to a bare JID goes to the available resources: be one
        desk.send_presence()
        self.arun(asyncio.sleep(0.5))
        c = self.client("d03")
        self.assertResult(self.send(c, "set", self.signup("dthree")),
                          "registration")
        msg = self.arun(asyncio.wait_for(got, 20))
        self.assertEqual(msg["type"], "normal", msg)
        self.assertIn(self.service, msg["body"])
        self.assertIn("dthree", msg["body"])
        # an update is not a new registration: no second notice
        self.assertResult(self.send(c, "set", self.signup("dthree")),
                          "update")
