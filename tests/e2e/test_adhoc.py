"""Ad-hoc commands (XEP-0050) on the "adhoc" service (the accounts form,
with adm01 in `admins`): the command list in disco for an admin and for
anyone else, each XEP-0133 admin command run by the admin through
slixmpp's xep_0050 plugin (the rows, their states and events checked in
PostgreSQL), forbidden (403) to a non-admin, the session errors,
registration through the jabber:iq:register command, a list of 1,000 long
JIDs kept under the server's stanza limit, and JIDs an admin gives
prepared as the servers prepare them (stringprep)."""

import subprocess
import uuid

from slixmpp.exceptions import IqError

from e2e import (NS_DATA, Client, E2ETestCase, bare, domain, note_secret,
                 password_matches, psql_json, rows_for, show, submit_form)

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_ADMIN = "http://jabber.org/protocol/admin"
ADMIN_NODES = [NS_ADMIN + "#" + n for n in (
    "get-registered-users-num", "get-registered-users-list",
    "get-disabled-users-num", "get-disabled-users-list",
    "disable-user", "reenable-user", "delete-user")] + [
    "registrar#activate-user", "registrar#get-banned-users-list"]
ADMIN = "adm01"


def one(value):
    """A single value, however slixmpp gives it (a string or a list of
    one)."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else value
    return value


def psql_exec(sql, **params):
    """Runs one data-changing statement (psql variables as in e2e.psql_json)."""
    script = "\\set ON_ERROR_STOP 1\n"
    for name, value in params.items():
        script += "\\set %s '%s'\n" % (
            name, str(value).replace("\\", "\\\\").replace("'", "\\'"))
    out = subprocess.run(["psql", "-X", "-q"], input=script + sql + ";\n",
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("psql failed: %s\nSQL: %s"
                             % (out.stderr.strip(), sql))


def has_table(name):
    return psql_json("SELECT to_regclass(:'t') IS NOT NULL AS present",
                     t=name)[0]["present"]


def has_column(table, column):
    return psql_json(
        "SELECT count(*) AS n FROM information_schema.columns "
        "WHERE table_name = :'t' AND column_name = :'c'",
        t=table, c=column)[0]["n"] == 1


class AdhocBase(E2ETestCase):
    """The helpers of the ad-hoc tests (no test of its own: other modules
    import it)."""
    SERVICE_ENV = "ADHOC_JID"

    # -- helpers

    def commands_client(self, user):
        """A logged-in client with slixmpp's ad-hoc commands plugin."""
        c = Client(user)
        c.register_plugin("xep_0050")
        self._clients.append(c)
        return self.arun(c.start())

    def run_cmd(self, client, node, action="execute", form=None,
                sessionid=None):
        """The result Iq of one command request (slixmpp's xep_0050);
        an error reply raises IqError."""
        payload = None
        if form is not None:
            payload = client["xep_0004"].make_form(ftype="submit")
            for var, value in form.items():
                if var == "FORM_TYPE":
                    payload.add_field(var=var, ftype="hidden", value=value)
                else:
                    payload.add_field(var=var, value=value)
        return self.arun(client["xep_0050"].send_command(
            self.service, node, action=action, payload=payload,
            sessionid=sessionid))

    def run_error(self, client, node, **kw):
        """(condition, code, type, command-specific condition) of a command
        request that must fail."""
        with self.assertRaises(IqError, msg="%s must fail" % node) as cm:
            self.run_cmd(client, node, **kw)
        iq = cm.exception.iq
        err = iq.xml.find("{jabber:client}error")
        specific = [child.tag.split("}", 1)[1] for child in err
                    if child.tag.startswith("{%s}" % NS_COMMANDS)]
        return (iq["error"]["condition"], err.get("code"), err.get("type"),
                specific[0] if specific else None)

    def register(self, user, **values):
        """user registers with the service (XEP-0077, a data form)."""
        c = self.client(user)
        values.setdefault("username", "%s-%s" % (user, uuid.uuid4().hex[:6]))
        values.setdefault("password", "pw-" + uuid.uuid4().hex[:10])
        values.setdefault("email", "%s@example.org" % user)
        reply = self.send(c, "set", submit_form(values))
        self.assertResult(reply, "registration of %s" % user)
        return values

    def state_of(self, user):
        rows = psql_json("SELECT state FROM registrations WHERE service = "
                         ":'service' AND jid = :'jid'",
                         service=self.service, jid=bare(user))
        return rows[0]["state"] if rows else None

    def events_of(self, user, iq_id):
        return psql_json(
            "SELECT event, iq_id, detail FROM registration_events "
            "WHERE service = :'service' AND jid = :'jid' AND iq_id = :'iq' "
            "ORDER BY id", service=self.service, jid=bare(user), iq=iq_id)

    def assertCompleted(self, iq, what):
        self.assertEqual(iq["command"]["status"], "completed",
                         "%s: status completed:\n  %s" % (what, show(iq.xml)))

    def notes(self, iq):
        return iq["command"]["notes"]

    def two_stage(self, client, node, form, what):
        """execute (the form), then complete with form; the final Iq."""
        first = self.run_cmd(client, node)
        self.assertEqual(first["command"]["status"], "executing",
                         "%s: the first stage asks for a form:\n  %s"
                         % (what, show(first.xml)))
        x = first.xml.find(".//{%s}x" % NS_DATA)
        self.assertIsNotNone(x, "%s: a form:\n  %s" % (what, show(first.xml)))
        fields = first["command"]["form"].get_fields()
        self.assertEqual(one(fields["FORM_TYPE"].get_value()), NS_ADMIN,
                         "%s: FORM_TYPE:\n  %s" % (what, show(first.xml)))
        sid = first["command"]["sessionid"]
        self.assertTrue(sid, "%s: a sessionid" % what)
        last = self.run_cmd(client, node, action="complete",
                            form=dict(form, FORM_TYPE=NS_ADMIN),
                            sessionid=sid)
        self.assertCompleted(last, what)
        self.assertEqual(last["command"]["sessionid"], sid,
                         "%s: the same session" % what)
        return last


class AdhocTest(AdhocBase):
    # -- disco

    def test_command_list_per_requester(self):
        admin = self.commands_client(ADMIN)
        user = self.commands_client("h01")
        info = self.arun(user["xep_0030"].get_info(jid=self.service))
        self.assertIn(NS_COMMANDS, info["disco_info"]["features"],
                      "disco#info lists the commands feature")

        items = self.arun(user["xep_0050"].get_commands(self.service))
        nodes = [i[1] for i in items["disco_items"]["items"]]
        self.assertEqual(nodes, ["jabber:iq:register"],
                         "a non-admin sees only the registration command")
        items = self.arun(admin["xep_0050"].get_commands(self.service))
        nodes = [i[1] for i in items["disco_items"]["items"]]
        self.assertEqual(sorted(nodes),
                         sorted(["jabber:iq:register"] + ADMIN_NODES),
                         "an admin sees every command")
        for jid, _node, _name in items["disco_items"]["items"]:
            self.assertEqual(str(jid), self.service, "items are ours")

        node_info = self.arun(admin["xep_0030"].get_info(
            jid=self.service, node=NS_ADMIN + "#delete-user"))
        self.assertIn(("automation", "command-node", None, "Delete a User"),
                      node_info["disco_info"]["identities"])
        with self.assertRaises(IqError) as cm:
            self.arun(user["xep_0030"].get_info(
                jid=self.service, node=NS_ADMIN + "#delete-user"))
        self.assertEqual(cm.exception.iq["error"]["condition"], "forbidden")

    # -- admin commands

    def test_admin_counts_and_lists(self):
        admin = self.commands_client(ADMIN)
        self.register("h02")
        self.register("h03")

        iq = self.run_cmd(admin, NS_ADMIN + "#get-registered-users-num")
        self.assertCompleted(iq, "get-registered-users-num")
        values = iq["command"]["form"].get_values()
        total = psql_json("SELECT count(*) AS n FROM registrations "
                          "WHERE service = :'s'", s=self.service)[0]["n"]
        self.assertEqual(one(values["FORM_TYPE"]), NS_ADMIN)
        self.assertEqual(int(one(values["registeredusersnum"])), total,
                         "the count of every registration of the service:"
                         "\n  %s" % show(iq.xml))
        self.assertGreaterEqual(total, 2)

        iq = self.two_stage(admin, NS_ADMIN + "#get-registered-users-list",
                            {"max_items": "none"}, "list (none)")
        jids = iq["command"]["form"].get_values()["registereduserjids"]
        expected = [r["jid"] for r in psql_json(
            "SELECT jid FROM registrations WHERE service = :'s' "
            "ORDER BY jid COLLATE \"C\"", s=self.service)]
        self.assertEqual(sorted(jids), sorted(expected))
        self.assertIn(bare("h02"), jids)

        # max_items honoured: no more than 25, and a note when cut
        for u in ("h04", "h05"):
            self.register(u)
        iq = self.two_stage(admin, NS_ADMIN + "#get-registered-users-list",
                            {"max_items": "25"}, "list (25)")
        jids = iq["command"]["form"].get_values()["registereduserjids"]
        self.assertLessEqual(len(jids), 25)

        if has_column("registrations", "state"):
            iq = self.run_cmd(admin, NS_ADMIN + "#get-disabled-users-num")
            n = psql_json("SELECT count(*) AS n FROM registrations WHERE "
                          "service = :'s' AND state = 'disabled'",
                          s=self.service)[0]["n"]
            self.assertEqual(
                int(one(iq["command"]["form"].get_values()["disabledusersnum"])), n)

    def test_admin_disable_reenable_activate_delete(self):
        admin = self.commands_client(ADMIN)
        for u in ("h06", "h07", "h08"):
            self.register(u)
        states = has_column("registrations", "state")
        events = has_table("registration_events")

        iq = self.two_stage(admin, NS_ADMIN + "#disable-user",
                            {"accountjids": [bare("h06"), "nobody@"
                                             + bare("h06").split("@")[1]]},
                            "disable-user")
        notes = self.notes(iq)
        self.assertIn(("info", "Disabled: %s." % bare("h06")), notes)
        self.assertTrue(any(t == "error" and "nobody@" in text
                            for t, text in notes),
                        "a JID not registered gets an error note: %r" % notes)
        if states:
            self.assertEqual(self.state_of("h06"), "disabled")
            self.assertEqual(self.state_of("h07"), "active")
            iq2 = self.two_stage(admin, NS_ADMIN + "#get-disabled-users-list",
                                 {"max_items": "none"}, "disabled list")
            self.assertIn(
                bare("h06"),
                iq2["command"]["form"].get_values()["disableduserjids"])
        if events:
            ev = self.events_of("h06", iq["id"])
            self.assertEqual(len(ev), 1, "one event for the admin's change: "
                             "%r" % ev)
            self.assertEqual(ev[0]["event"], "state_changed")
            self.assertEqual(ev[0]["detail"].get("actor"), bare(ADMIN),
                             "the admin is the actor: %r" % ev)

        iq = self.two_stage(admin, NS_ADMIN + "#reenable-user",
                            {"accountjids": [bare("h06")]}, "reenable-user")
        self.assertIn(("info", "Re-enabled: %s." % bare("h06")),
                      self.notes(iq))
        if states:
            self.assertEqual(self.state_of("h06"), "active")

            # a pending registration, activated
            psql_exec("UPDATE registrations SET state = 'pending' "
                      "WHERE service = :'s' AND jid = :'j'",
                      s=self.service, j=bare("h07"))
            self.assertEqual(self.state_of("h07"), "pending")
            iq = self.two_stage(admin, "registrar#activate-user",
                                {"accountjids": [bare("h07")]}, "activate")
            self.assertIn(("info", "Activated: %s." % bare("h07")),
                          self.notes(iq))
            self.assertEqual(self.state_of("h07"), "active")
            if events:
                ev = self.events_of("h07", iq["id"])
                self.assertEqual([e["event"] for e in ev], ["state_changed"])

        iq = self.two_stage(admin, NS_ADMIN + "#delete-user",
                            {"accountjids": [bare("h08")]}, "delete-user")
        self.assertIn(("info", "Deleted: %s." % bare("h08")), self.notes(iq))
        self.assertEqual(rows_for(self.service, bare("h08")), [])
        if events:
            ev = self.events_of("h08", iq["id"])
            self.assertEqual([e["event"] for e in ev], ["removed"])
            self.assertEqual(ev[0]["detail"].get("actor"), bare(ADMIN))

    def test_non_admin_is_forbidden(self):
        self.register("h09")
        user = self.commands_client("h09")
        before = rows_for(self.service, bare("h09"))
        for node in ADMIN_NODES:
            cond, code, etype, _ = self.run_error(user, node)
            self.assertEqual((cond, code, etype), ("forbidden", "403",
                                                   "cancel"), node)
        # with the form in the first request too
        cond, code, _, _ = self.run_error(
            user, NS_ADMIN + "#delete-user",
            form={"FORM_TYPE": NS_ADMIN, "accountjids": [bare("h09")]})
        self.assertEqual((cond, code), ("forbidden", "403"))
        self.assertEqual(rows_for(self.service, bare("h09")), before,
                         "nothing changed")

    def test_session_errors(self):
        admin = self.commands_client(ADMIN)
        node = NS_ADMIN + "#delete-user"
        first = self.run_cmd(admin, node)
        sid = first["command"]["sessionid"]
        self.assertEqual(self.run_error(admin, node, action="next",
                                        sessionid=sid)[::3],
                         ("bad-request", "bad-action"))
        iq = self.run_cmd(admin, node, action="cancel", sessionid=sid)
        self.assertEqual(iq["command"]["status"], "canceled")
        cond, code, etype, specific = self.run_error(
            admin, node, action="complete", sessionid=sid,
            form={"FORM_TYPE": NS_ADMIN, "accountjids": [bare("h10")]})
        self.assertEqual((cond, code, etype, specific),
                         ("not-allowed", "405", "cancel", "session-expired"))
        cond, code, _, _ = self.run_error(admin, "urn:example:no-such-node")
        self.assertEqual((cond, code), ("item-not-found", "404"))

    # -- registration as a command

    def test_register_through_the_command(self):
        c = self.commands_client("h10")
        first = self.run_cmd(c, "jabber:iq:register")
        self.assertEqual(first["command"]["status"], "executing",
                         show(first.xml))
        form = first["command"]["form"]
        fields = form.get_fields()
        self.assertEqual(one(fields["FORM_TYPE"].get_value()),
                         "jabber:iq:register")
        self.assertEqual({"username", "password", "email"},
                         set(fields) - {"FORM_TYPE"},
                         "the XEP-0077 form:\n  %s" % show(first.xml))
        sid = first["command"]["sessionid"]

        # the same validation and errors as XEP-0077: a missing password
        cond, code, etype, _ = self.run_error(
            c, "jabber:iq:register", action="complete", sessionid=sid,
            form={"FORM_TYPE": "jabber:iq:register", "username": "h10cmd",
                  "email": "h10@example.org"})
        self.assertEqual((cond, code, etype), ("not-acceptable", "406",
                                               "modify"))
        self.assertEqual(rows_for(self.service, bare("h10")), [])

        # corrected in the same session
        pw = "cmd-" + uuid.uuid4().hex[:10]
        note_secret(pw)
        name = "h10cmd-" + uuid.uuid4().hex[:4]
        done = self.run_cmd(c, "jabber:iq:register", action="complete",
                            sessionid=sid,
                            form={"FORM_TYPE": "jabber:iq:register",
                                  "username": name, "password": pw,
                                  "email": "h10@example.org"})
        self.assertCompleted(done, "registration command")
        rows = rows_for(self.service, bare("h10"))
        self.assertEqual(len(rows), 1, "one row: %r" % rows)
        self.assertEqual(rows[0]["username"], name)
        self.assertEqual(rows[0]["fields"].get("email"), "h10@example.org")
        self.assertNotIn("password", rows[0]["fields"])
        self.assertTrue(password_matches(self.service, bare("h10"), pw),
                        "the password is stored as its bcrypt hash: %r"
                        % rows)

        # the same conflict as XEP-0077 for another JID
        other = self.commands_client("h01")
        cond, code, _, _ = self.run_error(
            other, "jabber:iq:register",
            form={"FORM_TYPE": "jabber:iq:register", "username": name,
                  "password": pw + "x", "email": "h01@example.org"})
        self.assertEqual((cond, code), ("conflict", "409"))
        note_secret(pw + "x")

    # -- issue 16: the size of a list, admin JIDs prepared

    def test_list_of_long_jids_stays_under_the_stanza_limit(self):
        """1,000 JIDs of 900 bytes and more (a list of about 1 MB) went
        out in one stanza over Prosody's 512 KiB for a component, and the
        server dropped the component.  The reply stays under 60 KiB, says
        how many JIDs were left out of how many, and the component stays
        attached."""
        admin = self.commands_client(ADMIN)
        self.register("h03")
        prefix = "long" + "x" * 896
        psql_exec("INSERT INTO registrations (service, jid) "
                  "SELECT :'s', :'p' || lpad(i::text, 4, '0') || '@' || :'d' "
                  "FROM generate_series(1, 1000) i",
                  s=self.service, p=prefix, d=domain())
        try:
            total = psql_json("SELECT count(*) AS n FROM registrations "
                              "WHERE service = :'s'",
                              s=self.service)[0]["n"]
            iq = self.two_stage(admin, NS_ADMIN + "#get-registered-users-list",
                                {"max_items": "none"}, "list of long JIDs")
            size = len(str(iq).encode())
            jids = iq["command"]["form"].get_values()["registereduserjids"]
            notes = self.notes(iq)
            print("\n    %d JIDs on file (1,000 of 905 bytes): a reply of "
                  "%d bytes, %d JIDs shown, note %r"
                  % (total, size, len(jids), notes))
            self.assertLessEqual(size, 62 * 1024,
                                 "the reply stays under 60 KiB (%d bytes, "
                                 "as slixmpp writes it)" % size)
            self.assertGreater(len(jids), 10)
            self.assertLess(len(jids), total)
            want = ("The first %d JIDs only: %d of %d left out, to keep the "
                    "reply under 60 KiB" % (len(jids), total - len(jids),
                                             total))
            self.assertTrue(any(t == "warn" and text.startswith(want)
                                for t, text in notes),
                            "a note says how many were left out: %r" % notes)
            # still attached: the next command is answered
            iq = self.run_cmd(admin, NS_ADMIN + "#get-registered-users-num")
            self.assertCompleted(iq, "after the long list")
            self.assertEqual(
                int(one(iq["command"]["form"].get_values()
                        ["registeredusersnum"])), total)
        finally:
            psql_exec("DELETE FROM registrations WHERE service = :'s' "
                      "AND jid LIKE :'p' || '%'", s=self.service, p=prefix)

    def test_admin_jids_prepared(self):
        """An admin's JIDs were lower-cased for ASCII only: ÉLODIE@...
        found nothing.  They are prepared as the servers prepare them
        (nodeprep, nameprep); one that is not a JID is refused, naming
        it, and the form may be sent again."""
        admin = self.commands_client(ADMIN)
        elodie = "\u00e9lodie-%s@%s" % (uuid.uuid4().hex[:6], domain())
        shouted = elodie.split("@")[0].upper() + "@" + domain().upper()
        psql_exec("INSERT INTO registrations (service, jid) "
                  "VALUES (:'s', :'j')", s=self.service, j=elodie)
        try:
            iq = self.two_stage(admin, NS_ADMIN + "#disable-user",
                                {"accountjids": [shouted + "/Phone"]},
                                "disable-user, upper case")
            self.assertIn(("info", "Disabled: %s." % elodie), self.notes(iq))
            state = psql_json("SELECT state FROM registrations WHERE "
                              "service = :'s' AND jid = :'j'",
                              s=self.service, j=elodie)
            if state and "state" in state[0]:
                self.assertEqual(state[0]["state"], "disabled")

            node = NS_ADMIN + "#delete-user"
            first = self.run_cmd(admin, node)
            sid = first["command"]["sessionid"]
            bad = "a\u05d0z@" + domain()  # Latin and Hebrew: bidi rule
            cond, code, _, specific = self.run_error(
                admin, node, action="complete", sessionid=sid,
                form={"FORM_TYPE": NS_ADMIN, "accountjids": [bad]})
            self.assertEqual((cond, code, specific),
                             ("bad-request", "400", "bad-payload"))
            iq = self.run_cmd(admin, node, action="complete", sessionid=sid,
                              form={"FORM_TYPE": NS_ADMIN,
                                    "accountjids": [shouted]})
            self.assertCompleted(iq, "delete-user after a bad JID")
            self.assertIn(("info", "Deleted: %s." % elodie), self.notes(iq))
            self.assertEqual(rows_for(self.service, elodie), [])
        finally:
            psql_exec("DELETE FROM registrations WHERE service = :'s' "
                      "AND jid = :'j'", s=self.service, j=elodie)
