"""Decoding rdpwhy's SIEM records in their three formats (siem_format=json,
rfc5424, cef), shared by tests/siem_rsyslog.py, tests/siem_syslog_ng.sh and
tests/siem_local_syslog.sh (the shell tests' embedded Python finds this file
through sys.path).

Every check ends the test through fail(): "[PROG] FAIL: message" on stderr,
exit 1; a test sets PROG to its own name.

  hostile_cookie(marker, size)  the hostile cookie the tests send: MARKER, then
                                SIZE bytes of quotes, backslashes, ], =, |,
                                newline, control bytes, invalid UTF-8 and a €.
  as_text(raw, fmt)             what a cookie must decode to in format FMT (no
                                check: the value the others are compared with).
  json_record(text, what)       checks TEXT is exactly one JSON object; the
                                record by dotted names (records.flatten).
  is_record_id(rid)             checks RID is a record id (32 lower-case hex).
  sd_value(text, i)             checks one RFC 5424 SD-PARAM value: only ", \\
                                and ] escaped, no bare ], closed by its quote.
  sd_param(line, name)          the first NAME="..." in LINE, checked as above.
  sd_element(text, i, strict)   checks one SD-ELEMENT [ID NAME="VALUE" ...];
                                strict: also SD-NAME length, no name twice.
  sd_elements(sd)               checks a whole STRUCTURED-DATA (syslog-ng's
                                ${SDATA}): one or more SD-ELEMENTs.
  split_sdata(line)             checks LINE is "STRUCTURED-DATA MESSAGE".
  cef_parse(msg, strict)        checks a CEF:0 header and extension: only =, \\,
                                n and r escaped, no bare =; strict: also every
                                part KEY=VALUE, no key twice.
"""
import json
import re
import sys

from records import flatten  # same directory (tests/lib)

PROG = "siem"

HOSTILE_PIECE = 'a\nb"q"\\s]x|y=z\x01\x1f\x7f\udcff\udcc3(\u20ac '
FORMATS = ("json", "rfc5424", "cef")

_RECORD_ID = re.compile(r"[0-9a-f]{32}")
_SD_ID = re.compile(r'[^ =\]"]+')
_SD_PARAM = re.compile(r'([^ =\]"]+)="')
_CEF_HEAD = re.compile(r"CEF:0((?:\|(?:[^|\\]|\\[|\\])*){6})\|")
_CEF_FIELD = re.compile(r"\|((?:[^|\\]|\\[|\\])*)")
_CEF_SPLIT = re.compile(r" (?=[A-Za-z0-9]+=)")
_CEF_KEY = re.compile(r"[A-Za-z0-9]+")


def fail(msg):
    print(f"[{PROG}] FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def hostile_cookie(marker="", size=10 * 1024):
    """MARKER (str, ASCII), then SIZE bytes of HOSTILE_PIECE repeated (bytes;
    \\udcXX stand for the invalid UTF-8 byte XX)."""
    piece = HOSTILE_PIECE.encode("utf-8", "surrogateescape")
    return marker.encode() + (piece * (size // len(piece) + 1))[:size]


def as_text(raw, fmt):
    """What the cookie RAW (bytes) decodes to in format FMT ("json", "rfc5424"
    or "cef"; see syslog5424.h, README): a backslash doubled, a control byte or
    invalid UTF-8 as \\xhh, a valid € as itself; except that JSON keeps every
    control byte (JSON escapes them itself) and CEF newline and CR (as \\n, \\r),
    and that in JSON a backslash stays one backslash (mstsc's DOMAIN\\user
    cookie as users search for it; rdp.cookie_hex has the raw bytes)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    out = []
    i = 0
    while i < len(raw):
        if raw[i:i + 3] == "\u20ac".encode():
            out.append("\u20ac")
            i += 3
            continue
        c = raw[i]
        if c == 0x5C:
            out.append("\\" if fmt == "json" else "\\\\")
        elif (fmt == "cef" and c in (10, 13)) or (fmt == "json" and (c < 0x20 or c == 0x7F)):
            out.append(chr(c))
        elif c < 0x20 or c == 0x7F or c >= 0x80:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
        i += 1
    return "".join(out)


def json_record(text, what="json"):
    """TEXT (str, or bytes that must be UTF-8) as a dict; fails unless it is
    exactly one JSON object. WHAT starts the failure message."""
    try:
        rec = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except ValueError as e:
        fail(f"{what}: not one JSON object ({e}): {text[:300]!r}")
    if not isinstance(rec, dict):
        fail(f"{what}: not a JSON object: {text[:300]!r}")
    return flatten(rec)  # dotted names, whatever the json_style


def is_record_id(rid):
    """True if RID is a record id: a str of 32 lower-case hex digits."""
    return isinstance(rid, str) and _RECORD_ID.fullmatch(rid) is not None


def sd_value(text, i):
    """The SD-PARAM value that starts at TEXT[I] (just after its opening
    quote), unescaped; returns (value, index after the closing quote). Fails
    on a backslash not followed by ", \\ or ] (RFC 5424 6.3.3), on a ] not
    escaped and on a value that is not closed."""
    val = []
    while True:
        if i >= len(text):
            fail("SD: unterminated value")
        ch = text[i]
        if ch == '"':
            return "".join(val), i + 1
        if ch == "\\":
            if text[i + 1:i + 2] not in ('"', "\\", "]"):
                fail(f"SD: bad escape {text[i:i + 2]!r}")
            val.append(text[i + 1])
            i += 2
        elif ch == "]":
            fail("SD: unescaped ] in a value")
        else:
            val.append(ch)
            i += 1


def sd_param(line, name):
    """The value of the first ` NAME="` in LINE, checked by sd_value; fails
    if there is none."""
    key = f' {name}="'
    i = line.find(key)
    if i < 0:
        fail(f"SD: no parameter {name}: {line[:200]!r}")
    return sd_value(line, i + len(key))[0]


def sd_element(text, i=0, strict=False):
    """The SD-ELEMENT [SD-ID NAME="VALUE" ...] that starts at TEXT[I]: returns
    (SD-ID, {NAME: VALUE}, index after its ]). Fails unless TEXT[I] is [, an
    SD-ID follows, then parameters ` NAME="VALUE"` (values checked by
    sd_value), then ]. A NAME given twice: the last wins; with STRICT, a NAME
    given twice or longer than 32 characters (RFC 5424's SD-NAME) fails."""
    if text[i:i + 1] != "[":
        fail(f"SD: expected [ at {i}: {text[i:i + 60]!r}")
    m = _SD_ID.match(text, i + 1)
    if not m:
        fail(f"SD: no SD-ID at {i}: {text[i:i + 60]!r}")
    sd_id, i, params = m.group(), m.end(), {}
    while text[i:i + 1] == " ":
        m = _SD_PARAM.match(text, i + 1)
        if not m or (strict and len(m.group(1)) > 32):
            fail(f"SD: bad parameter at {i}: {text[i:i + 60]!r}")
        name = m.group(1)
        if strict and name in params:
            fail(f"SD: parameter {name} twice")
        params[name], i = sd_value(text, m.end())
    if text[i:i + 1] != "]":
        fail(f"SD: expected ] at {i}: {text[i:i + 60]!r}")
    return sd_id, params, i + 1


def sd_elements(sd):
    """STRUCTURED-DATA made only of SD-ELEMENTs (each checked by sd_element)
    as {SD-ID: {NAME: VALUE}}; an empty SD gives {}."""
    out, i = {}, 0
    while i < len(sd):
        sd_id, params, i = sd_element(sd, i)
        out.setdefault(sd_id, {}).update(params)
    return out


def split_sdata(line):
    """'STRUCTURED-DATA MESSAGE' (syslog-ng's '${SDATA} ${MESSAGE}') ->
    (sdata, message): the SDATA ends at the first ] outside a quoted value
    that is followed by a space. Fails if there is none."""
    i, inq = 0, False
    while i < len(line):
        c = line[i]
        if c == "\\" and inq:
            i += 2
            continue
        if c == '"':
            inq = not inq
        elif c == "]" and not inq and line[i + 1:i + 2] == " ":
            return line[:i + 1], line[i + 2:]
        i += 1
    fail(f"no structured data in {line[:200]!r}")


def cef_parse(msg, strict=False):
    """A CEF event, CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|
    EXTENSION, as (the six header fields as written, {KEY: VALUE unescaped}).
    Fails unless the header has its six fields (| and \\ escaped in them), and
    on an escape in a value other than \\=, \\\\, \\n, \\r, and on an = not
    escaped. A KEY given twice: the last wins; with STRICT, a KEY given twice
    or a part of the extension that is not KEY=VALUE (KEY alphanumeric)
    fails."""
    head = _CEF_HEAD.match(msg)
    if not head:
        fail(f"CEF: malformed header: {msg[:200]!r}")
    fields = _CEF_FIELD.findall(head.group(1))
    pairs = {}
    for part in _CEF_SPLIT.split(msg[head.end():]):
        k, eq, v = part.partition("=")
        if strict and (not eq or not _CEF_KEY.fullmatch(k)):
            fail(f"CEF: bad extension pair {part[:60]!r}")
        val = []
        i = 0
        while i < len(v):
            if v[i] == "\\":
                e = v[i + 1:i + 2]
                if e not in ("=", "\\", "n", "r"):
                    fail(f"CEF: bad escape {v[i:i + 2]!r}")
                val.append({"n": "\n", "r": "\r"}.get(e, e))
                i += 2
                continue
            if v[i] == "=":
                fail("CEF: unescaped = in a value")
            val.append(v[i])
            i += 1
        if strict and k in pairs:
            fail(f"CEF: key {k} twice")
        pairs[k] = "".join(val)
    return fields, pairs
