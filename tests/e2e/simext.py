"""Helpers for the Gemini and Bedrock simulator tests (test_sim_gemini.py,
test_sim_bedrock.py), on top of simshape.py:

  sigv4_headers(...)      sign a request with AWS Signature Version 4: an
                          independent implementation of the spec (hashlib,
                          hmac), so the simulator's C verifier is checked
                          against something it does not share code with
  eventstream(data)       decode AWS event-stream frames, both CRC-32s
                          checked: [(headers dict, payload bytes)]; raises
                          EventStreamError with the frame index on damage
  yaml_dq_bodies(path)    response bodies of a vcrpy cassette written as
                          folded double-quoted YAML scalars (the pydantic-ai
                          Gemini cassettes), which simshape's reader skips
  unflow(v)               fix up simshape.yaml_parsed_bodies() output: its
                          reader keeps the YAML flow mappings `{}` and `[]`
                          as strings
  diff(rec, sim, optional)        simshape.diff with extra optional keys
  stream_diff(rec, sim, kind, optional, subsequence)
                          simshape.stream_diff with extra optional keys; with
                          subsequence=True the sim's collapsed kinds need only
                          appear in order within the recording's (a recording
                          with an extra text block before a tool call)
  tokens(text)            the simulator's tokenizer (docs/sim.md), to check
                          that usage agrees with the text that was sent
"""
import datetime
import hashlib
import hmac
import json
import re
import struct
import urllib.parse
import zlib

import simshape as S

# ---------------------------------------------------------------- SigV4

EXAMPLE_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def _uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def sigv4_headers(method, path, body, host, access_key, secret, region="us-east-1",
                  service="bedrock", token=None, when=None, extra=None, query=""):
    """Headers for a SigV4-signed request (Host, x-amz-date, content-type,
    optional x-amz-security-token, authorization). `path` is the path as
    sent on the wire; it is URI-encoded once more for the canonical request,
    as AWS SDKs do for every service but S3."""
    t = when or datetime.datetime.now(datetime.timezone.utc)
    amz = t.strftime("%Y%m%dT%H%M%SZ")
    d8 = amz[:8]
    h = {"host": host, "x-amz-date": amz, "content-type": "application/json"}
    if token:
        h["x-amz-security-token"] = token
    for k, v in (extra or {}).items():
        h[k.lower()] = v
    names = sorted(h)
    params = sorted((_uri_encode(urllib.parse.unquote(k), False), _uri_encode(urllib.parse.unquote(v), False))
                    for k, _, v in (p.partition("=") for p in query.split("&") if p))
    canonical = "\n".join([
        method, _uri_encode(path, True), "&".join("%s=%s" % kv for kv in params),
        "".join("%s:%s\n" % (n, " ".join(str(h[n]).split())) for n in names),
        ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (d8, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for m in (d8, region, service, "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, ";".join(names), sig)
    h["Host"] = h.pop("host")  # replaces sylib's default Host header
    return h


# --------------------------------------------------------- event stream

class EventStreamError(Exception):
    def __init__(self, frame, why):
        Exception.__init__(self, "frame %d: %s" % (frame, why))
        self.frame = frame
        self.why = why


def _headers(b):
    out, j = {}, 0
    while j < len(b):
        n = b[j]
        name = b[j + 1:j + 1 + n].decode()
        t = b[j + 1 + n]
        j += 2 + n
        if t in (0, 1):
            v = t == 0
        elif t == 2:
            v, j = struct.unpack(">b", b[j:j + 1])[0], j + 1
            out[name] = v
            continue
        elif t == 3:
            v, j = struct.unpack(">h", b[j:j + 2])[0], j + 2
            out[name] = v
            continue
        elif t == 4:
            v, j = struct.unpack(">i", b[j:j + 4])[0], j + 4
            out[name] = v
            continue
        elif t in (5, 8):
            v, j = struct.unpack(">q", b[j:j + 8])[0], j + 8
            out[name] = v
            continue
        elif t in (6, 7):
            ln = struct.unpack(">H", b[j:j + 2])[0]
            v = b[j + 2:j + 2 + ln]
            v = v.decode() if t == 7 else v
            j += 2 + ln
            out[name] = v
            continue
        elif t == 9:
            v, j = b[j:j + 16], j + 16
            out[name] = v
            continue
        else:
            raise ValueError("header type %d" % t)
        out[name] = v
    return out


def eventstream(data, allow_partial=False):
    """[(headers, payload)] of every frame in data. A damaged frame raises
    EventStreamError; trailing bytes that are not a whole frame raise it too
    unless allow_partial (then they are ignored)."""
    out, off, i = [], 0, 0
    while off < len(data):
        if len(data) - off < 12:
            if allow_partial:
                break
            raise EventStreamError(i, "cut short in the prelude")
        total, hlen, pcrc = struct.unpack(">III", data[off:off + 12])
        if zlib.crc32(data[off:off + 8]) != pcrc:
            raise EventStreamError(i, "prelude CRC")
        if len(data) - off < total:
            if allow_partial:
                break
            raise EventStreamError(i, "cut short")
        m = data[off:off + total]
        if zlib.crc32(m[:-4]) != struct.unpack(">I", m[-4:])[0]:
            raise EventStreamError(i, "message CRC")
        out.append((_headers(m[12:12 + hlen]), m[12 + hlen:-4]))
        off += total
        i += 1
    return out


def bedrock_events(data):
    """[{"<event type>": payload}] the way vercel-ai writes Bedrock chunks
    (payload JSON parsed; exceptions under their :exception-type)."""
    out = []
    for h, p in eventstream(data):
        name = h.get(":event-type") or h.get(":exception-type")
        out.append({name: json.loads(p) if p else None})
    return out


def bedrock_kind(ev):
    """The role a decoded Bedrock event plays: its type, and for block
    starts and deltas what they carry (toolUse, text, reasoningContent.text
    or reasoningContent.signature)."""
    (name, body), = ev.items()
    if name == "contentBlockStart":
        return name + ":" + next(iter(body.get("start", {})), "?")
    if name == "contentBlockDelta":
        d = body.get("delta", {})
        k = next(iter(d), "?")
        if k == "reasoningContent":  # text pieces, then the signature
            k += "." + next(iter(d[k]), "?")
        return name + ":" + k
    return name


# ------------------------------------------------------------------ YAML

def _dq_scan(lines, i, first):
    """Pieces of a double-quoted scalar starting with `first` (the text after
    the opening quote) on line i, up to the closing quote."""
    pieces, cur, j = [], first, i
    while True:
        k, end = 0, -1
        while k < len(cur):
            if cur[k] == "\\":
                k += 2
                continue
            if cur[k] == '"':
                end = k
                break
            k += 1
        if end >= 0:
            pieces.append(cur[:end])
            return pieces, j + 1
        pieces.append(cur)
        j += 1
        cur = lines[j].strip(" \t")


def _dq_value(pieces):
    """YAML double-quoted folding: a line break is a space, an empty line a
    newline, a trailing backslash joins; then JSON-compatible escapes."""
    s = pieces[0].rstrip(" \t") if len(pieces) > 1 else pieces[0]
    for n, p in enumerate(pieces[1:], 1):
        if s.endswith("\\") and (len(s) - len(s.rstrip("\\"))) % 2 == 1:
            s = s[:-1] + p
        elif p == "":
            s += "\n"
        elif s.endswith("\n"):
            s += p
        else:
            s += " " + p
        if n < len(pieces) - 1 and not s.endswith("\\"):
            s = s.rstrip(" \t")
    s = s.replace("\\ ", " ").replace("\\/", "/")
    s = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: "\\u00" + m.group(1), s)
    return json.loads('"' + s.replace("\t", "\\t") + '"')


def yaml_dq_bodies(path):
    """Response `string:` bodies written as double-quoted scalars, in order."""
    with open(path) as f:
        lines = f.read().split("\n")
    out, in_resp, i = [], False, 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("response:"):
            in_resp = True
        elif s.startswith("- request:") or s.startswith("request:"):
            in_resp = False
        if in_resp and s.startswith('string: "'):
            pieces, i = _dq_scan(lines, i, s[len('string: "'):])
            out.append(_dq_value(pieces))
            continue
        i += 1
    return out


def unflow(v):
    if isinstance(v, dict):
        return {k: unflow(x) for k, x in v.items()}
    if isinstance(v, list):
        return [unflow(x) for x in v]
    if v == "{}":
        return {}
    if v == "[]":
        return []
    return v


# ---------------------------------------------------------------- shapes

def diff(rec, sim, optional=()):
    saved = set(S.OPTIONAL)
    S.OPTIONAL.update(optional)
    try:
        return S.diff(rec, sim)
    finally:
        S.OPTIONAL.clear()
        S.OPTIONAL.update(saved)


def _subsequence(small, big):
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def stream_diff(rec, sim, kind, optional=(), subsequence=False):
    saved = set(S.OPTIONAL)
    S.OPTIONAL.update(optional)
    try:
        if not subsequence:
            return S.stream_diff(rec, sim, kind)
        rk, sk = S.collapse([kind(e) for e in rec]), S.collapse([kind(e) for e in sim])
        out = [] if _subsequence(sk, rk) else ["event order: sim %s not within recording %s" % (sk, rk)]
        first = {}
        for e in rec:
            first.setdefault(kind(e), e)
        for i, e in enumerate(sim):
            if kind(e) in first:
                out += S.diff(first[kind(e)], e, "event[%d](%s)" % (i, kind(e)))
        return out
    finally:
        S.OPTIONAL.clear()
        S.OPTIONAL.update(saved)


# --------------------------------------------------------------- tokens

def tokens(text):
    """The simulator's tokenizer: a run of ASCII letters, digits and
    non-ASCII bytes, or any one other non-space character; whitespace joins
    the token after it."""
    b = text.encode()
    n, i = 0, 0
    while i < len(b):
        while i < len(b) and b[i] in b" \t\r\n":
            i += 1
        if i >= len(b):
            break
        c = b[i]
        if c >= 0x80 or chr(c).isalnum():
            while i < len(b) and (b[i] >= 0x80 or chr(b[i]).isalnum()):
                i += 1
        else:
            i += 1
        n += 1
    return n


# ------------------------------------------------------------ raw HTTP

def raw(port, method, path, body, headers, timeout=3.0):
    """Send one request; read until EOF, reset, timeout, or a complete
    response. Returns (bytes, how): how is complete, eof, reset or timeout."""
    import socket
    from sylib import connect
    s = connect(port, timeout)
    h = {"Host": "127.0.0.1"}
    h.update(headers)
    data = body if isinstance(body, bytes) else body.encode()
    h["Content-Length"] = str(len(data))
    s.sendall(("%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode() + data)
    s.settimeout(timeout)
    out, how = b"", "eof"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if out.endswith(b"0\r\n\r\n") or _complete_cl(out):
                how = "complete"
                break
    except socket.timeout:
        how = "timeout"
    except ConnectionResetError:
        how = "reset"
    finally:
        s.close()
    return out, how


def _complete_cl(out):
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def dechunk(data):
    """Body bytes of a (possibly cut) chunked response."""
    _, _, rest = data.partition(b"\r\n\r\n")
    out = b""
    while rest:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += rest[:n]
        rest = rest[n + 2:]
    return out


def header_of(data, name):
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except Exception:
        return None
