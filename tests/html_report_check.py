#!/usr/bin/env python3
"""html_report_check.py — the checks of tests/html_report.sh on files it made:

  page PAGE.html N        the page parses (html.parser), its tags balance, it
                          references nothing outside itself (no http(s)://
                          anywhere, no src=/href= other than #anchors, no url()
                          or @import), and its connections table has N rows
  dom DOM.html N          Chromium's DOM after loading the page: no <script>
                          element, N rows in the connections table
  png SHOT.png W H        a PNG of W x H that decodes and is not one colour
  netlog LOG PAGE_URL [URL]
                          Chromium's --v=1 log: the page loaded nothing but
                          itself (no request from the page, no Content
                          Security Policy refusal); with URL, the positive
                          control: that URL must have been requested
Exits 1 with the reasons on any failure."""
import re
import struct
import sys
import zlib
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
# Requests the browser makes on its own (clock, component updates, account
# check, spelling dictionary): not the page's.
BROWSER_OWN = re.compile(r"^https?://(clients2\.google\.com/time/|update\.googleapis\.com/service/"
                         r"|accounts\.google\.com/ListAccounts|redirector\.gvt1\.com/edgedl/)")

bad = []


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.rows, self.in_conn, self.in_body = [], 0, False, False
        self.scripts, self.refs = 0, []

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table" and ("id", "connections") in attrs:
            self.in_conn = True
        if self.in_conn and tag == "tbody":
            self.in_body = True
        if self.in_body and tag == "tr":
            self.rows += 1
        if tag == "script":
            self.scripts += 1

    def handle_startendtag(self, tag, attrs):  # <line .../> in the SVG
        self._attrs(tag, attrs)

    def _attrs(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "srcset", "action", "data", "poster", "xlink:href"):
                if not (v or "").startswith("#"):
                    self.refs.append("%s %s=%r" % (tag, k, v))
            if k.startswith("on"):
                self.refs.append("%s has event handler %s" % (tag, k))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            bad.append("unbalanced </%s> (open: %s)" % (tag, "/".join(self.stack[-4:])))
            return
        self.stack.pop()
        if tag == "tbody":
            self.in_body = False
        if tag == "table":
            self.in_conn = False


def parse(path):
    text = open(path, encoding="utf-8", errors="strict").read()
    p = Page()
    p.feed(text)
    p.close()
    if p.stack:
        bad.append("tags left open: %s" % "/".join(p.stack))
    return text, p


def page(path, n):
    text, p = parse(path)
    for pat in (r"https?://", r"url\s*\(", r"@import", r"//[a-z0-9.-]+\.[a-z]{2,}/"):
        m = re.search(pat, text, re.I)
        if m:
            bad.append("external reference %r at %d" % (m.group(0), m.start()))
    bad.extend("reference: " + r for r in p.refs)
    if p.scripts:
        bad.append("%d script elements" % p.scripts)
    if p.rows != int(n):
        bad.append("%d rows in the connections table, %s records" % (p.rows, n))


def dom(path, n):
    text, p = parse(path)
    if p.scripts or re.search(r"<script", text, re.I):
        bad.append("the DOM has a script element")
    if p.refs:
        bad.extend("DOM reference: " + r for r in p.refs)
    if p.rows != int(n):
        bad.append("DOM: %d rows in the connections table, %s records" % (p.rows, n))


def png(path, w, h):
    d = open(path, "rb").read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        bad.append("%s is not a PNG" % path)
        return
    off, idat, ihdr = 8, b"", None
    while off + 8 <= len(d):
        ln, typ = struct.unpack(">I4s", d[off:off + 8])
        body = d[off + 8:off + 8 + ln]
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        off += 12 + ln
    if not ihdr or (ihdr[0], ihdr[1]) != (int(w), int(h)) or ihdr[2] != 8 or ihdr[4] != 0:
        bad.append("PNG header %r, want %sx%s, 8 bits, no interlace" % (ihdr, w, h))
        return
    bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(ihdr[3], 0)
    raw = zlib.decompress(idat)
    stride = 1 + int(w) * bpp
    if len(raw) != stride * int(h):
        bad.append("PNG data %d bytes, want %d" % (len(raw), stride * int(h)))
        return
    # Unfiltered pixel rows, compared by their bytes: a page that rendered
    # is not one colour, and has many distinct rows (text, table, ladders).
    prev = bytearray(stride - 1)
    rows = set()
    for y in range(int(h)):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        if f == 1:
            for i in range(bpp, len(line)):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(len(line)):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(len(line)):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.add(bytes(line))
        prev = line
    colours = {bytes(r[i:i + bpp]) for r in list(rows)[:400] for i in range(0, len(r), bpp * 7)}
    if len(rows) < 50 or len(colours) < 3:
        bad.append("screenshot looks blank: %d distinct rows, %d colours sampled"
                   % (len(rows), len(colours)))


def netlog(path, page_url, want=None):
    log = open(path, errors="replace").read()
    loaded = re.findall(r"FileURLLoader::Start: (\S+)", log)
    requested = [u for u in re.findall(r"NotifyBeforeURLRequest: (\S+)", log)
                 if not BROWSER_OWN.match(u)]
    if want:
        if want not in requested:
            bad.append("positive control: %s not seen requested (got %s): the log "
                       "cannot show the page's requests" % (want, requested))
        return
    if page_url not in loaded:
        bad.append("the page %s was not loaded (log: %s)" % (page_url, loaded))
    others = [u for u in loaded if u != page_url] + requested
    if others:
        bad.append("the page loaded other resources: %s" % others)
    for line in log.splitlines():
        if "Content Security Policy" in line or "Refused to" in line:
            bad.append("refused by the page's policy: %s" % line[-200:])


def main():
    what, args = sys.argv[1], sys.argv[2:]
    {"page": page, "dom": dom, "png": png, "netlog": netlog}[what](*args)
    if bad:
        print("\n".join("FAIL %s: %s" % (what, b) for b in bad))
        sys.exit(1)


main()
