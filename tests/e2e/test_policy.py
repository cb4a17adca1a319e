"""The rest of XEP-0077, end to end: password change (legacy, and the
jabber:iq:register:changepassword form with a proof), cancellation with a
jabber:iq:register:cancel form, redirection (XEP-0077 section 5, XEP-0066),
the access policy (blocked JIDs, other servers) and rate limits.  Services
(run.sh): accounts (defaults), policy, redirect, remote, survey."""

import time

from e2e import (E2ETestCase, NS_DATA, bare, env, form_fields, form_of,
                 legacy, note_secret, password_matches, pg_dump, q,
                 query_of, register_query, rows_for, show, submit_form)

NS_OOB = "jabber:x:oob"
NS_CHANGEPW = "jabber:iq:register:changepassword"
NS_CANCEL = "jabber:iq:register:cancel"


def stored_hash(service, jid):
    rows = rows_for(service, jid)
    return rows[0]["password_hash"] if rows else None


class PolicyCase(E2ETestCase):
    def register(self, client, user, pw, mmn=None, service=None):
        fields = dict(username=user, password=pw,
                      email="%s@example.org" % user)
        if mmn is not None:
            fields["x-mmn"] = mmn
            reply = self.send(client, "set", submit_form(fields),
                              to=service)
        else:
            reply = self.send(client, "set", legacy(**fields), to=service)
        self.assertResult(reply, "registration of %s" % user)


class LegacyPasswordChangeTest(PolicyCase):
    """accounts: password_change = "legacy" (the default)."""
    SERVICE_ENV = "ACCOUNTS_JID"

    def test_change_own_password(self):
        c = self.client("p01")
        self.register(c, "pone", "first-pw-p01")
        note_secret("second-pw-p01")
        reply = self.send(c, "set", legacy(username="pone",
                                           password="second-pw-p01"))
        self.assertResult(reply, "legacy password change")
        self.assertTrue(password_matches(self.service, bare("p01"), "second-pw-p01"),
                        "the new password verifies with crypt() in SQL")
        self.assertFalse(password_matches(self.service, bare("p01"), "first-pw-p01"))
        row = rows_for(self.service, bare("p01"))[0]
        self.assertEqual(row["fields"].get("email"), "pone@example.org",
                         "the email on file is unchanged: %r" % row)

    def test_other_users_name_changes_nothing(self):
        c = self.client("p02")
        self.register(c, "ptwo", "first-pw-p02")
        before = stored_hash(self.service, bare("p02"))
        reply = self.send(c, "set", legacy(username="somebody-else",
                                           password="stolen-pw-p02"))
        self.assertStanzaError(reply, "not-authorized", 401, "modify",
                               "username of another account")
        self.assertIsNone(query_of(reply),
                          "a password-change error echoes nothing:\n  %s"
                          % show(reply))
        self.assertEqual(stored_hash(self.service, bare("p02")), before)

    def test_empty_password_keeps_the_old_one(self):
        c = self.client("p03")
        self.register(c, "pthree", "first-pw-p03")
        before = stored_hash(self.service, bare("p03"))
        for empty in (None, "   "):
            reply = self.send(c, "set", legacy(username="pthree",
                                               password=empty))
            self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                                   "empty new password %r" % empty)
        self.assertEqual(stored_hash(self.service, bare("p03")), before)
        self.assertTrue(password_matches(self.service, bare("p03"), "first-pw-p03"))

    def test_bcrypt_limit_legacy_change_and_register(self):
        """bcrypt reads 72 bytes: 73 are refused with 406 (not truncated,
        and for a legacy change not 401), by registration and change."""
        c = self.client("p21")
        self.register(c, "ptwentyone", "first-pw-p21")
        before = stored_hash(self.service, bare("p21"))
        long_pw = "y" * 73
        reply = self.send(c, "set", legacy(username="ptwentyone",
                                           password=long_pw))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "a 73-byte password in a legacy change",
                               text_contains="72 bytes")
        self.assertEqual(stored_hash(self.service, bare("p21")), before)
        c2 = self.client("p22")
        reply = self.send(c2, "set", legacy(username="ptwentytwo",
                                            password=long_pw,
                                            email="p22@example.org"))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "a 73-byte password at registration",
                               text_contains="72 bytes")
        self.assertEqual(rows_for(self.service, bare("p22")), [])
        reply = self.send(c2, "set", legacy(username="ptwentytwo",
                                            password=long_pw[:72],
                                            email="p22@example.org"))
        self.assertResult(reply, "a 72-byte password")
        self.assertTrue(password_matches(self.service, bare("p22"), long_pw[:72]))


class FormPasswordChangeTest(PolicyCase):
    """policy: password_change = "form", password_change_proof = x-mmn."""
    SERVICE_ENV = "POLICY_JID"

    def change_form(self, user, old, new, mmn):
        note_secret(old)
        note_secret(new)
        return submit_form({"username": user, "old_password": old,
                            "password": new, "x-mmn": mmn},
                           form_type=NS_CHANGEPW)

    def test_legacy_request_gets_the_form(self):
        c = self.client("p04")
        self.register(c, "pfour", "first-pw-p04", mmn="Throckmorton")
        reply = self.send(c, "set", legacy(username="pfour",
                                           password="new-pw-p04"))
        self.assertStanzaError(reply, "not-authorized", 401, "modify",
                               "legacy change on a form service")
        form = form_of(reply)
        self.assertIsNotNone(form, "the changepassword form comes with "
                             "the error:\n  %s" % show(reply))
        fields = form_fields(form)
        self.assertEqual(fields["FORM_TYPE"]["values"], [NS_CHANGEPW])
        for var in ("username", "old_password", "password", "x-mmn"):
            self.assertIn(var, fields, show(reply))
            self.assertTrue(fields[var]["required"], var)
        self.assertEqual(fields["old_password"]["type"], "text-private")
        self.assertTrue(password_matches(self.service, bare("p04"), "first-pw-p04"))

    def test_wrong_old_password_or_proof(self):
        c = self.client("p05")
        self.register(c, "pfive", "first-pw-p05", mmn="Throckmorton")
        before = stored_hash(self.service, bare("p05"))
        reply = self.send(c, "set", self.change_form(
            "pfive", "wrong-old-p05", "new-pw-p05", "Throckmorton"))
        self.assertStanzaError(reply, "not-authorized", 401, "modify",
                               "wrong old password")
        reply = self.send(c, "set", self.change_form(
            "pfive", "first-pw-p05", "new-pw-p05", "Capulet"))
        self.assertStanzaError(reply, "not-authorized", 401, "modify",
                               "wrong proof (x-mmn)")
        self.assertEqual(stored_hash(self.service, bare("p05")), before)

    def test_right_proof_changes_it(self):
        c = self.client("p06")
        self.register(c, "psix", "first-pw-p06", mmn="Throckmorton")
        reply = self.send(c, "set", self.change_form(
            "psix", "first-pw-p06", "groundlings-p06", "Throckmorton"))
        self.assertResult(reply, "changepassword form")
        self.assertTrue(password_matches(self.service, bare("p06"),
                                 "groundlings-p06"))

    def test_unregistered(self):
        c = self.client("p07")
        reply = self.send(c, "set", self.change_form(
            "pseven", "x-p07", "y-p07", "z"))
        self.assertStanzaError(reply, "registration-required", 407, "auth",
                               "change from an unregistered JID")


class CancelFormTest(PolicyCase):
    """policy: remove = "form", remove_proof = x-mmn."""
    SERVICE_ENV = "POLICY_JID"

    def cancel_form(self, user, pw, mmn):
        note_secret(pw)
        return submit_form({"username": user, "password": pw, "x-mmn": mmn},
                           form_type=NS_CANCEL)

    def test_cancel_with_proof(self):
        c = self.client("p08")
        self.register(c, "peight", "first-pw-p08", mmn="Throckmorton")
        reply = self.send(c, "set", register_query("<remove/>"))
        self.assertStanzaError(reply, "not-allowed", 405, "cancel",
                               "bare <remove/> on a form service")
        form = form_of(reply)
        self.assertIsNotNone(form, "the cancel form:\n  %s" % show(reply))
        fields = form_fields(form)
        self.assertEqual(fields["FORM_TYPE"]["values"], [NS_CANCEL])
        self.assertEqual({"username", "password", "x-mmn"} - set(fields),
                         set(), show(reply))
        self.assertEqual(len(rows_for(self.service, bare("p08"))), 1)
        reply = self.send(c, "set", self.cancel_form(
            "peight", "wrong-p08", "Throckmorton"))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "cancel form with a wrong password")
        self.assertEqual(len(rows_for(self.service, bare("p08"))), 1,
                         "the row is kept")
        time.sleep(1.2)  # this service allows 3 sets in a burst, 1 a second
        reply = self.send(c, "set", self.cancel_form(
            "peight", "first-pw-p08", "Throckmorton"))
        self.assertResult(reply, "cancel form with the right proof")
        self.assertEqual(rows_for(self.service, bare("p08")), [])


class SecretBehindPolicyTest(PolicyCase):
    """policy: password_change = "form", remove = "form".  No update may
    change a secret, whatever its shape; the cancel form then refuses the
    password such an update tried to set (issue: account safety)."""
    SERVICE_ENV = "POLICY_JID"

    def pause(self):
        time.sleep(1.1)  # this service allows 3 sets in a burst, 1 a second

    def test_update_cannot_change_the_password(self):
        c = self.client("p20")
        self.register(c, "ptwenty", "first-pw-p20", mmn="Throckmorton")
        before = stored_hash(self.service, bare("p20"))
        stolen = "stolen-pw-p20"
        note_secret(stolen)
        upd = dict(username="ptwenty", password=stolen,
                   email="changed@example.org")
        shapes = {
            "legacy elements with more fields": legacy(**upd),
            "data form": submit_form(dict(upd, **{"x-mmn": "Throckmorton"})),
            # the form wins over the unchanged legacy password beside it
            "form beside legacy elements": submit_form(dict(upd)).replace(
                "<x ", "<username>ptwenty</username><password>first-pw-p20"
                "</password><x ", 1),
        }
        for shape, payload in shapes.items():
            self.pause()
            reply = self.send(c, "set", payload)
            self.assertStanzaError(reply, "not-authorized", 401, "modify",
                                   "an update changing the password (%s)"
                                   % shape)
            form = form_of(reply)
            self.assertIsNotNone(form, "the changepassword form comes with "
                                 "the error (%s):\n  %s" % (shape,
                                                            show(reply)))
            self.assertEqual(form_fields(form)["FORM_TYPE"]["values"],
                             [NS_CHANGEPW])
            row = rows_for(self.service, bare("p20"))[0]
            self.assertEqual(row["password_hash"], before,
                             "the hash in SQL is unchanged (%s)" % shape)
            self.assertEqual(row["fields"].get("email"),
                             "ptwenty@example.org",
                             "nothing of the set is stored (%s)" % shape)
        self.assertTrue(password_matches(self.service, bare("p20"), "first-pw-p20"))
        self.assertFalse(password_matches(self.service, bare("p20"), stolen))
        # the whole form resent with the password on file: no change
        self.pause()
        reply = self.send(c, "set", submit_form(
            {"username": "ptwenty", "password": "first-pw-p20",
             "email": "resent@example.org", "x-mmn": "Throckmorton"}))
        self.assertResult(reply, "the form resent with the same password")
        row = rows_for(self.service, bare("p20"))[0]
        self.assertEqual(row["password_hash"], before,
                         "the same password keeps the hash on file")
        self.assertEqual(row["fields"].get("email"), "resent@example.org")
        # the cancel form refuses the value that was never set
        self.pause()
        reply = self.send(c, "set", submit_form(
            {"username": "ptwenty", "password": stolen,
             "x-mmn": "Throckmorton"}, form_type=NS_CANCEL))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "cancel form with the password an update "
                               "tried to set")
        self.assertEqual(len(rows_for(self.service, bare("p20"))), 1)
        self.pause()
        reply = self.send(c, "set", submit_form(
            {"username": "ptwenty", "password": "first-pw-p20",
             "x-mmn": "Throckmorton"}, form_type=NS_CANCEL))
        self.assertResult(reply, "cancel form with the real password")
        self.assertEqual(rows_for(self.service, bare("p20")), [])

class AccessPolicyTest(PolicyCase):
    SERVICE_ENV = "POLICY_JID"

    def test_blocked_jid_get_and_set(self):
        c = self.client("blocked1")
        reply = self.send(c, "get", register_query())
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "get from a blocked JID",
                               text_contains="Access denied")
        self.assertIsNone(form_of(reply), "no form that would be refused")
        reply = self.send(c, "set", submit_form(
            {"username": "blocked", "password": "pw-blocked1",
             "email": "b@example.org"}))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "set from a blocked JID")
        self.assertEqual(rows_for(self.service, bare("blocked1")), [])

    def test_other_servers_refused(self):
        c = self.client("p09")
        remote = env("REMOTE_JID")
        for itype, payload in (("get", register_query()),
                               ("set", legacy(first="x", last="y",
                                              email="z@example.org"))):
            reply = self.send(c, itype, payload, to=remote)
            self.assertStanzaError(reply, "forbidden", 403, "auth",
                                   "%s from a user of another server"
                                   % itype, text_contains="other servers")
        self.assertEqual(rows_for(remote, bare("p09")), [])

    def test_rate_limit_reached_and_recovered(self):
        """policy: jid_burst = 3, jid_per_minute = 60."""
        c = self.client("p10")
        fields = dict(username="pten", password="pw-p10",
                      email="pten@example.org")
        outcomes = []
        for _ in range(4):
            reply = self.send(c, "set", legacy(**fields))
            outcomes.append(reply)
        for reply in outcomes[:3]:
            self.assertResult(reply, "within the burst")
        reply = outcomes[3]
        self.assertEqual(reply.get("type"), "error", show(reply))
        err = reply.find(q("error", "jabber:client"))
        self.assertEqual(err.get("type"), "wait", show(reply))
        self.assertIsNotNone(err.find(q("policy-violation",
                                        "urn:ietf:params:xml:ns:xmpp-stanzas")),
                             show(reply))
        text = err.findtext(q("text", "urn:ietf:params:xml:ns:xmpp-stanzas"))
        self.assertIn("try again in", text or "", show(reply))
        time.sleep(1.5)  # one token a second comes back
        reply = self.send(c, "set", legacy(**fields))
        self.assertResult(reply, "after the bucket refilled")


class RedirectTest(E2ETestCase):
    SERVICE_ENV = "REDIRECT_JID"

    def test_get_gives_instructions_and_url_only(self):
        c = self.client("p11")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "get on a redirect service")
        query = query_of(reply)
        self.assertIn("https://example.org/signup",
                      query.findtext(q("instructions")) or "", show(reply))
        self.assertEqual(query.findtext(q("url", NS_OOB)) or
                         query.find(q("x", NS_OOB)).findtext(q("url", NS_OOB)),
                         "https://example.org/signup", show(reply))
        self.assertIsNone(query.find(q("x", NS_DATA)),
                          "no data form when redirecting:\n  %s"
                          % show(reply))

    def test_set_not_allowed(self):
        c = self.client("p12")
        reply = self.send(c, "set", legacy(username="x", password="pw-p12",
                                           email="x@example.org"))
        self.assertStanzaError(reply, "not-allowed", 405, "cancel",
                               "set on a redirect service")
        self.assertEqual(rows_for(self.service, bare("p12")), [])


class OobBesideFormTest(E2ETestCase):
    SERVICE_ENV = "SURVEY_JID"

    def test_url_after_the_form(self):
        c = self.client("p13")
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "get on a service with a url")
        query = query_of(reply)
        children = [child.tag for child in query]
        self.assertIn(q("x", NS_DATA), children, show(reply))
        self.assertIn(q("x", NS_OOB), children, show(reply))
        self.assertLess(children.index(q("x", NS_DATA)),
                        children.index(q("x", NS_OOB)),
                        "x:data first, x:oob after (XEP-0077 section 6)")
        self.assertEqual(query.find(q("x", NS_OOB)).findtext(q("url", NS_OOB)),
                         "https://example.org/survey")


class NoClearTextTest(E2ETestCase):
    """Runs last by name: no password sent in this module is in pg_dump."""

    def test_zz_pg_dump_has_no_password(self):
        dump = pg_dump()
        for pw in ("first-pw-p01", "second-pw-p01", "stolen-pw-p02",
                   "first-pw-p04", "first-pw-p05", "new-pw-p05",
                   "groundlings-p06", "first-pw-p08", "pw-p10",
                   "first-pw-p20", "stolen-pw-p20"):
            self.assertNotIn(pw, dump, "clear-text %r in pg_dump" % pw)
