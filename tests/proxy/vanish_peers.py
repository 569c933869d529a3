#!/usr/bin/env python3
"""vanish_peers.py ROLE MODE ... — the RDP peers of tests/proxy/vanish.sh.

  server rdp HOST PORT OUT
      one connection: reads the X.224 Connection Request, answers with a
      Connection Confirm selecting PROTOCOL_RDP, sends 70,000 bytes (past
      what makes the session established), then reads until the connection
      ends. OUT: {"peer", "got" (bytes after the CR), "end": eof|reset|timeout,
      "t_end" (time.time() when it ended)}.
  server tls HOST PORT OUT CERT KEY
      reads the Request, answers with a Confirm selecting PROTOCOL_SSL, then
      runs a TLS server handshake (its flight goes out, it waits for the
      client's answer). OUT: {"end": how the handshake ended, "t_end"}.
  client rdp HOST PORT OUT [GO_FILE]
      sends a Request for PROTOCOL_RDP, reads the Confirm and the 70,000
      bytes, sends 500 bytes and prints "ready"; with GO_FILE, once that file
      exists sends 1,000 bytes more (they will never be acknowledged); then
      reads until the connection ends (30 s at most).
      OUT: {"end", "t_end", "t_go"}.
  client tls HOST PORT OUT
      sends a Request for PROTOCOL_SSL, reads the Confirm, sends a real TLS
      ClientHello (OpenSSL through a memory BIO), prints "ready", reads the
      server's flight without ever answering it (its kernel acknowledges it,
      unless a firewall drops the ACKs), and waits for the connection to end
      (30 s at most). OUT: {"end", "t_hello", "t_end", "flight" (bytes read)}.
"""
import json
import os
import socket
import ssl
import struct
import sys
import time

ROLE, MODE, HOST, PORT, OUT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
PROTO_RDP, PROTO_SSL = 0, 1


def cr(proto):
    cookie = b"Cookie: mstshash=vanish\r\n"
    neg = struct.pack("<BBHI", 1, 0, 8, proto)  # RDP_NEG_REQ
    x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def cc(proto):
    # TPKT, X.224 CC, RDP_NEG_RSP type 2 len 8 selectedProtocol
    return bytes.fromhex("030000130ed00000123400") + struct.pack("<BBHI", 2, 0, 8, proto)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += x
    return b


def read_tpkt(s):
    hdr = recv_exact(s, 4)
    return hdr + recv_exact(s, struct.unpack(">H", hdr[2:4])[0] - 4)


def wait_end(s, limit):
    """Reads until EOF, RST or limit seconds of silence; the count of bytes read."""
    s.settimeout(limit)
    got = 0
    try:
        while True:
            x = s.recv(65536)
            if not x:
                return "eof", got
            got += len(x)
    except ConnectionResetError:
        return "reset", got
    except socket.timeout:
        return "timeout", got
    except OSError as e:
        return "error:%s" % e.strerror, got


def dump(d):
    with open(OUT, "w") as f:
        json.dump(d, f)


def server():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, PORT))
    srv.listen(1)
    srv.settimeout(30)
    c, peer = srv.accept()
    c.settimeout(15)
    read_tpkt(c)
    if MODE == "rdp":
        c.sendall(cc(PROTO_RDP) + os.urandom(70000))
        end, got = wait_end(c, 40)
        dump({"peer": peer[0], "got": got, "end": end, "t_end": time.time()})
        return
    c.sendall(cc(PROTO_SSL))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[6], sys.argv[7])
    c.settimeout(40)
    try:
        t = ctx.wrap_socket(c, server_side=True)
        end = "handshake done"
        t.close()
    except (ssl.SSLError, OSError) as e:
        end = type(e).__name__ + ": " + str(e)
    dump({"peer": peer[0], "end": end, "t_end": time.time()})


def client():
    s = socket.create_connection((HOST, PORT), timeout=10)
    if MODE == "rdp":
        s.sendall(cr(PROTO_RDP))
        recv_exact(s, 19 + 70000)
        s.sendall(os.urandom(500))
        print("ready", flush=True)
        t_go = None
        if len(sys.argv) > 6:
            while not os.path.exists(sys.argv[6]):
                time.sleep(0.02)
            t_go = time.time()
            s.sendall(os.urandom(1000))
        end, _ = wait_end(s, 30)
        dump({"end": end, "t_end": time.time(), "t_go": t_go})
        return
    s.sendall(cr(PROTO_SSL))
    recv_exact(s, 19)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, outg, server_hostname="rdp-host")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(outg.read())
    t_hello = time.time()
    dump({"end": None, "t_hello": t_hello})  # if it is killed before the end
    print("ready", flush=True)
    # The server's flight is read (and acknowledged by the kernel), never answered.
    end, flight = wait_end(s, 30)
    dump({"end": end, "t_hello": t_hello, "t_end": time.time(), "flight": flight})


if __name__ == "__main__":
    server() if ROLE == "server" else client()
