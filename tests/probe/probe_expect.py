#!/usr/bin/env python3
"""probe_expect.py — what `rdpwhy probe` must report about a real host, derived
from the host's own configuration, the protocols and independent tools, never
from rdpwhy's output; then the comparison with what the probe reported. Used by
tests/probe/probe_xrdp.sh, probe_nla.sh and probe_faults.sh.

    probe_expect.py want-rc xrdp DIR PROFILES     expected exit status (0|1) for
                                                  the xrdp host described in DIR
    probe_expect.py xrdp DIR PROFILES             check DIR/probe.json (and
                                                  DIR/sslscan.xml, DIR/nmap.xml
                                                  when present) against DIR/host.json
    probe_expect.py shadow DIR PROFILES           the same for FreeRDP's shadow server
    probe_expect.py fault KIND DIR PROFILES       a misbehaving listener (KIND:
                                                  refused dropped silent http reset)

DIR/host.json describes the host as the test configured it (the xrdp.ini that
xrdp was started with is read from DIR/xrdp.ini; the certificate from the
path it names). Prints "ok: ..." lines; on a failed check prints "FAIL: ..."
and exits 1 after checking everything.

Sources of the expectations (each is named again where it is used):
  - xrdp 0.9.21 libxrdp/xrdp_iso.c xrdp_iso_negotiate_security(): with
    security_layer=rdp the host selects PROTOCOL_RDP whatever the client
    requested; with tls it selects PROTOCOL_SSL when the request has the SSL
    bit and answers SSL_REQUIRED_BY_SERVER otherwise; with negotiate (and
    hybrid, which 0.9 handles the same way: it has no CredSSP) it selects SSL
    when the SSL bit is requested and the certificate and key are readable,
    PROTOCOL_RDP otherwise. A layer is "accepted" when the host selects
    exactly the protocol asked for (MS-RDPBCGR 2.2.1.2.1).
  - xrdp 0.9.21 libxrdp/xrdp_sec.c xrdp_sec_init_rdp_security(): crypt_level
    none/low/medium/high/fips -> encryptionMethod none/40bit/40bit/128bit/fips,
    whatever the client offered (the table of tests/probe/mcs_xrdp.sh, which
    checks it against xrdp's own log).
  - xrdp's TLS is OpenSSL with the system's configuration: ssl_protocols are
    the versions it enables (a disabled version is refused with a
    protocol_version alert, RFC 8446 6.2 / RFC 5246 7.2.2); tls_ciphers is
    passed to SSL_CTX_set_cipher_list, which governs TLS <= 1.2 only, so TLS
    1.3 keeps OpenSSL's default TLS 1.3 suites. The TLS 1.2 suites it can
    choose are what `openssl ciphers -s -tls1_2 TLS_CIPHERS` lists that an RSA
    certificate can serve (Au=RSA) without a PSK or SRP callback (xrdp sets
    none); DHE suites count too (xrdp 0.9.21 gives OpenSSL DH parameters;
    sslscan sees them accepted).
  - TLS: the server picks the highest version both sides enable (RFC 8446
    4.2.1, RFC 5246 7.4.1.3) and a suite both offer for it; none in common is
    a handshake failure.
  - The certificate: `openssl x509` (dates, key, names: -checkhost),
    `openssl verify -CAfile` (trust).
  - The client profiles: conf/profiles/*.conf, read here with a parser of
    this file's own (requested_protocols, tls_versions, suites, kerberos,
    cert_policy).
"""
import datetime
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from records import flatten  # noqa: E402  (tests/lib)

ERRORS = []

# `openssl` results by command line, kept in DIR/openssl-cache.json between
# this script's two runs per case (want-rc, then the checks): each openssl
# start costs ~0.1 s on a loaded machine.
CACHE, CACHE_FILE = {}, None


def use_cache(d):
    global CACHE, CACHE_FILE
    CACHE_FILE = os.path.join(d, "openssl-cache.json")
    if os.path.exists(CACHE_FILE):
        CACHE = json.load(open(CACHE_FILE))


def save_cache():
    if CACHE_FILE:
        json.dump(CACHE, open(CACHE_FILE, "w"))


def ok(msg):
    print("ok: " + msg)


def bad(msg):
    ERRORS.append(msg)
    print("FAIL: " + msg)


def check(cond, msg):
    if cond:
        ok(msg)
    else:
        bad(msg)
    return cond


def eq(what, got, want):
    if got == want:
        ok("%s = %r" % (what, got))
        return True
    bad("%s: got %r, want %r" % (what, got, want))
    return False


def finish():
    save_cache()
    if ERRORS:
        print("%d check(s) failed" % len(ERRORS))
        sys.exit(1)
    sys.exit(0)


# ---- the probe's output ------------------------------------------------------


# The probe's keys whose values are objects (README "probe").
PROBE_OBJECTS = ("rdpwhy.probe.security_layers", "rdpwhy.probe.rdp_encryption",
                 "rdpwhy.probe.tls_versions")


def load_probe(path):
    host, profiles = None, {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                rec = flatten(raw, keep=PROBE_OBJECTS)
            except ValueError as e:
                bad("%s:%d is not JSON: %s" % (path, n, e))
                continue
            # The style asked for (run_probe's STYLE; nested by default):
            # nested has no dotted top-level key, flat has no object but
            # the probe's own object values.
            style = os.environ.get("PROBE_JSON_STYLE", "nested")
            dotted = [k for k in raw if "." in k]
            objects = [k for k, v in raw.items() if isinstance(v, dict) and k not in PROBE_OBJECTS]
            if (style == "nested" and dotted) or (style == "flat" and objects):
                bad("%s:%d: not %s JSON: %s" % (path, n, style, (dotted or objects)[:3]))
            kind = rec.get("event.dataset")
            if kind == "rdpwhy.probe.host":
                if host is not None:
                    bad("%s: two host records" % path)
                host = rec
            elif kind == "rdpwhy.probe.profile":
                profiles[rec.get("rdpwhy.probe.profile")] = rec
            else:
                bad("%s:%d: unknown event.dataset %r" % (path, n, kind))
    if host is None:
        bad("%s: no host record" % path)
        host = {}
    return host, profiles


# ---- the client profiles, read independently ------------------------------------

PROTO_BITS = {"rdp": 0, "ssl": 1, "hybrid": 2, "rdstls": 4, "hybrid_ex": 8, "rdsaad": 0x10}


def _unquote(v):
    v = v.strip()
    if v.startswith('"'):
        out, i = [], 1
        while i < len(v) and v[i] != '"':
            if v[i] == "\\" and i + 1 < len(v):
                i += 1
            out.append(v[i])
            i += 1
        return "".join(out)
    # an unquoted value ends at " #"
    m = re.search(r"\s#", v)
    return (v[: m.start()] if m else v).strip()


def load_profiles(d):
    profs = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".conf") or fn.startswith("."):
            continue
        p = {"id": fn[:-5], "suites": [], "kerberos": False, "cert_policy": "prompt"}
        with open(os.path.join(d, fn), encoding="utf-8-sig") as f:
            for line in f:
                s = line.strip()
                if not s or s.startswith("#") or "=" not in s:
                    continue
                k, v = s.split("=", 1)
                k, v = k.strip(), _unquote(v)
                items = [x for x in re.split(r"[,\s]+", v) if x]
                if k == "requested_protocols":
                    p["requested"] = sum(PROTO_BITS[x] for x in items)
                elif k == "tls_versions":
                    p["versions"] = set(items)
                elif k == "suites":
                    p["suites"] += items
                elif k == "kerberos":
                    p["kerberos"] = v == "yes"
                elif k == "cert_policy":
                    p["cert_policy"] = v
        profs[p["id"]] = p
    return profs


def is13(name):
    # the five TLS 1.3 suites (RFC 8446 B.4) are the only IANA names without _WITH_
    return name.startswith("TLS_") and "_WITH_" not in name


# ---- OpenSSL as the system configures it -------------------------------------------


def openssl_ciphers(*args):
    """[(id, iana, openssl_name, version, kx, au)] from `openssl ciphers -V -stdname`."""
    rows = []
    for line in run("openssl", "ciphers", "-V", "-stdname", *args).stdout.splitlines():
        m = re.match(r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)",
                     line)
        if m:
            rows.append((int(m.group(1) + m.group(2), 16), m.group(3), m.group(4), m.group(5),
                         m.group(6), m.group(7)))
    return rows


def host_suites_12(cipher_string):
    """What an OpenSSL server with an RSA certificate, no PSK/SRP callback and
    the system's configuration can pick at TLS 1.2 for SSL_CTX_set_cipher_list(cipher_string)."""
    return {iana: cid for cid, iana, _, ver, kx, au in openssl_ciphers("-s", "-tls1_2", cipher_string)
            if ver != "TLSv1.3" and au == "RSA" and "PSK" not in kx and "SRP" not in kx}


def host_suites_13():
    """OpenSSL's default TLS 1.3 suites (what a server that sets none enables)."""
    return {iana: cid for cid, iana, _, ver, kx, au in openssl_ciphers("-s", "-tls1_3") if ver == "TLSv1.3"}


# ---- certificates ----------------------------------------------------------------------


class Ran:
    def __init__(self, rc, out, err):
        self.returncode, self.stdout, self.stderr = rc, out, err


def run(*args):
    key = "\0".join(args)
    if key not in CACHE:
        r = subprocess.run(list(args), capture_output=True, text=True)
        CACHE[key] = [r.returncode, r.stdout, r.stderr]
    return Ran(*CACHE[key])


def cert_facts(pem, server_name, ca):
    """The certificate as openssl reads it: what the probe must report."""
    t = run("openssl", "x509", "-in", pem, "-noout", "-text", "-enddate", "-fingerprint", "-sha256")
    f = {}
    m = re.search(r"Public-Key: \((\d+) bit\)", t.stdout)
    f["bits"] = int(m.group(1)) if m else None
    f["rsa"] = "rsaEncryption" in t.stdout
    m = re.search(r"Signature Algorithm: (\S+)", t.stdout)
    f["sig"] = m.group(1) if m else None
    m = re.search(r"notAfter=(.+)", t.stdout)
    f["not_after"] = datetime.datetime.strptime(m.group(1).strip(), "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)
    m = re.search(r"Fingerprint=([0-9A-F:]+)", t.stdout)
    f["sha256"] = m.group(1).replace(":", "").lower()
    # -checkend 0: "Certificate will expire" when notAfter is already past
    f["expired"] = run("openssl", "x509", "-in", pem, "-noout", "-checkend", "0").returncode != 0
    f["name_match"] = "does match" in run("openssl", "x509", "-in", pem, "-noout", "-checkhost",
                                          server_name).stdout
    v = run("openssl", "verify", "-CAfile", ca or pem, pem)
    f["trusted"] = v.returncode == 0 and ca is not None
    f["verify_out"] = (v.stdout + v.stderr).strip()
    return f


# ---- the xrdp host model -------------------------------------------------------------------


def read_ini(path):
    g, sec = {}, None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("["):
                sec = s
            elif sec == "[Globals]" and "=" in s and not s.startswith(("#", ";")):
                k, v = s.split("=", 1)
                g[k.strip()] = v.strip()
    return g


# crypt_level -> the encryptionMethod xrdp answers with (xrdp_sec.c, mcs_xrdp.sh)
CRYPT_METHOD = {"none": None, "low": "40bit", "medium": "40bit", "high": "128bit", "fips": "fips"}
VERSION_NAMES = {"TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}


def xrdp_select(security_layer, requested):
    """xrdp_iso_negotiate_security(): ("rsp", selected) or ("failure", code)."""
    if security_layer == "rdp":
        return ("rsp", "rdp")
    if security_layer == "tls":
        return ("rsp", "ssl") if requested & 1 else ("failure", "ssl_required_by_server")
    return ("rsp", "ssl") if requested & 1 else ("rsp", "rdp")


class Host:
    """What a host accepts, as its configuration says."""

    def __init__(self):
        self.select = None  # requested bits -> ("rsp", proto) | ("failure", code)
        self.versions = set()  # TLS versions it completes
        self.s12, self.s13 = {}, {}  # IANA name -> id
        self.cert = None  # cert_facts() or None
        self.tls_broken = False  # answers a ClientHello with non-TLS bytes
        self.kerberos_skew = False  # host clock > 300 s off
        # how it refuses a TLS version it does not enable: a protocol_version alert
        self.refused_cause = "tls_protocol_version_mismatch"


def expect_profile(p, h):
    """(result, cause, version, candidate ciphers) for profile p on host h."""
    kind, val = h.select(p["requested"])
    if kind == "failure":
        return ("fails", "security_negotiation_failure", None, None)
    if val == "rdp":
        # standard RDP security: no server authentication; the client warns
        return ("warns", None, None, None)
    if h.tls_broken:
        # non-TLS bytes where the ServerHello must be (docs/causes.md)
        return ("fails", "tls_stream_altered", None, None)
    common = p["versions"] & h.versions
    if not common:
        return ("fails", "tls_protocol_version_mismatch", None, None)
    v = max(common)
    host_suites = h.s13 if v == "1.3" else h.s12
    shared = [s for s in p["suites"] if is13(s) == (v == "1.3") and s in host_suites]
    if not shared:
        return ("fails", "tls_cipher_mismatch", v, None)
    if h.kerberos_skew and p["kerberos"] and val in ("hybrid", "hybrid_ex"):
        return ("fails", "clock_skew", v, shared)
    c = h.cert
    if c and (c["expired"] or not c["trusted"] or not c["name_match"]):
        cause = "certificate_expired" if c["expired"] else "certificate_rejected_by_client"
        return ("warns" if p["cert_policy"] == "prompt" else "fails", cause, v, shared)
    return ("connects", None, v, shared)


def want_rc(h, profs):
    return 0 if all(expect_profile(p, h)[0] == "connects" for p in profs.values()) else 1


def check_profiles(h, profs, got):
    eq("profiles reported", sorted(got), sorted(profs))
    for pid, p in sorted(profs.items()):
        r = got.get(pid)
        if r is None:
            continue
        result, cause, v, shared = expect_profile(p, h)
        eq("%s result" % pid, r.get("rdpwhy.probe.result"), result)
        if cause:
            eq("%s cause" % pid, r.get("rdpwhy.cause"), cause)
        elif result == "connects":
            eq("%s cause" % pid, r.get("rdpwhy.cause"), "none")
        if shared:  # the handshake completed with this client's offer
            eq("%s tls.version (highest common)" % pid, r.get("tls.version"), v)
            check(r.get("tls.cipher") in shared,
                  "%s tls.cipher %s is a suite both offer at TLS %s" % (pid, r.get("tls.cipher"), v))
        kind, val = h.select(p["requested"])
        if kind == "rsp":
            eq("%s rdp.selected_protocol" % pid, r.get("rdp.selected_protocol"), val)
        if result == "warns" and cause is None:
            check(any("standard RDP security" in e for e in r.get("rdpwhy.evidence", [])),
                  "%s: the evidence says the host chose standard RDP security" % pid)


def check_layers(h, host):
    layers = host.get("rdpwhy.probe.security_layers", {})
    for name, bits in (("rdp", 0), ("ssl", 1), ("hybrid", 2), ("hybrid_ex", 8), ("rdstls", 4)):
        kind, val = h.select(bits)
        got = layers.get(name, {})
        if kind == "rsp":
            eq("layer %s outcome" % name, got.get("outcome"), "ok")
            eq("layer %s: the host selected" % name, got.get("selected"), val)
        else:
            eq("layer %s outcome" % name, got.get("outcome"), "rejected")
            eq("layer %s RDP_NEG_FAILURE" % name, got.get("neg_failure"), val)


def accepted_layers(h):
    return {n for n, b in (("rdp", 0), ("ssl", 1), ("hybrid", 2), ("hybrid_ex", 8), ("rdstls", 4))
            if h.select(b) == ("rsp", n)}


def check_tls(h, host, full=True):
    tv = host.get("rdpwhy.probe.tls_versions", {})
    tls_layer = accepted_layers(h) & {"ssl", "hybrid", "hybrid_ex"}
    for v in ("1.0", "1.1", "1.2", "1.3"):
        got = tv.get(v, {})
        if not tls_layer:
            eq("TLS %s (no TLS layer accepted)" % v, got.get("outcome"), "not_run")
        elif h.tls_broken:
            eq("TLS %s outcome" % v, got.get("outcome"), "rejected")
            eq("TLS %s cause (non-TLS answer to the ClientHello)" % v, got.get("cause"), "tls_stream_altered")
        elif v in h.versions:
            eq("TLS %s outcome" % v, got.get("outcome"), "ok")
            suites = h.s13 if v == "1.3" else h.s12
            check(got.get("cipher") in suites, "TLS %s cipher %s is one the host enables" % (v, got.get("cipher")))
        else:
            eq("TLS %s outcome" % v, got.get("outcome"), "rejected")
            eq("TLS %s cause (the host's refusal)" % v, got.get("cause"), h.refused_cause)
    suites = host.get("rdpwhy.probe.tls_suites", [])
    if full:
        check(not host.get("rdpwhy.probe.tls_suites_cut"), "the suite list is complete (not cut by the budget)")
    else:
        eq("the suite list was cut by --max-connections", host.get("rdpwhy.probe.tls_suites_cut"), True)
    want = set()
    if tls_layer and not h.tls_broken:
        if "1.3" in h.versions:
            want |= {("1.3", n, i) for n, i in h.s13.items()}
        best12 = max((v for v in h.versions if v != "1.3"), default=None)
        if best12:
            want |= {(best12, n, i) for n, i in h.s12.items()}
    got = {(s.get("version"), s.get("name"), s.get("id")) for s in suites}
    eq("no suite listed twice", len(got), len(suites))
    if not full:
        check(got <= want, "the %d suites listed before the budget ran out are ones the host enables" % len(got))
    elif got == want:
        ok("tls_suites: exactly the %d (version, suite, id) the configuration enables" % len(want))
    else:
        bad("tls_suites differ from the configuration: missing %s, extra %s" %
            (sorted(want - got), sorted(got - want)))
    return got


def check_cert(h, host, server_name):
    c = h.cert
    if c is None:
        check("tls.server.hash.sha256" not in host, "no certificate reported")
        return
    eq("certificate sha256", host.get("tls.server.hash.sha256"), c["sha256"])
    eq("certificate key size", host.get("tls.server.x509.public_key_size"), c["bits"])
    check(str(host.get("tls.server.x509.public_key_algorithm", "")).lower().startswith("rsa") == c["rsa"],
          "key type %s (openssl: rsaEncryption %s)" % (host.get("tls.server.x509.public_key_algorithm"), c["rsa"]))
    eq("signature algorithm", host.get("tls.server.x509.signature_algorithm"), c["sig"])
    eq("not_after", host.get("tls.server.x509.not_after"), c["not_after"].strftime("%Y-%m-%dT%H:%M:%SZ"))
    eq("expired (openssl x509 -checkend 0)", host.get("rdpwhy.probe.cert.expired"), c["expired"])
    eq("name_match %s (openssl x509 -checkhost)" % server_name, host.get("rdpwhy.probe.cert.name_match"),
       c["name_match"])
    eq("trusted (openssl verify: %s)" % c["verify_out"].splitlines()[-1], host.get("rdpwhy.probe.cert.trusted"),
       c["trusted"])
    # whole days from now to notAfter; the probe ran a few seconds ago
    days = (c["not_after"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
    got = host.get("rdpwhy.probe.cert.days_left")
    check(isinstance(got, int) and abs(got - days) <= 1.01,
          "days_left %s within a day of %.2f (notAfter %s)" % (got, days, c["not_after"].date()))


# ---- independent tools ----------------------------------------------------------------


def sslscan(path):
    """({version: enabled}, {(version, id)}) from sslscan's --xml."""
    root = ET.parse(path).getroot()
    t = root.find("ssltest")
    if t is None:
        bad("%s: no <ssltest> (sslscan could not connect?)" % path)
        return {}, set()
    prot = {("%s%s" % ("ssl" if p.get("type") == "ssl" else "", p.get("version"))): p.get("enabled") == "1"
            for p in t.findall("protocol")}
    ciphers = {(c.get("sslversion").replace("TLSv", ""), int(c.get("id"), 16)) for c in t.findall("cipher")}
    return prot, ciphers


def check_sslscan(path, probe_suites, host):
    prot, ciphers = sslscan(path)
    tv = host.get("rdpwhy.probe.tls_versions", {})
    for v in ("1.0", "1.1", "1.2", "1.3"):
        eq("sslscan TLSv%s enabled vs probe %s" % (v, tv.get(v, {}).get("outcome")), prot.get(v),
           tv.get(v, {}).get("outcome") == "ok")
    # sslscan also tries SSLv2/SSLv3, which the probe does not (OpenSSL 3 has
    # no SSLv2 and the host's OpenSSL disables SSLv3): both must be off.
    eq("sslscan SSLv2 enabled", prot.get("ssl2"), False)
    eq("sslscan SSLv3 enabled", prot.get("ssl3"), False)
    mine = {(v, i) for v, _, i in probe_suites}
    if ciphers == mine:
        ok("sslscan accepted suites = the probe's tls_suites (%d)" % len(mine))
    else:
        bad("sslscan and the probe disagree on suites: only sslscan %s, only the probe %s" %
            (sorted(ciphers - mine), sorted(mine - ciphers)))


def nmap_script(path, sid):
    root = ET.parse(path).getroot()
    for s in root.iter("script"):
        if s.get("id") == sid:
            return s
    return None


# nmap's label: (the requestedProtocols nmap sends, the probe's layer, the
# requestedProtocols the probe sends for it)
NMAP_LAYERS = {"Native RDP": (0, "rdp", 0), "SSL": (1, "ssl", 1), "CredSSP (NLA)": (3, "hybrid", 2),
               "RDSTLS": (4, "rdstls", 4), "CredSSP with Early User Auth": (8, "hybrid_ex", 8)}
NMAP_METHODS = {"40-bit RC4": "40bit", "56-bit RC4": "56bit", "128-bit RC4": "128bit", "FIPS 140-1": "fips"}
NMAP_LEVELS = {"None": "none", "Low": "low", "Client Compatible": "client_compatible", "High": "high",
               "FIPS Compliant": "fips"}


def check_nmap_enum(path, h, host, crypt_level):
    """nmap's rdp-enum-encryption (run with -d, so failures are listed too).

    Known differences, asserted exactly:
    - nmap counts any RDP_NEG_RSP as SUCCESS whatever protocol the host
      selected (the script tests only the response type, 2); the probe counts
      a layer as accepted only when the host selects the protocol asked for.
      So a host that answers "rdp" to a request for hybrid is SUCCESS for
      nmap and not accepted for the probe (its "selected" says what it chose).
    - nmap's "CredSSP (NLA)" requests SSL|HYBRID (3), not HYBRID alone (2) as
      the probe does: its SUCCESS means the host answered RDP_NEG_RSP to 3.
    - nmap tries each encryption method after a Connection Request without
      RDP_NEG_REQ (legacy standard security); the probe after one requesting
      PROTOCOL_RDP. Both count a method when the host's SC_SECURITY echoes it.
    """
    s = nmap_script(path, "rdp-enum-encryption")
    if not check(s is not None, "nmap rdp-enum-encryption produced output"):
        return
    lines = [l.strip() for l in s.get("output", "").splitlines() if l.strip()]
    layers = host.get("rdpwhy.probe.security_layers", {})
    for label, (nbits, name, pbits) in NMAP_LAYERS.items():
        line = next((l for l in lines if l.startswith(label + ":")), None)
        kind, val = h.select(nbits)
        if kind == "rsp":
            eq("nmap %s (the host answers %s to %d)" % (label, val, nbits), line, "%s: SUCCESS" % label)
        else:
            eq("nmap %s" % label, line, "%s: FAILED (%s)" % (label, val.upper()))
        pl = layers.get(name, {})
        pkind, pval = h.select(pbits)
        got = (pl.get("outcome"), pl.get("selected") if pkind == "rsp" else pl.get("neg_failure"))
        want = ("ok" if pkind == "rsp" else "rejected", pval)
        if kind == "rsp" and pkind == "rsp" and pval != name:
            # the known difference: nmap SUCCESS, the probe not accepted (the
            # host selected another protocol, which "selected" names)
            eq("probe layer %s: nmap SUCCESS but the host selected %s (not accepted)" % (name, pval), got, want)
        else:
            eq("probe layer %s agrees with nmap %s" % (name, "SUCCESS" if kind == "rsp" else "FAILED"), got, want)
    enc = host.get("rdpwhy.probe.rdp_encryption", {})
    rdp_ok = h.select(0) == ("rsp", "rdp")
    for label, m in NMAP_METHODS.items():
        line = next((l for l in lines if l.startswith(label + ":")), None)
        if rdp_ok and CRYPT_METHOD[crypt_level] == m:
            eq("nmap %s" % label, line, "%s: SUCCESS" % label)
            eq("probe rdp_encryption %s agrees" % m, enc.get(m), "accepted")
        elif rdp_ok:
            # nmap lists a method only on SUCCESS (or FAILURE when the exchange failed)
            eq("nmap %s (not echoed by the host: not listed)" % label, line, None)
            eq("probe rdp_encryption %s agrees" % m, enc.get(m), "refused")
        else:
            # the host refuses standard security: nmap's MCS exchange fails
            eq("nmap %s" % label, line, "%s: FAILURE" % label)
            eq("probe rdp_encryption %s (layer refused: not run)" % m, enc.get(m), "not_run")
    lvl = next((l for l in lines if l.startswith("RDP Encryption level:")), None)
    if rdp_ok:
        want = {"none": "None", "low": "Low", "medium": "Client Compatible", "high": "High", "fips": "FIPS Compliant"}
        eq("nmap encryption level", lvl, "RDP Encryption level: %s" % want[crypt_level])


def check_nmap_ssl_enum(path):
    """nmap 7.93's ssl-enum-ciphers cannot speak to an RDP host: its
    nselib/sslcert.lua has no RDP entry in SPECIALIZED_PREPARE_TLS_WITHOUT_RECONNECT,
    so (forced with +) it sends a bare ClientHello without the X.224 Connection
    Request an RDP host wants first. xrdp reads the ClientHello as a TPKT
    with a wrong version and answers an X.224 Data TPDU (03 00 00 09 02 f0 80
    21 80: MCS Disconnect Provider Ultimatum), whose first byte 0x03 is no TLS
    content type: "Couldn't read a TLS record", no ciphers, no output."""
    s = nmap_script(path, "ssl-enum-ciphers")
    check(s is None or not s.get("output", "").strip(),
          "nmap ssl-enum-ciphers reports nothing (it sends no X.224 Connection Request first)")
    # why, in nmap's own words (-d) and source
    log = path[:-len(".xml")] + ".out"
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    check("[ssl-enum-ciphers" in text and "Couldn't read a TLS record" in text,
          "nmap -d: ssl-enum-ciphers \"Couldn't read a TLS record\" (the host's answer is a TPKT)")
    lua = "/usr/share/nmap/nselib/sslcert.lua"
    if os.path.exists(lua):
        check("rdp" not in open(lua).read().lower(),
              "%s has no RDP preamble (if it gains one, this comparison must change)" % lua)


# ---- commands ---------------------------------------------------------------------------


def xrdp_host(d):
    meta = json.load(open(os.path.join(d, "host.json")))
    ini = read_ini(os.path.join(d, "xrdp.ini"))
    h = Host()
    layer = ini["security_layer"]
    h.select = lambda bits: xrdp_select(layer, bits)
    h.tls_broken = meta.get("key_refused", False)
    if "ssl" in accepted_layers(h) and not h.tls_broken:
        h.versions = {VERSION_NAMES[v.strip()] for v in ini["ssl_protocols"].split(",") if v.strip()}
        if "1.3" in h.versions:
            h.s13 = host_suites_13()
        if h.versions - {"1.3"}:
            h.s12 = host_suites_12(ini["tls_ciphers"])
        h.cert = cert_facts(ini["certificate"], meta["server_name"], meta.get("ca"))
    return h, ini, meta


def cmd_xrdp(d, profdir):
    profs = load_profiles(profdir)
    use_cache(d)
    h, ini, meta = xrdp_host(d)
    host, got = load_probe(os.path.join(d, "probe.json"))
    eq("tcp", host.get("rdpwhy.probe.tcp"), "ok")
    check_layers(h, host)
    enc = host.get("rdpwhy.probe.rdp_encryption", {})
    method = CRYPT_METHOD[ini["crypt_level"]] if "rdp" in accepted_layers(h) else "-"
    for m in ("40bit", "56bit", "128bit", "fips"):
        want = "not_run" if method == "-" else "accepted" if m == method else "refused"
        eq("rdp_encryption %s (crypt_level=%s)" % (m, ini["crypt_level"]), enc.get(m), want)
    suites = check_tls(h, host)
    check_cert(h, host, meta["server_name"])
    eq("nla (xrdp has no CredSSP: hybrid not accepted)", host.get("rdpwhy.probe.nla"), "not_run")
    check_profiles(h, profs, got)
    if os.path.exists(os.path.join(d, "sslscan.xml")):
        if h.versions:
            check_sslscan(os.path.join(d, "sslscan.xml"), suites, host)
        else:
            prot, ciphers = sslscan(os.path.join(d, "sslscan.xml"))
            check(not any(prot.values()) and not ciphers,
                  "sslscan: no protocol enabled and no suite (the host does no TLS)")
    if os.path.exists(os.path.join(d, "nmap.xml")):
        check_nmap_enum(os.path.join(d, "nmap.xml"), h, host, ini["crypt_level"])
        check_nmap_ssl_enum(os.path.join(d, "nmap.xml"))
        s = nmap_script(os.path.join(d, "nmap.xml"), "rdp-ntlm-info")
        # xrdp selects SSL for nmap's SSL|HYBRID|HYBRID_EX and has no CredSSP:
        # no NTLMSSP comes back, the script prints nothing; the probe does not
        # run its NLA step (hybrid not accepted).
        check(s is None or not s.get("output", "").strip(), "nmap rdp-ntlm-info reports nothing (no CredSSP)")
    finish()


def cmd_want_rc(kind, d, profdir):
    profs = load_profiles(profdir)
    use_cache(d)
    if kind == "xrdp":
        h = xrdp_host(d)[0]
    else:
        h = shadow_host(d)
    print(want_rc(h, profs))
    save_cache()


# ---- FreeRDP shadow server ----------------------------------------------------------------


def shadow_host(d):
    """freerdp-shadow-cli /sec:nla (FreeRDP 2.11): NLA only. libfreerdp/core/nego.c
    nego_send_negotiation_response(): with only NLA enabled a request without
    the HYBRID bit gets HYBRID_REQUIRED_BY_SERVER, one with it gets HYBRID;
    FreeRDP 2 has no HYBRID_EX server side, so a request for HYBRID_EX alone
    is refused the same way (observed: it is)."""
    meta = json.load(open(os.path.join(d, "host.json")))
    h = Host()
    h.select = lambda bits: ("rsp", "hybrid") if bits & 2 else ("failure", "hybrid_required_by_server")
    # FreeRDP 2.11 libfreerdp/crypto/tls.c: the server sets no cipher list
    # unless told (the shadow server is not), no DH parameters and security
    # level 1 (settings TlsSecLevel); OpenSSL 3 completes TLS 1.0/1.1 only at
    # level 0 (CHANGES.md 3.0), so 1.2 and 1.3 with OpenSSL's DEFAULT suites
    # an RSA key serves with ECDHE or RSA key exchange (no DHE without DH
    # parameters), and the default TLS 1.3 suites. TLS 1.0/1.1 end with the
    # host's internal_error alert (no protocol_version: the versions are
    # enabled, the security level forbids them), cause tls_alert.
    h.versions = {"1.2", "1.3"}
    h.refused_cause = "tls_alert"
    h.s13 = host_suites_13()
    h.s12 = {n: i for n, i in host_suites_12("DEFAULT").items()
             if any(n.startswith(k) for k in ("TLS_ECDHE_RSA_", "TLS_RSA_"))}
    h.cert = cert_facts(meta["cert"], meta["server_name"], meta["cert"])
    h.kerberos_skew = abs(meta["skew_s"]) > 300
    return h


def cmd_shadow(d, profdir):
    profs = load_profiles(profdir)
    use_cache(d)
    meta = json.load(open(os.path.join(d, "host.json")))
    h = shadow_host(d)
    host, got = load_probe(os.path.join(d, "probe.json"))
    eq("tcp", host.get("rdpwhy.probe.tcp"), "ok")
    check_layers(h, host)
    enc = host.get("rdpwhy.probe.rdp_encryption", {})
    for m in ("40bit", "56bit", "128bit", "fips"):
        eq("rdp_encryption %s (rdp layer refused)" % m, enc.get(m), "not_run")
    check_cert(h, host, meta["server_name"])
    eq("nla", host.get("rdpwhy.probe.nla"), "ok")
    # winpr (FreeRDP 2.11) ntlm.c ntlm_get_target_computer_name(): every name
    # is GetComputerNameExA(ComputerNameNetBIOS): the host name up to its
    # first dot, at most 15 characters (MAX_COMPUTERNAME_LENGTH); upper-cased
    # for the two NetBIOS names, as is for the DNS ones; no DNS tree name.
    short = meta["hostname"].split(".")[0][:15]
    eq("rdp.nla.netbios_computer", host.get("rdp.nla.netbios_computer"), short.upper())
    eq("rdp.nla.netbios_domain", host.get("rdp.nla.netbios_domain"), short.upper())
    eq("rdp.nla.dns_computer", host.get("rdp.nla.dns_computer"), short)
    eq("rdp.nla.dns_domain", host.get("rdp.nla.dns_domain"), short)
    check("rdp.nla.dns_tree" not in host, "no rdp.nla.dns_tree (winpr sends no MsvAvDnsTreeName)")
    # winpr sysinfo.c GetVersionExA(): "Windows 7 SP1 Version Info" 6.1 build 7601
    eq("rdp.nla.os_version", host.get("rdp.nla.os_version"), "6.1.7601")
    off = host.get("rdp.nla.host_clock_offset_s")
    lo, hi = meta["skew_s"] - 30, meta["skew_s"] + 30
    check(isinstance(off, int) and lo <= off <= hi,
          "rdp.nla.host_clock_offset_s %s within %d..%d (host clock shifted by %d s)" % (off, lo, hi, meta["skew_s"]))
    check_profiles(h, profs, got)
    for pid, p in sorted(profs.items()):
        if not p["kerberos"]:
            check(got.get(pid, {}).get("rdpwhy.cause") != "clock_skew",
                  "%s (kerberos = no) does not fail with clock_skew" % pid)
    suites = check_tls(h, host, meta["full"])
    if meta["full"]:
        check_sslscan(os.path.join(d, "sslscan.xml"), suites, host)
    # nmap's rdp-ntlm-info (its own CredSSP TSRequest, version 96, with an
    # NTLM NEGOTIATE mimicking Windows 10) must read the same CHALLENGE.
    s = nmap_script(os.path.join(d, "nmap.xml"), "rdp-ntlm-info")
    if check(s is not None, "nmap rdp-ntlm-info produced output"):
        el = {e.get("key"): (e.text or "") for e in s.iter("elem")}
        for nk, pk in (("NetBIOS_Computer_Name", "rdp.nla.netbios_computer"),
                       ("NetBIOS_Domain_Name", "rdp.nla.netbios_domain"),
                       ("DNS_Computer_Name", "rdp.nla.dns_computer"),
                       ("DNS_Domain_Name", "rdp.nla.dns_domain"),
                       ("Product_Version", "rdp.nla.os_version")):
            eq("nmap %s vs probe %s" % (nk, pk), el.get(nk), host.get(pk))
        check("DNS_Tree_Name" not in el, "nmap: no DNS_Tree_Name either")
        # System_Time is the host's MsvAvTimestamp (second resolution), read
        # when nmap ran (meta nmap_epoch): the same offset as the probe's.
        st = el.get("System_Time", "")
        try:
            t = datetime.datetime.strptime(st, "%Y-%m-%dT%H:%M:%S%z").timestamp()
            noff = t - meta["nmap_epoch"]
            check(lo <= noff <= hi, "nmap System_Time %s: offset %.0f s within %d..%d" % (st, noff, lo, hi))
            check(isinstance(off, int) and abs(noff - off) <= 30,
                  "nmap's clock offset %.0f s and the probe's %s s agree within 30 s" % (noff, off))
        except ValueError:
            bad("nmap System_Time %r is not a timestamp" % st)
    if meta["full"]:
        check_nmap_enum(os.path.join(d, "nmap.xml"), h, host, "none")
    finish()


# ---- misbehaving listeners -----------------------------------------------------------------

FAULTS = {
    # KIND: (tcp, layer outcome, cause of each layer and profile), from
    # docs/causes.md's wire descriptions:
    # refused: the SYN answered by RST -> upstream_refused
    "refused": ("refused", None, "upstream_refused"),
    # dropped: the SYN never answered -> upstream_unreachable
    "dropped": ("dropped", None, "upstream_unreachable"),
    # silent: TCP accepted, the Connection Request never answered -> x224_no_response
    "silent": ("ok", "timeout", "x224_no_response"),
    # http: the answer to the Connection Request is not TPKT (HTTP/1.1 400)
    # -> not_rdp: something else owns the port
    "http": ("ok", "not_rdp", "not_rdp"),
    # reset: an RST right after the Connection Request, no Connection Confirm
    # -> x224_closed_by_server ("closes or resets right after the Connection
    # Request"). The tap alone reads a close within 1 s of the request as a
    # TLS-terminating middlebox (low confidence); the probe's own bare
    # ClientHello, reset as well, rules that out (rdpwhy.probe.tls_first false).
    "reset": ("ok", "reset", "x224_closed_by_server"),
}


def cmd_fault(kind, d, profdir):
    profs = load_profiles(profdir)
    tcp, layer, cause = FAULTS[kind]
    host, got = load_probe(os.path.join(d, "probe.json"))
    eq("tcp", host.get("rdpwhy.probe.tcp"), tcp)
    if layer:
        eq("layers probed", sorted(host.get("rdpwhy.probe.security_layers", {})),
           ["hybrid", "hybrid_ex", "rdp", "rdstls", "ssl"])
        for name, l in sorted(host.get("rdpwhy.probe.security_layers", {}).items()):
            eq("layer %s outcome" % name, l.get("outcome"), layer)
            eq("layer %s cause" % name, l.get("cause"), cause)
        # a bare ClientHello got no TLS answer either
        eq("tls_first", host.get("rdpwhy.probe.tls_first"), False)
        for v, t in sorted(host.get("rdpwhy.probe.tls_versions", {}).items()):
            eq("TLS %s (no layer accepted)" % v, t.get("outcome"), "not_run")
        eq("no suites", host.get("rdpwhy.probe.tls_suites"), [])
        eq("nla", host.get("rdpwhy.probe.nla"), "not_run")
    else:
        check("rdpwhy.probe.security_layers" not in host, "no security layer step after TCP %s" % tcp)
    eq("profiles reported", sorted(got), sorted(profs))
    for pid in sorted(profs):
        r = got.get(pid, {})
        eq("%s result" % pid, r.get("rdpwhy.probe.result"), "fails")
        eq("%s cause" % pid, r.get("rdpwhy.cause"), cause)
    finish()


def main(argv):
    if len(argv) >= 4 and argv[0] == "want-rc":
        cmd_want_rc(argv[1], argv[2], argv[3])
    elif len(argv) == 3 and argv[0] == "xrdp":
        cmd_xrdp(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "shadow":
        cmd_shadow(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "fault" and argv[1] in FAULTS:
        cmd_fault(argv[1], argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
