"""Bad input against a running registrar (input.localhost): each stanza's
expected answer, the database after it, and registrar still alive."""

import asyncio
import collections
import time
import uuid

import faults
from faults import (Client, FaultCase, Registrar, config, kind, login,
                    record, rows_of, show, stanza_error)
from e2e import (NS_DATA, NS_DISCO_INFO, NS_PING, NS_REGISTER, bare, esc,
                 register_query, submit_form)
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

JID = "input.localhost"
DISCO = "<query xmlns='%s'/>" % NS_DISCO_INFO
PING = "<ping xmlns='%s'/>" % NS_PING

# what each check saw, for the summary: name -> (expected, got, ok)
SEEN = collections.OrderedDict()


def valid(**over):
    values = {"username": "user-" + uuid.uuid4().hex[:8], "first": "Ann"}
    values.update(over)
    return {k: v for k, v in values.items() if v is not None}


def raw_form(fields_xml, xtype="submit", form_type=True):
    ft = ("<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
          % NS_REGISTER) if form_type else ""
    return register_query("<x xmlns='%s' type='%s'>%s%s</x>"
                          % (NS_DATA, xtype, ft, fields_xml))


def field(var, *values):
    return "<field var='%s'>%s</field>" % (
        esc(var), "".join("<value>%s</value>" % v for v in values))


class BadInputTest(FaultCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = Registrar("input", config(JID, service="input"))
        got = cls.reg.wait_for(r"attached to .* as ", 20)
        if got is None:
            cls.reg.stop()
            raise AssertionError("input registrar did not attach:\n%s"
                                 % cls.reg.tail())

    @classmethod
    def tearDownClass(cls):
        alive = cls.reg.alive()
        rc = cls.reg.stop()
        ok = all(v[2] for v in SEEN.values())
        detail = "; ".join("%s: %s%s" % (k, v[1], "" if v[2] else
                                         " (expected %s)" % v[0])
                           for k, v in SEEN.items())
        record("bad input (%d checks)" % len(SEEN),
               "PASS" if ok and alive and rc == 0 else "FAIL",
               alive_at_end=alive, exit_on_sigterm=rc, checks=detail)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        faults.psql_super("DELETE FROM registrations WHERE service = '%s'"
                          % JID)

    def tearDown(self):
        super().tearDown()
        self.assertTrue(self.reg.alive(), "registrar died:\n%s"
                        % self.reg.tail())

    # ------------------------------------------------------------ helpers

    def c(self, user="b05"):
        c = Client(user)
        self._clients.append(c)
        return self.arun(c.start(), timeout=30)

    def ask(self, client, itype, payload, timeout=10):
        reply = self.arun(client.ask(itype, JID, payload, timeout),
                          timeout=timeout + 10)
        return reply

    def expect(self, name, reply, condition=None, code=None, etype=None,
               text_contains=None):
        """condition None: a result. Records what was seen."""
        got = kind(reply)
        want = "result" if condition is None else "error/%s/%s" % (etype,
                                                                   condition)
        ok = got == want
        if ok and condition is not None:
            err = stanza_error(reply)
            ok = err[1] == str(code)
            if text_contains is not None:
                ok = ok and bool(err[3]) and text_contains in err[3]
            if not ok:
                got += " code=%s text=%r" % (err[1], err[3])
        SEEN[name] = (want, got, ok)
        self.assertTrue(ok, "%s: expected %s (code %s, text naming %r), "
                        "got:\n  %s" % (name, want, code, text_contains,
                                        show(reply) if not isinstance(
                                            reply, str) else reply))

    def rows(self, user="b05"):
        return [r for r in rows_of(JID) if r["jid"] == bare(user)]

    def assertNoRow(self, name, user="b05"):
        rows = self.rows(user)
        if rows:
            SEEN[name + " (db)"] = ("no row", "row %s" % rows[0], False)
        self.assertEqual(rows, [], "%s: something was stored" % name)

    def assertServes(self, name):
        c = login("probe", attempts=3)
        c = self.arun(c, timeout=40)
        try:
            reply = self.arun(c.ask("get", JID, DISCO, 10), timeout=20)
        finally:
            self.arun(c.stop(), timeout=20)
        ok = kind(reply) == "result" and self.reg.alive()
        SEEN[name + " (then serving)"] = ("result", kind(reply), ok)
        self.assertTrue(ok, "%s: registrar no longer serves:\n%s"
                        % (name, self.reg.tail()))

    async def _raw(self, client, stanzas, window):
        """Send raw XML stanzas; collect every iq from JID for window s."""
        got = []

        def on_iq(iq):
            if iq["from"].full == JID:
                got.append(iq.xml)

        name = "raw-" + uuid.uuid4().hex[:6]
        client.register_handler(Callback(name, StanzaPath("iq"), on_iq))
        try:
            for s in stanzas:
                client.send_raw(s)
            await asyncio.sleep(window)
        finally:
            client.remove_handler(name)
        return got

    def raw(self, client, stanzas, window=2.0):
        return self.arun(self._raw(client, stanzas, window), timeout=window + 10)

    # ------------------------------------------------------------- forms

    def test_form_without_form_type(self):
        c = self.c()
        v = valid()
        reply = self.ask(c, "set", submit_form(v, form_type=None))
        self.expect("no FORM_TYPE", reply)
        rows = self.rows()
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["username"], v["username"])

    def test_wrong_form_type(self):
        c = self.c()
        reply = self.ask(c, "set", submit_form(valid(),
                                               form_type="urn:example:other"))
        self.expect("wrong FORM_TYPE", reply, "bad-request", 400, "modify")
        self.assertNoRow("wrong FORM_TYPE")

    def test_required_missing_empty_blank(self):
        c = self.c()
        for label, v in (("missing", valid(first=None)),
                         ("empty", valid(first="")),
                         ("spaces", valid(first="   \t ")),
                         ("missing username", valid(username=None))):
            reply = self.ask(c, "set", submit_form(v))
            want = "username" if label == "missing username" else "first"
            self.expect("required %s" % label, reply, "not-acceptable", 406,
                        "modify", text_contains=want)
        # an empty <field/> with no <value/> at all
        reply = self.ask(c, "set", raw_form(field("username", "x1") +
                                            "<field var='first'/>"))
        self.expect("required field without <value/>", reply,
                    "not-acceptable", 406, "modify", text_contains="first")
        self.assertNoRow("required")

    def test_too_long_values(self):
        c = self.c()
        # max_length defaults to 1024 bytes
        reply = self.ask(c, "set", submit_form(valid(first="x" * 1025)))
        self.expect("1025-byte value", reply, "not-acceptable", 406,
                    "modify", text_contains="first")
        # 513 two-byte characters: 1026 bytes
        reply = self.ask(c, "set", submit_form(valid(first="\u00e9" * 513)))
        self.expect("513 x U+00E9 (1026 bytes)", reply, "not-acceptable",
                    406, "modify", text_contains="first")
        reply = self.ask(c, "set", submit_form(valid(first="y" * 200000)))
        self.expect("200 KB value", reply, "not-acceptable", 406, "modify",
                    text_contains="first")
        self.assertNoRow("too long")
        reply = self.ask(c, "set", submit_form(valid(first="z" * 1024)))
        self.expect("1024-byte value (the limit)", reply)
        self.assertEqual(self.rows()[0]["fields"]["first"], "z" * 1024)

    def test_one_megabyte_value(self):
        c = self.c()
        t0 = time.time()
        reply = self.ask(c, "set", submit_form(valid(first="m" * (1 << 20))),
                         timeout=15)
        took = round(time.time() - t0, 2)
        got = kind(reply)
        # Prosody's c2s stanza limit is 256 KB: it closes the client's
        # stream ("lost"); if it ever forwards it, registrar must refuse it
        ok = got in ("lost", "error/modify/not-acceptable")
        SEEN["1 MB value"] = ("lost (Prosody) or not-acceptable",
                              "%s after %ss" % (got, took), ok)
        self.assertTrue(ok, show(reply) if not isinstance(reply, str)
                        else reply)
        self.assertNoRow("1 MB value")
        self.assertServes("1 MB value")

    def test_unknown_field_ignored(self):
        c = self.c()
        v = valid()
        v["x-unknown"] = "surprise"
        reply = self.ask(c, "set", submit_form(v))
        self.expect("unknown field var", reply)
        rows = self.rows()
        self.assertEqual(len(rows), 1)
        ok = "x-unknown" not in rows[0]["fields"]
        SEEN["unknown field var (db)"] = ("not stored", "not stored" if ok
                                          else "stored", ok)
        self.assertTrue(ok, rows[0]["fields"])

    def test_too_many_fields(self):
        c = self.c()
        v = valid()
        for i in range(70):
            v["x-%d" % i] = "v"
        reply = self.ask(c, "set", submit_form(v))
        self.expect("70 fields", reply, "bad-request", 400, "modify")
        self.assertNoRow("70 fields")

    def test_duplicate_var_and_multiple_values(self):
        c = self.c()
        reply = self.ask(c, "set", raw_form(
            field("username", "dup1") + field("first", "A") +
            field("first", "B")))
        self.expect("duplicate var", reply, "bad-request", 400, "modify")
        reply = self.ask(c, "set", raw_form(
            field("username", "dup2") + field("first", "A", "B")))
        self.expect("two values, text-single", reply, "bad-request", 400,
                    "modify")
        reply = self.ask(c, "set", raw_form(
            field("username", "dup3") + field("first", "A") +
            field("color", "red", "green")))
        self.expect("two values, list-single", reply, "bad-request", 400,
                    "modify")
        self.assertNoRow("duplicate/multiple")

    def test_list_single_not_an_option(self):
        c = self.c()
        reply = self.ask(c, "set", submit_form(valid(color="blue")))
        self.expect("list-single not an option", reply, "not-acceptable",
                    406, "modify", text_contains="color")
        reply = self.ask(c, "set", submit_form(valid(color="Red")))
        self.expect("list-single wrong case", reply, "not-acceptable",
                    406, "modify", text_contains="color")
        self.assertNoRow("list-single")

    def test_form_and_result_types_in_set(self):
        c = self.c()
        for xtype in ("form", "result"):
            reply = self.ask(c, "set", raw_form(
                field("username", "t-" + xtype) + field("first", "A"), xtype))
            self.expect("x type='%s' in a set" % xtype, reply, "bad-request",
                        400, "modify")
        self.assertNoRow("form/result")

    def test_cancel_changes_nothing(self):
        c = self.c()
        v = valid()
        self.expect("register before cancel",
                    self.ask(c, "set", submit_form(v)))
        before = faults.psql_json(
            "SELECT username, fields, updated_at::text AS u FROM "
            "registrations WHERE service = :'s' AND jid = :'j'", s=JID,
            j=bare("b05"))
        reply = self.ask(c, "set", register_query(
            "<x xmlns='%s' type='cancel'/>" % NS_DATA))
        self.expect("x type='cancel'", reply)
        reply = self.ask(c, "set", raw_form(
            field("username", "other") + field("first", "Changed"), "cancel"))
        self.expect("x type='cancel' with fields", reply)
        after = faults.psql_json(
            "SELECT username, fields, updated_at::text AS u FROM "
            "registrations WHERE service = :'s' AND jid = :'j'", s=JID,
            j=bare("b05"))
        ok = before == after
        SEEN["cancel (db unchanged)"] = ("unchanged", "unchanged" if ok
                                         else "changed", ok)
        self.assertEqual(before, after)
        # and an unregistered JID cancelling: nothing created
        c6 = self.c("b06")
        reply = self.ask(c6, "set", register_query(
            "<x xmlns='%s' type='cancel'/>" % NS_DATA))
        self.expect("x type='cancel', unregistered", reply)
        self.assertNoRow("cancel unregistered", "b06")

    def test_invalid_jid(self):
        c = self.c()
        # RFC 7622: no empty parts, localpart without " & ' / : < > @ or
        # spaces, parts up to 1023 bytes
        for bad in ("not a jid", "@localhost", "a@b@c", "user@", "/res",
                    "x" * 1100 + "@localhost", "a@localhost/",
                    "a:b@localhost", "a<b@localhost", "a'b@localhost",
                    "a@localhost/" + "r" * 1100):
            reply = self.ask(c, "set", submit_form(valid(buddy=bad)))
            self.expect("jid-single %r" % bad[:20], reply, "not-acceptable",
                        406, "modify", text_contains="buddy")
        self.assertNoRow("invalid JID")
        # not asserted (implementations differ): a domain label "-"
        reply = self.ask(c, "set", submit_form(valid(buddy="a@-")))
        SEEN["jid-single 'a@-' (observed only)"] = ("either", kind(reply),
                                                    True)
        faults.psql_super("DELETE FROM registrations WHERE service = '%s'"
                          % JID)
        reply = self.ask(c, "set", submit_form(valid(
            buddy="juliet@example.com/balcony")))
        self.expect("jid-single valid", reply)

    def test_control_characters(self):
        c = self.c()
        for ref in ("&#x7f;", "&#x80;", "&#x85;", "&#x9f;"):
            payload = submit_form(valid(first="Ann")).replace(
                "<value>Ann</value>", "<value>A%snn</value>" % ref)
            self.assertIn(ref, payload)
            reply = self.ask(c, "set", payload)
            self.expect("control char %s" % ref, reply, "not-acceptable",
                        406, "modify", text_contains="first")
        payload = submit_form(valid(username="bob")).replace(
            "<value>bob</value>", "<value>b&#x7f;ob</value>")
        reply = self.ask(c, "set", payload)
        self.expect("control char in username", reply, "not-acceptable",
                    406, "modify", text_contains="username")
        self.assertNoRow("control characters")

    def test_username_case_and_width(self):
        name = "bill" + uuid.uuid4().hex[:4]
        wide = "".join(chr(ord(ch) + 0xFEE0) for ch in name)   # fullwidth
        c6, c7, c8, c9 = (self.c(u) for u in ("b06", "b07", "b08", "b09"))
        self.expect("username %s" % name.capitalize(),
                    self.ask(c6, "set", submit_form(valid(
                        username=name.capitalize()))))
        self.expect("username lower case (other JID)",
                    self.ask(c7, "set", submit_form(valid(username=name))),
                    "conflict", 409, "cancel")
        self.expect("username fullwidth (other JID)",
                    self.ask(c8, "set", submit_form(valid(username=wide))),
                    "conflict", 409, "cancel")
        self.expect("username UPPER (other JID)",
                    self.ask(c9, "set", submit_form(valid(
                        username=name.upper()))),
                    "conflict", 409, "cancel")
        for u in ("b07", "b08", "b09"):
            self.assertNoRow("username conflict", u)

    def test_identical_retry_is_idempotent(self):
        c = self.c()
        v = valid()
        for i in range(3):
            self.expect("identical registration #%d" % (i + 1),
                        self.ask(c, "set", submit_form(v)))
        rows = self.rows()
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["username"], v["username"])
        self.assertEqual(rows[0]["fields"]["first"], v["first"])

    # ------------------------------------------------------ raw stanzas

    def test_odd_iqs(self):
        c = self.c()
        q = register_query()
        cases = [
            # (name, stanza, id, replies expected)
            ("iq get, no child", "<iq type='get' to='%s' id='%s'/>", 1),
            ("iq set, no child", "<iq type='set' to='%s' id='%s'/>", 1),
            ("iq get, two children",
             "<iq type='get' to='%s' id='%s'>" + q + DISCO + "</iq>", 1),
            ("iq set, two children",
             "<iq type='set' to='%s' id='%s'>" + q + q + "</iq>", 1),
            ("iq type=result", "<iq type='result' to='%s' id='%s'>" + q
             + "</iq>", 0),
            ("iq type=error", "<iq type='error' to='%s' id='%s'>" + q +
             "<error type='cancel'><bad-request xmlns="
             "'urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", 0),
            ("iq type=bogus", "<iq type='bogus' to='%s' id='%s'>" + q
             + "</iq>", None),
        ]
        ids = {}
        stanzas = []
        for name, tmpl, _ in cases:
            i = "odd-" + uuid.uuid4().hex[:8]
            ids[name] = i
            stanzas.append(tmpl % (JID, i))
        # no id at all: Prosody's stanza router answers it bad-request
        # itself and never routes it; count any reply without an id
        stanzas.append("<iq type='get' to='%s'>%s</iq>" % (JID, DISCO))
        got = self.raw(c, stanzas, 3.0)
        by_id = collections.Counter(g.get("id") for g in got)
        for name, _, want in cases:
            n = by_id.get(ids[name], 0)
            replies = [show(g) for g in got if g.get("id") == ids[name]]
            if want is None:
                ok = n <= 1
                want_s = "0 or 1"
            else:
                ok = n == want
                want_s = str(want)
            types = ",".join(kind(g) for g in got if g.get("id") == ids[name])
            SEEN[name] = ("%s replies" % want_s, "%d replies %s" % (n, types),
                          ok)
            self.assertTrue(ok, "%s: %d replies: %s" % (name, n, replies))
        no_id = by_id.get(None, 0) + by_id.get("", 0)
        SEEN["iq get, no id (Prosody answers itself)"] = ("at most 1 reply", "%d replies %s: %s" % (
            no_id, ",".join(kind(g) for g in got if not g.get("id")),
            ",".join(stanza_error(g)[3] or "" for g in got
                     if not g.get("id") and stanza_error(g))),
            no_id <= 1)
        self.assertLessEqual(no_id, 1)
        self.assertServes("odd iqs")

    def test_deep_nesting(self):
        depth = 10000
        c = self.c()
        deep = "<a>" * depth + "x" + "</a>" * depth
        i1, i2 = "deep-" + uuid.uuid4().hex[:8], "deep-" + uuid.uuid4().hex[:8]
        in_value = ("<iq type='set' to='%s' id='%s'>" % (JID, i1) +
                    raw_form(field("username", "deep") +
                             "<field var='first'><value>%s</value></field>"
                             % deep) + "</iq>")
        in_query = ("<iq type='set' to='%s' id='%s'><query xmlns='%s'>%s"
                    "</query></iq>" % (JID, i2, NS_REGISTER, deep))
        got = self.raw(c, [in_value], 3.0)
        k1 = [kind(g) for g in got if g.get("id") == i1]
        lost1 = c.gone.done()
        if lost1:
            c = self.c()
        got = self.raw(c, [in_query], 3.0)
        k2 = [kind(g) for g in got if g.get("id") == i2]
        lost2 = c.gone.done()
        for name, k, lost in (("10000 levels in a value", k1, lost1),
                              ("10000 levels in <query/>", k2, lost2)):
            ok = len(k) <= 1 and "result" not in k
            SEEN[name] = ("one error, or Prosody closes the stream",
                          ("stream closed by Prosody" if lost else "")
                          + (" replies %s" % k if k else
                             " no reply" if not lost else ""), ok)
            self.assertTrue(ok, "%s: %s" % (name, k))
        self.assertNoRow("deep nesting")
        self.assertServes("deep nesting")
