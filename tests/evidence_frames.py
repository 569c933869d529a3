#!/usr/bin/env python3
"""Evidence you can click: every evidence line that names a frame must name
the packet that carries what the line says. The truth comes from the
capture itself, read by tshark (frame numbers, flags, TCP payloads) and
framed here from the specifications, not from rdpwhy: TPKT (RFC 1006:
version 3, 16-bit length) carrying X.224 (CR 0xE0, CC 0xD0), TLS records
(RFC 5246 6.2: type, version, 16-bit length; alert 21, handshake 22 with
ClientHello 1, ServerHello 2, Certificate 11). A fact belongs to the frame
whose payload completes it, as a receiver's stack delivers it.

usage: evidence_frames.py RDPWHY CAPTURE...
       evidence_frames.py --proxy RECORDS.json PCAP_DIR

With --proxy, the records of an rdpwhy proxy and the captures its pcap_dir
wrote (one connection each): a line's "[SIDE byte N, +T ms]" must name the
read that carried its fact, i.e. N is where a whole TPKT packet or TLS record
of SIDE's stream begins, at or before the fact's own (its FIN: N is all SIDE
sent).
"""
import re
import subprocess
import sys

RECORD_HEAD = re.compile(r"^\S+:\d+ -> \S+:\d+ ")
EVIDENCE = re.compile(r"^(?:  evidence   |             )- (.*?)  \[(?:(\S+) )?frame (\d+)\]$")


def frames(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.srcport",
         "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin", "-e",
         "tcp.flags.reset", "-e", "tcp.payload", "-e", "tcp.seq"],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 8 or not f[1]:
            continue
        rows.append({"n": int(f[0]), "sport": int(f[1]), "dport": int(f[2]),
                     "syn": f[3] in ("1", "True"), "fin": f[4] in ("1", "True"),
                     "rst": f[5] in ("1", "True"),
                     "payload": bytes.fromhex(f[6].replace(":", "")) if f[6] else b""})
    return rows


def facts(rows, server_port=3389):
    """Per frame: the set of facts it completes, with the side that sent them."""
    out = {r["n"]: set() for r in rows}
    side = {r["n"]: ("server" if r["sport"] == server_port else "client") for r in rows}
    streams = {}  # (sport, dport) -> [bytes buffer, list of (end offset, frame)]
    for r in rows:
        if r["fin"]:
            out[r["n"]].add("fin")
        if r["rst"]:
            out[r["n"]].add("rst")
        if not r["payload"]:
            continue
        key = (r["sport"], r["dport"])
        st = streams.setdefault(key, {"buf": b"", "ends": [], "pos": 0, "hs": b"", "items": []})
        st["buf"] += r["payload"]
        st["ends"].append((len(st["buf"]), r["n"]))
        parse(st, out)
    return out, side, streams


def frame_at(st, end):
    for e, n in st["ends"]:
        if e >= end:
            return n
    return None


def parse(st, out):
    buf = st["buf"]
    while True:
        p = st["pos"]
        if len(buf) - p < 5:
            return
        if buf[p] == 3 and buf[p + 1] == 0:  # TPKT
            ln = int.from_bytes(buf[p + 2:p + 4], "big")
            if ln < 7 or len(buf) - p < ln:
                return
            code = buf[p + 5] & 0xF0
            n = frame_at(st, p + ln)
            out[n].add({0xE0: "cr", 0xD0: "cc"}.get(code, "tpkt"))
            st["items"].append((p, {0xE0: "cr", 0xD0: "cc"}.get(code, "tpkt")))
            st["pos"] = p + ln
        elif buf[p] in (20, 21, 22, 23) and buf[p + 1] == 3:  # TLS record
            ln = int.from_bytes(buf[p + 3:p + 5], "big")
            if len(buf) - p < 5 + ln:
                return
            n = frame_at(st, p + 5 + ln)
            body = buf[p + 5:p + 5 + ln]
            st["items"].append((p, "record"))
            if buf[p] == 21 or (buf[p] == 23 and ln <= 40):
                out[n].add("alert")  # cleartext, or a TLS 1.3 record of alert size
                st["items"].append((p, "alert"))
            if buf[p] == 22:
                st["hs"] += body
                hs = st["hs"]
                q = 0
                while len(hs) - q >= 4:
                    hl = int.from_bytes(hs[q + 1:q + 4], "big")
                    if len(hs) - q < 4 + hl:
                        break
                    out[n].add({1: "ch", 2: "sh", 11: "cert"}.get(hs[q], "hs"))
                    st["items"].append((p, {1: "ch", 2: "sh", 11: "cert"}.get(hs[q], "hs")))
                    q += 4 + hl
                st["hs"] = hs[q:]
                if st["hs"] and st["hs"][0] not in (1, 2, 11, 12, 13, 14, 15, 16, 20, 4, 8):
                    st["hs"] = b""  # encrypted handshake (after CCS): not framed
            st["pos"] = p + 5 + ln
        else:
            # Anything else (MCS after standard security, opaque): stop framing.
            st["pos"] = len(buf)
            return


def claim(text):
    """What the line says was in its frame, and the side that sent it (None: any)."""
    low = text.lower()
    side = "client" if low.startswith("client") else "server" if low.startswith("server") else None
    if "not captured" in low or "unseen" in low or "inferred" in low:
        return "inferred", None
    if low.startswith("rst claiming to be from the"):
        return "rst", "server" if "from the server" in low else "client"
    if re.search(r"^no .* after the request", low):
        return "cr", "client"  # a silence, measured from the request
    if re.search(r"\b(closed|reset)\b|\bfin\b|\brst\b", low) and "sent tls alert" not in low:
        return "close", side
    if "alert" in low:
        return "alert", side
    if "serverhello" in low:
        return "sh", "server"
    if "clienthello" in low or low.startswith("client offered"):
        return "ch", "client"
    if "certificate" in low:
        return "cert", "server"
    if "confirm" in low or "selected" in low or "rdp_neg_failure" in low:
        return "cc", "server"
    if "requested" in low or "connection request" in low:
        return "cr", "client"
    return None, None


def proxy_main(records_path, pcap_dir):
    """The proxy's offsets against its own pcap_dir captures."""
    import glob
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
    from records import load
    recs = load(records_path)
    pcaps = sorted(glob.glob(os.path.join(pcap_dir, "*.pcap")))
    fail = checked = 0
    if len(recs) != 1 or len(pcaps) != 1:
        print(f"FAIL want one record and one capture, got {len(recs)} and {len(pcaps)}")
        return 1
    r, cap = recs[0], pcaps[0]
    rows = frames(cap)
    sport = r["destination.port"]
    _, _, streams = facts(rows, server_port=sport)
    by_side = {}
    for (a, b), st in streams.items():
        by_side["server" if a == sport else "client"] = st
    for text, at in zip(r["rdpwhy.evidence"], r.get("rdpwhy.evidence_at") or []):
        if not at:
            continue
        m = re.fullmatch(r"(client|server) byte (\d+), \+\d+\.\d{3} ms", at)
        checked += 1
        if not m:
            print(f"FAIL '{text}': '{at}' is not 'SIDE byte N, +T ms'")
            fail += 1
            continue
        who, n = m.group(1), int(m.group(2))
        st = by_side.get(who, {"buf": b"", "items": []})
        kind, _ = claim(text)
        total = len(st["buf"])
        starts = sorted({p for p, _ in st["items"]})
        if kind == "close":
            ok = n == total
            why = f"a close must be at the end of the {who}'s {total} bytes"
        else:
            want = {"alert": "alert", "ch": "ch", "sh": "sh", "cert": "cert", "cc": "cc",
                    "cr": "cr"}.get(kind)
            fact = [p for p, k in st["items"] if k == want]
            ok = bool(fact) and n in starts + [0] and n <= fact[0]
            why = (f"the {who}'s {want} begins at byte {fact[0] if fact else '?'}; N must be "
                   f"a packet or record boundary at or before it ({starts[:12]})")
        print(f"{'ok  ' if ok else 'FAIL'} '{text}' [{at}]" + ("" if ok else f": {why}"))
        fail += not ok
    if checked == 0:
        print("FAIL no evidence line named a byte offset")
        fail += 1
    return 1 if fail else 0


def main():
    if sys.argv[1] == "--proxy":
        return proxy_main(sys.argv[2], sys.argv[3])
    rdpwhy, caps = sys.argv[1], sys.argv[2:]
    fail = checked = 0
    for cap in caps:
        rows = frames(cap)
        got, side, _ = facts(rows)
        rep = subprocess.run([rdpwhy, "replay", "--color=never", cap], capture_output=True,
                             text=True)
        if rep.returncode not in (0, 1):
            print(f"FAIL {cap}: rdpwhy exited {rep.returncode}: {rep.stderr.strip()}")
            fail += 1
            continue
        for line in rep.stdout.splitlines():
            if re.search(r"\[(client|server) byte \d+, \+[\d.]+ ms\]$", line):
                print(f"FAIL {cap}: '{line.strip()}' names a byte offset: a capture has frames")
                fail += 1
                continue
            m = EVIDENCE.match(line)
            if not m:
                continue
            text, other_file, n = m.group(1), m.group(2), int(m.group(3))
            if other_file:
                continue  # one file at a time: never expected here
            kind, who = claim(text)
            checked += 1
            where = f"{cap} frame {n}: '{text}'"
            if n not in got:
                print(f"FAIL {where}: no such TCP frame")
                fail += 1
                continue
            if kind is None:
                print(f"FAIL {where}: this test cannot tell what the line claims (add it)")
                fail += 1
                continue
            if who and side[n] != who:
                print(f"FAIL {where}: frame {n} was sent by the {side[n]}, not the {who}")
                fail += 1
                continue
            want = {"close": {"fin", "rst"}, "rst": {"rst"}, "inferred": None}.get(kind, {kind})
            if want is not None and not (got[n] & want):
                print(f"FAIL {where}: frame {n} carries {sorted(got[n]) or 'no fact'}, "
                      f"not {sorted(want)}")
                fail += 1
                continue
            print(f"ok   {where}")
    if checked < 10:
        print(f"FAIL only {checked} evidence lines named a frame: the feature is not working")
        fail += 1
    print(f"{checked} evidence lines checked, {fail} failures")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
