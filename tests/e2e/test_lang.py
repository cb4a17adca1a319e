"""Forms in the user's language (issue 21 part 3) on the "lang" service
(tests/fixtures/lang.conf: the accounts form with a list field, a French
translation of its texts, of two error texts and of the welcome;
default_lang "en"), with real clients (slixmpp) on the real server:
  - a get with xml:lang='fr' answers the French form (title,
    instructions, labels, desc, option labels; the same vars and option
    values), the reply carrying xml:lang='fr';
  - 'fr-CA' finds 'fr' (RFC 4647 lookup); 'de' falls back to the
    default texts, the reply saying xml:lang='en';
  - a French submission with a required field missing, and one with a
    username taken: not-acceptable / conflict with the French <text/>,
    xml:lang='fr' on the reply and on the text;
  - values registered in French read back identical in English (the
    registered form and the database row);
  - the welcome in the language of the registration request;
  - an iq without xml:lang from a client whose stream says 'fr': the
    server stamps the stream's language on it (RFC 6120 8.1.5), so the
    component answers in French (checked on Prosody and ejabberd).
The stanzas of interest go to $E2E_WORKDIR/lang-transcript.txt (for the
closing note)."""

import asyncio
import time
import uuid

from slixmpp.xmlstream import ET

import e2e
from e2e import (E2ETestCase, Client, bare, form_fields, form_of,
                 note_secret, psql_json, q, register_query, show,
                 stanza_error, submit_form)
from e2e import XML_LANG, iq_lang
NS_DATA = "jabber:x:data"


def text_lang(reply):
    """xml:lang of the reply's error <text/>."""
    for err in reply:
        if err.tag.endswith("}error"):
            for child in err:
                if child.tag.endswith("}text"):
                    return child.get(XML_LANG)
    return None



def transcript(title, xml, sent=None):
    e2e.transcript('lang', title, xml, sent)


class LangTest(E2ETestCase):
    SERVICE_ENV = "LANG_JID"

    def ask(self, client, itype, payload, lang):
        reply = self.arun(iq_lang(client, itype, self.service, payload,
                                  lang))
        self.assertEqual(reply.get("from"), self.service, show(reply))
        return reply

    def values(self, user):
        v = {"username": "%s-%s" % (user, uuid.uuid4().hex[:6]),
             "password": "pw-" + uuid.uuid4().hex[:10],
             "email": "%s@example.org" % user, "color": "blue"}
        note_secret(v["password"])
        return v

    def assertFrenchForm(self, reply, lang_sent):
        self.assertEqual(reply.get("type"), "result", show(reply))
        self.assertEqual(reply.get(XML_LANG), "fr",
                         "xml:lang of the reply to %s: %s"
                         % (lang_sent, show(reply)))
        form = form_of(reply)
        self.assertEqual(form.findtext(q("title", NS_DATA)), "Inscription")
        self.assertIn("Choisissez", form.findtext(q("instructions", NS_DATA)))
        fields = form_fields(form)
        self.assertEqual(fields["username"]["label"], "Nom d'utilisateur")
        self.assertEqual(fields["password"]["label"], "Mot de passe")
        self.assertEqual(fields["email"]["label"], "Adresse électronique")
        email = [f for f in form.findall(q("field", NS_DATA))
                 if f.get("var") == "email"][0]
        self.assertEqual(email.findtext(q("desc", NS_DATA)),
                         "Où nous vous écrivons")
        self.assertEqual(fields["color"]["options"],
                         [("red", "Rouge"), ("blue", "Bleu")])
        query = reply.find(q("query", "jabber:iq:register"))
        self.assertEqual(query.findtext(q("instructions",
                                          "jabber:iq:register")),
                         "Utilisez le formulaire ci-joint pour vous "
                         "inscrire.")

    # -- tests

    def test_french_form(self):
        c = self.client("l01")
        reply = self.ask(c, "get", register_query(), "fr")
        transcript("a get with xml:lang='fr': the French form", reply)
        self.assertFrenchForm(reply, "fr")

    def test_fr_ca_finds_fr(self):
        c = self.client("l02")
        self.assertFrenchForm(self.ask(c, "get", register_query(), "fr-CA"),
                              "fr-CA")

    def test_de_falls_back_to_default(self):
        c = self.client("l03")
        reply = self.ask(c, "get", register_query(), "de")
        self.assertEqual(reply.get("type"), "result", show(reply))
        self.assertEqual(reply.get(XML_LANG), "en", show(reply))
        form = form_of(reply)
        self.assertEqual(form.findtext(q("title", NS_DATA)),
                         "Account Registration")
        fields = form_fields(form)
        self.assertEqual(fields["username"]["label"], "Username")
        self.assertEqual(fields["color"]["options"],
                         [("red", "Red"), ("blue", "Blue")])

    def test_french_errors(self):
        c = self.client("l04")
        v = self.values("l04")
        del v["email"]
        reply = self.ask(c, "set", submit_form(v), "fr")
        transcript("a French submission without email", reply)
        cond, code, etype, text = stanza_error(reply)
        self.assertEqual((cond, code), ("not-acceptable", "406"), show(reply))
        self.assertEqual(text, "le champ « email » est obligatoire")
        self.assertEqual(reply.get(XML_LANG), "fr", show(reply))
        self.assertEqual(text_lang(reply), "fr", show(reply))
        # a username taken, in French
        first = self.client("l05")
        v = self.values("l05")
        self.assertEqual(self.ask(first, "set", submit_form(v), "en")
                         .get("type"), "result")
        v2 = dict(self.values("l04"), username=v["username"])
        reply = self.ask(c, "set", submit_form(v2), "fr")
        cond, code, etype, text = stanza_error(reply)
        self.assertEqual(cond, "conflict", show(reply))
        self.assertEqual(text, "Ce nom d'utilisateur est déjà pris.")
        self.assertEqual(text_lang(reply), "fr", show(reply))
        # the same refusal in English
        reply = self.ask(c, "set", submit_form(v2), "en")
        self.assertEqual(stanza_error(reply)[3],
                         "That username is already taken.")
        self.assertEqual(text_lang(reply), "en", show(reply))

    def test_values_same_in_english(self):
        c = self.client("l06")
        v = self.values("l06")
        v["username"] = "l06-éà-" + uuid.uuid4().hex[:4]
        self.assertEqual(self.ask(c, "set", submit_form(v), "fr")
                         .get("type"), "result")
        reply = self.ask(c, "get", register_query(), "en")
        self.assertEqual(reply.get(XML_LANG), "en", show(reply))
        fields = form_fields(form_of(reply))
        for var in ("username", "email", "color"):
            self.assertEqual(fields[var]["values"], [v[var]], var)
        self.assertEqual(fields["username"]["label"], "Username")
        reply_fr = self.ask(c, "get", register_query(), "fr")
        transcript("registered, asked in French", reply_fr)
        fields_fr = form_fields(form_of(reply_fr))
        for var in ("username", "email", "color"):
            self.assertEqual(fields_fr[var]["values"], [v[var]], var)
        rows = psql_json("SELECT fields FROM registrations WHERE service = "
                         ":'s' AND jid = :'j'", s=self.service,
                         j=bare("l06"))
        self.assertEqual(len(rows), 1)
        stored = rows[0]["fields"]
        self.assertIn(v["email"], str(stored))
        self.assertIn("blue", str(stored))
        self.assertNotIn("Bleu", str(stored))

    def test_french_welcome(self):
        c = self.client("l07")
        got = []

        def on_message(msg):
            if msg["from"].bare == self.service:
                got.append(msg)

        c.add_event_handler("message", on_message)
        c.send_presence()
        self.arun(asyncio.sleep(0.5))
        v = self.values("l07")
        self.assertEqual(self.ask(c, "set", submit_form(v), "fr-FR")
                         .get("type"), "result")
        end = time.time() + 20
        while not got and time.time() < end:
            self.arun(asyncio.sleep(0.1))
        self.assertEqual(len(got), 1, [m["body"] for m in got])
        transcript("the welcome of a French registration", got[0].xml)
        self.assertEqual(got[0]["body"], "Bienvenue sur %s, %s."
                         % (self.service, v["username"]))
        self.assertEqual(got[0].xml.get(XML_LANG), "fr", show(got[0].xml))

    def test_no_lang_given(self):
        """What the server passes on when the client's iq has no xml:lang
        (RFC 6120 8.1.5: the stream's, 'en' for slixmpp, when the server
        stamps it): the default texts either way."""
        c = self.client("l08")
        reply = self.ask(c, "get", register_query(), None)
        transcript("a get without xml:lang", reply)
        self.assertEqual(reply.get("type"), "result", show(reply))
        self.assertEqual(reply.get(XML_LANG), "en", show(reply))
        self.assertEqual(form_of(reply).findtext(q("title", NS_DATA)),
                         "Account Registration")

    def test_stream_lang_stamped(self):
        """A client whose stream header says xml:lang='fr' sends an iq
        without xml:lang: the server passes the stream's language on
        (RFC 6120 8.1.5), and the form comes in French."""
        c = Client("l08")
        c.default_lang = "fr"
        c.stream_header = c.stream_header.replace("xml:lang='en'",
                                                  "xml:lang='fr'")
        self._clients.append(c)
        self.arun(c.start(), timeout=40)
        reply = self.ask(c, "get", register_query(), None)
        transcript("a get without xml:lang on a stream with xml:lang='fr'",
                   reply)
        self.assertFrenchForm(reply, "(none; the stream's 'fr')")

    def test_adhoc_command_in_french(self):
        """The registration command (XEP-0050) relays to the same XEP-0077
        flow: its form and its error texts in the request's language."""
        ns_cmd = "http://jabber.org/protocol/commands"
        c = self.client("l02")
        first = self.ask(c, "set", "<command xmlns='%s' node='%s' "
                         "action='execute'/>" % (ns_cmd, "jabber:iq:register"),
                         "fr")
        self.assertEqual(first.get("type"), "result", show(first))
        cmd = first.find(q("command", ns_cmd))
        form = cmd.find(q("x", NS_DATA))
        self.assertEqual(form.findtext(q("title", NS_DATA)), "Inscription",
                         show(first))
        self.assertEqual(form_fields(form)["color"]["options"],
                         [("red", "Rouge"), ("blue", "Bleu")])
        v = self.values("l02")
        del v["email"]
        x = ET.fromstring(submit_form(v)).find(q("x", NS_DATA))
        payload = ET.Element(q("command", ns_cmd),
                             {"node": "jabber:iq:register",
                              "action": "complete",
                              "sessionid": cmd.get("sessionid")})
        payload.append(x)
        reply = self.ask(c, "set", ET.tostring(payload).decode(), "fr")
        transcript("the registration command, completed in French without "
                   "email", reply)
        cond, code, etype, text = stanza_error(reply)
        self.assertEqual(cond, "not-acceptable", show(reply))
        self.assertEqual(text, "le champ « email » est obligatoire")
        self.assertEqual(text_lang(reply), "fr", show(reply))
