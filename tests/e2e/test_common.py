"""Service discovery, ping, version and unknown payloads, on both
registrar components (contests and accounts)."""

import unittest

from e2e import (NS_DISCO_INFO, NS_PING, NS_REGISTER, NS_VERSION,
                 E2ETestCase, q, show)


class CommonMixin:
    """Checks every registrar component must pass; USER is a pool account
    that never registers."""

    USER = None

    def test_disco_info(self):
        c = self.client(self.USER)
        reply = self.send(c, "get", "<query xmlns='%s'/>" % NS_DISCO_INFO)
        self.assertResult(reply, "disco#info")
        query = reply.find(q("query", NS_DISCO_INFO))
        self.assertIsNotNone(query, "disco#info result without <query/>:\n  %s"
                             % show(reply))
        identities = query.findall(q("identity", NS_DISCO_INFO))
        self.assertTrue(identities, "disco#info has no <identity/>:\n  %s"
                        % show(reply))
        for ident in identities:
            self.assertTrue(ident.get("category") and ident.get("type"),
                            "identity needs category and type:\n  %s"
                            % show(reply))
        features = {f.get("var") for f in
                    query.findall(q("feature", NS_DISCO_INFO))}
        for feature in (NS_DISCO_INFO, NS_REGISTER, NS_PING, NS_VERSION):
            self.assertIn(feature, features,
                          "disco#info must announce %s:\n  %s"
                          % (feature, show(reply)))
        self.assertNotIn("jabber:x:data", features,
                         "jabber:x:data is not a disco feature (XEP-0004 "
                         "forms are carried inside iq:register):\n  %s"
                         % show(reply))

    def test_disco_info_with_slixmpp_plugin(self):
        c = self.client(self.USER)
        info = self.arun(c["xep_0030"].get_info(jid=self.service,
                                                timeout=20))
        features = info["disco_info"]["features"]
        self.assertIn(NS_REGISTER, features,
                      "slixmpp xep_0030 sees features %r" % (features,))

    def test_ping(self):
        c = self.client(self.USER)
        reply = self.send(c, "get", "<ping xmlns='%s'/>" % NS_PING)
        self.assertResult(reply, "XEP-0199 ping")
        self.assertEqual(len(list(reply)), 0,
                         "a ping result is empty:\n  %s" % show(reply))
        # and through the plugin, as a client would do it
        rtt = self.arun(c["xep_0199"].ping(jid=self.service, timeout=20))
        self.assertGreaterEqual(rtt, 0)

    def test_version(self):
        c = self.client(self.USER)
        reply = self.send(c, "get", "<query xmlns='%s'/>" % NS_VERSION)
        self.assertResult(reply, "XEP-0092 version")
        query = reply.find(q("query", NS_VERSION))
        self.assertIsNotNone(query, "version result without <query/>:\n  %s"
                             % show(reply))
        self.assertEqual(query.findtext(q("name", NS_VERSION)), "registrar",
                         "software name:\n  %s" % show(reply))
        self.assertTrue((query.findtext(q("version", NS_VERSION)) or "")
                        .strip(), "a non-empty <version/>:\n  %s"
                        % show(reply))
        got = self.arun(c["xep_0092"].get_version(self.service, timeout=20))
        self.assertEqual(got["software_version"]["name"], "registrar")

    def test_unknown_namespace_get(self):
        c = self.client(self.USER)
        reply = self.send(c, "get", "<query xmlns='urn:example:nope'/>")
        self.assertStanzaError(reply, "service-unavailable", 503, "cancel",
                               "iq get with an unknown namespace")

    def test_unknown_namespace_set(self):
        c = self.client(self.USER)
        reply = self.send(c, "set",
                          "<query xmlns='urn:example:nope'><a/></query>")
        self.assertStanzaError(reply, "service-unavailable", 503, "cancel",
                               "iq set with an unknown namespace")

    def test_register_result_for_other_types_ignored(self):
        """An <iq type='result'/> needs no answer; the service must stay
        up and answer the next request."""
        c = self.client(self.USER)
        stanza = c.Iq()
        stanza["type"] = "result"
        stanza["to"] = self.service
        stanza["id"] = "stray-result"
        c.send(stanza)
        reply = self.send(c, "get", "<ping xmlns='%s'/>" % NS_PING)
        self.assertResult(reply, "ping after a stray result")

    def test_message_and_presence_do_not_disturb_it(self):
        """Stanzas that are not IQs get no reply that matters; the service
        must keep answering afterwards."""
        c = self.client(self.USER)
        c.send_message(mto=self.service, mbody="hello?", mtype="chat")
        c.send_presence(pto=self.service, ptype="subscribe")
        c.send_presence(pto=self.service)
        reply = self.send(c, "get", "<ping xmlns='%s'/>" % NS_PING)
        self.assertResult(reply, "ping after a message and presences")

    def test_iq_to_a_resource_of_the_service(self):
        """Prosody routes user@service/resource to the component too; the
        answer must come from the address asked, or be an error."""
        c = self.client(self.USER)
        to = "someone@%s/res" % self.service
        reply = self.arun(c.iq("get", to, "<ping xmlns='%s'/>" % NS_PING))
        self.assertIn(reply.get("type"), ("result", "error"),
                      "an answer for %s:\n  %s" % (to, show(reply)))
        self.assertEqual(reply.get("from"), to,
                         "the reply comes from the address asked:\n  %s"
                         % show(reply))


class ContestsCommonTest(CommonMixin, E2ETestCase):
    SERVICE_ENV = "CONTESTS_JID"
    USER = "c20"


class AccountsCommonTest(CommonMixin, E2ETestCase):
    SERVICE_ENV = "ACCOUNTS_JID"
    USER = "a20"


if __name__ == "__main__":
    unittest.main()
