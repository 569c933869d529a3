#!/usr/bin/env python3
"""html_hostile_pcap.py OUT.pcap — one RDP connection whose X.224 cookie is
markup (a script element, quotes closing an attribute, an img with an
onerror handler, invalid UTF-8, an escape character), refused by the
server's RST after the Connection Request: a failure, so the HTML report
details it and prints the cookie in the summary, the table's detail and the
ladder's section. Ethernet/IPv4 with valid checksums."""
import struct
import sys

COOKIE = (b"<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
          b"</code></section><script>alert(3)</script>\xff\xc0\x80\x1b[2J")
C, S = bytes([10, 66, 0, 1]), bytes([10, 66, 0, 2])
CP, SP = 50123, 3389


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, flags, seq, ack, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def cr():
    body = b"Cookie: mstshash=" + COOKIE + b"\r\n" + struct.pack("<BBHI", 1, 0, 8, 3)
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def main():
    SYN, ACK, PSH, RST = 0x02, 0x10, 0x08, 0x04
    data = cr()
    pkts = [
        frame(C, S, CP, SP, SYN, 1000, 0),
        frame(S, C, SP, CP, SYN | ACK, 5000, 1001),
        frame(C, S, CP, SP, ACK, 1001, 5001),
        frame(C, S, CP, SP, PSH | ACK, 1001, 5001, data),
        frame(S, C, SP, CP, RST | ACK, 5001, 1001 + len(data)),
    ]
    t0 = 1795539903
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", t0, 1000 * i, len(p), len(p)) + p)


main()
