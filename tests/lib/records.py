"""Reading rdpwhy's JSON records in the tests, whatever their json_style.

rdpwhy writes a record nested by default ({"rdpwhy": {"cause": ...}}) or, with
json_style = flat, as one object with dotted keys ({"rdpwhy.cause": ...}).
The tests name keys by their dotted names (README "The JSON record"):
flatten() turns either form into that one, so r["rdpwhy.cause"] works on both.

  from records import flatten, loads, load, parse_lines
  r = loads(line)              # one record, flattened
  recs = load(path)            # every record of a JSON-lines file
  recs = parse_lines(text)     # every non-empty line of a string

Arrays are values (rdpwhy.evidence stays a list); only objects are flattened.
A key that is both a value and an object prefix cannot occur (the writer's key
table forbids it), and flatten() refuses one rather than silently merging.
"""
import json


def flatten(obj, prefix="", out=None, keep=()):
    """The dotted-key form of a record (nested or already flat). Keys named
    in keep have objects as values (the probe's rdpwhy.probe.tls_versions,
    say) and stay objects."""
    if out is None:
        out = {}
    for k, v in obj.items():
        name = prefix + k if not prefix else prefix + "." + k
        if isinstance(v, dict) and name not in keep:
            flatten(v, name, out, keep)
        else:
            if name in out:
                raise ValueError("key %s twice" % name)
            out[name] = v
    return out


def loads(line):
    """One JSON record line, flattened."""
    return flatten(json.loads(line))


def parse_lines(text):
    """Every non-blank line of text, each a record, flattened."""
    return [loads(l) for l in text.splitlines() if l.strip()]


def load(path):
    """The records of a JSON-lines file, flattened."""
    with open(path, encoding="utf-8") as f:
        return parse_lines(f.read())


def is_nested(line):
    """True when the line's record is nested (json_style = nested)."""
    r = json.loads(line)
    return isinstance(r.get("rdpwhy"), dict) and "rdpwhy.cause" not in r
