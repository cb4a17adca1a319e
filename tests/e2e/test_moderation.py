"""Moderation that holds (the "adhoc" service: the accounts form, adm01 its
admin), with slixmpp on the real server: an admin's disable-user with a
reason, shown to the user on a get and on a refused update; the user who
cancels the disabled registration is banned, and may not register again by
the form, the legacy elements or the registration command (forbidden,
403, with the reason), nothing stored; the admin's reenable-user lifts the
ban; delete-user bans nobody. The rows, bans and events are checked in
PostgreSQL."""

import uuid

from slixmpp.exceptions import IqError

from e2e import (bare, legacy, psql_json, query_of, register_query,
                 rows_for, submit_form)
from test_adhoc import ADMIN, NS_ADMIN, AdhocBase

REASON = "Spam in the contest chat, twice"


class ModerationTest(AdhocBase):

    def values(self, user):
        return {"username": "%s-%s" % (user, uuid.uuid4().hex[:6]),
                "password": "pw-" + uuid.uuid4().hex[:10],
                "email": "%s@example.org" % user}

    def ban_of(self, user):
        return psql_json("SELECT actor, reason FROM registration_bans "
                         "WHERE service = :'s' AND jid = :'j'",
                         s=self.service, j=bare(user))

    def test_disabled_user_cancels_and_stays_out(self):
        admin = self.commands_client(ADMIN)
        user = "m01"
        self.register(user)
        iq = self.two_stage(admin, NS_ADMIN + "#disable-user",
                            {"accountjids": [bare(user)], "reason": REASON},
                            "disable-user with a reason")
        self.assertIn(("info", "Disabled: %s." % bare(user)), self.notes(iq))
        ev = self.events_of(user, iq["id"])
        self.assertEqual(ev[0]["detail"].get("reason"), REASON,
                         "the event records the reason: %r" % ev)

        c = self.client(user)
        reply = self.send(c, "get", register_query())
        self.assertResult(reply, "get of a disabled registration")
        self.assertIn("Reason: " + REASON,
                      query_of(reply).findtext(
                          "{jabber:iq:register}instructions"),
                      "the user sees why")
        reply = self.send(c, "set", submit_form(self.values(user)))
        self.assertStanzaError(reply, "not-allowed", 405, "cancel",
                               "update of a disabled registration",
                               text_contains=REASON)

        # the user cancels: the data goes, a ban stays
        reply = self.send(c, "set", register_query("<remove/>"))
        self.assertResult(reply, "remove of a disabled registration")
        self.assertEqual(rows_for(self.service, bare(user)), [])
        self.assertEqual(self.ban_of(user),
                         [{"actor": bare(ADMIN), "reason": REASON}])

        # every way back in is refused, with the reason; nothing stored
        v = self.values(user)
        reply = self.send(c, "set", submit_form(v))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "form registration of a banned JID",
                               text_contains=REASON)
        reply = self.send(c, "set", legacy(**self.values(user)))
        self.assertStanzaError(reply, "forbidden", 403, "auth",
                               "legacy registration of a banned JID",
                               text_contains=REASON)
        cmd = self.commands_client(user)
        first = self.run_cmd(cmd, "jabber:iq:register")
        with self.assertRaises(IqError) as cm:
            self.run_cmd(cmd, "jabber:iq:register", action="complete",
                         form=dict(self.values(user),
                                   FORM_TYPE="jabber:iq:register"),
                         sessionid=first["command"]["sessionid"])
        self.assertEqual(cm.exception.iq["error"]["condition"], "forbidden")
        self.assertIn(REASON, cm.exception.iq["error"]["text"])
        self.assertEqual(rows_for(self.service, bare(user)), [])

        # the admin sees who is banned
        iq = self.two_stage(admin, "registrar#get-banned-users-list",
                            {"max_items": "none"}, "banned list")
        self.assertIn(bare(user),
                      iq["command"]["form"].get_values()["banneduserjids"])

        # the admin lifts the ban
        iq = self.two_stage(admin, NS_ADMIN + "#reenable-user",
                            {"accountjids": [bare(user)]}, "reenable-user")
        self.assertTrue(any(t == "info" and text.startswith("Ban lifted")
                            for t, text in self.notes(iq)),
                        "a note says the ban was lifted: %r" % self.notes(iq))
        self.assertEqual(self.ban_of(user), [])
        ev = self.events_of(user, iq["id"])
        self.assertEqual([e["event"] for e in ev], ["ban_lifted"])
        self.assertEqual(ev[0]["detail"].get("actor"), bare(ADMIN))
        reply = self.send(c, "set", submit_form(self.values(user)))
        self.assertResult(reply, "registration once the ban is lifted")
        self.assertEqual(self.state_of(user), "active")

    def test_delete_user_bans_nobody(self):
        admin = self.commands_client(ADMIN)
        user = "m02"
        self.register(user)
        self.two_stage(admin, NS_ADMIN + "#disable-user",
                       {"accountjids": [bare(user)]}, "disable-user")
        self.two_stage(admin, NS_ADMIN + "#delete-user",
                       {"accountjids": [bare(user)]}, "delete-user")
        self.assertEqual(self.ban_of(user), [])
        c = self.client(user)
        reply = self.send(c, "set", submit_form(self.values(user)))
        self.assertResult(reply, "registration after an admin's delete")
