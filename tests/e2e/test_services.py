"""Two services in one registrar process (the titled form of the config,
tests/fixtures/services.conf): quiz.localhost (a nick and team form) and
newsletter.localhost (username, password, email), each attached over its
own XEP-0114 connection, each answering its own form, their registrations
kept apart in the one database by service."""

import os
import signal
import unittest

from e2e import (NS_DATA, NS_DISCO_INFO, E2ETestCase, bare, env, form_of,
                 form_fields, legacy, password, q, query_of,
                 register_query, rows_for, show, submit_form)
from net import closed_port
from registrar import Registrar, conf_text

QUIZ = {"nick": "Quizzer", "x-team": "red"}


class ServicesTest(E2ETestCase):
    SERVICE_ENV = "QUIZ_JID"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.news = env("NEWSLETTER_JID")

    def news_values(self, user):
        return {"username": "n-" + user, "password": password() + "-n",
                "email": "%s@example.org" % user}

    def form_vars(self, client, to):
        reply = self.send(client, "get", register_query(), to=to)
        self.assertResult(reply, "iq:register get to %s" % to)
        form = form_of(reply)
        self.assertIsNotNone(form, "a form from %s:\n  %s" % (to, show(reply)))
        return reply, form, form_fields(form)

    def test_each_service_answers_its_own_form(self):
        c = self.client("s01")
        reply, form, fields = self.form_vars(c, self.service)
        self.assertEqual(form.findtext(q("title", NS_DATA)),
                         "Quiz Registration", show(reply))
        self.assertEqual(set(fields), {"FORM_TYPE", "nick", "x-team"},
                         show(reply))
        self.assertEqual(fields["x-team"]["options"],
                         [("red", "Red"), ("blue", "Blue")], show(reply))
        # x-team has no legacy element: form only
        self.assertIsNone(query_of(reply).find(q("username")), show(reply))

        reply, form, fields = self.form_vars(c, self.news)
        self.assertEqual(form.findtext(q("title", NS_DATA)),
                         "Newsletter Registration", show(reply))
        self.assertEqual(set(fields),
                         {"FORM_TYPE", "username", "password", "email"},
                         show(reply))
        # every field is a legacy element: the legacy ones come too
        self.assertIsNotNone(query_of(reply).find(q("username")),
                             show(reply))

    def test_each_service_has_its_own_disco_identity(self):
        c = self.client("s02")
        names = {}
        for to in (self.service, self.news):
            reply = self.send(c, "get",
                              "<query xmlns='%s'/>" % NS_DISCO_INFO, to=to)
            self.assertResult(reply, "disco#info to %s" % to)
            ident = reply.find(q("query", NS_DISCO_INFO)).find(
                q("identity", NS_DISCO_INFO))
            self.assertIsNotNone(ident, show(reply))
            names[to] = ident.get("name")
            feats = [f.get("var") for f in reply.find(
                q("query", NS_DISCO_INFO)).findall(q("feature", NS_DISCO_INFO))]
            self.assertIn("jabber:iq:register", feats, show(reply))
        self.assertEqual(names, {self.service: "Quiz",
                                 self.news: "Newsletter Registration"})

    def test_registrations_stored_apart(self):
        c = self.client("s03")
        me = bare("s03")
        self.assertResult(self.send(c, "set", submit_form(QUIZ)),
                          "quiz registration")
        # registered with the quiz only
        self.assertEqual(len(rows_for(self.service, me)), 1)
        self.assertEqual(rows_for(self.news, me), [])
        reply = self.send(c, "get", register_query(), to=self.news)
        self.assertIsNone(query_of(reply).find(q("registered")),
                          "not registered with %s:\n  %s"
                          % (self.news, show(reply)))

        values = self.news_values("s03")
        self.assertResult(self.send(c, "set", legacy(**values), to=self.news),
                          "newsletter registration (legacy)")
        quiz = rows_for(self.service, me)
        news = rows_for(self.news, me)
        self.assertEqual(len(quiz), 1)
        self.assertEqual(len(news), 1)
        self.assertEqual(quiz[0]["fields"], QUIZ, quiz)
        self.assertIsNone(quiz[0]["username"], quiz)
        self.assertIsNone(quiz[0]["password_hash"], quiz)
        self.assertEqual(news[0]["username"], values["username"], news)
        self.assertTrue(news[0]["password_hash"], news)
        self.assertNotIn("nick", news[0]["fields"], news)

        # each get shows its own registration
        reply = self.send(c, "get", register_query())
        self.assertIsNotNone(query_of(reply).find(q("registered")),
                             show(reply))
        self.assertEqual(form_fields(form_of(reply))["nick"]["values"],
                         ["Quizzer"], show(reply))
        reply = self.send(c, "get", register_query(), to=self.news)
        self.assertEqual(query_of(reply).findtext(q("username")),
                         values["username"], show(reply))

        # cancelling one leaves the other
        self.assertResult(self.send(c, "set", register_query("<remove/>")),
                          "quiz cancel")
        self.assertEqual(rows_for(self.service, me), [])
        self.assertEqual(len(rows_for(self.news, me)), 1)
        self.assertResult(self.send(c, "set", register_query("<remove/>"),
                                    to=self.news), "newsletter cancel")
        self.assertEqual(rows_for(self.news, me), [])

    def test_one_services_form_is_not_the_others(self):
        c = self.client("s04")
        me = bare("s04")
        # the quiz form sent to the newsletter: its required fields miss
        reply = self.send(c, "set", submit_form(QUIZ), to=self.news)
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "the quiz's form at the newsletter")
        # the newsletter's fields sent to the quiz: nick and team missing
        reply = self.send(c, "set", submit_form(self.news_values("s04")))
        self.assertStanzaError(reply, "not-acceptable", 406, "modify",
                               "the newsletter's form at the quiz")
        self.assertEqual(rows_for(self.service, me), [])
        self.assertEqual(rows_for(self.news, me), [])

    def test_log_names_each_service(self):
        path = os.path.join(env("E2E_WORKDIR"), "quiz.log")
        with open(path, encoding="utf-8") as f:
            log = f.read()
        for jid in (self.service, self.news):
            self.assertIn("starting for %s" % jid, log)
            self.assertIn("as %s" % jid, log)  # attached to HOST:PORT as JID


class ServicesProcessTest(unittest.TestCase):
    """The process around several services: a refused secret of one
    stops it with 77, a reload cannot add or remove a service."""

    def test_one_refused_secret_exits_77(self):
        # notify.localhost is declared on the server (test_notify.py's);
        # its secret is wrong here.  The other service's server is down.
        text = conf_text("services", JID="notify.localhost",
                         SECRET="not-the-secret",
                         SECOND_JID="elsewhere.localhost",
                         SECOND_SECRET="whatever", LOG_LEVEL="debug")
        # the second service's server is down (a closed port)
        first, second = text.split('component "elsewhere.localhost"')
        second = second.replace("port   = %s" % env("XMPP_COMPONENT_PORT"),
                                "port   = %d" % closed_port())
        r = Registrar("services-refused",
                      first + 'component "elsewhere.localhost"' + second)
        rc = r.wait_exit(20)
        if rc is None:
            r.stop()
        self.assertEqual(rc, 77, r.tail())
        self.assertTrue(r.matching(r"refused the handshake for "
                                   r"notify\.localhost"), r.tail())
        self.assertTrue(r.matching(r"elsewhere\.localhost: cannot attach|"
                                   r"elsewhere\.localhost: reconnecting"),
                        r.tail())

    def test_reload_cannot_add_or_remove_services(self):
        port = closed_port()      # no server: reload needs none
        text = conf_text("services", JID="one.localhost", SECRET="s1",
                         SECOND_JID="two.localhost", SECOND_SECRET="s2",
                         XMPP_PORT=port, LOG_LEVEL="debug")
        r = Registrar("services-reload", text)
        try:
            self.assertTrue(r.wait_for(r"two\.localhost: reconnecting", 15),
                            r.tail())
            # one service removed: refused, both keep running
            head = text.split('component "two.localhost"')[0]
            with open(r.conf_path, "w") as f:
                f.write(head)
            mark = r.mark()
            r.signal(signal.SIGHUP)
            got = r.wait_for(r"reload refused: .*needs a restart", 10, mark)
            self.assertTrue(got, r.tail())
            self.assertIn("one.localhost, two.localhost", got[1])
            # the same services with a changed form: taken
            with open(r.conf_path, "w") as f:
                f.write(text.replace("Quiz Registration", "Quiz 2"))
            mark = r.mark()
            r.signal(signal.SIGHUP)
            self.assertTrue(r.wait_for(r"main: reloaded ", 10, mark),
                            r.tail())
            self.assertTrue(r.alive())
        finally:
            self.assertEqual(r.stop(), 0, r.tail())


if __name__ == "__main__":
    unittest.main()
