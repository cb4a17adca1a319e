"""tests/harness/e2e.py: the end-to-end helpers every Python suite uses.

Imported by tests/e2e (the end-to-end suite), tests/harness/faults.py
(tests/faults, tests/ha) as `import e2e`: tests/harness is on the import
path through PYTHONPATH, which tests/harness/suite.sh exports (the one
way the suites find these modules; no test adds a folder to sys.path).

The tests talk to a real XMPP server (tests/harness/prosody.sh or
ejabberd.sh) as real accounts with slixmpp, to a running registrar
attached to it, and read PostgreSQL (tests/harness/pg.sh) with psql. The
suite's run.sh sets the environment:

  XMPP_HOST, XMPP_C2S_PORT, XMPP_DOMAIN   the c2s listener and virtual host
  E2E_PASSWORD                            the password of every pool account
  CONTESTS_JID, ACCOUNTS_JID, ..._JID     the registrar components
  PGHOST, PGPORT, PGUSER, PGDATABASE      the registrar database

Command line (used by tests/e2e/run.sh, tests/harness/suite.sh and
deploy/quickstart.sh):

  e2e.py users                  print "user password" for every account of
                                the end-to-end suite's pool (POOL)
  e2e.py wait-component JID S [PID]
                                wait up to S seconds until JID answers
                                disco#info; give up early if PID exits
"""

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import unittest
import uuid
import xml.etree.ElementTree as ET

_LOGFILE = os.environ.get("E2E_XMPP_LOG")
if _LOGFILE:
    logging.basicConfig(filename=_LOGFILE, level=logging.DEBUG,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
else:
    # slixmpp warns about its pure-python stringprep at import time
    logging.basicConfig(level=logging.ERROR)

import slixmpp  # noqa: E402
from slixmpp.xmlstream import tostring  # noqa: E402
from slixmpp.xmlstream.handler import Callback  # noqa: E402
from slixmpp.xmlstream.matcher import MatcherId  # noqa: E402

NS_CLIENT = "jabber:client"
NS_REGISTER = "jabber:iq:register"
NS_DATA = "jabber:x:data"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"

# Seconds to wait for one reply. registrar hashes passwords with bcrypt
# (cost 10) and may run under valgrind: be generous, but finite.
REPLY_TIMEOUT = float(os.environ.get("E2E_REPLY_TIMEOUT", "20"))
CONNECT_TIMEOUT = float(os.environ.get("E2E_CONNECT_TIMEOUT", "15"))
TEST_TIMEOUT = float(os.environ.get("E2E_TEST_TIMEOUT", "120"))

# Every account the suite logs in as; run.sh creates them on Prosody.
# Each test uses its own accounts, so tests do not depend on each other's
# registrations and can run in any order.
POOL = (["probe"]
        + ["c%02d" % i for i in range(1, 21)]     # contests tests
        + ["a%02d" % i for i in range(1, 21)]     # accounts tests
        + ["r%02d" % i for i in range(1, 26)]     # the username race
        + ["q%02d" % i for i in range(1, 6)]      # quickstart client
        + ["p%02d" % i for i in range(1, 23)]     # policy, redirect, ...
        + ["d%02d" % i for i in range(1, 9)]      # the desk service
        + ["deskops"]                             # told of registrations
        + ["s%02d" % i for i in range(1, 5)]      # two services, one process
        + ["adm01"] + ["h%02d" % i for i in range(1, 11)]  # ad-hoc commands
        + ["m%02d" % i for i in range(1, 5)]      # moderation
        + ["i%02d" % i for i in range(1, 13)]     # invitations
        + ["w%02d" % i for i in range(1, 9)]      # messages to users
        + ["msgops"]                              # told of those
        + ["v%02d" % i for i in range(1, 9)]      # XEP-0122 validation
        + ["k%02d" % i for i in range(1, 19)]     # challenges
        + ["n%02d" % i for i in range(1, 6)]      # risk-based challenges
        + ["blocked1"]                            # a blocked_jids match
        + ["l%02d" % i for i in range(1, 9)])     # forms in a language

RACERS = ["r%02d" % i for i in range(1, 26)]


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise unittest.SkipTest("environment variable %s is not set "
                                "(run the suite through its run.sh)" % name)
    return value


def domain():
    return env("XMPP_DOMAIN", "localhost")


def bare(user):
    return "%s@%s" % (user, domain())


def password():
    return env("E2E_PASSWORD", "e2e-Pa55word")


def q(tag, ns=NS_REGISTER):
    return "{%s}%s" % (ns, tag)


def show(xml):
    """A stanza as text for assertion messages."""
    if xml is None:
        return "(none)"
    try:
        return tostring(xml)
    except Exception:  # pragma: no cover - best effort
        return ET.tostring(xml, encoding="unicode")


# ---------------------------------------------------------------- client

class Client(slixmpp.ClientXMPP):
    """A logged-in account on the test Prosody."""

    def __init__(self, user, pw=None):
        super().__init__("%s/e2e-%s" % (bare(user), uuid.uuid4().hex[:8]),
                         pw or password())
        self.user = user
        for plugin in ("xep_0030", "xep_0004", "xep_0077", "xep_0199",
                       "xep_0092"):
            self.register_plugin(plugin)
        # no TLS on the test server; SCRAM works in the clear
        self["feature_mechanisms"].unencrypted_plain = True
        self.ready = self.loop.create_future()
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("failed_auth", self._failed)
        self.add_event_handler("connection_failed", self._failed)
        self.add_event_handler("disconnected", self._failed)

    def _started(self, _event):
        if not self.ready.done():
            self.ready.set_result(True)

    def _failed(self, event):
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(
                "%s could not log in: %r" % (self.boundjid.bare, event)))

    async def start(self):
        self.connect((env("XMPP_HOST", "127.0.0.1"),
                      int(env("XMPP_C2S_PORT"))),
                     use_ssl=False, force_starttls=False,
                     disable_starttls=True)
        try:
            await asyncio.wait_for(asyncio.shield(self.ready),
                                   CONNECT_TIMEOUT)
        except asyncio.TimeoutError:
            self.abort()
            raise AssertionError("%s: no session within %ss"
                                 % (self.boundjid.bare, CONNECT_TIMEOUT))
        return self

    async def stop(self):
        try:
            await asyncio.wait_for(self.disconnect(wait=1.0), 5)
        except Exception:
            self.abort()
        # slixmpp leaves its outgoing filter task running after a
        # disconnect; end it here rather than when the loop closes
        task = getattr(self, "_run_out_filters", None)
        if task is not None and not task.done():
            task.cancel()
            try:
                await asyncio.wait_for(task, 2)
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):
                pass

    async def iq(self, itype, to, payload=None, timeout=None):
        """Send <iq type=itype to=to> with payload (XML text, an Element,
        or None) and return the reply's Element, whatever its type or
        sender. Fails the test when no reply comes in time."""
        if isinstance(payload, str):
            payload = ET.fromstring(payload)
        stanza = self.Iq()
        stanza["type"] = itype
        stanza["to"] = to
        stanza["id"] = "e2e-" + uuid.uuid4().hex[:12]
        if payload is not None:
            stanza.xml.append(payload)
        fut = self.loop.create_future()

        def got(reply):
            if not fut.done():
                fut.set_result(reply.xml)

        name = "e2e-reply-" + stanza["id"]
        self.register_handler(Callback(name, MatcherId(stanza["id"]), got,
                                       once=True))
        sent = show(stanza.xml)
        # the stream's send, not Iq.send: we match the reply ourselves,
        # whatever its 'from', and error replies are not exceptions here
        self.send(stanza)
        try:
            return await asyncio.wait_for(fut, timeout or REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError("no reply within %ss to:\n  %s"
                                 % (timeout or REPLY_TIMEOUT, sent))
        finally:
            self.remove_handler(name)


# ------------------------------------------------------------- stanzas

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def transcript(name, title, xml, sent=None):
    """Appends a stanza (and the payload sent for it, passwords blanked)
    to $E2E_WORKDIR/NAME-transcript.txt (the stanzas a closing note
    shows)."""
    path = os.path.join(os.environ.get("E2E_WORKDIR", "/tmp"),
                        "%s-transcript.txt" % name)
    with open(path, "a", encoding="utf-8") as f:
        f.write("== %s\n" % title)
        if sent is not None:
            sent = re.sub(r"(<password>|var='password'><value>)[^<]*",
                          r"\1(password)", sent)
            f.write("sent: %s\n" % sent)
        f.write("%s\n\n" % show(xml))


async def iq_lang(client, itype, to, payload, lang, timeout=REPLY_TIMEOUT):
    """<iq type=itype to=to xml:lang=lang> (slixmpp's Client.iq sets no
    xml:lang; lang None: none) with payload (XML text); the reply's
    Element."""
    stanza = client.Iq()
    stanza["type"] = itype
    stanza["to"] = to
    stanza["id"] = "e2e-" + uuid.uuid4().hex[:12]
    if lang is not None:
        stanza.xml.set(XML_LANG, lang)
    stanza.xml.append(ET.fromstring(payload))
    fut = client.loop.create_future()

    def got(reply):
        if not fut.done():
            fut.set_result(reply.xml)

    name = "e2e-reply-" + stanza["id"]
    client.register_handler(Callback(name, MatcherId(stanza["id"]), got,
                                     once=True))
    client.send(stanza)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        client.remove_handler(name)


def register_query(children=""):
    return "<query xmlns='%s'>%s</query>" % (NS_REGISTER, children)


def esc(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("'", "&apos;"))


def note_secret(value):
    """Remember a password the suite sent: run.sh checks afterwards that
    none appears in registrar's logs (E2E_SECRETS_FILE, one a line)."""
    path = os.environ.get("E2E_SECRETS_FILE")
    # a blank one would match every line of the logs and of the dump
    if path and value and value.strip():
        with open(path, "a", encoding="utf-8") as f:
            f.write(value + "\n")


def legacy(**fields):
    """<query> with legacy children; a value of None gives an empty element."""
    note_secret(fields.get("password"))
    parts = []
    for name, value in fields.items():
        if value is None:
            parts.append("<%s/>" % name)
        else:
            parts.append("<%s>%s</%s>" % (name, esc(value), name))
    return register_query("".join(parts))


def submit_form(values, form_type=NS_REGISTER, types=None):
    """<query><x type='submit'> with FORM_TYPE (unless form_type is None)
    and one field per item of values (a list value gives several
    <value/>s)."""
    types = types or {}
    if isinstance(values.get("password"), str):
        note_secret(values["password"])
    parts = []
    if form_type is not None:
        parts.append("<field type='hidden' var='FORM_TYPE'><value>%s</value>"
                     "</field>" % esc(form_type))
    for var, value in values.items():
        vals = value if isinstance(value, (list, tuple)) else [value]
        ftype = (" type='%s'" % types[var]) if var in types else ""
        parts.append("<field var='%s'%s>%s</field>" % (
            esc(var), ftype,
            "".join("<value>%s</value>" % esc(v) for v in vals)))
    return register_query("<x xmlns='%s' type='submit'>%s</x>"
                          % (NS_DATA, "".join(parts)))


def query_of(reply):
    return reply.find(q("query"))


def form_of(reply):
    query = query_of(reply)
    return None if query is None else query.find(q("x", NS_DATA))


def form_fields(form):
    """var -> dict(type, label, required, values, options[(value, label)])"""
    out = {}
    for field in form.findall(q("field", NS_DATA)):
        out[field.get("var")] = {
            "type": field.get("type"),
            "label": field.get("label"),
            "required": field.find(q("required", NS_DATA)) is not None,
            "values": [v.text or "" for v in
                       field.findall(q("value", NS_DATA))],
            "options": [(o.findtext(q("value", NS_DATA)), o.get("label"))
                        for o in field.findall(q("option", NS_DATA))],
        }
    return out


def stanza_error(reply):
    """(condition, code, type, text) of an error reply, or None."""
    err = reply.find(q("error", NS_CLIENT))
    if err is None:
        return None
    condition = None
    text = None
    for child in err:
        if child.tag == q("text", NS_STANZAS):
            text = child.text or ""
        elif child.tag.startswith("{%s}" % NS_STANZAS) and condition is None:
            condition = child.tag.split("}", 1)[1]
    return condition, err.get("code"), err.get("type"), text


# ------------------------------------------------------------- database

def psql_json(sql, **params):
    """Rows of sql (a SELECT) as a list of dicts. params become psql
    variables: write :'name' in sql to use one as a quoted literal."""
    script = "\\set ON_ERROR_STOP 1\n"
    for name, value in params.items():
        script += "\\set %s %s\n" % (name, _psql_var(value))
    script += ("SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t;\n"
               % sql.rstrip().rstrip(";"))
    out = subprocess.run(["psql", "-X", "-A", "-t", "-q"], input=script,
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("psql failed (%d): %s\nSQL: %s"
                             % (out.returncode, out.stderr.strip(), sql))
    return json.loads(out.stdout)


def _psql_var(value):
    # psql \set takes a single-quoted word; backslashes and quotes escaped
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def rows_for(service, jid):
    return psql_json(
        "SELECT service, jid, username, fields, password_hash, "
        "created_at::text AS created_at, updated_at::text AS updated_at "
        "FROM registrations WHERE service = :'service' AND jid = :'jid'",
        service=service, jid=jid)


def password_matches(service, jid, pw):
    """True when the stored hash of (service, jid) is the hash of pw
    (pgcrypto's crypt() in the database)."""
    rows = psql_json(
        "SELECT password_hash = crypt(:'pw', password_hash) AS ok "
        "FROM registrations WHERE service = :'service' AND jid = :'jid'",
        pw=pw, service=service, jid=jid)
    return bool(rows) and rows[0]["ok"] is True


def pg_dump():
    out = subprocess.run(["pg_dump", "--no-owner", "--inserts"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("pg_dump failed: %s" % out.stderr.strip())
    return out.stdout


# ------------------------------------------------------------ test base

def close_loop(loop):
    """Cancel what slixmpp left running on loop, then close it."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=5))
    loop.close()
    asyncio.set_event_loop(None)


class E2ETestCase(unittest.TestCase):
    """One event loop per test class; clients made with self.client() are
    logged out after each test."""

    SERVICE_ENV = None     # e.g. "CONTESTS_JID"

    @classmethod
    def setUpClass(cls):
        cls.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(cls.loop)
        cls.service = env(cls.SERVICE_ENV) if cls.SERVICE_ENV else None

    @classmethod
    def tearDownClass(cls):
        close_loop(cls.loop)

    def setUp(self):
        self._clients = []

    def tearDown(self):
        if self._clients:
            self.arun(asyncio.gather(*(c.stop() for c in self._clients),
                                     return_exceptions=True), timeout=15)

    def arun(self, coro, timeout=None):
        """Run coro on the class's loop, bounded in time."""
        return self.loop.run_until_complete(
            asyncio.wait_for(coro, timeout or TEST_TIMEOUT))

    def client(self, user, pw=None):
        c = Client(user, pw)
        self._clients.append(c)
        return self.arun(c.start(), timeout=CONNECT_TIMEOUT + 5)

    def clients(self, users):
        cs = [Client(u) for u in users]
        self._clients.extend(cs)
        return self.arun(asyncio.gather(*(c.start() for c in cs)),
                         timeout=CONNECT_TIMEOUT * 2)

    def send(self, client, itype, payload, to=None):
        """Send to the service (or to) and return the reply; checks that
        the reply is a result or error from the address asked."""
        to = to or self.service
        reply = self.arun(client.iq(itype, to, payload))
        self.assertEqual(reply.get("from"), to,
                         "reply must come from %s:\n  %s" % (to, show(reply)))
        self.assertIn(reply.get("type"), ("result", "error"),
                      "reply type:\n  %s" % show(reply))
        return reply

    def only_row(self, user):
        """The one row of user's bare JID in the service (a failure when
        there is none or more)."""
        rows = rows_for(self.service, bare(user))
        self.assertEqual(len(rows), 1, "one row for %s in %s, got %r"
                         % (bare(user), self.service, rows))
        return rows[0]

    # -- assertions

    def assertNoRow(self, user, why):
        rows = rows_for(self.service, bare(user))
        self.assertEqual(rows, [], "%s: no row may be stored for %s"
                         % (why, bare(user)))

    def assertResult(self, reply, what=""):
        self.assertEqual(reply.get("type"), "result",
                         "%s: expected an IQ result, got:\n  %s"
                         % (what or "reply", show(reply)))

    def assertStanzaError(self, reply, condition, code, etype, what="",
                          text_contains=None):
        label = what or "reply"
        self.assertEqual(reply.get("type"), "error",
                         "%s: expected <%s/> error, got:\n  %s"
                         % (label, condition, show(reply)))
        got = stanza_error(reply)
        self.assertIsNotNone(got, "%s: type='error' without <error/>:\n  %s"
                             % (label, show(reply)))
        cond, gcode, gtype, text = got
        self.assertEqual(cond, condition, "%s: error condition:\n  %s"
                         % (label, show(reply)))
        self.assertEqual(gcode, str(code), "%s: legacy error code:\n  %s"
                         % (label, show(reply)))
        self.assertEqual(gtype, etype, "%s: error type:\n  %s"
                         % (label, show(reply)))
        if text_contains is not None:
            self.assertIsNotNone(text, "%s: error has no <text/>:\n  %s"
                                 % (label, show(reply)))
            self.assertIn(text_contains, text,
                          "%s: error <text/> should name %r:\n  %s"
                          % (label, text_contains, show(reply)))

    def assertFormType(self, form, reply):
        fields = form_fields(form)
        self.assertIn("FORM_TYPE", fields, "form without FORM_TYPE:\n  %s"
                      % show(reply))
        self.assertEqual(fields["FORM_TYPE"]["type"], "hidden",
                         "FORM_TYPE must be hidden:\n  %s" % show(reply))
        self.assertEqual(fields["FORM_TYPE"]["values"], [NS_REGISTER],
                         "FORM_TYPE value:\n  %s" % show(reply))


# ------------------------------------------------------------------ cli

def _process_gone(pid):
    """True when pid has exited (a zombie counts as exited)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


async def _wait_component(jid, seconds, pid=None):
    loop = asyncio.get_event_loop()
    deadline = loop.time() + seconds
    c = Client("probe")
    await c.start()
    last = None
    try:
        while loop.time() < deadline:
            try:
                reply = await c.iq("get", jid,
                                   "<query xmlns='%s'/>" % NS_DISCO_INFO,
                                   timeout=max(1, deadline - loop.time()))
            except AssertionError as e:
                last = str(e)
                break
            if reply.get("type") == "result":
                return True
            last = show(reply)
            if pid is not None and _process_gone(pid):
                print("e2e: process %d, which should serve %s, has exited"
                      % (pid, jid), file=sys.stderr)
                return False
            await asyncio.sleep(0.3)
        print("e2e: %s did not answer disco#info within %ss; last reply: %s"
              % (jid, seconds, last), file=sys.stderr)
        return False
    finally:
        await c.stop()


def main(argv):
    if len(argv) >= 2 and argv[1] == "users":
        try:
            for user in POOL:
                print(user, password())
        except BrokenPipeError:
            pass
        return 0
    if len(argv) in (4, 5) and argv[1] == "wait-component":
        pid = int(argv[4]) if len(argv) == 5 else None
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        seconds = float(argv[3])
        try:
            ok = loop.run_until_complete(
                asyncio.wait_for(_wait_component(argv[2], seconds, pid),
                                 seconds + CONNECT_TIMEOUT + 5))
        except (asyncio.TimeoutError, AssertionError, ConnectionError) as e:
            print("e2e: waiting for %s: %s" % (argv[2], e or "timeout"),
                  file=sys.stderr)
            ok = False
        finally:
            close_loop(loop)
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
