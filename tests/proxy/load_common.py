"""load_common.py — what the load_peers.py roles share: the X.224 request and
confirm they exchange, the one "RDP-ish" exchange, the ok/FAIL checks (the
failures list main() turns into the exit status) and /proc readings.

(Python, not C: keep clang-format away from this file.)
"""
import errno
import os
import socket
import struct
import sys
import time

CC = bytes.fromhex("030000130ed000001234000200080000000000")
fails = []


def expect(cond, msg):
    print("  %s %s" % ("ok  " if cond else "FAIL", msg), file=sys.stderr, flush=True)
    if not cond:
        fails.append(msg)
    return cond


def note(msg):
    print("  ..   " + msg, file=sys.stderr, flush=True)


def cr_for(name):
    cookie = b"Cookie: mstshash=" + name.encode() + b"\r\n"
    neg = struct.pack("<BBHI", 1, 0, 8, 0)
    x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def cookie_of(cr):
    i = cr.find(b"mstshash=")
    if i < 0:
        return "?"
    j = cr.find(b"\r\n", i)
    return cr[i + 9:j].decode(errors="replace")


def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpu_s(pid):
    rest = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def reset_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def exchange(host, port, name, payload, timeout=10, pause=0.0, info=None):
    """one RDP-ish exchange; returns (outcome, port, got_cc). outcome: ok, or
    reset / eof / timeout / refused / mismatch (where it ended). info (a
    dict) gets "t_fin": when the client half-closed (time.monotonic())."""
    s = socket.socket()
    s.settimeout(timeout)
    got_cc = False
    lport = None
    try:
        # Bound first: the port is known even when an RST beats connect()'s
        # return (the proxy passing on a refusal at once).
        s.bind((host, 0))
        lport = s.getsockname()[1]
        s.connect((host, port))
        s.sendall(cr_for(name))
        b = b""
        while len(b) < len(CC):
            d = s.recv(len(CC) - len(b))
            if not d:
                return "eof", lport, got_cc
            b += d
        if b != CC:
            return "mismatch", lport, got_cc
        got_cc = True
        if pause:
            time.sleep(pause)
        s.sendall(payload)
        b = b""
        while len(b) < len(payload):
            d = s.recv(65536)
            if not d:
                return "eof", lport, got_cc
            b += d
        if b != payload:
            return "mismatch", lport, got_cc
        if info is not None:
            info["t_fin"] = time.monotonic()
        s.shutdown(socket.SHUT_WR)
        if s.recv(1) != b"":
            return "mismatch", lport, got_cc
        return "ok", lport, got_cc
    except ConnectionRefusedError:
        return "refused", lport, got_cc
    except (ConnectionResetError, BrokenPipeError):
        return "reset", lport, got_cc
    except socket.timeout:
        return "timeout", lport, got_cc
    except OSError as e:
        if e.errno == errno.ENOTCONN:  # shutdown() after an RST had closed it
            return "reset", lport, got_cc
        return "error %s" % errno.errorcode.get(e.errno, e.errno), lport, got_cc
    finally:
        s.close()
