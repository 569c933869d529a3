#!/usr/bin/env python3
"""RDP-looking traffic on loopback for tests/cli_behaviour.sh (rdpwhy capture).

    rdp_peer.py hold PORT COOKIE
        a fake RDP host on 127.0.0.1:PORT and a client: the client sends a real
        X.224 Connection Request (TPKT 03 00, CR 0xE0, 'Cookie: mstshash=COOKIE',
        RDP_NEG_REQ requesting PROTOCOL_SSL), the host answers a Connection
        Confirm with RDP_NEG_RSP selecting PROTOCOL_SSL; then both keep the
        connection open (no FIN, no RST) until SIGTERM/SIGINT or 120 s.
        Prints 'exchanged CLIENT_PORT' once the Confirm has arrived.
    rdp_peer.py tls PORT COOKIE CERT KEY
        the same exchange, then a TLS 1.2 handshake (the certificate in
        cleartext) with CERT/KEY on the host side, 200 bytes of application
        data each way, and the client closes first (FIN), then the host.
        Prints 'done CLIENT_PORT'.
    rdp_peer.py bulk PORT MIB
        a receiver and a sender on 127.0.0.1:PORT: MIB MiB from the sender,
        all read by the receiver; prints 'bulk BYTES' (the bytes received).
"""
import signal
import socket
import ssl
import struct
import sys
import threading

PROTOCOL_SSL = 1


def tpkt(payload):
    return struct.pack(">BBH", 3, 0, 4 + len(payload)) + payload


def connection_request(cookie):
    user = b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
    user += struct.pack("<BBHI", 1, 0, 8, PROTOCOL_SSL)  # RDP_NEG_REQ
    # LI, CR|CDT, DST-REF, SRC-REF, class 0
    return tpkt(bytes([6 + len(user), 0xE0, 0, 0, 0, 0, 0]) + user)


def connection_confirm():
    rsp = struct.pack("<BBHI", 2, 0, 8, PROTOCOL_SSL)  # RDP_NEG_RSP
    return tpkt(bytes([6 + len(rsp), 0xD0, 0, 0, 0x12, 0x34, 0]) + rsp)


def recv_tpkt(sock):
    hdr = b""
    while len(hdr) < 4:
        b = sock.recv(4 - len(hdr))
        if not b:
            raise EOFError("connection closed inside a TPKT header")
        hdr += b
    if hdr[0] != 3:
        raise ValueError(f"not TPKT: {hdr!r}")
    n = struct.unpack(">H", hdr[2:4])[0] - 4
    body = b""
    while len(body) < n:
        b = sock.recv(n - len(body))
        if not b:
            raise EOFError("connection closed inside a TPKT")
        body += b
    return hdr + body


def listener(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    return srv


def x224_exchange(port, cookie):
    """Returns (client socket, host socket) after CR and CC."""
    srv = listener(port)
    cl = socket.create_connection(("127.0.0.1", port), timeout=10)
    host, _ = srv.accept()
    srv.close()
    host.settimeout(10)
    cl.sendall(connection_request(cookie))
    cr = recv_tpkt(host)
    assert cr[5] == 0xE0, cr
    host.sendall(connection_confirm())
    cc = recv_tpkt(cl)
    assert cc[5] == 0xD0 and cc[11] == 2, cc
    return cl, host


def hold(port, cookie):
    cl, host = x224_exchange(port, cookie)
    print("exchanged", cl.getsockname()[1], flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait(120)
    # Leave without FIN on the wire mattering: the capture is over by now.
    cl.close()
    host.close()


def tls(port, cookie, cert, key):
    cl, host = x224_exchange(port, cookie)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.maximum_version = ssl.TLSVersion.TLSv1_2
    out = {}

    def serve():
        t = sctx.wrap_socket(host, server_side=True)
        got = b""
        while len(got) < 200:
            b = t.recv(200 - len(got))
            if not b:
                break
            got += b
        t.sendall(b"s" * 200)
        # The client closes first; then the host.
        while t.recv(4096):
            pass
        out["host"] = got
        t.close()

    th = threading.Thread(target=serve)
    th.start()
    tc = cctx.wrap_socket(cl, server_hostname="rdpwhy-cli-test")
    tc.sendall(b"c" * 200)
    got = b""
    while len(got) < 200:
        b = tc.recv(200 - len(got))
        if not b:
            break
        got += b
    port_c = tc.getsockname()[1]
    tc.close()
    th.join(10)
    assert got == b"s" * 200 and out.get("host") == b"c" * 200, (got, out)
    print("done", port_c, flush=True)


def bulk(port, mib):
    srv = listener(port)
    got = [0]

    def rx():
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)
        c.close()

    th = threading.Thread(target=rx)
    th.start()
    cl = socket.create_connection(("127.0.0.1", port), timeout=30)
    buf = b"\0" * (1 << 20)
    for _ in range(mib):
        cl.sendall(buf)
    cl.shutdown(socket.SHUT_WR)
    th.join(60)
    cl.close()
    srv.close()
    print("bulk", got[0], flush=True)


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "hold":
        hold(int(a[1]), a[2])
    elif len(a) == 5 and a[0] == "tls":
        tls(int(a[1]), a[2], a[3], a[4])
    elif len(a) == 3 and a[0] == "bulk":
        bulk(int(a[1]), int(a[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
