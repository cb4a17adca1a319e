#!/usr/bin/python3
"""tests/bench/slixmpp_peer.py: what a user might pick instead of registrar.

A XEP-0114 component built on slixmpp's own XEP-0077 plugin (xep_0077,
component mode, with its default in-memory user store: a dict in the
process, gone at exit), answering the same legacy registration form as
the benchmark's registrar service (FIELDS, default first,last,email), plus
disco and XEP-0199 ping.  No database: the comparison is with what costs
least to write.

    slixmpp_peer.py HOST PORT JID SECRET [FIELDS] [MAX_SECONDS=14400]

Connects, and after a lost connection (or a refused one) tries again every
0.2 s; stops on SIGTERM/SIGINT or by itself after MAX_SECONDS.
"""

import asyncio
import logging
import signal
import sys

from slixmpp.componentxmpp import ComponentXMPP


class Peer(ComponentXMPP):
    def __init__(self, jid, secret, host, port, fields):
        super().__init__(jid, secret, host, port)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0066")
        self.register_plugin("xep_0077", {
            "form_fields": set(fields),
            "form_instructions": "Please provide the following "
                                 "information to sign up.",
        })
        self.register_plugin("xep_0199")
        self.stopping = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("disconnected", self.again)
        self.add_event_handler("connection_failed", self.again)

    def on_start(self, _event):
        print("slixmpp_peer: attached as %s" % self.boundjid, file=sys.stderr,
              flush=True)

    def again(self, _event):
        if not self.stopping:
            self.loop.call_later(0.2, self.connect)


def main(argv):
    if len(argv) < 5 or len(argv) > 7:
        sys.exit(__doc__)
    host, port, jid, secret = argv[1], int(argv[2]), argv[3], argv[4]
    fields = (argv[5] if len(argv) > 5 else "first,last,email").split(",")
    lifetime = float(argv[6]) if len(argv) > 6 else 14400
    logging.basicConfig(level=logging.ERROR)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = Peer(jid, secret, host, port, fields)
    done = loop.create_future()

    def stop(*_):
        peer.stopping = True
        if not done.done():
            done.set_result(None)

    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    loop.call_later(lifetime, stop)
    peer.connect()
    loop.run_until_complete(done)
    peer.disconnect()
    loop.run_until_complete(asyncio.sleep(0.2))


if __name__ == "__main__":
    main(sys.argv)
