"""load_upstream.py — load_peers.py's "upstream" role: the epoll echo upstream
of the load tests, and with --reset-on-term a host that crashes (see
load_peers.py for what it logs).

(Python, not C: keep clang-format away from this file.)
"""
import errno
import os
import selectors
import signal
import socket
import struct
import time

from load_common import CC, cookie_of, reset_close


# ---- upstream ---------------------------------------------------------------


class UpConn:
    __slots__ = ("s", "inbuf", "out", "name", "stage", "eof", "sent")

    def __init__(self, s):
        self.s, self.inbuf, self.out = s, b"", bytearray()
        self.name, self.stage, self.eof, self.sent = None, "nocr", False, 0


def upstream(addr, port, logp, reset_on_term):
    logf = open(logp, "a", buffering=1)
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(4096)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    conns = {}
    term = []
    signal.signal(signal.SIGTERM, lambda *_: term.append(1))
    print("listening", flush=True)

    def close(c, how):
        sel.unregister(c.s)
        del conns[c.s.fileno()]
        if how == "reset":
            reset_close(c.s)
        else:
            c.s.close()

    def want(c):
        sel.modify(c.s, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)

    def feed(c, d):
        if c.name is None:
            c.inbuf += d
            if len(c.inbuf) < 4:
                return
            n = struct.unpack(">H", c.inbuf[2:4])[0]
            if len(c.inbuf) < n:
                return
            c.name = cookie_of(c.inbuf[:n])
            c.stage = "cr"
            logf.write("cr %s\n" % c.name)
            rest = c.inbuf[n:]
            c.inbuf = b""
            c.out += CC
            d = rest
        c.out += d

    def flush(c):
        while c.out:
            try:
                k = c.s.send(c.out)
            except BlockingIOError:
                break
            except OSError:
                return False
            del c.out[:k]
            c.sent += k
            if c.stage == "cr" and c.sent >= len(CC):
                c.stage = "cc"  # the answer is on its way
                logf.write("cc %s\n" % c.name)
        return True

    def read(c):
        try:
            d = c.s.recv(262144)
        except BlockingIOError:
            return True
        except OSError:
            logf.write("error %s\n" % c.name)
            close(c, "close")
            return False
        if not d:
            c.eof = True
            return True
        feed(c, d)
        return True

    def accept_all():
        while True:
            try:
                s, _ = srv.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    return
                raise
            s.setblocking(False)
            c = UpConn(s)
            conns[s.fileno()] = c
            sel.register(s, selectors.EVENT_READ, c)

    while not term:
        for key, ev in sel.select(0.2):
            if key.data is None:
                accept_all()
                continue
            c = key.data
            if ev & selectors.EVENT_READ and not read(c):
                continue
            if not flush(c):
                close(c, "close")
                continue
            if c.eof and not c.out:
                logf.write("done %s\n" % c.name)
                close(c, "close")
                continue
            want(c)
    if reset_on_term:
        accept_all()
        # At once: a connection that completes in the kernel after the last
        # accept and before the close is reset unseen.
        sel.unregister(srv)
        srv.close()
        for c in list(conns.values()):
            while read(c) and c.s.fileno() in conns and not c.eof:
                try:
                    if not c.s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                        break
                except OSError:
                    break
            if c.s.fileno() in conns:
                # eof: the client had closed first (its FIN read)
                logf.write("reset %s %s %.6f\n" % (c.name or "-", "eof" if c.eof else c.stage, time.monotonic()))
                close(c, "reset")
    logf.close()
    os._exit(0)
