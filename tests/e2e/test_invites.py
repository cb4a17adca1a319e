"""Invitations (issue 20.1) on the "invites" service (tests/fixtures/
invites.conf: the accounts form, invites { mode = "required" }, adm01 an
admin): disco advertises urn:xmpp:pars:0; a get answers the form with its
required preauth field and instructions that say registration is by
invitation; the admin's registrar#create-invite answers XEP-0401's
invitation form (token, xmpp: URI with preauth=, landing URL, expiry) and
the database keeps only the token's SHA-256; a redemption by each path
(the form's preauth field, a <preauth/> then plain legacy elements, the
ad-hoc registration command), each one 'invite_redeemed' event after
'registered'; the refusals: no token (forbidden, 403, auth, with a text),
an unknown, expired, revoked, used-up or wrongly bound token
(item-not-found, 404, cancel), a conflict that leaves the token unused;
list-invites and revoke-invite.  Every token sent is noted as a secret:
run.sh fails if one shows in registrar's logs or in a pg_dump.  The
stanzas of interest go to $E2E_WORKDIR/invites-transcript.txt."""

import hashlib
import json
import uuid

import e2e
from e2e import (bare, note_secret, psql_json, q, register_query,
                 esc, legacy, rows_for, show, stanza_error, submit_form,
                 form_of, form_fields)
from test_adhoc import AdhocBase, ADMIN, one, psql_exec

NS_PARS = "urn:xmpp:pars:0"
NS_INVITATION = "urn:xmpp:invite#invitation"
FORM_TYPE_INVITE = "urn:registrar:invite"
NODE_CREATE = "registrar#create-invite"
NODE_LIST = "registrar#list-invites"
NODE_REVOKE = "registrar#revoke-invite"



def transcript(title, xml, sent=None):
    e2e.transcript('invites', title, xml, sent)


class InvitesTest(AdhocBase):
    SERVICE_ENV = "INVITES_JID"

    # -- helpers

    def create(self, what, **form):
        """An invitation made by the admin's command (two stages); the
        result Iq and the values of its form."""
        admin = self.commands_client(ADMIN)
        first = self.run_cmd(admin, NODE_CREATE)
        self.assertEqual(first["command"]["status"], "executing",
                         show(first.xml))
        sid = first["command"]["sessionid"]
        last = self.run_cmd(admin, NODE_CREATE, action="complete",
                            form=dict(form, FORM_TYPE=FORM_TYPE_INVITE),
                            sessionid=sid)
        self.assertCompleted(last, what)
        values = {k: one(v) for k, v in
                  last["command"]["form"].get_values().items()}
        note_secret(values["token"])
        return last, values

    def form_with(self, user, token=None, username=None):
        values = {"username": username or "%s-%s" % (user,
                                                     uuid.uuid4().hex[:6]),
                  "password": "pw-" + uuid.uuid4().hex[:10],
                  "email": "%s@example.org" % user}
        if token is not None:
            values["preauth"] = token
        return values

    def uses(self, token):
        rows = psql_json("SELECT uses FROM registration_invites "
                         "WHERE token_hash = sha256(convert_to(:'t', 'UTF8'))",
                         t=token)
        self.assertEqual(len(rows), 1, "one invitation for the token")
        return rows[0]["uses"]

    def redeemed_events(self, user):
        return [e["event"] for e in psql_json(
            "SELECT event FROM registration_events WHERE service = :'s' "
            "AND jid = :'j' ORDER BY id", s=self.service, j=bare(user))]

    # -- disco, the form

    def test_disco_and_form(self):
        c = self.client("i01")
        reply = self.send(c, "get", "<query xmlns='http://jabber.org/"
                          "protocol/disco#info'/>")
        features = [f.get("var") for f in reply.iter(
            "{http://jabber.org/protocol/disco#info}feature")]
        self.assertIn(NS_PARS, features, show(reply))
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "the form")
        transcript("a get of the form (mode = required)", reply)
        instructions = reply.find(q("query")).findtext(q("instructions"))
        self.assertIn("by invitation", instructions or "", show(reply))
        fields = form_fields(form_of(reply))
        self.assertIn("preauth", fields, show(reply))
        self.assertEqual(fields["preauth"]["type"], "text-single")
        self.assertTrue(fields["preauth"]["required"])
        self.assertTrue(fields["preauth"]["label"])

    # -- create-invite, list, revoke

    def test_create_invite_result(self):
        iq, v = self.create("create-invite", label="for i02",
                            max_uses="1", expires="2d")
        transcript("registrar#create-invite: the result as sent", iq.xml)
        self.assertEqual(v["FORM_TYPE"], NS_INVITATION)
        token = v["token"]
        self.assertGreaterEqual(len(token), 22, "128 bits at least")
        self.assertRegex(token, r"^[A-Za-z0-9_-]+$", "URL-safe")
        self.assertEqual(v["uri"], "xmpp:%s?register;preauth=%s"
                         % (self.service, token))
        self.assertEqual(v["landing-url"],
                         "https://invite.example/#" + token)
        self.assertRegex(v["expire"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        row = psql_json(
            "SELECT id, encode(token_hash, 'hex') AS h, label, creator, "
            "max_uses, uses, round(extract(epoch FROM expires_at - "
            "created_at)) AS ttl FROM registration_invites "
            "WHERE id = :'id'", id=v["id"])[0]
        self.assertEqual(row["h"], hashlib.sha256(token.encode()).hexdigest(),
                         "only the SHA-256 of the token is stored")
        self.assertEqual((row["label"], row["creator"], row["max_uses"],
                          row["uses"], row["ttl"]),
                         ("for i02", bare(ADMIN), 1, 0, 172800))
        ev = psql_json("SELECT event, jid, detail FROM registration_events "
                       "WHERE service = :'s' AND iq_id = :'i'",
                       s=self.service, i=iq["id"])
        self.assertEqual([(e["event"], e["jid"]) for e in ev],
                         [("invite_created", bare(ADMIN))])
        self.assertEqual(str(ev[0]["detail"]["invite"]), str(v["id"]))

        # list-invites: this one, usable, no token
        admin = self.commands_client(ADMIN)
        lst = self.run_cmd(admin, NODE_LIST)
        self.assertCompleted(lst, "list-invites")
        lines = lst["command"]["form"].get_values()["invites"]
        lines = lines if isinstance(lines, list) else lines.split("\n")
        rows = [json.loads(line) for line in lines if line.strip()]
        mine = [r for r in rows if str(r["id"]) == str(v["id"])]
        self.assertEqual(len(mine), 1, "list-invites shows it: %r" % rows)
        self.assertEqual((mine[0]["label"], mine[0]["state"],
                          mine[0]["uses"], mine[0]["max_uses"]),
                         ("for i02", "usable", 0, 1))
        self.assertNotIn(token, "\n".join(lines))

        # revoke-invite: then the token is refused
        done = self.two_stage_invite(admin, NODE_REVOKE, {"id": v["id"]})
        self.assertIn(("info", "Revoked."), self.notes(done))
        c = self.client("i02")
        reply = self.send(c, "set", submit_form(self.form_with("i02",
                                                               token)))
        transcript("a revoked token: refused", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "revoked token",
                               text_contains="invalid or expired")
        self.assertNoRow("i02", "revoked token")
        self.assertEqual(psql_json(
            "SELECT count(*) AS n FROM registration_events WHERE "
            "event = 'invite_revoked' AND detail->>'invite' = :'id'",
            id=str(v["id"]))[0]["n"], 1)
        # a second revocation: an error note
        again = self.two_stage_invite(admin, NODE_REVOKE, {"id": v["id"]})
        self.assertIn(("error", "No such invitation, or revoked already."),
                      self.notes(again))

    def two_stage_invite(self, client, node, form):
        first = self.run_cmd(client, node)
        sid = first["command"]["sessionid"]
        last = self.run_cmd(client, node, action="complete",
                            form=dict(form, FORM_TYPE=FORM_TYPE_INVITE),
                            sessionid=sid)
        self.assertCompleted(last, node)
        return last

    # -- redemption, by each path

    def test_redeem_by_form(self):
        _, v = self.create("single use", max_uses="1")
        token = v["token"]
        c = self.client("i03")
        sent = submit_form(self.form_with("i03", token))
        reply = self.send(c, "set", sent)
        transcript("redemption by the form's preauth field", reply, sent)
        self.assertResult(reply, "registration with a token")
        self.only_row("i03")
        self.assertEqual(self.uses(token), 1)
        self.assertEqual(self.redeemed_events("i03"),
                         ["registered", "invite_redeemed"])
        self.assertNotIn("preauth", self.only_row("i03")["fields"])
        # used up: another JID is refused, nothing stored
        other = self.client("i04")
        reply = self.send(other, "set",
                          submit_form(self.form_with("i04", token)))
        transcript("a used-up token: refused", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "used-up token")
        self.assertNoRow("i04", "used-up token")
        # an update needs none
        reply = self.send(c, "set", submit_form(
            {"username": self.only_row("i03")["username"],
             "email": "new-i03@example.org"}))
        self.assertResult(reply, "an update without a token")

    def test_redeem_by_preauth(self):
        _, v = self.create("preauth", max_uses="1",
                           fields="email=i05@preset.example")
        token = v["token"]
        c = self.client("i05")
        pre = "<preauth xmlns='%s' token='%s'/>" % (NS_PARS, esc(token))
        reply = self.send(c, "set", pre)
        transcript("<preauth/> (XEP-0445)", reply, pre)
        self.assertResult(reply, "preauth")
        self.assertEqual(len(list(reply)), 0, "an empty result")
        self.assertEqual(self.uses(token), 0, "a preauth uses nothing")
        # the form it gets now: pre-filled with the invitation's values
        reply = self.send(c, "get", register_query())
        transcript("after <preauth/>: the form, pre-filled", reply)
        fields = form_fields(form_of(reply))
        self.assertEqual(fields["email"]["values"], ["i05@preset.example"],
                         show(reply))
        # ... which asks no token any more
        self.assertFalse(fields["preauth"]["required"], show(reply))
        self.assertNotIn("by invitation", reply.find(q("query")).findtext(
            q("instructions")) or "", show(reply))
        # then plain legacy elements, no token
        sent = legacy(username="i05-" + uuid.uuid4().hex[:6],
                      password="pw-" + uuid.uuid4().hex[:10],
                      email="i05@example.org")
        reply = self.send(c, "set", sent)
        transcript("after <preauth/>: a plain legacy registration", reply,
                   sent)
        self.assertResult(reply, "registration after preauth")
        self.assertEqual(self.uses(token), 1)
        ev = psql_json("SELECT detail->>'via' AS via FROM registration_events"
                       " WHERE service = :'s' AND jid = :'j' AND "
                       "event = 'invite_redeemed'",
                       s=self.service, j=bare("i05"))
        self.assertEqual(ev, [{"via": "preauth"}])
        # an unknown token
        reply = self.send(self.client("i06"), "set",
                          "<preauth xmlns='%s' token='nope-%s'/>"
                          % (NS_PARS, uuid.uuid4().hex))
        transcript("<preauth/> with an unknown token", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "unknown preauth token",
                               text_contains="invalid or expired")

    def test_redeem_by_adhoc_command(self):
        _, v = self.create("command")
        token = v["token"]
        c = self.commands_client("i07")
        first = self.run_cmd(c, "jabber:iq:register")
        self.assertIn("preauth", first["command"]["form"].get_fields())
        sid = first["command"]["sessionid"]
        form = dict(self.form_with("i07", token),
                    FORM_TYPE="jabber:iq:register")
        done = self.run_cmd(c, "jabber:iq:register", action="complete",
                            sessionid=sid, form=form)
        transcript("redemption by the ad-hoc registration command", done.xml,
                   "<command node='jabber:iq:register' action='complete' "
                   "sessionid='%s'> with the form %r" % (
                       sid, dict(form, password="(password)")))
        self.assertCompleted(done, "registration command with a token")
        self.only_row("i07")
        self.assertEqual(self.uses(token), 1)

    # -- refusals

    def test_refused(self):
        c = self.client("i08")
        # no token
        sent = submit_form(self.form_with("i08"))
        reply = self.send(c, "set", sent)
        transcript("no token (mode = required): refused", reply, sent)
        self.assertStanzaError(reply, "forbidden", 403, "auth", "no token",
                               text_contains="by invitation only")
        reply = self.send(c, "set", legacy(username="i08x",
                                           password="pw-i08-legacy",
                                           email="i08@example.org"))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "no token, legacy")
        # unknown
        reply = self.send(c, "set", submit_form(self.form_with(
            "i08", "unknown-" + uuid.uuid4().hex)))
        transcript("an unknown token: refused", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "unknown token")
        # expired
        _, v = self.create("expired")
        psql_exec("UPDATE registration_invites SET expires_at = now() - "
                  "interval '1 minute' WHERE id = :'id'", id=v["id"])
        reply = self.send(c, "set", submit_form(self.form_with(
            "i08", v["token"])))
        transcript("an expired token: refused", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "expired token")
        # bound to another JID
        _, v = self.create("bound", bound_to=bare("i09"))
        reply = self.send(c, "set", submit_form(self.form_with(
            "i08", v["token"])))
        transcript("a token bound to another JID: refused", reply)
        self.assertStanzaError(reply, "item-not-found", 404, "cancel",
                               "wrongly bound token")
        self.assertNoRow("i08", "every refusal")
        # ... and accepted from that JID
        reply = self.send(self.client("i09"), "set", submit_form(
            self.form_with("i09", v["token"])))
        self.assertResult(reply, "the bound JID")

    def test_conflict_leaves_token_unused(self):
        _, v = self.create("conflict", max_uses="1")
        token = v["token"]
        _, first = self.create("first")
        taken = "i10-" + uuid.uuid4().hex[:6]
        reply = self.send(self.client("i10"), "set", submit_form(
            self.form_with("i10", first["token"], username=taken)))
        self.assertResult(reply, "first registration")
        c = self.client("i11")
        reply = self.send(c, "set", submit_form(
            self.form_with("i11", token, username=taken)))
        transcript("a conflict: the token is not used", reply)
        self.assertStanzaError(reply, "conflict", 409, "cancel", "conflict")
        self.assertEqual(self.uses(token), 0, "a conflict uses nothing")
        reply = self.send(c, "set", submit_form(self.form_with("i11", token)))
        self.assertResult(reply, "then with another username")
        self.assertEqual(self.uses(token), 1)

    def test_non_admin_cannot_create(self):
        user = self.commands_client("i12")
        cond, code, etype, _ = self.run_error(user, NODE_CREATE)
        self.assertEqual((cond, code, etype), ("forbidden", "403", "cancel"))

    def test_list_stays_under_reply_cap(self):
        """list-invites keeps its reply under 60 KiB: 100 invitations with
        256-character labels (each '&', five bytes escaped) and twelve
        redemptions each would take some 400 KiB; the newest that fit are
        listed, with a note, and each shows at most its newest 10
        redemptions."""
        label = "cap&" + "&" * 252
        try:
            psql_exec(
                "WITH i AS (INSERT INTO registration_invites"
                "   (service, token_hash, label, creator)"
                " SELECT :'s', sha256(convert_to('cap-' || g, 'UTF8')),"
                "        :'l', 'cap@localhost'"
                "   FROM generate_series(1, 100) g RETURNING id)"
                " INSERT INTO registration_invite_redemptions"
                "   (invite_id, service, jid, at)"
                " SELECT i.id, :'s', 'cap' || r || '@localhost',"
                "        now() - r * interval '1 s'"
                "   FROM i, generate_series(1, 12) r",
                s=self.service, l=label)
            admin = self.commands_client(ADMIN)
            lst = self.run_cmd(admin, NODE_LIST)
            self.assertCompleted(lst, "list-invites")
            size = len(str(lst).encode())
            self.assertLess(size, 60 * 1024, "the reply stays under 60 KiB")
            lines = lst["command"]["form"].get_values()["invites"]
            lines = lines if isinstance(lines, list) else lines.split("\n")
            rows = [json.loads(line) for line in lines if line.strip()]
            self.assertGreater(len(rows), 10)
            self.assertLess(len(rows), 100)
            notes = self.notes(lst)
            self.assertTrue(any(t == "warn" and "newest %d only" % len(rows)
                                in x for t, x in notes), notes)
            for r in rows:
                if r["label"] == label:
                    self.assertEqual(len(r["redemptions"]), 10, r)
        finally:
            psql_exec("DELETE FROM registration_invites"
                      " WHERE service = :'s' AND creator = 'cap@localhost'",
                      s=self.service)


if __name__ == "__main__":
    import unittest
    unittest.main()
