"""The "contests" service: registration by XEP-0004 data form only (the
XEP-0077 section 3.4 example, with a list-single that has no legacy
iq:register element)."""

import time
import unittest

from e2e import (NS_DATA, NS_REGISTER, E2ETestCase, bare, form_fields,
                 form_of, psql_json, q, query_of, register_query, show,
                 stanza_error, submit_form)

# The client's submission from the seed flow (XEP-0077 example 9),
# verbatim.
SEED_SUBMIT = """
<query xmlns='jabber:iq:register'>
<x xmlns='jabber:x:data' type='submit'>
<field type='hidden' var='FORM_TYPE'>
<value>jabber:iq:register</value>
</field>
<field type='text-single' label='Given Name' var='first'>
<value>Juliet</value>
</field>
<field type='text-single' label='Family Name' var='last'>
<value>Capulet</value>
</field>
<field type='text-single' label='Email Address' var='email'>
<value>juliet@capulet.com</value>
</field>
<field type='list-single' label='Gender' var='x-gender'>
<value>F</value>
</field>
</x>
</query>"""

JULIET = {"first": "Juliet", "last": "Capulet",
          "email": "juliet@capulet.com", "x-gender": "F"}

LEGACY_ELEMENTS = ("username", "nick", "password", "name", "first", "last",
                   "email", "address", "city", "state", "zip", "phone",
                   "url", "date", "misc", "text", "key")


class ContestsTest(E2ETestCase):
    SERVICE_ENV = "CONTESTS_JID"

    # -- helpers

    def register(self, client, values=None, what="registration"):
        reply = self.send(client, "set", submit_form(values or JULIET))
        self.assertResult(reply, what)
        return reply

    # -- get

    def test_get_unregistered_returns_the_form(self):
        c = self.client("c01")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "iq:register get")
        query = query_of(reply)
        self.assertIsNotNone(query, "result without <query xmlns='%s'/>:\n  %s"
                             % (NS_REGISTER, show(reply)))
        self.assertIsNotNone(query.find(q("instructions")),
                             "<instructions/> in the query:\n  %s"
                             % show(reply))
        self.assertIsNone(query.find(q("registered")),
                          "not registered yet, no <registered/>:\n  %s"
                          % show(reply))
        for name in LEGACY_ELEMENTS:
            self.assertIsNone(query.find(q(name)),
                              "a form-only service (x-gender has no legacy "
                              "element) must not offer legacy <%s/>:\n  %s"
                              % (name, show(reply)))

        form = form_of(reply)
        self.assertIsNotNone(form, "a jabber:x:data form:\n  %s" % show(reply))
        self.assertEqual(form.get("type"), "form",
                         "form type:\n  %s" % show(reply))
        self.assertEqual(form.findtext(q("title", NS_DATA)),
                         "Contest Registration", "form <title/>:\n  %s"
                         % show(reply))
        self.assertIn("special contests",
                      form.findtext(q("instructions", NS_DATA)) or "",
                      "form <instructions/>:\n  %s" % show(reply))
        self.assertFormType(form, reply)
        fields = form_fields(form)
        self.assertEqual(set(fields), {"FORM_TYPE", "first", "last", "email",
                                       "x-gender"},
                         "form fields:\n  %s" % show(reply))
        for var, label in (("first", "Given Name"), ("last", "Family Name"),
                           ("email", "Email Address")):
            self.assertEqual(fields[var]["type"], "text-single",
                             "%s type:\n  %s" % (var, show(reply)))
            self.assertEqual(fields[var]["label"], label,
                             "%s label:\n  %s" % (var, show(reply)))
            self.assertTrue(fields[var]["required"],
                            "%s is <required/>:\n  %s" % (var, show(reply)))
            self.assertEqual(fields[var]["values"], [],
                             "%s is empty before registering:\n  %s"
                             % (var, show(reply)))
        gender = fields["x-gender"]
        self.assertEqual(gender["type"], "list-single",
                         "x-gender type:\n  %s" % show(reply))
        self.assertEqual(gender["label"], "Gender")
        self.assertFalse(gender["required"],
                         "x-gender is optional:\n  %s" % show(reply))
        self.assertEqual(gender["options"], [("M", "Male"), ("F", "Female")],
                         "x-gender options:\n  %s" % show(reply))

    # -- set

    def test_register_with_seed_form_then_get_registered(self):
        c = self.client("c02")
        reply = self.send(c, "set", SEED_SUBMIT)
        self.assertResult(reply, "the seed's form submission")
        self.assertEqual(len(list(reply)), 0,
                         "a successful registration is an empty result:\n  %s"
                         % show(reply))

        row = self.only_row("c02")
        self.assertEqual(row["fields"], JULIET,
                         "stored fields (FORM_TYPE is not a value):\n  %r"
                         % row)
        self.assertIsNone(row["username"], "no username field, NULL: %r" % row)
        self.assertIsNone(row["password_hash"],
                          "no password field, NULL: %r" % row)

        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "iq:register get once registered")
        query = query_of(reply)
        self.assertIsNotNone(query.find(q("registered")),
                             "<registered/> once registered:\n  %s"
                             % show(reply))
        form = form_of(reply)
        if form is not None:
            self.assertEqual(form.get("type"), "form",
                             "form type:\n  %s" % show(reply))
            fields = form_fields(form)
            for var, value in JULIET.items():
                self.assertIn(var, fields, "field %s:\n  %s"
                              % (var, show(reply)))
                self.assertEqual(fields[var]["values"], [value],
                                 "%s pre-filled with the stored value:\n  %s"
                                 % (var, show(reply)))
        else:
            for var in ("first", "last", "email"):
                self.assertEqual(query.findtext(q(var)), JULIET[var],
                                 "legacy <%s/> with the stored value:\n  %s"
                                 % (var, show(reply)))

    def test_registration_belongs_to_the_bare_jid(self):
        """Registered from one resource, seen as registered from another."""
        first = self.client("c16")
        self.register(first)
        self.assertEqual(self.only_row("c16")["jid"], bare("c16"),
                         "rows are keyed by the bare JID")
        other = self.client("c16")
        self.assertNotEqual(str(first.boundjid), str(other.boundjid))
        reply = self.send(other, "get", register_query())
        self.assertIsNotNone(query_of(reply).find(q("registered")),
                             "another resource of the same account sees "
                             "<registered/>:\n  %s" % show(reply))

    def test_second_set_updates_the_registration(self):
        c = self.client("c03")
        self.register(c)
        before = self.only_row("c03")
        time.sleep(0.05)

        romeo = {"first": "Juliet", "last": "Montague",
                 "email": "juliet@montague.lit", "x-gender": "F"}
        reply = self.send(c, "set", submit_form(romeo))
        self.assertResult(reply, "a second set from the same JID")
        after = self.only_row("c03")
        self.assertEqual(after["fields"], romeo, "fields updated: %r" % after)
        self.assertEqual(after["created_at"], before["created_at"],
                         "created_at kept: %r -> %r" % (before, after))
        self.assertGreater(after["updated_at"], before["updated_at"],
                           "updated_at moves on: %r -> %r" % (before, after))

        reply = self.send(c, "get", register_query())
        fields = form_fields(form_of(reply)) if form_of(reply) is not None \
            else {}
        if fields:
            self.assertEqual(fields["last"]["values"], ["Montague"],
                             "get shows the update:\n  %s" % show(reply))

    def test_optional_field_may_be_left_out(self):
        c = self.client("c10")
        values = {k: v for k, v in JULIET.items() if k != "x-gender"}
        self.register(c, values, "a form without the optional x-gender")
        row = self.only_row("c10")
        for var in ("first", "last", "email"):
            self.assertEqual(row["fields"].get(var), JULIET[var],
                             "stored %s: %r" % (var, row))
        self.assertIn(row["fields"].get("x-gender"), (None, ""),
                      "x-gender was not given: %r" % row)

    # -- errors

    def test_missing_required_field(self):
        c = self.client("c04")
        values = {k: v for k, v in JULIET.items() if k != "last"}
        reply = self.send(c, "set", submit_form(values))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "form without the required 'last'")
        text = (self._error_text(reply) or "")
        self.assertTrue("last" in text or "Family Name" in text,
                        "the error <text/> names the missing field:\n  %s"
                        % show(reply))
        self.assertNoRow("c04", "missing required field")

    def test_empty_required_field(self):
        c = self.client("c12")
        values = dict(JULIET, first="")
        reply = self.send(c, "set", submit_form(values))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "required 'first' with an empty value")
        self.assertNoRow("c12", "empty required field")

    def test_list_single_value_not_an_option(self):
        c = self.client("c05")
        reply = self.send(c, "set", submit_form(dict(JULIET,
                                                     **{"x-gender": "Q"})))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "x-gender=Q is not among the options")
        self.assertNoRow("c05", "invalid list-single value")

    def test_list_single_with_two_values(self):
        c = self.client("c17")
        reply = self.send(c, "set", submit_form(dict(JULIET,
                                                     **{"x-gender": ["M", "F"]})))
        # a malformed submission (bad-request) or an unacceptable value
        # (not-acceptable): either is fair, but it must be refused
        got = stanza_error(reply)
        self.assertIsNotNone(got, "a list-single with two values is "
                             "refused:\n  %s" % show(reply))
        self.assertIn(got[:3], [("bad-request", "400", "modify"),
                                ("not-acceptable", "406", "modify")],
                      "a list-single with two values:\n  %s" % show(reply))
        self.assertNoRow("c17", "list-single with two values")

    def test_empty_set_is_refused(self):
        c = self.client("c18")
        reply = self.send(c, "set", register_query())
        self.assertEqual(reply.get("type"), "error",
                         "a set with an empty <query/> registers nothing:\n  %s"
                         % show(reply))
        self.assertNoRow("c18", "empty set")

    def test_wrong_form_type(self):
        c = self.client("c06")
        reply = self.send(c, "set", submit_form(JULIET,
                                                form_type="urn:example:other"))
        self.assertStanzaError(reply, "bad-request", 400, "modify",
                               "submission with a foreign FORM_TYPE")
        self.assertNoRow("c06", "wrong FORM_TYPE")

    def test_form_of_type_form_is_not_a_submission(self):
        c = self.client("c13")
        payload = submit_form(JULIET).replace("type='submit'", "type='form'")
        reply = self.send(c, "set", payload)
        self.assertEqual(reply.get("type"), "error",
                         "an <x type='form'/> is not a submission:\n  %s"
                         % show(reply))
        self.assertNoRow("c13", "x type='form' in a set")

    def test_remove_when_not_registered(self):
        c = self.client("c07")
        reply = self.send(c, "set", register_query("<remove/>"))
        self.assertStanzaError(reply, "registration-required", 407, "auth",
                               "<remove/> from an unregistered JID")

    def test_remove_with_a_sibling_element(self):
        c = self.client("c08")
        self.register(c)
        reply = self.send(c, "set", register_query(
            "<remove/><username>juliet</username>"))
        self.assertStanzaError(reply, "bad-request", 400, "modify",
                               "<remove/> with another element beside it")
        self.only_row("c08")

    def test_remove_when_registered(self):
        c = self.client("c09")
        self.register(c)
        self.only_row("c09")
        reply = self.send(c, "set", register_query("<remove/>"))
        self.assertResult(reply, "<remove/> from a registered JID")
        self.assertNoRow("c09", "after <remove/>")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "get after <remove/>")
        self.assertIsNone(query_of(reply).find(q("registered")),
                          "no <registered/> after removal:\n  %s"
                          % show(reply))

    def test_get_with_children_is_bad_request(self):
        """XEP-0077: a get carries an empty <query/>; whatever the service
        does with extra children, it must answer and store nothing."""
        c = self.client("c14")
        reply = self.send(c, "get", register_query("<first>x</first>"))
        self.assertIn(reply.get("type"), ("result", "error"))
        self.assertNoRow("c14", "get with children")

    def test_rows_only_for_this_service(self):
        c = self.client("c15")
        self.register(c)
        rows = psql_json("SELECT service FROM registrations WHERE jid = :'jid'",
                         jid=bare("c15"))
        self.assertEqual(rows, [{"service": self.service}],
                         "rows are keyed by the component JID: %r" % rows)

    # -- util

    @staticmethod
    def _error_text(reply):
        got = stanza_error(reply)
        return got[3] if got else None


if __name__ == "__main__":
    unittest.main()
