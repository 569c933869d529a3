#!/usr/bin/env python3
"""inspect_peers.py — the two ends of tests/proxy/inspect_relay.sh, with
Python's ssl module (OpenSSL), on 127.0.0.1:

  host PORT CERT KEY CASE        an RDP host: reads the X.224 Connection
                                 Request, answers a Confirm that selects ssl
                                 (RDP_NEG_RSP, MS-RDPBCGR 2.2.1.2.1), then TLS
                                 as a server with CERT/KEY, then CASE
  client PORT CASE CERT          an RDP client: Connection Request
                                 (RDP_NEG_REQ ssl|hybrid), reads the Confirm,
                                 TLS as a client, then CASE; checks that the
                                 certificate it was shown is CERT, byte for byte

The client sends the server name rdp-host.inspect.test (and, in "up", no
TLS version above 1.2): the host checks it sees exactly that, as directly.

CASEs (each side knows its part; every outcome is printed as "result: ..."
on stdout and the exit status is 0 when it is what the case expects):

  down      host sends N bytes (a pattern) then close_notify and FIN; the
            client reads nothing for 2 s (back-pressure), then everything:
            same SHA-256, then a clean TLS end (close_notify, not a ragged EOF)
  up        the client sends N bytes, then close_notify and FIN; the host
            reads nothing for 2 s, then everything: same SHA-256, clean end
  old       TLS 1.0 only (an old host, an old client; OpenSSL's security level
            0 on both, as they would have to be directly): 1000 bytes from
            the host, close_notify both ways
  ragged    host sends 1000 bytes then FIN without close_notify: the client
            reads 1000 bytes, then no close_notify, and its socket got a FIN
            (TCP state CLOSE_WAIT)
  reset     host sends 1000 bytes then an RST (SO_LINGER 0): the client reads
            1000 bytes, and its socket got an RST (TCP state CLOSE)
"""
import hashlib
import socket
import ssl
import struct
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1

N = 24 * 1024 * 1024
SNI = "rdp-host.inspect.test"


IDLE_SENDS, IDLE_GAP = 8, 0.5  # "idle": 4 s of bytes, twice the timeout


def pattern(n):
    block = bytes(range(256)) * 64  # 16 KiB
    out, left = [], n
    while left > 0:
        out.append(block[: min(left, len(block))])
        left -= len(block)
    return b"".join(out)


def recv_tpkt(s):
    hdr = b""
    while len(hdr) < 4:
        b = s.recv(4 - len(hdr))
        if not b:
            raise SystemExit("result: closed before a TPKT")
        hdr += b
    n = struct.unpack(">H", hdr[2:4])[0]
    body = b""
    while len(body) < n - 4:
        b = s.recv(n - 4 - len(body))
        if not b:
            raise SystemExit("result: closed inside a TPKT")
        body += b
    return hdr + body


def x224_cr():
    cookie = b"Cookie: mstshash=inspect\r\n"
    neg = bytes([1, 0, 8, 0]) + struct.pack("<I", 0x3)
    body = bytes([0xE0, 0, 0, 0, 0, 0]) + cookie + neg
    return bytes([3, 0]) + struct.pack(">H", 5 + len(body)) + bytes([len(body)]) + body


def x224_cc():
    neg = bytes([2, 0, 8, 0]) + struct.pack("<I", 0x1)
    body = bytes([0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    return bytes([3, 0]) + struct.pack(">H", 5 + len(body)) + bytes([len(body)]) + body


def read_all(s):
    """Reads s to its end: (bytes, their SHA-256 hex, how it ended:
    "close_notify", "ragged" (an EOF without close_notify) or "reset")."""
    h, n, end = hashlib.sha256(), 0, "close_notify"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
    except ssl.SSLEOFError:
        end = "ragged"
    except ConnectionResetError:
        end = "reset"
    return n, h.hexdigest(), end


def result(ok, msg):
    print("result: %s%s" % ("" if ok else "FAIL ", msg), flush=True)
    sys.exit(0 if ok else 1)


def host(port, cert, key, case):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    print("listening", flush=True)
    raw, _ = ls.accept()
    recv_tpkt(raw)
    raw.sendall(x224_cc())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if case == "old":
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    seen = []
    ctx.sni_callback = lambda sock, name, c: seen.append(name)
    s = ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
    # What the client asked for reached the host: its server name, and no
    # TLS version above its own highest (the "up" client stops at 1.2).
    want_version = {"up": "TLSv1.2", "old": "TLSv1"}.get(case, "TLSv1.3")
    if seen != [SNI] or s.version() != want_version:
        result(False, "the host saw server name %r and %s, not %r and %s" % (seen, s.version(), [SNI], want_version))
    if case == "down":
        s.sendall(pattern(N))
        raw2 = s.unwrap()  # close_notify, and the client's
        raw2.shutdown(socket.SHUT_WR)
        raw2.recv(1)
        result(True, "sent %d bytes, close_notify exchanged" % N)
    elif case == "up":
        time.sleep(2)  # the proxy must stop reading the client meanwhile
        n, sha, end = read_all(s)
        if end != "close_notify":
            result(False, "%s after %d bytes" % (end, n))
        s.unwrap()  # our close_notify back
        want = hashlib.sha256(pattern(N)).hexdigest()
        result(n == N and sha == want, "received %d bytes, sha256 %s, clean end" % (n, "same" if sha == want else "DIFFERENT"))
    elif case == "old":
        s.sendall(b"x" * 1000)
        raw2 = s.unwrap()
        raw2.shutdown(socket.SHUT_WR)
        raw2.recv(1)
        result(True, "TLS 1.0: sent 1000 bytes, close_notify exchanged")
    elif case == "ragged":
        s.sendall(b"x" * 1000)
        time.sleep(0.3)
        s.shutdown(socket.SHUT_WR)
        # Open until the client closes: no RST for bytes left unread.
        s.settimeout(20)
        while socket.socket.recv(s, 65536):
            pass
        s.close()
        result(True, "FIN without close_notify")
    elif case == "reset":
        s.sendall(b"x" * 1000)
        time.sleep(0.3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        result(True, "RST")
    elif case == "idle":
        # Reads the client's bytes until the proxy's timeout ends the leg.
        s.settimeout(30)
        n, _, _ = read_all(s)
        result(n == IDLE_SENDS, "received %d of %d bytes before the proxy closed" % (n, IDLE_SENDS))


def client(port, case, cert):
    raw = socket.create_connection(("127.0.0.1", port))
    raw.sendall(x224_cr())
    cc = recv_tpkt(raw)
    if cc[5] != 0xD0:
        result(False, "no Connection Confirm: %s" % cc.hex())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if case == "up":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if case == "old":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    s = ctx.wrap_socket(raw, suppress_ragged_eofs=False, server_hostname=SNI)
    shown = s.getpeercert(binary_form=True)
    want = ssl.PEM_cert_to_DER_cert(open(cert).read())
    if shown != want:
        result(False, "the certificate shown is not the host's")
    if case == "down":
        time.sleep(2)  # the proxy must stop reading the host meanwhile
        n, sha, end = read_all(s)
        if end != "close_notify":
            result(False, "%s after %d bytes (no close_notify passed on)" % (end, n))
        s.unwrap()
        want = hashlib.sha256(pattern(N)).hexdigest()
        result(n == N and sha == want, "received %d bytes, sha256 %s, close_notify" % (n, "same" if sha == want else "DIFFERENT"))
    elif case == "up":
        s.sendall(pattern(N))
        raw2 = s.unwrap()
        raw2.shutdown(socket.SHUT_WR)
        raw2.recv(1)
        result(True, "sent %d bytes, close_notify exchanged" % N)
    elif case == "old":
        n, _, end = read_all(s)
        if end != "close_notify":
            result(False, "%s after %d bytes" % (end, n))
        s.unwrap()
        result(n == 1000, "TLS 1.0: received %d bytes, close_notify" % n)
    elif case in ("ragged", "reset"):
        # The TLS layer tells a clean end from the others; the socket's TCP
        # state tells a FIN (CLOSE_WAIT) from an RST (CLOSE). OpenSSL 3 reads
        # both as an unexpected EOF, directly as through the proxy.
        n, _, end = read_all(s)
        how = {"close_notify": "a clean TLS end (close_notify)", "ragged": "an EOF without close_notify",
               "reset": "a reset"}[end]
        time.sleep(0.2)
        state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
        tcp = {1: "ESTABLISHED", 7: "CLOSE (RST received)", 8: "CLOSE_WAIT (FIN received)"}.get(state, str(state))
        want = "CLOSE_WAIT (FIN received)" if case == "ragged" else "CLOSE (RST received)"
        result(n == 1000 and how != "a clean TLS end (close_notify)" and tcp == want,
               "%d bytes, then %s, TCP state %s" % (n, how, tcp))

    elif case == "idle":
        # One byte every IDLE_GAP s for longer than the proxy's 2 s timeout:
        # each byte restarts it. Then silence: it ends the connection 2 s
        # after the last byte, not earlier, and not much later.
        s.settimeout(30)
        for _ in range(IDLE_SENDS):
            s.sendall(b"x")
            time.sleep(IDLE_GAP)
        last = time.monotonic() - IDLE_GAP
        read_all(s)
        dt = time.monotonic() - last
        result(1.9 <= dt <= 4.5, "closed by the proxy %.2f s after the last byte (timeout 2 s), "
               "%d bytes %.1f s apart before it" % (dt, IDLE_SENDS, IDLE_GAP))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "host" and len(a) == 5:
        host(int(a[1]), a[2], a[3], a[4])
    elif a and a[0] == "client" and len(a) == 4:
        client(int(a[1]), a[2], a[3])
    else:
        sys.exit(__doc__)
