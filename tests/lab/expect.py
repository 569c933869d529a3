#!/usr/bin/env python3
"""expect.py — the judging half of lib.sh's lab_expect (python3).

The expectations come from the scenario, never from rdpwhy:

  statement NAME CAUSE EXPECTATION...
      exit 0 when the scenario states the full verdict for both sides: the
      cause (CAUSE, or INLINE/CAPTURE) and rdpwhy.closed_by, rdpwhy.close_kind
      and rdpwhy.phase, each with '=' (unprefixed: both sides; inline: or
      capture: for one). A value may list alternatives a|b where a race on the
      wire decides (the scenario says why). Otherwise prints what is missing
      and exits 3.

  check NAME CAUSE RECORDS REPLAY WIRE PORT OUTF EXPECTATION...
      1. the scenario against the wire (WIRE: tests/lib/wire_facts.py's JSON
         for the trimmed capture): the capture side's closed_by and close_kind
         must be what the packets show; a named TLS alert (description, and
         from) must be on the wire in cleartext, "!tls.alert.description" means
         no cleartext alert, tls.alert.description=encrypted no cleartext alert
         (and an encrypted alert record, if TLS 1.2 shows one, from the stated
         side); stated rdp.requested_protocols /
         rdp.selected_protocol must match the X.224 exchange; the stated phase
         must fit what the wire reached.
      2. rdpwhy against the scenario: the record of `rdpwhy replay` (REPLAY)
         for client port PORT and the proxy's record (RECORDS) with that port:
         cause, closed_by, close_kind, phase and every other expectation; the
         capture record's closed_by and close_kind must also equal the wire's
         (where the scenario allows two, rdpwhy must name the one that
         happened).
      Writes OUTF (JSON: both records, the statement, the wire facts, the
      failures). Exit 1 when a check failed.

  same OUTF REPLAY       the trimmed capture's replay gives the same verdict
  row OUTF SCEN NAME STATUS   a results table row (TSV) of what rdpwhy said
  get OUTF SIDE FIELD    a field of the inline or capture record
  index IDX OUTF FILE SCEN NOTE   put FILE's line in tests/data/lab/index.tsv
      from the scenario's capture statement (alternatives resolved by the wire
      facts of that very capture), never from rdpwhy's record.

EXPECTATION: FIELD=VALUE (exact; lists compare as "a,b"; numbers and booleans
as JSON spells them), FIELD~REGEX (re.search) or "!FIELD" (absent), each
optionally prefixed with inline: or capture: (or client_only:/server_only:,
see parse_half). FIELD lab.causes is rdpwhy.cause followed by
rdpwhy.alternatives, for a wire that fits several causes.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from records import flatten  # noqa: E402  records by dotted names, nested or flat

VERDICT = ("rdpwhy.cause", "rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase")
SIDES = ("inline", "capture")


def load_lines(f):
    out = []
    try:
        for line in open(f):
            line = line.strip()
            if line:
                out.append(flatten(json.loads(line)))
    except OSError:
        pass
    return out


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(fmt(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


def get(r, k):
    if r is None:
        return None
    if k == "lab.causes":
        # the lab's view: the cause and its alternatives, most likely first
        # (where the wire fits several causes, the statement names the set)
        return [r.get("rdpwhy.cause")] + list(r.get("rdpwhy.alternatives") or [])
    if k in r:
        return r[k]
    cur = r
    parts = k.split(".")
    for i in range(len(parts)):
        head = ".".join(parts[: i + 1])
        if isinstance(cur, dict) and head in cur:
            rest = ".".join(parts[i + 1:])
            return cur[head] if not rest else get(cur[head], rest)
    return None


def translate(op, k, v):
    """An expectation in the record's keys. The statements' spelling of an
    encrypted alert, tls.alert.description=encrypted, is tls.alert.encrypted
    true and no description (the record names an alert only when it can read
    it); "!tls.alert.description" (no alert) rules out an encrypted one too."""
    if k == "tls.alert.description" and op == "=" and v == "encrypted":
        return [("=", "tls.alert.encrypted", "true"), ("!", "tls.alert.description", None)]
    if k == "tls.alert.description" and op == "!":
        return [("!", "tls.alert.description", None), ("!", "tls.alert.encrypted", None)]
    return [(op, k, v)]


def parse(cause, exps):
    """(stated, others): stated[side][key] = [alternatives] for the verdict
    keys; others = [(side, op, key, value)] for the rest."""
    stated = {s: {} for s in SIDES}
    want_in, _, want_cap = cause.partition("/")
    want_cap = want_cap or want_in
    if want_in:
        stated["inline"]["rdpwhy.cause"] = want_in.split("|")
    if want_cap:
        stated["capture"]["rdpwhy.cause"] = want_cap.split("|")
    others, bad = [], []
    for e in exps:
        if HALF_RE.match(e):
            continue  # a one-direction capture's statement (parse_half)
        sides = SIDES
        for s in SIDES:
            if e.startswith(s + ":"):
                sides, e = (s,), e[len(s) + 1:]
                break
        if e.startswith("!"):
            others += [(s, "!", e[1:], None) for s in sides]
            continue
        m = re.match(r"^([^=~]+)([=~])(.*)$", e, re.S)
        if not m:
            bad.append(e)
            continue
        k, op, v = m.groups()
        if k in VERDICT and op == "=":
            for s in sides:
                stated[s][k] = v.split("|")
        else:
            others += [(s, op, k, v) for s in sides]
    return stated, others, bad


HALVES = ("client_only", "server_only")
# client_only:EXPECTATION, server_only@rst:EXPECTATION (only when the
# two-direction capture's wire shows that close: rst, fin, client, server,
# acked, unacked; several joined with +)
HALF_RE = re.compile(r"^(client_only|server_only)(?:@([\w+]+))?:(.*)$", re.S)


def wire_conds(wire):
    """What a half's @CONDITION can name of the two-direction wire: who closed
    first and how, and whether the other side acknowledged that close
    (acked/unacked: a capture of the other side alone shows it only then)."""
    return {wire["closed_by"], wire["close_kind"], "acked" if wire.get("first_close_acked") else "unacked"}


def cond_holds(cond, wv):
    return cond is None or all(c in wv for c in cond.split("+"))


def parse_half(half, exps):
    """A half's statement: [(cond, op, key, value)]; cond is None or the wire
    value (close_kind or closed_by of the two-direction capture) it needs.
    HALF:verdict=CAUSE/CLOSED_BY/CLOSE_KIND/PHASE states the four verdict keys;
    HALF:none says rdpwhy gives no record for the connection from that half."""
    out, bad = [], []
    for e in exps:
        m = HALF_RE.match(e)
        if not m or m.group(1) != half:
            continue
        cond, e = m.group(2), m.group(3)
        if e == "none":
            out.append((cond, "none", None, None))
            continue
        if e.startswith("!"):
            out.append((cond, "!", e[1:], None))
            continue
        m = re.match(r"^([^=~]+)([=~])(.*)$", e, re.S)
        if not m:
            bad.append(e)
            continue
        k, op, v = m.groups()
        if k == "verdict" and op == "=":
            parts = v.split("/")
            if len(parts) != 4:
                bad.append(e)
                continue
            out += [(cond, "=", key, val) for key, val in zip(VERDICT, parts)]
        else:
            out.append((cond, op, k, v))
    return out, bad


def half_missing(half, stmts):
    """The verdict keys a half leaves unstated: unconditionally, or for each
    wire condition (@rst, @fin, @client, @server) it names."""
    conds = sorted({c for c, _, _, _ in stmts if c is not None})
    miss = []
    for cond in conds or [None]:
        mine = [(op, k) for c, op, k, _ in stmts if c is None or c == cond]
        if ("none", None) in mine:
            continue
        have = {k for op, k in mine if op == "="}
        miss += ["%s%s %s" % (half, "@" + cond if cond else "", k) for k in VERDICT if k not in have]
    return miss


def missing(stated):
    return ["%s %s" % (s, k) for s in SIDES for k in VERDICT if not stated[s].get(k) or "" in stated[s][k]]


def cmd_statement(name, cause, exps):
    stated, _, bad = parse(cause, exps)
    miss = missing(stated)
    for half in os.environ.get("LAB_HALVES", "").split():
        stmts, hbad = parse_half(half, exps)
        bad += hbad
        if not stmts:
            miss.append("%s (what rdpwhy must say from the %s capture)" % (half, half.replace("_", "-")))
        else:
            miss += half_missing(half, stmts)
    if bad:
        print("%s: malformed expectation(s): %s" % (name, ", ".join(bad)))
    if miss:
        print("%s: the scenario does not state %s (each case states cause, closed_by, close_kind and "
              "phase for inline and capture, with '=')" % (name, ", ".join(miss)))
    return 3 if (miss or bad) else 0


PHASE_FITS = {
    # what the wire must show for a stated capture phase (the furthest the
    # connection got, as the packets tell)
    "tcp_connect": (lambda w: w["tcp"]["handshake"] in ("refused", "unreachable"),
                    "no TCP handshake completed"),
    "x224": (lambda w: w["x224"]["cr"] and not w["tls"]["client_hello"],
             "an X.224 Connection Request and no ClientHello"),
    "tls_handshake": (lambda w: w["tls"]["client_hello"], "a ClientHello"),
    "nla": (lambda w: w["tls"]["client_hello"] and w["x224"]["selected_protocol"] in ("hybrid", "hybrid_ex"),
            "a ClientHello after a CC selecting CredSSP"),
    "rdp": (lambda w: w["x224"]["cc"], "an X.224 Connection Confirm"),
    "established": (lambda w: w["x224"]["cc"], "an X.224 Connection Confirm"),
}


def wire_checks(stated, others, wire, expect):
    cap = stated["capture"]
    fc = wire.get("first_close") or {}
    where = ("first FIN/RST: frame %s, %s from the %s" % (fc.get("frame"), fc.get("flags"), fc.get("from"))
             if fc else "no FIN or RST; TCP handshake %s" % wire["tcp"]["handshake"])
    for k, w in (("rdpwhy.closed_by", wire["closed_by"]), ("rdpwhy.close_kind", wire["close_kind"])):
        expect(w in cap[k], "wire: the scenario's capture %s %s is what the packets show (%s: %s)"
               % (k.split(".")[1], "|".join(cap[k]), where, w))
    for ph in cap["rdpwhy.phase"]:
        fit = PHASE_FITS.get(ph)
        if fit:
            expect(fit[0](wire), "wire: the scenario's capture phase %s fits the packets (%s)" % (ph, fit[1]))
    opts = {(op, k): v for s, op, k, v in others if s == "capture"}
    alerts = wire["tls"]["alerts"]
    enc = wire["tls"]["encrypted_alerts"]
    if opts.get(("=", "tls.alert.description")) == "encrypted" or opts.get(("=", "tls.alert.encrypted")) == "true":
        # An alert only its sender and receiver can read: no cleartext alert on
        # the wire; TLS 1.2 shows its record type (21) after ChangeCipherSpec,
        # TLS 1.3 hides it in an application data record.
        f = opts.get(("=", "tls.alert.from"))
        expect(not alerts and (not enc or f is None or enc[0]["from"] == f),
               "wire: no cleartext TLS alert; encrypted alert records: %s (TLS 1.3 hides them)" % (
                   ", ".join("from the %s (frame %d)" % (a["from"], a["frame"]) for a in enc) or "none seen"))
    elif ("=", "tls.alert.description") in opts:
        d = opts[("=", "tls.alert.description")]
        f = opts.get(("=", "tls.alert.from"))
        ok = bool(alerts) and alerts[0]["description"] == d and (f is None or alerts[0]["from"] == f)
        expect(ok, "wire: cleartext TLS alert %s%s (the wire's: %s)" % (
            d, " from the " + f if f else "",
            ", ".join("%s %s %s from the %s (frame %d)" % (a["level"], a["code"], a["description"], a["from"], a["frame"])
                      for a in alerts) or "none"))
    if ("!", "tls.alert.description") in opts:
        expect(not alerts, "wire: no cleartext TLS alert (the wire's: %s)" % (
            ", ".join("%s from the %s" % (a["description"], a["from"]) for a in alerts) or "none"))
    x = wire["x224"]
    if ("=", "rdp.requested_protocols") in opts:
        v = opts[("=", "rdp.requested_protocols")]
        expect(x["requested_protocols"] == v, "wire: X.224 Connection Request asks for %s (the wire's: %s%s)" % (
            v, x["requested_protocols"], "" if x["neg_req"] else ", no RDP_NEG_REQ"))
    if ("=", "rdp.selected_protocol") in opts:
        v = opts[("=", "rdp.selected_protocol")]
        expect(x["selected_protocol"] == v, "wire: X.224 Connection Confirm selects %s (the wire's: %s%s)" % (
            v, x["selected_protocol"], "" if x["neg_rsp"] or not x["cc"] else ", no negotiation data"))
    if ("!", "rdp.selected_protocol") in opts:
        expect(x["selected_protocol"] is None, "wire: no protocol selected (the wire's: %s)" % x["selected_protocol"])


def cmd_check(name, cause, recf, repf, wiref, port, outf, exps):
    recs, reps = load_lines(recf), load_lines(repf)
    wire = json.load(open(wiref))
    stated, others, _ = parse(cause, exps)
    lines, fails = [], []

    def expect(cond, msg):
        lines.append("  %s %s: %s" % ("ok  " if cond else "FAIL", name, msg))
        if not cond:
            fails.append(msg)

    # 1. the scenario against the wire
    wire_checks(stated, others, wire, expect)
    # 2. rdpwhy against the scenario
    port = int(port) if port else None
    m = [r for r in reps if r.get("source.port") == port]
    expect(len(m) == 1, "rdpwhy replay: exactly one record for client port %s (of %d)" % (port, len(reps)))
    cap = m[0] if m else None
    m = [r for r in recs if r.get("source.port") == port]
    expect(len(m) == 1, "proxy: exactly one inline record for client port %s (of %d records)" % (port, len(recs)))
    inl = m[0] if m else None
    for s, r in (("inline", inl), ("capture", cap)):
        for k in VERDICT:
            got = fmt(get(r, k))
            expect(r is not None and got in stated[s][k], "%s %s == %s (got %s)" % (s, k, "|".join(stated[s][k]), got or "<absent>"))
    for k, w in (("rdpwhy.closed_by", wire["closed_by"]), ("rdpwhy.close_kind", wire["close_kind"])):
        if len(stated["capture"][k]) > 1:
            got = fmt(get(cap, k))
            expect(got == w, "capture %s == %s, the one on this wire (got %s)" % (k, w, got or "<absent>"))
    for s, op, k, v in [(s, *t) for s, op, k, v in others for t in translate(op, k, v)]:
        r = inl if s == "inline" else cap
        got = get(r, k)
        if op == "!":
            expect(r is not None and got is None, "%s %s absent (got %s)" % (s, k, fmt(got)))
        elif op == "=":
            expect(r is not None and got is not None and fmt(got) == v,
                   "%s %s == %s (got %s)" % (s, k, v, fmt(got) if got is not None else "<absent>"))
        else:
            expect(r is not None and got is not None and re.search(v, fmt(got)) is not None,
                   "%s %s ~ /%s/ (got %s)" % (s, k, v, fmt(got) if got is not None else "<absent>"))
    json.dump({"name": name, "inline": inl, "capture": cap, "fails": fails, "wire": wire,
               "stated": stated}, open(outf, "w"), indent=1)
    print("\n".join(lines))
    return 1 if fails else 0


def cmd_half(name, cause, half, repf, wiref, port, capfacts, outf, knownf, exps):
    """rdpwhy's replay of the one-direction capture HALF against the
    statement's HALF: lines. Exit 0 passed, 1 failed, 3 failed and listed in
    known_wrong.tsv (KNOWN WRONG), 4 listed there but passed (stale entry)."""
    reps = load_lines(repf)
    wire = json.load(open(wiref))
    stmts, _ = parse_half(half, exps)
    wv = wire_conds(wire)
    # the statements that hold for this wire, as one statement; a conditional
    # one overrides the unconditional one of the same field (and "none" all
    # verdict fields)
    held = [x for x in stmts if cond_holds(x[0], wv)]
    ckeys = {k for c, op, k, _ in held if c is not None}
    cnone = any(c is not None and op == "none" for c, op, _, _ in held)
    cverdict = any(c is not None and k in VERDICT for c, _, k, _ in held)
    stmts = [(None, op, k, v) for c, op, k, v in held
             if c is not None or not (k in ckeys or (cnone and (k in VERDICT or op == "none"))
                                      or (cverdict and op == "none"))]
    lines, fails = [], []
    label = "%s %s" % (name, half)

    def expect(cond, msg):
        lines.append("  %s %s: %s" % ("ok  " if cond else "FAIL", label, msg))
        if not cond:
            fails.append(msg)

    ok, n_half, n_full, other = capfacts.split(":")
    seen = half.split("_")[0]
    expect(ok == "1", "the %s capture holds the %s's %s packets of the two-direction capture and no other "
           "(%s; %s from the other side)" % (half, seen, n_full, n_half, other))
    port = int(port)
    m = [r for r in reps if r.get("source.port") == port]
    rec = m[0] if len(m) == 1 else None
    unstated = half_missing(half, stmts)
    if unstated:
        expect(False, "the scenario states no %s for this wire (%s)" % (
            ", ".join(unstated), " ".join(sorted(wv))))
    elif any(op == "none" for _, op, _, _ in stmts):
        expect(not m, "no record for client port %d from the %s capture (got %d)" % (port, half, len(m)))
    else:
        expect(len(m) == 1, "rdpwhy replay: exactly one record for client port %d (of %d)" % (port, len(reps)))
        keys = {k for _, op, k, _ in stmts if op in "=~"}
        for c, op, k, v in [(c, *t) for c, op, k, v in stmts for t in translate(op, k, v)]:
            got = get(rec, k)
            if op == "!":
                expect(rec is not None and got is None, "%s absent (got %s)" % (k, fmt(got)))
            elif op == "=" and k in VERDICT:
                alts = v.split("|")
                expect(rec is not None and fmt(got) in alts, "%s == %s (got %s)" % (k, v, fmt(got) or "<absent>"))
                w = {"rdpwhy.closed_by": wire["closed_by"], "rdpwhy.close_kind": wire["close_kind"]}.get(k)
                # where the statement allows two, the half must name the one on
                # the wire, if it can see it: its own side closed first, or it
                # acknowledged the other side's close
                if len(alts) > 1 and w in alts and (wire["closed_by"] == seen or wire.get("first_close_acked")):
                    expect(fmt(got) == w, "%s == %s, the one on the two-direction wire (got %s)" % (k, w, fmt(got)))
            elif op == "=":
                expect(rec is not None and got is not None and fmt(got) == v,
                       "%s == %s (got %s)" % (k, v, fmt(got) if got is not None else "<absent>"))
            else:
                expect(rec is not None and got is not None and re.search(v, fmt(got)) is not None,
                       "%s ~ /%s/ (got %s)" % (k, v, fmt(got) if got is not None else "<absent>"))
        # What every half must say, whatever the cause: which direction it
        # held, that the unseen side was inferred, and never high confidence.
        expect(fmt(get(rec, "rdpwhy.capture.directions")) == half,
               "rdpwhy.capture.directions == %s (got %s)" % (half, fmt(get(rec, "rdpwhy.capture.directions"))))
        needle = "inferred from the %s's acknowledgements" % seen
        expect(any(needle in e for e in (get(rec, "rdpwhy.evidence") or [])),
               "an evidence line says %r" % needle)
        if "rdpwhy.confidence" not in keys:
            expect(fmt(get(rec, "rdpwhy.confidence")) in ("medium", "low"),
                   "rdpwhy.confidence medium or low: one direction is never high (got %s)"
                   % fmt(get(rec, "rdpwhy.confidence")))
    known = None
    try:
        for line in open(knownf):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 3 and not line.startswith("#") and f[0] == name and f[1] == half:
                known = f[2]
    except OSError:
        pass
    status = "ok" if not fails else ("KNOWN WRONG" if known else "FAIL")
    if known and not fails:
        lines.append("  FAIL %s: listed in known_wrong.tsv (%s) but rdpwhy now agrees: remove the line" % (label, known))
        status = "FAIL"
    elif known:
        lines.append("  KNOWN WRONG %s: %s" % (label, known))
    json.dump({"name": name, "half": half, "record": rec, "fails": fails, "status": status,
               "stated": [list(x) for x in stmts]}, open(outf, "w"), indent=1)
    print("\n".join(lines))
    return {"ok": 0, "FAIL": 1, "KNOWN WRONG": 3}[status] if not (known and not fails) else 4


def cmd_halfrow(outf, scen, name, half, rc):
    try:
        v = json.load(open(outf))
    except (OSError, ValueError):
        v = {}
    r = v.get("record") or {}
    status = v.get("status") or ("ok" if rc == "0" else "FAIL")
    cols = [scen, name, half] + [fmt(r.get(k)) or "-" for k in (
        "rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase", "rdpwhy.cause", "rdpwhy.confidence")]
    cols.append(status)
    print("\t".join(cols))
    return 0


def cmd_same(outf, repf):
    v = json.load(open(outf))
    reps = load_lines(repf)
    cap = v.get("capture") or {}
    if len(reps) != 1:
        print("  FAIL %s: the trimmed capture replays to %d records, not 1" % (v["name"], len(reps)))
        return 1
    a = [fmt(cap.get(k)) for k in VERDICT]
    b = [fmt(reps[0].get(k)) for k in VERDICT]
    ok = a == b
    print("  %s %s: trimmed capture replays to the same verdict (%s)" % ("ok  " if ok else "FAIL", v["name"], " ".join(b)))
    return 0 if ok else 1


def cmd_row(outf, scen, name, status):
    try:
        v = json.load(open(outf))
    except (OSError, ValueError):
        v = {}
    cols = [scen, name]
    for side in SIDES:
        r = v.get(side) or {}
        cols += [fmt(r.get(k)) or "-" for k in ("rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase", "rdpwhy.cause")]
    cols.append(status)
    print("\t".join(cols))
    return 0


def resolve(stated, wire, k):
    alts = stated[k]
    if len(alts) == 1:
        return alts[0]
    if k == "rdpwhy.cause":
        return "|".join(alts)  # the wire fits each (the scenario says why)
    w = {"rdpwhy.closed_by": wire["closed_by"], "rdpwhy.close_kind": wire["close_kind"]}.get(k)
    if w in alts:
        return w
    raise SystemExit("expect.py index: %s lists %s and the wire does not decide" % (k, "|".join(alts)))


def cmd_index(idxf, outf, fname, scen, note):
    import fcntl
    v = json.load(open(outf))
    cap, inl, wire = v["stated"]["capture"], v["stated"]["inline"], v["wire"]
    row = [resolve(cap, wire, k) for k in VERDICT]
    inl_txt = " ".join("|".join(inl[k]) for k in ("rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase", "rdpwhy.cause"))
    alts = [k.split(".")[1] for k in VERDICT if len(cap[k]) > 1]
    desc = "lab %s: %s; inline (stated): %s%s" % (
        scen, note or "(no note)", inl_txt,
        "; %s as on this capture's wire (the scenario allows %s)" % (
            "/".join(alts), ", ".join("|".join(cap["rdpwhy." + a]) for a in alts)) if alts else "")
    desc = desc.replace("\t", " ").replace("\n", " ")
    line = "\t".join([fname] + row + [desc])
    fd = os.open(idxf, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        rows = [r.rstrip("\n") for r in f if r.strip()]
        head = "file\tcause\tclosed_by\tclose_kind\tphase\tdescription"
        rows = [r for r in rows if r != head and r.split("\t", 1)[0] != fname]
        rows.append(line)
        rows.sort(key=lambda r: r.split("\t", 1)[0])
        f.seek(0)
        f.truncate()
        f.write(head + "\n" + "".join(r + "\n" for r in rows))
    return 0


def main():
    a = sys.argv[1:]
    cmd = a[0] if a else ""
    if cmd == "statement":
        return cmd_statement(a[1], a[2], a[3:])
    if cmd == "check":
        return cmd_check(*a[1:8], a[8:])
    if cmd == "half":
        return cmd_half(*a[1:10], a[10:])
    if cmd == "halfrow":
        return cmd_halfrow(*a[1:6])
    if cmd == "same":
        return cmd_same(a[1], a[2])
    if cmd == "row":
        return cmd_row(*a[1:5])
    if cmd == "get":
        try:
            v = json.load(open(a[1]))
        except (OSError, ValueError):
            return 0
        print(fmt(get(v.get(a[2]), a[3])))
        return 0
    if cmd == "index":
        return cmd_index(*a[1:6])
    print("expect.py: unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
