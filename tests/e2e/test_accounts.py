"""The "accounts" service: username/password/email, offered both as legacy
XEP-0077 elements and as a data form; passwords only as bcrypt hashes;
usernames unique per service whatever their case, also under a race."""

import asyncio
import unittest

from e2e import (RACERS, E2ETestCase, form_fields, form_of, legacy,
                 password_matches, pg_dump, psql_json, q, query_of,
                 register_query, show, stanza_error, submit_form)


def count_username(service, name):
    rows = psql_json(
        "SELECT count(*) AS n FROM registrations "
        "WHERE service = :'service' AND lower(username) = lower(:'name')",
        service=service, name=name)
    return rows[0]["n"]


class AccountsTest(E2ETestCase):
    SERVICE_ENV = "ACCOUNTS_JID"

    def assertPasswordSafe(self, row, pw):
        self.assertTrue((row["password_hash"] or "").startswith("$2a$10$"),
                        "password_hash is bcrypt $2a$10$...: %r" % row)
        self.assertNotIn("password", row["fields"],
                         "the password is never in fields: %r" % row)
        self.assertNotIn(pw, str(row["fields"]),
                         "the clear password is nowhere in fields: %r" % row)
        self.assertTrue(password_matches(self.service, row["jid"], pw),
                        "crypt(pw, password_hash) = password_hash: %r" % row)
        self.assertFalse(password_matches(self.service, row["jid"], pw + "x"),
                         "a wrong password must not match: %r" % row)

    # -- get

    def test_get_unregistered_offers_form_and_legacy_fields(self):
        c = self.client("a01")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "iq:register get")
        query = query_of(reply)
        self.assertIsNotNone(query, "result without <query/>:\n  %s"
                             % show(reply))
        self.assertIsNotNone(query.find(q("instructions")),
                             "<instructions/>:\n  %s" % show(reply))
        self.assertIsNone(query.find(q("registered")),
                          "no <registered/> yet:\n  %s" % show(reply))
        for name in ("username", "password", "email"):
            el = query.find(q(name))
            self.assertIsNotNone(el, "legacy <%s/>:\n  %s"
                                 % (name, show(reply)))
            self.assertFalse((el.text or "").strip(),
                             "legacy <%s/> is empty:\n  %s"
                             % (name, show(reply)))
        form = form_of(reply)
        self.assertIsNotNone(form, "a jabber:x:data form too:\n  %s"
                             % show(reply))
        self.assertEqual(form.get("type"), "form")
        self.assertFormType(form, reply)
        fields = form_fields(form)
        self.assertEqual(set(fields), {"FORM_TYPE", "username", "password",
                                       "email"},
                         "form fields:\n  %s" % show(reply))
        self.assertEqual(fields["username"]["type"], "text-single")
        self.assertEqual(fields["password"]["type"], "text-private",
                         "password is text-private:\n  %s" % show(reply))
        self.assertEqual(fields["email"]["type"], "text-single")
        for var in ("username", "password", "email"):
            self.assertTrue(fields[var]["required"],
                            "%s is <required/>:\n  %s" % (var, show(reply)))

    # -- legacy registration, the seed's bill/Calliope

    def test_legacy_register_bill_then_conflict_on_Bill(self):
        bill = self.client("a02")
        reply = self.send(bill, "set", legacy(
            username="bill", password="Calliope",
            email="bard@shakespeare.lit"))
        self.assertResult(reply, "legacy registration of bill")
        self.assertEqual(len(list(reply)), 0,
                         "a successful registration is an empty result:\n  %s"
                         % show(reply))

        row = self.only_row("a02")
        self.assertEqual(row["username"], "bill", "username column: %r" % row)
        self.assertEqual(row["fields"].get("email"), "bard@shakespeare.lit",
                         "email in fields: %r" % row)
        self.assertPasswordSafe(row, "Calliope")
        dump = pg_dump()
        self.assertIn("bard@shakespeare.lit", dump,
                      "pg_dump sanity: the row is in the dump")
        self.assertNotIn("Calliope", dump,
                         "the clear password appears nowhere in pg_dump")

        reply = self.send(bill, "get", register_query())
        self.assertResult(reply, "get once registered")
        query = query_of(reply)
        self.assertIsNotNone(query.find(q("registered")),
                             "<registered/>:\n  %s" % show(reply))
        self.assertEqual(query.findtext(q("username")), "bill",
                         "<username>bill</username>:\n  %s" % show(reply))
        self.assertEqual(query.findtext(q("email")), "bard@shakespeare.lit",
                         "<email/> with the stored value:\n  %s" % show(reply))
        self.assertFalse((query.findtext(q("password")) or "").strip(),
                         "never a password value in a get:\n  %s"
                         % show(reply))
        self.assertNotIn("Calliope", show(reply))
        form = form_of(reply)
        if form is not None:
            fields = form_fields(form)
            self.assertEqual(fields.get("password", {}).get("values", []) or
                             [""], [""], "the form's password is empty:\n  %s"
                             % show(reply))

        # another account wants "Bill": same name, other case
        gates = self.client("a03")
        reply = self.send(gates, "set", legacy(
            username="Bill", password="m1cro$oft",
            email="billg@bigcompany.com"))
        self.assertStanzaError(reply, "conflict", 409, "cancel",
                               "username 'Bill' while 'bill' is taken")
        self.assertNoRow("a03", "refused username")
        self.assertEqual(count_username(self.service, "bill"), 1,
                         "still exactly one bill")
        self.assertNotIn("m1cro$oft", pg_dump())

    def test_conflict_case_insensitive(self):
        first, second = self.clients(["a04", "a05"])
        self.assertResult(self.send(first, "set", legacy(
            username="carol", password="pw-carol-1",
            email="carol@example.org")), "carol registers")
        reply = self.send(second, "set", legacy(
            username="CAROL", password="pw-carol-2",
            email="other@example.org"))
        self.assertStanzaError(reply, "conflict", 409, "cancel",
                               "CAROL while carol is taken")
        self.assertEqual(count_username(self.service, "carol"), 1)

    def test_conflict_unicode_width(self):
        """registrations_username_key compares NFKC-normalised, lower-cased
        names: fullwidth 'ＥＶＥ' is the same name as 'eve'."""
        first, second = self.clients(["a12", "a13"])
        self.assertResult(self.send(first, "set", legacy(
            username="eve", password="pw-eve-1", email="eve@example.org")),
            "eve registers")
        reply = self.send(second, "set", legacy(
            username="\uff25\uff36\uff25", password="pw-eve-2",
            email="eve2@example.org"))
        self.assertStanzaError(reply, "conflict", 409, "cancel",
                               "fullwidth EVE while eve is taken")
        self.assertNoRow("a13", "refused fullwidth username")

    def test_overlong_value_is_refused(self):
        c = self.client("a14")
        reply = self.send(c, "set", legacy(
            username="long", password="pw-long", email="x" * 20000))
        self.assertEqual(reply.get("type"), "error",
                         "a 20000-character email is refused:\n  %s"
                         % show(reply)[:2000])
        self.assertNoRow("a14", "overlong value")

    def test_legacy_missing_email(self):
        c = self.client("a06")
        reply = self.send(c, "set", legacy(username="noemail",
                                           password="pw-noemail"))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "legacy set without the required email")
        self.assertNoRow("a06", "missing email")

    def test_legacy_empty_password(self):
        c = self.client("a07")
        reply = self.send(c, "set", legacy(username="nopw", password=None,
                                           email="nopw@example.org"))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "legacy set with an empty <password/>")
        self.assertNoRow("a07", "empty password")

    # -- data form registration

    def test_form_registration(self):
        c = self.client("a08")
        pw = "Form-Pw-8d1f"
        reply = self.send(c, "set", submit_form(
            {"username": "formuser", "password": pw,
             "email": "formuser@example.org"},
            types={"password": "text-private"}))
        self.assertResult(reply, "data form registration")
        row = self.only_row("a08")
        self.assertEqual(row["username"], "formuser", "username: %r" % row)
        self.assertEqual(row["fields"].get("email"), "formuser@example.org")
        self.assertPasswordSafe(row, pw)
        self.assertNotIn(pw, pg_dump(),
                         "the clear password appears nowhere in pg_dump")

    def test_form_missing_required_password(self):
        c = self.client("a09")
        reply = self.send(c, "set", submit_form(
            {"username": "formnopw", "email": "formnopw@example.org"}))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "data form without the required password")
        self.assertNoRow("a09", "form without password")

    # -- remove frees the username

    def test_remove_frees_the_username(self):
        first, second = self.clients(["a10", "a11"])
        self.assertResult(self.send(first, "set", legacy(
            username="dora", password="pw-dora-1",
            email="dora@example.org")), "dora registers")
        reply = self.send(first, "set", register_query("<remove/>"))
        self.assertResult(reply, "dora cancels")
        self.assertNoRow("a10", "after <remove/>")
        reply = self.send(second, "set", legacy(
            username="Dora", password="pw-dora-2",
            email="dora2@example.org"))
        self.assertResult(reply, "the freed name taken by someone else")
        self.assertEqual(self.only_row("a11")["username"], "Dora")

    # -- the race

    def test_race_same_username(self):
        """Many accounts submit the same username at once: the database's
        unique index, not a check-then-insert, must decide."""
        racers = self.clients(RACERS)
        self.assertGreaterEqual(len(racers), 20)

        async def all_at_once():
            return await asyncio.gather(*(
                c.iq("set", self.service, legacy(
                    username="racer", password="pw-race-%s" % c.user,
                    email="%s@example.org" % c.user))
                for c in racers))

        replies = self.arun(all_at_once())
        results = [r for r in replies if r.get("type") == "result"]
        errors = [r for r in replies if r.get("type") == "error"]
        summary = "\n  ".join(show(r) for r in replies)
        self.assertEqual(len(results), 1,
                         "exactly one of %d racers wins, got %d results:\n  %s"
                         % (len(racers), len(results), summary))
        self.assertEqual(len(errors), len(racers) - 1, summary)
        for r in errors:
            self.assertEqual(stanza_error(r)[:3], ("conflict", "409",
                                                   "cancel"),
                             "every loser gets conflict/409/cancel:\n  %s"
                             % show(r))
        for r in replies:
            self.assertEqual(r.get("from"), self.service, show(r))
        self.assertEqual(count_username(self.service, "racer"), 1,
                         "exactly one row named racer")
        winner = results[0].get("to").split("/")[0]
        rows = psql_json(
            "SELECT jid FROM registrations WHERE service = :'service' "
            "AND username = 'racer'", service=self.service)
        self.assertEqual(rows, [{"jid": winner}],
                         "the row belongs to the one that got the result")


if __name__ == "__main__":
    unittest.main()
