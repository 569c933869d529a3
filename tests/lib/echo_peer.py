"""echo_peer.py — the peers the proxy tests put on each side of rdpwhy: a
listening "host" on 127.0.0.1, the socket helpers both ends use, and an
echoing upstream. Used by tests/proxy/fast_relay.py and tests/proxy/workers.py.

    import echo_peer as ep
    srv = ep.listener()                       # 127.0.0.1, a port the kernel picks
    acc = ep.Accept(srv); ...; conn = acc.conn()  # accept in a thread, while the client connects
    ep.recv_exact(sock, n)                    # n bytes, fewer only at EOF
    ep.read_to_end(sock)                      # every byte to EOF (an RST raises)
    ep.read_until_eof(sock)                   # (sha256 hex, byte count, "fin" or "rst")
    ep.reset(sock)                            # close with an RST (SO_LINGER 0)
    up = ep.EchoUpstream()                    # the echoing host, up.port, up.ends

Only loopback: every socket here is on 127.0.0.1.
"""
import hashlib
import socket
import struct
import threading
import time


def listener(backlog=8):
    """A listening TCP socket on 127.0.0.1 at a port the kernel picks."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(backlog)
    return srv


class Accept:
    """Accepts one connection on srv in a thread (started at once), so the
    caller can connect meanwhile; conn() waits for it."""

    def __init__(self, srv):
        self._conn = None
        self._thread = threading.Thread(target=self._run, args=(srv,))
        self._thread.start()

    def _run(self, srv):
        self._conn, _ = srv.accept()

    def conn(self, timeout=10):
        self._thread.join(timeout)
        return self._conn


def linger0(sock):
    """Make the next close() send an RST (SO_LINGER on, 0 s)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset(sock):
    """Close sock with an RST."""
    linger0(sock)
    sock.close()


def recv_exact(sock, n):
    """n bytes from sock; fewer only if the peer's FIN came first."""
    b = b""
    while len(b) < n:
        k = sock.recv(n - len(b))
        if not k:
            break
        b += k
    return b


def read_to_end(sock):
    """Every byte up to the peer's FIN (ConnectionResetError on an RST)."""
    got = bytearray()
    while True:
        d = sock.recv(65536)
        if not d:
            return bytes(got)
        got += d


def read_until_eof(sock, delay=0.0):
    """Reads to the end after delay seconds: (SHA-256 hex of the bytes, their
    count, "fin" or "rst" for how the stream ended)."""
    time.sleep(delay)
    h = hashlib.sha256()
    n = 0
    how = "fin"
    try:
        while True:
            b = sock.recv(262144)
            if not b:
                break
            h.update(b)
            n += len(b)
    except ConnectionResetError:
        how = "rst"
    return h.hexdigest(), n, how


class EchoUpstream:
    """The host side, a thread per connection. The first byte of a
    connection says what to do: R reads 4 bytes then resets (SO_LINGER 0);
    anything else is echoed with everything after it, then a FIN after the
    client's FIN. ends[tag] is how the client's side ended ("fin" / "rst"),
    tag being the connection's first 9 bytes."""

    def __init__(self):
        self.sock = listener(1024)
        self.port = self.sock.getsockname()[1]
        self.ends = {}  # client tag -> "fin" / "rst"
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        tag = b""
        end = "fin"
        try:
            first = c.recv(1)
            if first == b"R":
                c.recv(4)
                reset(c)
                return
            if first:
                c.sendall(first)
                tag = first
            while True:
                d = c.recv(65536)
                if not d:
                    break
                if len(tag) < 9:
                    tag += d[: 9 - len(tag)]
                c.sendall(d)
        except ConnectionResetError:
            end = "rst"
        with self.lock:
            self.ends[tag] = end
        try:
            c.close()
        except OSError:
            pass
