#!/usr/bin/env python3
"""load_peers.py ROLE ... — the peers of the proxy's load and fault tests
(tests/proxy/load_idle.sh, slowloris.sh, never_read.sh, out_of_fds.sh,
upstream_restart.sh, halfclose.sh; python3 stdlib only). Every role that
checks something prints "  ok   ..." / "  FAIL ..." lines on stderr and exits
1 when a check failed; the numbers go to a JSON file the script keeps.

The "RDP-ish" exchange used throughout: the client sends an X.224
Connection Request (TPKT, "Cookie: mstshash=NAME", RDP_NEG_REQ
PROTOCOL_RDP), the upstream answers a 19-byte Connection Confirm
(RDP_NEG_RSP PROTOCOL_RDP: the proxy's analyzer then only counts bytes), the
client sends a payload that the upstream echoes, the client half-closes and
the upstream closes after it (FIN both ways: a normal close).

  upstream ADDR PORT LOG [--reset-on-term]
      the upstream: one thread, epoll (thousands of connections). Per
      connection: reads the CR, logs "cr NAME", answers the CC (logs "cc
      NAME" once it is sent), echoes everything after it, and on the client's
      FIN closes and logs "done NAME". Prints "listening" once it listens.
      SIGTERM with --reset-on-term: accepts whatever waits in the accept
      queue, closes the listener, reads what already arrived, then closes
      every connection with an RST (SO_LINGER 0) logging "reset NAME STAGE
      TIME" (STAGE: cr = request read, no answer sent; cc = answered; eof =
      the client's FIN read; TIME: CLOCK_MONOTONIC) or "reset - nocr ..."
      (nothing read yet), and exits: a host that crashes. Without it, SIGTERM
      just exits.
  idle HOST PORT N TAG READY GO OUT
      opens N connections (100 connects in flight at a time), writes READY
      once all are connected, holds them idle until the file GO exists, then
      does the RDP-ish exchange on all of them at once (a 256-byte payload).
      OUT: {"opened", "ok", "failed", "problems", "ports", "open_s", "relay_s"}.
  slowloris HOST PORT N INTERVAL LIMIT OUT
      N connections, each sending its X.224 request one byte every INTERVAL
      seconds (never the last byte); notes when and how each was closed (eof
      / reset), for LIMIT seconds at most. Prints "connected" once all are.
      OUT: {"conns": [{"port", "sent", "end", "after"}]}.
  normal HOST PORT N WORKERS OUT
      N RDP-ish exchanges (600-byte payload), WORKERS at a time, each timed
      from connect to the upstream's FIN. OUT: {"ok", "problems", "ports",
      "latency": [seconds...]}.
  never_read HOST PORT UPADDR UPPORT PROXYPID MIB OUT
      the upstream is this process: it answers the CR, then stops reading.
      The client sends MIB MiB of random bytes as fast as it can, without
      blocking; the role checks that its writes stall (the proxy stops
      reading it) with the proxy's resident memory bounded, then lets the
      upstream read: every byte arrives (SHA-256), the close is a FIN both
      ways. OUT: the numbers.
  fds HOST PORT PROXYPID ERRLOG LIMIT N OUT
      out of descriptors: N clients at once against a proxy limited to LIMIT
      descriptors (out_of_fds.sh lists the assertions).
  restart HOST PORT UPADDR UPPORT LOG N WORKERS OUT
      restarts the upstream (this script's "upstream --reset-on-term", on
      UPADDR:UPPORT, log LOG) in a loop while WORKERS threads make N short
      RDP-ish connections through the proxy; writes what each client saw, and
      the times the upstream was surely down, to OUT (upstream_restart.sh
      compares them with the records).
  halfclose HOST PORT UPADDR UPPORT NCONN MIB SEED OUT
      NCONN connections, each carrying MIB MiB each way at the same time; the
      upstream is this process. Per connection a plan drawn from SEED: both
      sides send everything then FIN, or one side half-closes (FIN) after a
      random share of its bytes while the other keeps sending all of its own,
      or one side resets (SO_LINGER 0 close) at a random point. Checks that
      every byte sent before a FIN arrives (SHA-256 each way), that what
      arrived from a side that reset is a prefix of what it sent, that a FIN
      arrives as EOF and an RST as ECONNRESET. OUT: per connection its plan,
      ports and byte counts.

The roles live in modules beside this file, one job each: load_common.py
(the shared exchange and checks), load_upstream.py, load_clients.py (idle,
slowloris, normal), load_faults.py (never_read, fds, restart) and
load_halfclose.py; this file keeps the command line.

(Python, not C: keep clang-format away from this file.)
"""
import sys

# The role modules beside this file: leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True
from load_common import fails
from load_upstream import upstream
from load_clients import idle, slowloris, normal
from load_faults import never_read, fds, restart
from load_halfclose import halfclose


def main():
    a = sys.argv[1:]
    role = a[0] if a else ""
    if role == "upstream":
        upstream(a[1], int(a[2]), a[3], "--reset-on-term" in a[4:])
    elif role == "idle":
        idle(a[1], int(a[2]), int(a[3]), a[4], a[5], a[6], a[7])
    elif role == "slowloris":
        slowloris(a[1], int(a[2]), int(a[3]), float(a[4]), float(a[5]), a[6])
    elif role == "normal":
        normal(a[1], int(a[2]), int(a[3]), int(a[4]), a[5])
    elif role == "never_read":
        never_read(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), a[7])
    elif role == "fds":
        fds(a[1], int(a[2]), int(a[3]), a[4], int(a[5]), int(a[6]), a[7])
    elif role == "restart":
        restart(a[1], int(a[2]), a[3], int(a[4]), a[5], int(a[6]), int(a[7]), a[8])
    elif role == "halfclose":
        halfclose(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]), a[8])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
