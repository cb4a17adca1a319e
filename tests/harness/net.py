"""tests/harness/net.py: loopback sockets the Python suites stand up.

Imported as `import net` (tests/harness is on PYTHONPATH, exported by
tests/harness/suite.sh). Everything binds 127.0.0.1 on a port the kernel
picks, so parallel runs do not collide.

  closed_port()        a port nothing listens on (bound, then closed)
  port_open(port)      True when something accepts on 127.0.0.1:port
  listener(backlog)    a listening socket on a free port
  BlackHole(backlog)   a listener that accepts every connection and never
                       sends a byte: a wedged server or database, a
                       black-holing proxy (tests/faults: 8b, 9b)
"""

import socket
import threading
import time


def closed_port():
    """A loopback port that was free a moment ago: connecting to it is
    refused (unless someone took it since)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    """True when something accepts TCP connections on 127.0.0.1:port
    (tried for 0.5 s)."""
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def listener(backlog):
    """A TCP socket listening on 127.0.0.1, on a port the kernel picked
    (its getsockname()[1]). The caller closes it."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(backlog)
    return lsock


class BlackHole:
    """Accepts TCP connections on 127.0.0.1:port and never speaks: each
    connection is kept open, unread, until close(). A thread accepts
    (polling every 0.2 s); accepted lists (arrival time, socket), in order.

        with BlackHole(16) as hole:
            ... connect registrar to hole.port ...
            n = len(hole.accepted)

    Leaving the block (or close()) stops the thread and closes every
    connection and the listener."""

    def __init__(self, backlog=16):
        self._lsock = listener(backlog)
        self._lsock.settimeout(0.2)
        self.port = self._lsock.getsockname()[1]
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._lsock.accept()
                self.accepted.append((time.time(), conn))
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self._thread.join(5)
        for _, conn in self.accepted:
            conn.close()
        self._lsock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
