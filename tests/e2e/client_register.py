#!/usr/bin/python3
"""tests/e2e/client_register.py: register with a registrar component the
way an XMPP client does, with slixmpp's XEP-0077 and XEP-0004 plugins.

  client_register.py --jid USER@DOMAIN --password PW --service JID \
      [--host 127.0.0.1] --port C2S_PORT [--set VAR=VALUE ...] [--remove]

Logs in as the account, fetches the registration form from the service,
fills it (with --set values, else with a made-up sample for each field:
for a list-single, its first option), submits it, prints the reply, then
fetches again and prints the <registered/> answer. Exit 0 when the
submission was accepted and the second get says <registered/>.
"""

import argparse
import asyncio
import logging
import sys

logging.basicConfig(level=logging.ERROR)

import slixmpp  # noqa: E402
from slixmpp.exceptions import IqError, IqTimeout  # noqa: E402
from slixmpp.xmlstream import tostring  # noqa: E402

TIMEOUT = 20


def sample_value(field, user):
    ftype = field["type"]
    var = field["var"]
    if ftype in ("list-single", "list-multi"):
        options = field.get_options()
        return options[0]["value"] if options else ""
    if ftype == "boolean":
        return True
    if var == "email":
        return "%s@example.org" % user
    if var == "username":
        return user
    if var == "password" or ftype == "text-private":
        return "quickstart-" + user
    return {"first": "Juliet", "last": "Capulet"}.get(var, "sample %s" % var)


class Registrant(slixmpp.ClientXMPP):

    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.ok = False
        for plugin in ("xep_0030", "xep_0004", "xep_0066", "xep_0077"):
            self.register_plugin(plugin)
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self.session_start)
        self.add_event_handler("failed_auth", self.failed)
        self.add_event_handler("connection_failed", self.failed)

    def failed(self, event):
        print("cannot log in as %s: %r" % (self.args.jid, event),
              file=sys.stderr)
        self.disconnect()

    async def get_form(self):
        iq = self.Iq()
        iq["type"] = "get"
        iq["to"] = self.args.service
        iq.enable("register")
        return await iq.send(timeout=TIMEOUT)

    async def session_start(self, _event):
        try:
            await self.register()
        except IqError as e:
            print("ERROR reply from %s:\n%s" % (self.args.service,
                                                tostring(e.iq.xml)))
        except IqTimeout:
            print("no reply from %s within %ss" % (self.args.service,
                                                   TIMEOUT))
        except Exception as e:  # report, then log out all the same
            print("client error: %r" % (e,), file=sys.stderr)
        finally:
            self.disconnect()

    async def register(self):
        service = self.args.service
        user = self.boundjid.user
        given = dict(kv.split("=", 1) for kv in self.args.set)

        reply = await self.get_form()
        print("== form from %s:\n%s\n" % (service, tostring(reply.xml)))
        reg = reply["register"]

        if self.args.remove:
            iq = self.Iq()
            iq["type"] = "set"
            iq["to"] = service
            iq["register"]["remove"] = True
            res = await iq.send(timeout=TIMEOUT)
            print("== <remove/> result:\n%s\n" % tostring(res.xml))
            self.ok = True
            return

        iq = self.Iq()
        iq["type"] = "set"
        iq["to"] = service
        has_form = reg.xml.find("{jabber:x:data}x") is not None
        form = reg["form"] if has_form else None
        fields = form.get_fields() if form is not None else {}
        if fields:
            answer = self["xep_0004"].make_form(ftype="submit")
            for var, field in fields.items():
                if var == "FORM_TYPE":
                    answer.add_field(var="FORM_TYPE", ftype="hidden",
                                     value=field["value"])
                    continue
                value = given.get(var, sample_value(field, user))
                answer.add_field(var=var, ftype=field["type"], value=value)
            iq["register"].append(answer)
        else:
            # a service without a form: the legacy elements it listed
            for name in reg["fields"]:
                iq["register"][name] = given.get(name, name)
        print("== submitting:\n%s\n" % tostring(iq.xml))
        res = await iq.send(timeout=TIMEOUT)
        print("== result:\n%s\n" % tostring(res.xml))

        again = await self.get_form()
        print("== asking again:\n%s\n" % tostring(again.xml))
        self.ok = bool(again["register"]["registered"])
        print("registered: %s" % ("yes" if self.ok else "NO"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--set", action="append", default=[],
                        metavar="VAR=VALUE")
    parser.add_argument("--remove", action="store_true",
                        help="cancel the registration instead")
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = Registrant(args)
    client.connect((args.host, args.port), use_ssl=False,
                   force_starttls=False, disable_starttls=True)
    try:
        loop.run_until_complete(asyncio.wait_for(
            client.disconnected, TIMEOUT * 4))
    except asyncio.TimeoutError:
        print("gave up after %ss" % (TIMEOUT * 4), file=sys.stderr)
        client.abort()
    task = getattr(client, "_run_out_filters", None)
    if task is not None and not task.done():
        task.cancel()
        loop.run_until_complete(asyncio.wait([task], timeout=2))
    loop.close()
    return 0 if client.ok else 1


if __name__ == "__main__":
    sys.exit(main())
