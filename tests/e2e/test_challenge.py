"""Challenges (issue 21.1, XEP-0158) on the "challenge" service
(tests/fixtures/challenge.conf: the accounts form, challenge { mode =
"always", ttl = "8s", max_failures = 3, lockout = "1m" }, the questions of
tests/fixtures/challenge_qa.txt): a get answers the form with the hidden
fields challenge, from and sid and the field qa labelled with a question in
the get's xml:lang, FORM_TYPE still jabber:iq:register; the right answer
registers (case and white space aside), the database keeping no answer
(the answers are noted as secrets: run.sh fails if one shows in a log or
the pg_dump); refused not-acceptable (406, modify): a wrong answer (the
next get issues a new challenge), an expired one, one replayed, one of a
challenge issued to another JID, legacy elements alone, the ad-hoc
registration command without an answer; three failures lock the JID out
(resource-constraint, 500, wait); an update needs no challenge.  (A
challenge issued by one instance and answered through another:
tests/ha/test_instances.py, ejabberd.)  The stanzas go to $E2E_WORKDIR/challenge-transcript.txt."""

import base64
import hashlib
import os
import re
import time
import uuid
import xml.etree.ElementTree as ET


import e2e
from e2e import (E2ETestCase, bare, form_fields, form_of, legacy, note_secret,
                 psql_json, query_of, register_query, rows_for, show,
                 submit_form)
from test_adhoc import AdhocBase

ANSWERS = {"en": "Quetzal-Bird", "fr": "Quetzal-Oiseau"}
XML_LANG = e2e.XML_LANG
for _a in list(ANSWERS.values()) + ["quetzal bird", "quetzal oiseau"]:
    note_secret(_a)



def transcript(title, xml, sent=None):
    e2e.transcript('challenge', title, xml, sent)


class ChallengeTest(AdhocBase):
    SERVICE_ENV = "CHALLENGE_JID"

    # -- helpers

    def iq_lang(self, client, itype, payload, lang):
        return self.arun(e2e.iq_lang(client, itype, self.service, payload,
                                     lang))

    def challenge(self, client, lang="en", what="get"):
        """A get; (reply, fields of its form, challenge id, question)."""
        reply = self.iq_lang(client, "get", register_query(), lang)
        self.assertResult(reply, what)
        form = form_of(reply)
        self.assertIsNotNone(form, "a form: %s" % show(reply))
        fields = form_fields(form)
        self.assertIn("challenge", fields, show(reply))
        return reply, fields, fields["challenge"]["values"][0], \
            fields["qa"]["label"]

    def values(self, user, cid=None, answer=None, sid=None):
        v = {"username": "%s-%s" % (user, uuid.uuid4().hex[:6]),
             "password": "pw-" + uuid.uuid4().hex[:10],
             "email": "%s@example.org" % user}
        if cid is not None:
            v.update({"challenge": cid, "from": self.service,
                      "sid": sid or "s", "qa": answer})
        return v

    def assertRefused(self, reply, text, what):
        self.assertStanzaError(reply, "not-acceptable", 406, "modify", what,
                               text_contains=text)

    # -- tests

    def test_form_and_right_answer(self):
        c = self.client("k01")
        reply, fields, cid, question = self.challenge(c, "en")
        transcript("a challenge form as sent (get, xml:lang='en')", reply)
        self.assertFormType(form_of(reply), reply)
        for var in ("challenge", "from", "sid"):
            self.assertEqual(fields[var]["type"], "hidden", var)
        self.assertEqual(fields["from"]["values"], [self.service])
        self.assertEqual(fields["qa"]["type"], "text-single")
        self.assertTrue(fields["qa"]["required"])
        self.assertIn("mascot", question)
        self.assertNotIn("Quetzal-Bird", show(reply))
        # the answer, case and white space aside
        reply = self.send(c, "set", submit_form(self.values(
            "k01", cid, "  quetzal-BIRD ", fields["sid"]["values"][0])))
        transcript("the right answer: result", reply)
        self.assertResult(reply, "the right answer")
        row = self.only_row("k01")
        self.assertNotIn("qa", row["fields"])
        self.assertNotIn("challenge", row["fields"])
        # stored only as salted hashes
        rows = psql_json("SELECT count(*) AS n FROM registration_challenges c"
                         " WHERE c::text ILIKE '%quetzal%'")
        self.assertEqual(rows[0]["n"], 0)
        self.assertTrue(psql_json(
            "SELECT used_at IS NOT NULL AS used FROM registration_challenges"
            " WHERE id = :'id'", id=cid)[0]["used"])
        # registered: no challenge, and an update needs none
        reply = self.send(c, "get", register_query())
        self.assertNotIn("challenge", form_fields(form_of(reply)))
        values = self.values("k01")
        values["username"] = row["username"]
        reply = self.send(c, "set", submit_form(values))
        self.assertResult(reply, "an update")

    def test_language(self):
        c = self.client("k02")
        reply, _, cid, question = self.challenge(c, "fr")
        transcript("a challenge form in French (xml:lang='fr')", reply)
        self.assertIn("mascotte", question)
        # the sentence for clients without forms, from lang "fr" { texts }
        self.assertEqual(reply.get(XML_LANG), "fr", show(reply))
        q = reply.find("{jabber:iq:register}query")
        self.assertTrue(q.findtext("{jabber:iq:register}instructions")
                        .startswith("Ce service pose une question"),
                        show(reply))
        # a wrong answer in French: the French text, xml:lang fr
        reply = self.iq_lang(c, "set", submit_form(self.values(
            "k02", cid, "un perroquet")), "fr")
        transcript("a wrong answer in French (xml:lang='fr')", reply)
        self.assertRefused(reply, "La réponse à la question est fausse",
                           "a wrong answer in French")
        self.assertEqual(reply.get(XML_LANG), "fr", show(reply))
        text = reply.find("{jabber:client}error/"
                          "{urn:ietf:params:xml:ns:xmpp-stanzas}text")
        self.assertEqual(text.get(XML_LANG), "fr", show(reply))
        _, _, cid, _ = self.challenge(c, "fr", what="the next get")
        reply = self.send(c, "set", submit_form(self.values(
            "k02", cid, ANSWERS["fr"])))
        self.assertResult(reply, "the French answer")

    def test_wrong_then_new_challenge(self):
        c = self.client("k03")
        _, _, cid, _ = self.challenge(c)
        reply = self.send(c, "set", submit_form(self.values(
            "k03", cid, "a parrot")))
        transcript("a wrong answer: not-acceptable", reply)
        self.assertRefused(reply, "is wrong", "a wrong answer")
        self.assertNoRow("k03", "a wrong answer")
        _, _, cid2, _ = self.challenge(c, what="the next get")
        self.assertNotEqual(cid, cid2, "a new challenge")
        reply = self.send(c, "set", submit_form(self.values(
            "k03", cid2, ANSWERS["en"])))
        self.assertResult(reply, "the new challenge answered")

    def test_expired(self):
        c = self.client("k04")
        _, _, cid, _ = self.challenge(c)
        time.sleep(9)  # ttl 8s
        reply = self.send(c, "set", submit_form(self.values(
            "k04", cid, ANSWERS["en"])))
        self.assertRefused(reply, "has expired", "an expired challenge")
        self.assertNoRow("k04", "an expired challenge")

    def test_replayed_and_foreign(self):
        a, b = self.client("k05"), self.client("k06")
        _, _, cid, _ = self.challenge(a)
        # another JID: not its challenge (and it stays a's)
        reply = self.send(b, "set", submit_form(self.values(
            "k06", cid, ANSWERS["en"])))
        transcript("another JID's challenge: not-acceptable", reply)
        self.assertRefused(reply, "issued to another JID",
                           "another JID's challenge")
        self.assertNoRow("k06", "another JID's challenge")
        reply = self.send(a, "set", submit_form(self.values(
            "k05", cid, ANSWERS["en"])))
        self.assertResult(reply, "its own JID, after the other's try")
        # replayed after its use, by its JID and by another
        reply = self.send(b, "set", submit_form(self.values(
            "k06", cid, ANSWERS["en"])))
        self.assertRefused(reply, "another JID", "replayed by another JID")
        user = self.only_row("k05")["username"]
        self.assertResult(self.send(a, "set", register_query("<remove/>")),
                          "the cancellation")
        reply = self.send(a, "set", submit_form(dict(
            self.values("k05", cid, ANSWERS["en"]), username=user)))
        self.assertRefused(reply, "answered already", "replayed")

    def test_legacy_only_refused(self):
        c = self.client("k07")
        self.challenge(c)
        reply = self.send(c, "set", legacy(
            username="k07-" + uuid.uuid4().hex[:6],
            password="pw-" + uuid.uuid4().hex[:10],
            email="k07@example.org"))
        transcript("legacy elements alone: not-acceptable", reply)
        self.assertRefused(reply, "needs the answer to a challenge",
                           "legacy elements alone")
        self.assertNoRow("k07", "legacy elements alone")
        # the form without the challenge's fields, too
        reply = self.send(c, "set", submit_form(self.values("k07")))
        self.assertRefused(reply, "needs the answer to a challenge",
                           "a form without an answer")

    def test_adhoc_command(self):
        c = self.commands_client("k08")
        first = self.run_cmd(c, "jabber:iq:register")
        self.assertEqual(first["command"]["status"], "executing")
        fields = first["command"]["form"].get_fields()
        self.assertIn("challenge", fields)
        self.assertIn("qa", fields)
        cond, code, etype, _ = self.run_error(
            c, "jabber:iq:register", action="complete",
            sessionid=first["command"]["sessionid"],
            form={k: v for k, v in self.values("k08").items()})
        self.assertEqual((cond, code, etype),
                         ("not-acceptable", "406", "modify"))
        self.assertNoRow("k08", "the ad-hoc command without an answer")
        second = self.run_cmd(c, "jabber:iq:register")
        cid = second["command"]["form"].get_fields()["challenge"]["value"]
        last = self.run_cmd(c, "jabber:iq:register", action="complete",
                            sessionid=second["command"]["sessionid"],
                            form=self.values("k08", cid, ANSWERS["en"]))
        self.assertEqual(last["command"]["status"], "completed")
        self.only_row("k08")

    def test_lockout(self):
        c = self.client("k09")
        for i in range(2):
            _, _, cid, _ = self.challenge(c)
            reply = self.send(c, "set", submit_form(self.values(
                "k09", cid, "wrong %d" % i)))
            self.assertRefused(reply, "is wrong", "failure %d" % (i + 1))
        _, _, cid, _ = self.challenge(c)
        reply = self.send(c, "set", submit_form(self.values(
            "k09", cid, "wrong 3")))
        transcript("the third failure: resource-constraint", reply)
        self.assertStanzaError(reply, "resource-constraint", 500, "wait",
                               "the third failure",
                               text_contains="Too many wrong answers")
        reply = self.send(c, "get", register_query())
        self.assertStanzaError(reply, "resource-constraint", 500, "wait",
                               "a get while locked out")
        self.assertNoRow("k09", "locked out")


class RiskTest(AdhocBase):
    """challenge { mode = "risk"  signups_per_minute = 2 } on the "risk"
    service: local users register without a challenge until the
    service's sign-ups of the last minute exceed two; then the form
    carries one, every path is refused without it, a wrong answer is
    406, and a right one registers."""
    SERVICE_ENV = "RISK_JID"
    iq_lang = ChallengeTest.iq_lang
    challenge = ChallengeTest.challenge
    values = ChallengeTest.values
    assertRefused = ChallengeTest.assertRefused

    def test_over_the_rate(self):
        for user in ("n01", "n02", "n03"):
            c = self.client(user)
            reply = self.send(c, "get", register_query())
            self.assertResult(reply, "%s's get" % user)
            self.assertNotIn("challenge", form_fields(form_of(reply)),
                             "%s: no challenge at %s" % (user, show(reply)))
            reply = self.send(c, "set", submit_form(self.values(user)))
            self.assertResult(reply, "%s without a challenge" % user)
        # three sign-ups within the minute: over two, a challenge
        c = self.client("n04")
        reply, fields, cid, _ = self.challenge(c, what="over the rate")
        transcript("risk: a get over the rate carries a challenge", reply)
        v = self.values("n04")
        reply = self.send(c, "set", legacy(username=v["username"],
                                            password=v["password"],
                                            email=v["email"]))
        self.assertRefused(reply, "needs the answer to a challenge",
                           "legacy elements over the rate")
        reply = self.send(c, "set", submit_form(self.values(
            "n04", cid, "a parrot", fields["sid"]["values"][0])))
        self.assertRefused(reply, "is wrong", "a wrong answer")
        self.assertNoRow("n04", "refused over the rate")
        _, fields, cid, _ = self.challenge(c, what="after a failure")
        reply = self.send(c, "set", submit_form(self.values(
            "n04", cid, ANSWERS["en"], fields["sid"]["values"][0])))
        self.assertResult(reply, "the right answer over the rate")


def cut_data(reply):
    """reply with the base64 of its XEP-0231 <data/> cut to 60
    characters (for the transcript)."""
    return ET.fromstring(re.sub(
        r"(<(?:ns\d+:)?data [^>]*>)([A-Za-z0-9+/]{60})[A-Za-z0-9+/=]+",
        r"\1\2...", ET.tostring(reply, encoding="unicode")))


def drawn_answer():
    """The answer the image command was last given (the suite's wrapper
    of deploy/registrar-captcha notes it: a test's only way to read the
    picture)."""
    with open(os.environ["CAPTCHA_ANSWER"], encoding="utf-8") as f:
        return f.read().strip()


def gajim_view(reply):
    """What Gajim's registration dialog gets from the reply, by Gajim's own
    XMPP library (python3-nbxmpp): nbxmpp.modules.register.util's
    _parse_register_data (the form and the XEP-0231 data, its SHA-1
    checked), and, as gajim/gtk/dataform.py's FormGrid._add_media_field and
    ImageMediaField do, the image/* <uri/> starting with 'cid' of a
    text-single field, looked up in the bob cache that the account wizard
    fills with cid.split('@')[0] -> data.  (The image, the field to
    fill)."""
    from nbxmpp.modules.register.util import _parse_register_data
    from nbxmpp.protocol import Iq
    from nbxmpp.simplexml import NodeBuilder

    iq = Iq(node=NodeBuilder(ET.tostring(reply, encoding="unicode"))
            .getDom())
    data = _parse_register_data(iq)
    bob_cache = {}
    if data.bob_data is not None:
        bob_cache[data.bob_data.cid.split("@")[0]] = data.bob_data.data
    for field in data.form.iter_fields():
        if field.type_ == "hidden" or not field.media:
            continue
        if field.type_ not in ("text-single", "text-private", "text-multi"):
            continue
        for uri in field.media.uris:
            if (uri.type_.startswith("image/")
                    and uri.uri_data.startswith("cid")):
                key = uri.uri_data.split(":")[1].split("@")[0]
                return bob_cache.get(key), field
    return None, None


class CaptchaTest(E2ETestCase):
    """Image challenges on the "captcha" and "captchafail" services."""
    SERVICE_ENV = "CAPTCHA_JID"

    def image_form(self, client):
        reply = self.send(client, "get", register_query())
        self.assertResult(reply, "the image form")
        fields = form_fields(form_of(reply))
        self.assertIn("ocr", fields, show(reply))
        return reply, fields

    def test_image_form_bob_and_answer(self):
        c = self.client("k11")
        reply, fields = self.image_form(c)
        answer = drawn_answer()
        note_secret(answer)
        text = show(reply)
        # the transcript with the base64 cut short
        transcript("an image challenge as sent (base64 cut)", cut_data(reply))
        self.assertNotIn(answer, text)
        ocr = form_of(reply).find(
            "{jabber:x:data}field[@var='ocr']")
        media = ocr.find("{urn:xmpp:media-element}media")
        self.assertIsNotNone(media, text)
        uris = [(u.get("type"), u.text) for u in
                media.findall("{urn:xmpp:media-element}uri")]
        self.assertEqual(uris[0][0], "image/png")
        self.assertTrue(re.fullmatch(r"cid:sha1\+[0-9a-f]{40}@bob\.xmpp\.org",
                                     uris[0][1]), uris)
        cid = uris[0][1][4:]
        self.assertEqual(uris[1], ("image/png",
                                   "https://captcha.example/%s.png" % cid))
        data = query_of(reply).find("{urn:xmpp:bob}data")
        self.assertEqual((data.get("cid"), data.get("type"),
                          data.get("max-age")), (cid, "image/png", "0"))
        png = base64.b64decode(data.text)
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(hashlib.sha1(png).hexdigest(),
                         cid[len("sha1+"):-len("@bob.xmpp.org")])
        self.assertEqual(media.get("width"),
                         str(int.from_bytes(png[16:20], "big")))
        oob = query_of(reply).find("{jabber:x:oob}x")
        self.assertEqual(oob.findtext("{jabber:x:oob}url"),
                         "https://captcha.example/%s.png" % cid)
        # what Gajim's form widget would show: the image and the field
        image, field = gajim_view(reply)
        self.assertEqual(image, png, "Gajim's view finds the image")
        self.assertEqual(field.var, "ocr")
        # disco, and the image by a BoB get (another user, as a client
        # that did not keep the data would)
        other = self.client("k12")
        info = self.send(other, "get", "<query xmlns='%s'/>"
                         % "http://jabber.org/protocol/disco#info")
        self.assertIn("urn:xmpp:bob", [f.get("var") for f in info.iter(
            "{http://jabber.org/protocol/disco#info}feature")])
        bob = self.send(other, "get", "<data xmlns='urn:xmpp:bob' cid='%s'/>"
                        % cid)
        transcript("a BoB get answered (base64 cut)", cut_data(bob))
        self.assertResult(bob, "the BoB get")
        got = bob.find("{urn:xmpp:bob}data")
        self.assertEqual(base64.b64decode(got.text), png)
        self.assertEqual(got.get("cid"), cid)
        bad = self.send(other, "get", "<data xmlns='urn:xmpp:bob' "
                        "cid='sha1+%s@bob.xmpp.org'/>" % ("0" * 40))
        self.assertStanzaError(bad, "item-not-found", 404, "cancel",
                               "an unknown cid")
        # the answer, in upper case
        reply = self.send(c, "set", submit_form({
            "challenge": fields["challenge"]["values"][0],
            "from": self.service, "sid": fields["sid"]["values"][0],
            "ocr": answer.upper(),
            "username": "k11-" + uuid.uuid4().hex[:6],
            "password": "pw-" + uuid.uuid4().hex[:10],
            "email": "k11@example.org"}))
        self.assertResult(reply, "the image's answer")
        self.only_row("k11")

    def test_wrong_answer(self):
        c = self.client("k13")
        _, fields = self.image_form(c)
        note_secret(drawn_answer())
        reply = self.send(c, "set", submit_form({
            "challenge": fields["challenge"]["values"][0],
            "ocr": "nope42", "username": "k13-" + uuid.uuid4().hex[:6],
            "password": "pw-" + uuid.uuid4().hex[:10],
            "email": "k13@example.org"}))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "a wrong reading", text_contains="is wrong")
        self.assertNoRow("k13", "a wrong reading")

    def test_failing_command_fails_closed(self):
        service = os.environ["CAPTCHAFAIL_JID"]
        c = self.client("k14")
        reply = self.send(c, "get", register_query(), to=service)
        transcript("the image command fails: internal-server-error", reply)
        self.assertStanzaError(reply, "internal-server-error", 500, "wait",
                               "a failing image command",
                               text_contains="cannot be made now")
        reply = self.send(c, "set", legacy(
            username="k14-" + uuid.uuid4().hex[:6],
            password="pw-" + uuid.uuid4().hex[:10],
            email="k14@example.org"), to=service)
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "no registration without a challenge")
        self.assertEqual(rows_for(service, bare("k14")), [])
