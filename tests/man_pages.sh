#!/bin/sh
# The man pages and the shell completion against the program (issue #13 item 7):
#   - docs/man/rdpwhy.1 and rdpwhy.conf.5 format without a warning
#     (groff -man -ww -z, man --warnings -l);
#   - every command `rdpwhy --help` lists has a .SS section in rdpwhy(1), and
#     every option of `rdpwhy CMD --help` is a tagged paragraph (.TP) of that
#     section, and no tag names an option the command no longer has;
#   - every key of the key table in conf/config.c is a .TP under KEYS in
#     rdpwhy.conf(5), and no other key is;
#   - the version in both pages' .TH is `rdpwhy --version`'s;
#   - the bash completion offers every option of every command, the --format
#     values the help names, and every config key after --set; the zsh
#     completion names every option and parses (zsh -n).
# usage: man_pages.sh RDPWHY SOURCE_DIR
# Needs groff (groff-base), man-db, python3, zsh: missing, the test fails.
set -eu
rdpwhy=$1
src=$(cd "$2" && pwd)
fail=0
for tool in groff man python3 zsh bash; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "man_pages: FAILED: $tool is not installed (scripts/setup.sh --test installs it)" >&2
		fail=1
	fi
done
[ "$fail" -eq 0 ] || exit 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for page in "$src/docs/man/rdpwhy.1" "$src/docs/man/rdpwhy.conf.5"; do
	# -ww: every warning; -z: no output, only the diagnostics.
	if ! LC_ALL=C.UTF-8 groff -man -ww -z "$page" >"$tmp/groff" 2>&1 || [ -s "$tmp/groff" ]; then
		echo "man_pages: FAILED: groff -man -ww warns about $page:" >&2
		cat "$tmp/groff" >&2
		fail=1
	fi
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/man" || [ -s "$tmp/man" ]; then
		echo "man_pages: FAILED: man --warnings -l warns about $page:" >&2
		cat "$tmp/man" >&2
		fail=1
	fi
	[ -s "$tmp/out" ] || { echo "man_pages: FAILED: man -l $page printed nothing" >&2; fail=1; }
done

# Each command's --help, as the program prints it now.
"$rdpwhy" --help >"$tmp/help" || { echo "man_pages: FAILED: rdpwhy --help exits non-zero" >&2; exit 1; }
"$rdpwhy" --version >"$tmp/version" || { echo "man_pages: FAILED: rdpwhy --version exits non-zero" >&2; exit 1; }
cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp/help")
[ -n "$cmds" ] || { echo "man_pages: FAILED: no commands found in rdpwhy --help" >&2; exit 1; }
for c in $cmds; do
	if ! "$rdpwhy" "$c" --help >"$tmp/help.$c" 2>&1; then
		echo "man_pages: FAILED: rdpwhy $c --help exits non-zero" >&2
		fail=1
	fi
done

python3 - "$tmp" "$src" "$cmds" <<'PY' || fail=1
import os
import re
import subprocess
import sys

tmp, src, cmds = sys.argv[1], sys.argv[2], sys.argv[3].split()
bad = []

def options(text):
    """Option words of a help text: -x and --long-name (up to an '=')."""
    found = set()
    for m in re.finditer(r"(?:^|[\s,\[(|])(--?[A-Za-z][A-Za-z0-9-]*)", text, re.M):
        found.add(m.group(1))
    return found

def plain(roff):
    """A roff line as text: font and other escapes out, \\- as -, macro names out."""
    s = roff.replace("\\-", "-").replace("\\(aq", "'").replace("\\e", "\\")
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = re.sub(r"\\\(..", " ", s)
    s = re.sub(r"\\[&|^ ]", "", s)
    s = re.sub(r"^\.[A-Za-z]+\s*", "", s)
    return s.replace('"', " ")

def sections(path, level):
    """{heading: [lines]} for the .SH (level 'SH') or .SS headings of a page."""
    out, cur = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r"\.(SH|SS)\s+\"?([^\"]*)\"?\s*$", line)
        if m:
            cur = m.group(2).strip() if m.group(1) == level else (None if level == "SS" else cur)
            if cur is not None:
                out.setdefault(cur, [])
            continue
        if cur is not None:
            out[cur].append(line)
    return out

def tags(lines):
    """The tag lines of the tagged paragraphs (the line after each .TP)."""
    return [plain(lines[i + 1]) for i, l in enumerate(lines[:-1]) if l.startswith(".TP")]

man1 = os.path.join(src, "docs/man/rdpwhy.1")
man5 = os.path.join(src, "docs/man/rdpwhy.conf.5")
version = open(os.path.join(tmp, "version")).read().split()[-1]
for page in (man1, man5):
    th = next((l for l in open(page, encoding="utf-8") if l.startswith(".TH")), "")
    if '"rdpwhy %s"' % version not in th:
        bad.append("%s: .TH does not say \"rdpwhy %s\" (rdpwhy --version): %s" % (page, version, th.strip()))

# rdpwhy(1): the top level, then each command's .SS section.
ss = sections(man1, "SS")
sh = sections(man1, "SH")
# The usage paragraph only: the command list names command options (capture -i).
top_help = options(open(os.path.join(tmp, "help")).read().split("\n\n")[0])
top_tags = set().union(*[options(t) for t in tags(sh.get("OPTIONS", []))]) if sh.get("OPTIONS") else set()
for o in sorted(top_help - top_tags):
    bad.append("rdpwhy(1): option %s of 'rdpwhy --help' is not a .TP tag under OPTIONS" % o)
help_opts = {}
for c in cmds:
    text = open(os.path.join(tmp, "help." + c)).read()
    help_opts[c] = options(text)
    if c not in ss:
        bad.append("rdpwhy(1): no '.SS %s' section for the command %s" % (c, c))
        continue
    documented = set()
    for t in tags(ss[c]):
        documented |= options(t)
    for o in sorted(help_opts[c] - documented):
        bad.append("rdpwhy(1): option %s of 'rdpwhy %s --help' is not a .TP tag in the %s section" % (o, c, c))
    # -h/--help: every command takes them, not every help lists them.
    for o in sorted(documented - help_opts[c] - {"-h", "--help"}):
        bad.append("rdpwhy(1): the %s section documents %s, which 'rdpwhy %s --help' does not list" % (c, o, c))
for c in ss:
    if c not in cmds:
        bad.append("rdpwhy(1): section '.SS %s' names no command of 'rdpwhy --help'" % c)

# rdpwhy.conf(5): the keys of conf/config.c's table.
code = open(os.path.join(src, "conf/config.c"), encoding="utf-8").read()
m = re.search(r"static const struct key keys\[\]\s*=\s*\{(.*?)\n\};", code, re.S)
if not m:
    bad.append("conf/config.c: the key table (static const struct key keys[]) was not found")
    keys = set()
else:
    keys = set(re.findall(r'\{\s*"([a-z0-9_]+)"\s*,\s*K_', m.group(1)))
    if len(keys) < 10:
        bad.append("conf/config.c: only %d keys read from the key table" % len(keys))
sh5 = sections(man5, "SH")
keylines = sh5.get("KEYS", [])
mankeys = set()
for t in tags(keylines):
    w = t.split()
    if w:
        mankeys.add(w[0])
for k in sorted(keys - mankeys):
    bad.append("rdpwhy.conf(5): key %s of conf/config.c is not a .TP tag under KEYS" % k)
for k in sorted(mankeys - keys):
    bad.append("rdpwhy.conf(5): documents key %s, which conf/config.c does not accept" % k)

# bash completion: run it the way bash would for each command.
bashc = os.path.join(src, "contrib/completion/rdpwhy.bash")
def complete(*words):
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _rdpwhy; printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", script, "bash", bashc] + list(words),
                       capture_output=True, text=True, cwd=tmp)
    if r.returncode != 0 or r.stderr:
        bad.append("bash completion for %r: exit %d, %s" % (words, r.returncode, r.stderr.strip()))
    return set(l for l in r.stdout.split("\n") if l)

offered = complete("rdpwhy", "")
for c in cmds:
    if c not in offered:
        bad.append("bash completion: command %s is not offered after 'rdpwhy '" % c)
for c in cmds:
    got = complete("rdpwhy", c, "-")
    for o in sorted(help_opts[c] - got):
        bad.append("bash completion: rdpwhy %s does not offer %s" % (c, o))
    for o in sorted(got - help_opts[c] - {"-h", "--help"}):
        bad.append("bash completion: rdpwhy %s offers %s, which its --help does not list" % (c, o))
    text = open(os.path.join(tmp, "help." + c)).read()
    fm = re.search(r"--format[ =]([a-z]+(?:\|[a-z]+)+)", text)
    if fm:
        want = set(fm.group(1).split("|"))
        got = complete("rdpwhy", c, "--format", "")
        if got != want:
            bad.append("bash completion: rdpwhy %s --format offers %s, --help says %s"
                       % (c, sorted(got), sorted(want)))
for c in cmds:
    if "--set" in help_opts[c]:
        got = {w.rstrip("=") for w in complete("rdpwhy", c, "--set", "")}
        for k in sorted(keys - got):
            bad.append("bash completion: rdpwhy %s --set does not offer %s" % (c, k))
        for k in sorted(got - keys):
            bad.append("bash completion: rdpwhy %s --set offers %s, not a key of conf/config.c" % (c, k))

# zsh completion: the options are named in the file, and it parses.
zshc = os.path.join(src, "contrib/completion/_rdpwhy")
ztext = open(zshc, encoding="utf-8").read()
zwords = set(re.findall(r"--?[A-Za-z][A-Za-z0-9-]*", ztext))
for c in cmds:
    for o in sorted(help_opts[c] - zwords):
        bad.append("zsh completion: %s (rdpwhy %s) is not in _rdpwhy" % (o, c))
    if not re.search(r"^\s+%s\)\s*$" % re.escape(c), ztext, re.M):
        bad.append("zsh completion: no case for the command %s" % c)
for k in sorted(keys):
    if not re.search(r"\b%s\b" % k, ztext):
        bad.append("zsh completion: config key %s is not offered after --set" % k)
r = subprocess.run(["zsh", "-n", zshc], capture_output=True, text=True)
if r.returncode != 0:
    bad.append("zsh -n _rdpwhy: %s" % r.stderr.strip())

for b in bad:
    print("man_pages: FAILED: " + b, file=sys.stderr)
print("man_pages: %d commands (%s), %d options, %d config keys checked; %d problem(s)"
      % (len(cmds), " ".join(cmds), sum(len(v) for v in help_opts.values()), len(keys), len(bad)))
sys.exit(1 if bad else 0)
PY
exit "$fail"
