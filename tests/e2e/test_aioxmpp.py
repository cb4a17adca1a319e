"""A second, independent client library: python3-aioxmpp (aioxmpp.ibr).
Against the accounts service, whose fields are all jabber:iq:register
elements (aioxmpp's ibr.Query speaks those, not data forms): fetch the
fields, register, read <registered/> back, cancel.  Checks the rows too."""

import asyncio
import unittest

import aioxmpp
import aioxmpp.connector
import aioxmpp.errors
import aioxmpp.ibr
import aioxmpp.security_layer

from e2e import bare, env, note_secret, password, rows_for

TIMEOUT = 20


async def with_client(user, action):
    """Logs user in with aioxmpp (no TLS on the test server) and runs
    action(client)."""
    security = aioxmpp.security_layer.make(password())._replace(
        tls_required=False)
    client = aioxmpp.Client(
        aioxmpp.JID.fromstr(bare(user)), security,
        override_peer=[(env("XMPP_HOST", "127.0.0.1"),
                        int(env("XMPP_C2S_PORT")),
                        aioxmpp.connector.STARTTLSConnector())])
    async with client.connected():
        return await action(client)


def iq(service, itype, payload):
    return aioxmpp.IQ(to=aioxmpp.JID.fromstr(service), type_=itype,
                      payload=payload)


class AioxmppRegistrationTest(unittest.TestCase):
    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, TIMEOUT * 3))

    def test_register_read_back_cancel(self):
        service = env("ACCOUNTS_JID")
        user = "p14"
        note_secret("aio-pw-p14")

        async def flow(client):
            out = {}
            q = await client.send(iq(service, aioxmpp.IQType.GET,
                                     aioxmpp.ibr.Query()))
            out["blank"] = q
            reg = aioxmpp.ibr.Query("aiouser", "aio-pw-p14")
            reg.email = "aio@example.org"
            await client.send(iq(service, aioxmpp.IQType.SET, reg))
            out["rows_after_register"] = rows_for(service, bare(user))
            out["registered"] = await client.send(
                iq(service, aioxmpp.IQType.GET, aioxmpp.ibr.Query()))
            cancel = aioxmpp.ibr.Query()
            cancel.remove = True
            await client.send(iq(service, aioxmpp.IQType.SET, cancel))
            out["rows_after_cancel"] = rows_for(service, bare(user))
            try:
                again = aioxmpp.ibr.Query()
                again.remove = True
                await client.send(iq(service, aioxmpp.IQType.SET, again))
                out["second_cancel"] = "result"
            except aioxmpp.errors.XMPPAuthError as e:
                out["second_cancel"] = e.condition
            return out

        out = self.run_async(with_client(user, flow))
        blank = out["blank"]
        self.assertFalse(blank.registered, "not registered yet")
        self.assertIsNotNone(blank.instructions)
        self.assertEqual(blank.username, "", "an empty <username/> offered")
        rows = out["rows_after_register"]
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["username"], "aiouser")
        self.assertTrue(rows[0]["password_hash"].startswith("$2a$"))
        reg = out["registered"]
        self.assertTrue(reg.registered, "<registered/> once registered")
        self.assertEqual(reg.username, "aiouser")
        self.assertEqual(reg.email, "aio@example.org")
        self.assertFalse(reg.password, "no password read back")
        self.assertEqual(out["rows_after_cancel"], [])
        self.assertEqual(out["second_cancel"],
                         aioxmpp.ErrorCondition.REGISTRATION_REQUIRED,
                         "a second cancel: registration-required")
