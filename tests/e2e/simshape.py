"""Reading recorded provider transcripts and comparing JSON shapes.

Readers (no YAML library: python3's stdlib has none, so the two cassette
formats are read by purpose-built code that understands only what they use):
  chunks(path)                vercel-ai *.chunks.txt: one JSON event per line
  json_file(path)             a whole JSON body
  sse_text(text)              raw SSE -> [(event or None, data string)]
  yaml_bodies(path)           every response body string of a go-vcr (v2) or
                              vcrpy (v1 `string:`) cassette, in order
  yaml_parsed_bodies(path)    every response `parsed_body` mapping (vcrpy)

Shapes: shape(v) replaces every scalar by its JSON type name, keeps object
keys, and turns an array into the sorted list of its distinct element shapes.
diff(rec, sim) lists where two values' shapes differ. OPTIONAL keys may be
absent on either side (they come and go between recording dates).
"""
import json
import re

OPTIONAL = {"inference_geo"}


# ------------------------------------------------------------------ readers

def chunks(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def json_file(path):
    with open(path) as f:
        return json.load(f)


def sse_text(text):
    """[(event, data)] from SSE text; CRLF or LF; `event:` optional."""
    out = []
    for block in re.split(r"\r?\n\r?\n", text):
        ev, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            out.append((ev, "\n".join(data)))
    return out


def _block_scalar(lines, i, key_indent):
    """Lines after a `key: |` / `|-` / `|+` header at index i-1, dedented."""
    body = []
    indent = None
    while i < len(lines):
        line = lines[i]
        if line.strip() == "":
            body.append("")
            i += 1
            continue
        ind = len(line) - len(line.lstrip(" "))
        if ind <= key_indent:
            break
        if indent is None:
            indent = ind
        body.append(line[indent:])
        i += 1
    return "\n".join(body).rstrip("\n") + "\n", i


def _dq_scalar(text):
    """A YAML double-quoted scalar on one line: JSON escapes suffice here."""
    return json.loads(text)


def yaml_bodies(path):
    """Response body strings, in order (go-vcr `body:` under `response:`,
    vcrpy `string:` under `response: body:`)."""
    with open(path) as f:
        lines = f.read().split("\n")
    out = []
    in_resp = False
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        ind = len(line) - len(line.lstrip(" "))
        if s.startswith("response:"):
            in_resp = True
        elif s.startswith("request:") or s.startswith("- request:"):
            in_resp = False
        if in_resp and (s.startswith("body: ") or s.startswith("string: ")):
            val = s.split(": ", 1)[1]
            if val.startswith("|"):
                text, i = _block_scalar(lines, i + 1, ind)
                out.append(text)
                continue
            if val.startswith('"'):
                out.append(_dq_scalar(val))
        i += 1
    return out


def _scalar(v):
    v = v.strip()
    if v in ("null", "~", ""):
        return None
    if v in ("true", "false"):
        return v == "true"
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d+\.\d+", v):
        return float(v)
    if v.startswith("'") and v.endswith("'"):
        return v[1:-1].replace("''", "'")
    if v.startswith('"'):
        return json.loads(v)
    return v


def _mapping(lines, i, indent):
    """A block mapping (or sequence of mappings) at exactly `indent`."""
    if i < len(lines) and lines[i].lstrip(" ").startswith("- ") and len(lines[i]) - len(lines[i].lstrip(" ")) == indent:
        seq = []
        while i < len(lines):
            line = lines[i]
            ind = len(line) - len(line.lstrip(" "))
            if ind != indent or not line.lstrip(" ").startswith("- "):
                break
            lines[i] = line[:ind] + "  " + line[ind + 2:]
            item, i = _mapping(lines, i, indent + 2)
            seq.append(item)
        return seq, i
    obj = {}
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        ind = len(line) - len(line.lstrip(" "))
        if ind < indent:
            break
        if ind > indent:  # continuation of a folded plain scalar
            i += 1
            continue
        key, _, rest = line.strip().partition(":")
        rest = rest.strip()
        i += 1
        if rest == "":
            nxt = i
            while nxt < len(lines) and not lines[nxt].strip():
                nxt += 1
            if nxt < len(lines):
                nind = len(lines[nxt]) - len(lines[nxt].lstrip(" "))
                if nind > ind or (nind == ind and lines[nxt].lstrip(" ").startswith("- ")):
                    obj[key], i = _mapping(lines, nxt, nind)
                    continue
            obj[key] = None
        elif rest.startswith("|"):
            obj[key], i = _block_scalar(lines, i, ind)
        else:
            obj[key] = _scalar(rest)
    return obj, i


def yaml_parsed_bodies(path):
    """Response `parsed_body` mappings of a vcrpy cassette, in order."""
    with open(path) as f:
        lines = f.read().split("\n")
    out = []
    in_resp = False
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("response:"):
            in_resp = True
        elif s.startswith("- request:") or s.startswith("request:"):
            in_resp = False
        elif in_resp and s == "parsed_body:":
            ind = len(lines[i + 1]) - len(lines[i + 1].lstrip(" "))
            obj, _ = _mapping(list(lines), i + 1, ind)
            out.append(obj)
    return out


# ------------------------------------------------------------------- shapes

def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        seen = {}
        for x in v:
            s = shape(x)
            seen[json.dumps(s, sort_keys=True)] = s
        return [seen[k] for k in sorted(seen)]
    return type_name(v)


def diff(rec, sim, path="$"):
    """Differences between the shapes of rec (recording) and sim: a list of
    strings, empty when they agree."""
    out = []
    tr, ts = type_name(rec), type_name(sim)
    if tr != ts:
        return ["%s: recording has %s, sim has %s" % (path, tr, ts)]
    if tr == "object":
        for k in rec:
            if k not in sim and k not in OPTIONAL:
                out.append("%s.%s: missing in sim" % (path, k))
        for k in sim:
            if k not in rec and k not in OPTIONAL:
                out.append("%s.%s: not in the recording" % (path, k))
        for k in rec:
            if k in sim:
                out += diff(rec[k], sim[k], path + "." + k)
    elif tr == "array" and rec and sim:
        # Element by element against the recording's element of the same
        # kind (its "type" member), else against its first element.
        def kind(x):
            return x.get("type") if isinstance(x, dict) else type_name(x)
        by_kind = {}
        for x in rec:
            by_kind.setdefault(kind(x), x)
        for i, x in enumerate(sim):
            ref = by_kind.get(kind(x))
            if ref is None:
                out.append("%s[%d]: element kind %r not in the recording" % (path, i, kind(x)))
                continue
            out += diff(ref, x, "%s[%d]" % (path, i))
        for k in by_kind:
            if k not in {kind(x) for x in sim}:
                out.append("%s: element kind %r missing in sim" % (path, k))
    return out


# ------------------------------------------------------------------ streams

def openai_kind(ev):
    """The role an OpenAI chat chunk plays in a stream."""
    if ev.get("error"):
        return "error"
    ch = ev.get("choices")
    if ch == [] and ev.get("usage"):
        return "usage"
    if ch == []:
        return "prompt_filter"
    c = ch[0]
    if c.get("finish_reason"):
        return "finish"
    d = c.get("delta", {})
    if "role" in d:
        return "role+tool" if d.get("tool_calls") else "role"
    if d.get("tool_calls"):
        return "tool_start" if d["tool_calls"][0].get("id") else "tool_args"
    return "content"


def anthropic_kind(ev):
    t = ev.get("type")
    if t == "content_block_start":
        return t + ":" + ev["content_block"]["type"]
    if t == "content_block_delta":
        return t + ":" + ev["delta"]["type"]
    return t


def collapse(kinds, drop=("ping",)):
    """Kinds in order, consecutive repeats merged, `drop` kinds removed."""
    out = []
    for k in kinds:
        if k in drop:
            continue
        if not out or out[-1] != k:
            out.append(k)
    return out


def stream_diff(rec_events, sim_events, kind):
    """Compare two event lists: the collapsed order of kinds, then each sim
    event's shape against the recording's first event of the same kind."""
    rk = [kind(e) for e in rec_events]
    sk = [kind(e) for e in sim_events]
    out = []
    if collapse(rk) != collapse(sk):
        out.append("event order: recording %s, sim %s" % (collapse(rk), collapse(sk)))
    first = {}
    for k, e in zip(rk, rec_events):
        first.setdefault(k, e)
    for i, (k, e) in enumerate(zip(sk, sim_events)):
        if k in first:
            out += diff(first[k], e, "event[%d](%s)" % (i, k))
    return out
