"""Hostile text that must not cut the component off the server (issue 16).

A data form whose var is 63 ASCII bytes and an é, given twice, was
answered with an error text quoting the var's first 64 bytes: half of
the é. The server closed the component's stream as not well-formed, and
every answer in flight was lost with it. Here the attack is sent while
other users have 40 requests in flight on the same component: the attacker
must get a well-formed error quoting at most a short excerpt, the other
user every answer, and the component must stay attached (its log shows
no lost stream and no new attach). The same for a form type of 300 é,
and for usernames of 967 and 968 bytes of é in the notice of a new
registration (the desk service tells deskops of each, in 1024 bytes: one
of the two lengths put the cut inside an é): the registration is
answered, the notice arrives, and the component stays attached."""

import asyncio
import os

from e2e import (E2ETestCase, NS_DATA, NS_REGISTER, bare, env, esc,
                 register_query, show, stanza_error, submit_form)

# the attack of the security review: 63 ASCII bytes, then a 2-byte é
VAR = "A" * 63 + "\u00e9"
# the other users, with 8 gets each in flight (inflight_per_jid's default:
# more would be refused at once, with resource-constraint)
VICTIMS = ["d05", "a15", "a16", "a17", "a18"]
PER_VICTIM = 8


def attack_form(var=VAR):
    """A submitted form with var given twice."""
    field = "<field var='%s'><value>x</value></field>" % esc(var)
    return register_query(
        "<x xmlns='%s' type='submit'><field type='hidden' var='FORM_TYPE'>"
        "<value>%s</value></field>%s%s</x>" % (NS_DATA, NS_REGISTER, field,
                                                field))


def type_attack(ftype="\u00e9" * 300):
    return register_query(
        "<x xmlns='%s' type='%s'><field var='username'><value>x</value>"
        "</field></x>" % (NS_DATA, esc(ftype)))


class HostileTextTest(E2ETestCase):
    SERVICE_ENV = "DESK_JID"

    def log_path(self):
        return os.path.join(env("E2E_WORKDIR"), "desk.log")

    def log_size(self):
        return os.path.getsize(self.log_path())

    def log_since(self, offset):
        with open(self.log_path(), "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def assertStillAttached(self, log):
        """No stream lost, closed or attached again in these log lines."""
        for what in ("lost the connection", "stream error", "cannot attach",
                     "reconnecting", "attached to"):
            self.assertNotIn(what, log,
                             "the component's stream after the attack:\n%s"
                             % log[-3000:])

    def assertWellFormedError(self, reply, what, quoted_whole):
        """A bad-request error (parsed by slixmpp: well-formed), whose
        text quotes the attacker's text briefly, never all of it."""
        self.assertStanzaError(reply, "bad-request", 400, "modify", what)
        text = stanza_error(reply)[3]
        self.assertTrue(text, "%s: an error text:\n  %s" % (what, show(reply)))
        self.assertNotIn(quoted_whole, text,
                         "%s: the whole submitted text is echoed:\n  %s"
                         % (what, show(reply)))
        self.assertLess(len(text.encode("utf-8")), 200, text)
        return text

    def attack_under_load(self, attack, what):
        """Sends PER_VICTIM gets from each of VICTIMS, then attack from
        d04, and returns the attacker's reply; every get must be
        answered."""
        *victims, attacker = self.clients(VICTIMS + ["d04"])
        start = self.log_size()

        async def run():
            gets = [asyncio.ensure_future(
                v.iq("get", self.service, register_query()))
                for _ in range(PER_VICTIM) for v in victims]
            # let the gets leave first: they are in flight at registrar
            await asyncio.sleep(0)
            hit = await attacker.iq("set", self.service, attack)
            answers = await asyncio.gather(*gets, return_exceptions=True)
            return hit, answers

        hit, answers = self.arun(run())
        lost = [a for a in answers if isinstance(a, BaseException)]
        self.assertEqual(lost, [], "%s: %d of %d requests in flight lost"
                         % (what, len(lost), len(answers)))
        for a in answers:
            self.assertEqual(a.get("from"), self.service, show(a))
            self.assertEqual(a.get("type"), "result", show(a))
        # a following request is answered, by the same stream
        after = self.send(victims[0], "get", register_query())
        self.assertEqual(after.get("type"), "result", show(after))
        self.assertStillAttached(self.log_since(start))
        return hit

    def test_var_twice_with_half_a_character(self):
        hit = self.attack_under_load(attack_form(), "var of 63 bytes + é")
        self.assertEqual(hit.get("from"), self.service, show(hit))
        text = self.assertWellFormedError(hit, "the var given twice", VAR)
        self.assertIn("submitted twice", text)
        self.assertIn("A" * 32, text)

    def test_every_cut_of_the_var(self):
        """The var at every length around the old 64-byte cut, each
        ending in a character of 2, 3 or 4 bytes."""
        c = self.client("d04")
        start = self.log_size()
        for n in range(60, 68):
            for tail in ("\u00e9", "\u20ac", "\U0001F600"):
                var = "B" * n + tail
                reply = self.send(c, "set", attack_form(var))
                self.assertWellFormedError(reply, "var of %d + %r" % (n, tail),
                                           var)
        self.assertResult(self.send(c, "get", register_query()), "after")
        self.assertStillAttached(self.log_since(start))

    def test_form_type_of_300_e(self):
        hit = self.attack_under_load(type_attack(), "type of 300 é")
        text = self.assertWellFormedError(hit, "a form of type é*300",
                                          "\u00e9" * 300)
        self.assertIn("cannot be submitted", text)

    def test_long_username_notice(self):
        desk = self.client("deskops")
        notices = []

        def on_message(msg):
            if msg["from"].bare == self.service:
                notices.append(msg["body"])

        desk.add_event_handler("message", on_message)
        desk.send_presence()
        self.arun(asyncio.sleep(0.5))
        start = self.log_size()
        for user, size in (("d06", 967), ("d07", 968)):
            name = ("x" if size % 2 else "") + "\u00e9" * (size // 2)
            self.assertEqual(len(name.encode("utf-8")), size)
            c = self.client(user)
            reply = self.send(c, "set", submit_form(
                {"username": name, "email": "%s@example.org" % user,
                 "terms": "true"}, types={"terms": "boolean"}))
            self.assertResult(reply, "registration with a %d-byte username"
                              % size)
            # the notice, whole: cut (it must be) between two characters
            deadline = self.loop.time() + 10
            while (self.loop.time() < deadline
                   and not [n for n in notices if bare(user) in n]):
                self.arun(asyncio.sleep(0.2))
            got = [n for n in notices if bare(user) in n]
            self.assertEqual(len(got), 1, "the notice of %s's registration "
                             "(desk.log: %s)" % (user, self.log_path()))
            self.assertIn("(username x\u00e9\u00e9" if size % 2
                          else "(username \u00e9\u00e9", got[0])
        self.assertNotIn("BUG", self.log_since(start))
        # still attached: the next request is answered by the same stream
        c = self.client("d08")
        self.assertResult(self.send(c, "get", register_query()), "after")
        self.assertStillAttached(self.log_since(start))
