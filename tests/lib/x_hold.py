#!/usr/bin/env python3
"""x_hold.py DISPLAY [--hold]: wait until Xvfb :DISPLAY accepts an X client.

An Xvfb's socket file exists before it accepts X clients, and an X server
resets when its last client leaves (a stopped shadow server, a check's own
connection), refusing connections meanwhile. Without --hold this exits 0 once
an X connection setup succeeded (1 after 5 s without one). With --hold it
prints "connected" and keeps that connection open until the server goes away,
so the display never resets during a test.
"""
import socket
import struct
import sys
import time


def main():
    display, hold = sys.argv[1], "--hold" in sys.argv[2:]
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            s.connect("/tmp/.X11-unix/X" + display)
            # X11 connection setup: little-endian, protocol 11.0, no auth.
            s.sendall(struct.pack("<cxHHHHxx", b"l", 11, 0, 0, 0))
            if s.recv(1) == b"\x01":
                if not hold:
                    return 0
                print("connected", flush=True)
                s.settimeout(None)
                while s.recv(65536):
                    pass
                return 0
        except OSError:
            pass
        time.sleep(0.05)
    return 1


if __name__ == "__main__":
    sys.exit(main())
