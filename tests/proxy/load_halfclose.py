"""load_halfclose.py — load_peers.py's "halfclose" role: many connections,
half-closes and resets, byte-exact both ways.

(Python, not C: keep clang-format away from this file.)
"""
import errno
import hashlib
import json
import random
import selectors
import socket
import struct
import sys
import time

from load_common import expect, note, reset_close


# ---- many connections, half-closes and resets, byte-exact ------------------------


class End:
    """one end of one connection: what it sends, what it got, how it ended"""

    def __init__(self, conn, side, s, block, total, stop_at, how):
        self.conn, self.side, self.s = conn, side, s
        self.block, self.total = block, total
        self.stop_at, self.how = stop_at, how  # how: fin | rst, after stop_at bytes
        self.sent, self.h_sent = 0, hashlib.sha256()
        self.got, self.h_got = 0, hashlib.sha256()
        self.rd_end = None  # eof | reset | None (open)
        self.wr_done = False  # FIN sent or reset
        self.err = None
        self.closed = False


def stream_bytes(block, off, n):
    o = off % len(block)
    b = block[o:o + n]
    while len(b) < n:
        b += block[:n - len(b)]
    return b


def halfclose(host, port, upaddr, upport, nconn, mib, seed, out):
    rng = random.Random(seed)
    total = mib << 20
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((upaddr, upport))
    srv.listen(nconn)
    plans = []
    kinds = ["both_fin", "client_halfclose", "server_halfclose", "client_reset", "server_reset"]
    for i in range(nconn):
        kind = kinds[i] if i < len(kinds) else rng.choice(kinds + ["both_fin"])
        at = rng.randrange(total // 16, total)
        plans.append({"kind": kind, "at": at})
    sel = selectors.DefaultSelector()
    conns = []
    for i, p in enumerate(plans):
        c = socket.create_connection((host, port), timeout=10)
        s, _ = srv.accept()
        # The pair: the client's first 4 bytes are its index (relayed like
        # the rest, read here before the checked stream begins).
        c.sendall(struct.pack(">I", i))
        idx = b""
        while len(idx) < 4:
            idx += s.recv(4 - len(idx))
        j = struct.unpack(">I", idx)[0]
        assert j == i, (i, j)
        blk_c = random.Random(seed * 1000 + 2 * i).randbytes((1 << 20) + 7)
        blk_s = random.Random(seed * 1000 + 2 * i + 1).randbytes((1 << 20) + 7)
        kind, at = p["kind"], p["at"]
        ce = End(i, "client", c, blk_c, total, at if kind in ("client_halfclose", "client_reset") else total,
                 "rst" if kind == "client_reset" else "fin")
        se = End(i, "server", s, blk_s, total, at if kind in ("server_halfclose", "server_reset") else total,
                 "rst" if kind == "server_reset" else "fin")
        for e in (ce, se):
            e.s.setblocking(False)
            sel.register(e.s, selectors.EVENT_READ | selectors.EVENT_WRITE, e)
        p["client_port"] = c.getsockname()[1]
        conns.append((ce, se))
    t0 = time.monotonic()
    live = 2 * nconn

    def finish(e):
        nonlocal live
        if not e.closed:
            sel.unregister(e.s)
            e.s.close()
            e.closed = True
            live -= 1

    def failed(e, err):
        e.err = e.err or err
        if not e.rd_end:
            e.rd_end = "reset" if err == errno.ECONNRESET else "error %s" % errno.errorcode.get(err, err)
        finish(e)

    deadline = time.monotonic() + 600
    while live and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            e = key.data
            if e.closed:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    d = e.s.recv(1 << 18)
                    if d:
                        e.got += len(d)
                        e.h_got.update(d)
                    else:
                        e.rd_end = "eof"
                except BlockingIOError:
                    pass
                except OSError as x:
                    failed(e, x.errno)
                    continue
            if ev & selectors.EVENT_WRITE and not e.wr_done:
                n = min(1 << 18, e.stop_at - e.sent)
                if n > 0:
                    chunk = stream_bytes(e.block, e.sent, n)
                    try:
                        k = e.s.send(chunk)
                        e.h_sent.update(chunk[:k])
                        e.sent += k
                    except BlockingIOError:
                        pass
                    except OSError as x:
                        failed(e, x.errno)
                        continue
                if e.sent >= e.stop_at:
                    e.wr_done = True
                    if e.how == "rst":
                        sel.unregister(e.s)
                        reset_close(e.s)
                        e.closed = True
                        live -= 1
                        continue
                    try:
                        e.s.shutdown(socket.SHUT_WR)
                    except OSError as x:
                        # The other end's RST can land between the last send
                        # and this shutdown (ENOTCONN): the reset is still
                        # pending on the socket, and the next recv reports it
                        # (ECONNRESET) as it would have without the race.
                        if x.errno != errno.ENOTCONN:
                            failed(e, x.errno)
                            continue
            if e.closed:
                continue
            if e.wr_done and e.rd_end:
                finish(e)
            elif e.wr_done:
                sel.modify(e.s, selectors.EVENT_READ, e)
            elif e.rd_end:
                sel.modify(e.s, selectors.EVENT_WRITE, e)
    elapsed = time.monotonic() - t0
    expect(live == 0, "every connection ended within the time limit (%d ends still open)" % live)
    report = []
    bad = []
    moved = 0
    for (ce, se), p in zip(conns, plans):
        kind = p["kind"]
        for a, b in ((ce, se), (se, ce)):
            # a sent, b received
            moved += b.got
            if a.how == "rst" and a.sent >= a.stop_at:
                exp = hashlib.sha256(stream_bytes(a.block, 0, b.got)).hexdigest() if b.got <= a.sent else "x"
                if b.got > a.sent or b.h_got.hexdigest() != exp:
                    bad.append("conn %d (%s): %s received %d bytes that are not a prefix of the %d the %s sent "
                               "before its reset" % (a.conn, kind, b.side, b.got, a.sent, a.side))
                if b.rd_end != "reset":
                    bad.append("conn %d (%s): the %s's reset reached the %s as %s, not ECONNRESET"
                               % (a.conn, kind, a.side, b.side, b.rd_end))
            elif b.how == "rst":
                pass  # b reset itself: whatever it had received is its business
            else:
                if b.got != a.sent or b.h_got.hexdigest() != a.h_sent.hexdigest():
                    bad.append("conn %d (%s): %s->%s: sent %d, received %d, SHA-256 %s" % (
                        a.conn, kind, a.side, b.side, a.sent, b.got,
                        "equal" if b.h_got.hexdigest() == a.h_sent.hexdigest() else "differs"))
                if a.sent != a.stop_at:
                    bad.append("conn %d (%s): the %s sent %d of %d bytes (%s)" % (a.conn, kind, a.side, a.sent,
                                                                               a.stop_at, a.err))
                if b.rd_end != "eof":
                    bad.append("conn %d (%s): the %s's FIN reached the %s as %s, not EOF"
                               % (a.conn, kind, a.side, b.side, b.rd_end))
        p.update({"client_sent": ce.sent, "server_sent": se.sent, "client_got": ce.got,
                  "server_got": se.got, "client_end": ce.rd_end, "server_end": se.rd_end})
        report.append(p)
    for m in bad[:20]:
        print("    " + m, file=sys.stderr)
    kinds_n = {k: sum(1 for p in plans if p["kind"] == k) for k in kinds}
    expect(not bad, "%d connections, %s: every byte sent before a FIN arrived (SHA-256 each way), what "
           "arrived from a side that reset is a prefix of what it sent, every FIN arrived as EOF and "
           "every RST as ECONNRESET (%d problems)" % (nconn, kinds_n, len(bad)))
    up = sum(se.got for _, se in conns)
    down = sum(ce.got for ce, _ in conns)
    note("delivered %.0f MiB client->server and %.0f MiB server->client in %.1f s (%.0f MiB/s through the "
         "proxy); %d half-closes, %d resets" % (up / 2**20, down / 2**20, elapsed, moved / 2**20 / elapsed,
                                                sum(1 for p in plans if "halfclose" in p["kind"]),
                                                sum(1 for p in plans if "reset" in p["kind"])))
    json.dump({"conns": report, "elapsed_s": round(elapsed, 2), "delivered_c2s": up, "delivered_s2c": down},
              open(out, "w"))
