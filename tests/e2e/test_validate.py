"""XEP-0122 validation (issue 21.2) on the "validate" service (tests/
fixtures/validate.conf: a username and a password pattern, an integer
range, a date before a day, a URI, a list range): the form as received
carries each field's <validate/> (read by slixmpp's xep_0122 plugin, and
the <list-range/> it does not know from the XML), a field without rules
none; a valid submission registers (the values stored as sent, trimmed);
a submission breaking three rules gets ONE not-acceptable (406) whose text
names every field and rule, and nothing is stored; the legacy elements and
the ad-hoc registration command meet the same rules.  The stanzas of
interest go to $E2E_WORKDIR/validate-transcript.txt."""

import uuid

from slixmpp.plugins.xep_0004.stanza import Form, FormField
from slixmpp.plugins.xep_0122.stanza import FormValidation
from slixmpp.xmlstream import register_stanza_plugin

import e2e
from e2e import (NS_DATA, bare, form_of, legacy, note_secret,
                 password_matches, q, register_query, rows_for, show,
                 stanza_error, submit_form)
from test_adhoc import AdhocBase

NS_VALIDATE = "http://jabber.org/protocol/xdata-validate"
register_stanza_plugin(FormField, FormValidation)

THREE_PROBLEMS = ("3 problems: "
                  "Username: must match the pattern [a-z][a-z0-9]{2,15}; "
                  "Age: must be an integer from 13 to 120; "
                  "Homepage: must be a URI (like https://example.org/)")



def transcript(title, xml, sent=None):
    e2e.transcript('validate', title, xml, sent)


class ValidateTest(AdhocBase):
    SERVICE_ENV = "VALIDATE_JID"

    def values(self, user, **over):
        v = {"username": "%s%s" % (user, uuid.uuid4().hex[:6]),
             "password": "pw-" + uuid.uuid4().hex[:10],
             "age": "30", "date": "1990-02-28",
             "url": "https://example.org/%s" % user,
             "topics": ["news", "events"]}
        v.update(over)
        return {k: val for k, val in v.items() if val is not None}

    def test_form_carries_validate(self):
        c = self.client("v01")
        reply = self.send(c, "get", register_query())
        transcript("the validated form, as received", reply)
        x = form_of(reply)
        self.assertIsNotNone(x, show(reply))
        form = Form(xml=x)
        fields = form.get_fields()
        v = fields["age"]["validate"]
        self.assertEqual(v["datatype"], "xs:integer", show(reply))
        self.assertEqual(v["range"], {"minimum": "13", "maximum": "120"})
        self.assertFalse(v["regex"])
        v = fields["username"]["validate"]
        self.assertEqual(v["datatype"], "xs:string")
        self.assertEqual(v["regex"], "[a-z][a-z0-9]{2,15}")
        self.assertEqual(fields["password"]["validate"]["regex"], ".{8,}")
        v = fields["date"]["validate"]
        self.assertEqual(v["datatype"], "xs:date")
        self.assertEqual(v["range"], {"maximum": "2013-12-31"})
        v = fields["url"]["validate"]
        self.assertEqual(v["datatype"], "xs:anyURI")
        self.assertTrue(v["basic"])
        # the list range, which slixmpp's plugin does not read
        topics = [f for f in x.findall(q("field", NS_DATA))
                  if f.get("var") == "topics"][0]
        lr = topics.find("{%s}validate/{%s}list-range"
                         % (NS_VALIDATE, NS_VALIDATE))
        self.assertIsNotNone(lr, show(reply))
        self.assertEqual((lr.get("min"), lr.get("max")), ("1", "2"))
        # <validate/> inside <field/>, before its options (XEP-0122 3.1)
        children = [ch.tag.split("}", 1)[1] for ch in topics]
        self.assertEqual(children[0], "validate", show(reply))
        self.assertEqual(children.count("validate"), 1)
        # one method at most; none on FORM_TYPE
        for f in x.findall(q("field", NS_DATA)):
            vals = f.findall("{%s}validate" % NS_VALIDATE)
            if f.get("var") == "FORM_TYPE":
                self.assertEqual(vals, [])
                continue
            methods = [ch.tag for ch in vals[0]
                       if ch.tag.split("}", 1)[1] in
                       ("basic", "open", "range", "regex")]
            self.assertEqual(len(methods), 1, show(reply))

    def test_valid_submission_registers(self):
        c = self.client("v02")
        values = self.values("v02", age=" 13 ", date="2000-02-29")
        reply = self.send(c, "set", submit_form(values))
        self.assertResult(reply, "a valid submission")
        row = self.only_row("v02")
        self.assertEqual(row["username"], values["username"])
        self.assertEqual(row["fields"].get("age"), "13")
        self.assertEqual(row["fields"].get("date"), "2000-02-29")
        self.assertEqual(row["fields"].get("topics"), ["news", "events"])
        self.assertTrue(password_matches(self.service, bare("v02"),
                                         values["password"]))

    def test_three_rules_broken_one_error(self):
        c = self.client("v03")
        payload = submit_form(self.values("v03", username="X!", age="7",
                                          url="not a uri"))
        reply = self.send(c, "set", payload)
        transcript("a submission breaking three rules", reply, payload)
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "three rules broken")
        self.assertEqual(stanza_error(reply)[3], THREE_PROBLEMS, show(reply))
        self.assertNoRow("v03", "three rules broken")
        # one problem keeps its own shape; the list range and the date
        reply = self.send(c, "set", submit_form(
            self.values("v03", topics=["news", "events", "offers"])))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify")
        self.assertEqual(stanza_error(reply)[3],
                         "Topics: must have from 1 to 2 values")
        reply = self.send(c, "set", submit_form(
            self.values("v03", date="2023-02-29")))
        self.assertEqual(stanza_error(reply)[3],
                         "Birth date: must be a date (YYYY-MM-DD)")
        reply = self.send(c, "set", submit_form(
            self.values("v03", date="2014-01-01")))
        self.assertEqual(stanza_error(reply)[3],
                         "Birth date: must be a date (YYYY-MM-DD) of at most "
                         "2013-12-31")
        self.assertNoRow("v03", "a rule broken")

    def test_legacy_elements_meet_the_rules(self):
        c = self.client("v04")
        pw = "Qz7#k"  # under 8 characters, and in no log line
        payload = legacy(username="X!", password=pw, url="not a uri")
        reply = self.send(c, "set", payload)
        transcript("legacy elements breaking three rules", reply, payload)
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "legacy elements")
        self.assertEqual(
            stanza_error(reply)[3],
            "3 problems: Username: must match the pattern "
            "[a-z][a-z0-9]{2,15}; Password: must match the pattern .{8,}; "
            "Homepage: must be a URI (like https://example.org/)",
            show(reply))
        self.assertNoRow("v04", "legacy elements")
        name = "v04" + uuid.uuid4().hex[:6]
        pw = "pw-" + uuid.uuid4().hex[:10]
        reply = self.send(c, "set", legacy(username=name, password=pw,
                                           url="https://example.org/v04"))
        self.assertResult(reply, "valid legacy elements")
        self.assertEqual(self.only_row("v04")["username"], name)

    def test_adhoc_command_meets_the_rules(self):
        c = self.commands_client("v05")
        first = self.run_cmd(c, "jabber:iq:register")
        self.assertEqual(first["command"]["status"], "executing",
                         show(first.xml))
        fields = first["command"]["form"].get_fields()
        self.assertEqual(fields["age"]["validate"]["range"],
                         {"minimum": "13", "maximum": "120"})
        sid = first["command"]["sessionid"]
        pw = "pw-" + uuid.uuid4().hex[:10]
        note_secret(pw)
        with self.assertRaises(Exception) as cm:
            self.run_cmd(c, "jabber:iq:register", action="complete",
                         sessionid=sid,
                         form={"FORM_TYPE": "jabber:iq:register",
                               "username": "X!", "password": pw,
                               "age": "7", "url": "not a uri"})
        iq = cm.exception.iq
        self.assertEqual(iq["error"]["condition"], "not-acceptable")
        self.assertEqual(iq["error"]["text"], THREE_PROBLEMS, show(iq.xml))
        self.assertEqual(rows_for(self.service, bare("v05")), [])
        name = "v05" + uuid.uuid4().hex[:6]
        done = self.run_cmd(c, "jabber:iq:register", action="complete",
                            sessionid=sid,
                            form={"FORM_TYPE": "jabber:iq:register",
                                  "username": name, "password": pw,
                                  "age": "120", "url": "xmpp:v05@localhost"})
        self.assertCompleted(done, "registration command")
        self.assertEqual(self.only_row("v05")["username"], name)


if __name__ == "__main__":
    import unittest
    unittest.main()
