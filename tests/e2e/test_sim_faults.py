"""`switchyard sim`: every fault control, pacing, behaviour headers, the
config file, and the request log (/_sim/requests, /_sim/reset) with secrets
masked. Raw sockets, so what a client sees on the wire is what is checked."""
import json
import os
import socket
import subprocess
import tempfile
import time

from sylib import BIN, Server, check, connect, done, jbody, read_response, request

CONFIG = """
record_requests: 50
models:
  - name: shaky
    family: openai
    fault: 503
    fault_first: 2
  - name: coin
    family: anthropic
    fault: 500
    fault_rate: 0.5
  - name: slow-mini
    family: openai
    ttft: 300ms
    tps: 100
    output_tokens: 20
"""

srv = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}", "--workers", "2"], CONFIG)
P = srv.port

OA = {"Authorization": "Bearer sk-test-abcdefghijkl1234", "Content-Type": "application/json"}
AN = {"x-api-key": "ak-test-abcdefghijkl5678", "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
CHAT = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
CHAT_STREAM = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True})
MSG = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]})
MSG_STREAM = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "hi"}]})


def raw(method, path, body, headers, timeout=3.0):
    """Send one request; read until EOF, reset or timeout.
    Returns (bytes, how) with how in "eof", "reset", "timeout"."""
    s = connect(P, timeout)
    h = {"Host": "127.0.0.1"}
    h.update(headers)
    data = body.encode()
    h["Content-Length"] = str(len(data))
    s.sendall(("%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode() + data)
    s.settimeout(timeout)
    out = b""
    how = "eof"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if out.endswith(b"0\r\n\r\n") or (b"Content-Length" in out and complete_cl(out)):
                how = "complete"
                break
    except socket.timeout:
        how = "timeout"
    except ConnectionResetError:
        how = "reset"
    finally:
        s.close()
    return out, how


def complete_cl(out):
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


def header(data, name):
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def status(data):
    try:
        return int(data.split(b" ", 2)[1])
    except Exception:
        return None


def fault(headers, f, after=None, ra=None):
    h = dict(headers)
    h["x-sim-fault"] = f
    if after is not None:
        h["x-sim-fault-after"] = str(after)
    if ra is not None:
        h["x-sim-retry-after"] = str(ra)
    return h


# --- status faults, both families ---
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, fault(OA, "429", ra=5))
j = jbody(b)
check("openai 429 with Retry-After and the rate-limit error shape",
      st == 429 and h.get("retry-after") == "5" and j["error"]["code"] == "rate_limit_exceeded" and set(j["error"]) == {"message", "type", "param", "code"}, (st, h, b))
for code in ("500", "503", "529"):
    st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, fault(OA, code))
    j = jbody(b)
    check("openai %s body is an OpenAI error" % code, st == int(code) and j and "message" in j["error"] and "type" in j["error"], (st, b))
want = {"429": "rate_limit_error", "500": "api_error", "503": "api_error", "529": "overloaded_error"}
for code, typ in want.items():
    st, h, b = request(P, "POST", "/v1/messages", MSG, fault(AN, code))
    j = jbody(b)
    check("anthropic %s -> %s" % (code, typ), st == int(code) and j and j["type"] == "error" and j["error"]["type"] == typ and j["request_id"].startswith("req_"), (st, b))
st, h, b = request(P, "POST", "/v1/messages", MSG, fault(AN, "529"))
check("anthropic 529 has Retry-After (default 1)", h.get("retry-after") == "1", h)

# --- hang before the head ---
t0 = time.time()
out, how = raw("POST", "/v1/chat/completions", CHAT, fault(OA, "hang"), timeout=1.0)
check("hang: no byte ever, the client times out", out == b"" and how == "timeout" and time.time() - t0 >= 0.9, (out[:80], how))

# --- hang mid-stream ---
out, how = raw("POST", "/v1/chat/completions", CHAT_STREAM, fault(OA, "hang-stream", after=2), timeout=1.0)
body = dechunk(out)
check("hang-stream: head and 2 events, then silence on an open connection",
      status(out) == 200 and how == "timeout" and body.count(b"data: ") == 2 and b"[DONE]" not in body, (how, body[-200:]))

# --- reset mid-stream ---
out, how = raw("POST", "/v1/messages", MSG_STREAM, fault(AN, "reset", after=3), timeout=3.0)
body = dechunk(out)
check("reset: some events, then ECONNRESET", how == "reset" and body.count(b"event: ") >= 3 and b"message_stop" not in body, (how, body[-200:]))

# --- truncate ---
out, how = raw("POST", "/v1/chat/completions", CHAT_STREAM, fault(OA, "truncate", after=2), timeout=3.0)
body = dechunk(out)
last = body.split(b"\n\n")[-1]
check("truncate (stream): closed after a cut event, no final chunk",
      how == "eof" and not out.endswith(b"0\r\n\r\n") and body.count(b"data: ") == 3 and last.startswith(b"data: {") and jbody(last[6:]) is None, (how, body[-200:]))
out, how = raw("POST", "/v1/chat/completions", CHAT, fault(OA, "truncate"), timeout=3.0)
body = dechunk(out)
check("truncate (whole body): half a JSON body then close", status(out) == 200 and how == "eof" and body.startswith(b"{") and jbody(body) is None, (how, out[:300]))

# --- malformed ---
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, fault(OA, "malformed"))
check("malformed (whole body): 200, well-framed, not JSON", st == 200 and h.get("content-type") == "application/json" and b and jbody(b) is None, (st, b[:100]))
out, how = raw("POST", "/v1/messages", MSG_STREAM, fault(AN, "malformed", after=2), timeout=3.0)
body = dechunk(out)
events = [e for e in body.split(b"\n\n") if e]
bad = [e for e in events if jbody(e.split(b"data: ", 1)[1]) is None]
check("malformed (stream): one invalid event, then the stream completes",
      how == "complete" and len(bad) == 1 and events.index(bad[0]) == 2 and b"message_stop" in body, (how, len(bad)))

# --- wrong content type ---
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, fault(OA, "content-type"))
check("content-type (whole body): JSON served as text/html", st == 200 and h.get("content-type", "").startswith("text/html") and jbody(b) is not None, (st, h))
out, how = raw("POST", "/v1/messages", MSG_STREAM, fault(AN, "content-type"), timeout=3.0)
check("content-type (stream): SSE served as text/html", (header(out, "content-type") or "").startswith("text/html") and b"message_start" in dechunk(out), header(out, "content-type"))

# --- status fault mid-stream: Anthropic's error event ---
out, how = raw("POST", "/v1/messages", MSG_STREAM, fault(AN, "529", after=3), timeout=3.0)
body = dechunk(out)
events = [e for e in body.split(b"\n\n") if e]
check("529 after 3 events: event: error with overloaded_error, stream ends",
      how == "complete" and len(events) == 4 and events[-1].startswith(b"event: error\ndata: ") and
      jbody(events[-1].split(b"data: ", 1)[1])["error"]["type"] == "overloaded_error", (how, events[-1:]))

# --- bad behaviour header ---
st, h, b = request(P, "POST", "/v1/messages", MSG, dict(AN, **{"x-sim-tps": "fast"}))
j = jbody(b)
check("invalid x-sim-* value: 400 in the family's shape", st == 400 and j and j["error"]["type"] == "invalid_request_error" and "x-sim-tps" in j["error"]["message"], (st, b))
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, dict(OA, **{"x-sim-bogus": "1"}))
check("unknown x-sim-* header: 400", st == 400, (st, b))

# --- pacing ---
t0 = time.time()
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, dict(OA, **{"x-sim-ttft-ms": "250"}))
el = time.time() - t0
check("x-sim-ttft-ms delays a whole response", st == 200 and 0.24 <= el < 1.5, el)
t0 = time.time()
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, dict(OA, **{"x-sim-tps": "100", "x-sim-output-tokens": "30"}))
el = time.time() - t0
check("x-sim-tps paces a whole response: 30 tokens at 100/s", st == 200 and 0.28 <= el < 1.5, el)
s = connect(P, 5)
s.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
           "x-sim-ttft-ms: 200\r\nx-sim-tps: 50\r\nx-sim-output-tokens: 10\r\nContent-Length: %d\r\n\r\n%s" % (len(CHAT_STREAM), CHAT_STREAM)).encode())
t0 = time.time()
first = None
stamps = []
buf = b""
s.settimeout(5)
while not buf.endswith(b"0\r\n\r\n"):
    c = s.recv(65536)
    if not c:
        break
    buf += c
    if first is None:
        first = time.time() - t0
    stamps.append(time.time() - t0)
s.close()
total = stamps[-1] if stamps else 0
check("stream: first bytes after ttft, then paced at tps (10 tokens at 50/s)", first is not None and 0.19 <= first < 0.6 and 0.38 <= total < 1.5, (first, total))

# --- the model's fault schedule ---
sts = [request(P, "POST", "/v1/chat/completions", json.dumps({"model": "shaky", "messages": [{"role": "user", "content": "x"}]}), OA)[0] for _ in range(4)]
check("fault_first: 2 fails the first two requests only", sts == [503, 503, 200, 200], sts)
sts = [request(P, "POST", "/v1/messages", json.dumps({"model": "coin", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}), AN)[0] for _ in range(40)]
fails = sts.count(500)
check("fault_rate: 0.5 fails about half", 8 <= fails <= 32 and sts.count(200) == 40 - fails, fails)
t0 = time.time()
st, h, b = request(P, "POST", "/v1/chat/completions", json.dumps({"model": "slow-mini", "messages": [{"role": "user", "content": "x"}]}), OA)
el = time.time() - t0
check("per-model ttft + tps from the config (300 ms + 20 tokens at 100/s)", st == 200 and 0.45 <= el < 2, el)

# --- request log ---
request(P, "POST", "/_sim/reset", "")
st, h, b = request(P, "GET", "/_sim/requests")
check("after reset the log is empty", st == 200 and jbody(b)["requests"] == [], b[:200])
request(P, "POST", "/v1/chat/completions?key=supersecretvalue99&x=1", CHAT, OA)
request(P, "POST", "/v1/messages", MSG, dict(AN, **{"x-goog-api-key": "goog-secret-abcdef1234", "api-key": "azure-secret-abcdef5678"}))
request(P, "POST", "/model/x/converse", "not json", {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123456789abcdef", "Content-Type": "application/json"})
st, h, b = request(P, "GET", "/_sim/requests")
j = jbody(b)
reqs = j["requests"] if j else []
check("three requests recorded, oldest first", len(reqs) == 3 and [r["path"] for r in reqs] == ["/v1/chat/completions", "/v1/messages", "/model/x/converse"], [r.get("path") for r in reqs])
if len(reqs) == 3:
    a, m, bz = reqs
    check("method, query with key= masked", a["method"] == "POST" and a["query"] == "key=****ue99&x=1", a["query"])
    check("Authorization masked, scheme kept", a["headers"]["authorization"] == "Bearer ****1234", a["headers"])
    check("JSON body recorded as JSON", a["body"]["model"] == "gpt-4o-mini" and a["body"]["messages"][0]["content"] == "hi", a["body"])
    check("x-api-key, x-goog-api-key, api-key masked", m["headers"]["x-api-key"] == "****5678" and m["headers"]["x-goog-api-key"] == "****1234" and m["headers"]["api-key"] == "****5678", m["headers"])
    auth = bz["headers"]["authorization"]
    check("SigV4: key id and signature masked, scope kept", "AKIAIOSFODNN7EXAMPLE" not in auth and "Signature=****" in auth and "/20250101/us-east-1/bedrock/aws4_request" in auth and "abcdef0123" not in auth, auth)
    check("a body that is not JSON is kept as a string", bz["body"] == "not json", bz["body"])
    check("no secret anywhere in the log", all(sec not in b.decode() for sec in ("supersecretvalue99", "abcdefghijkl1234", "goog-secret", "azure-secret", "abcdefghijkl5678")), "")
request(P, "POST", "/_sim/reset", "")
st, h, b = request(P, "GET", "/_sim/requests")
check("POST /_sim/reset clears the log", jbody(b)["requests"] == [] and jbody(b)["total"] == 0, b[:100])
for i in range(60):
    request(P, "GET", "/v1/models", headers={"Authorization": "Bearer k"})
j = jbody(request(P, "GET", "/_sim/requests")[2])
check("the log keeps the last record_requests (50)", len(j["requests"]) == 50 and j["total"] == 60 and j["requests"][0]["seq"] == 10, (len(j["requests"]), j["total"]))

# --- health, unknown paths ---
st, h, b = request(P, "GET", "/health")
check("GET /health", st == 200 and jbody(b)["status"] == "ok", b)
st, h, b = request(P, "POST", "/v1/nope", "{}", OA)
check("unknown path: 404 in OpenAI's shape", st == 404 and jbody(b)["error"]["message"].startswith("Invalid URL"), b)

# --- the server survived all of it ---
st, h, b = request(P, "POST", "/v1/chat/completions", CHAT, OA)
check("still serving after every fault", st == 200, st)
check("SIGTERM exits 0", srv.stop() == 0)

# --- config errors carry file:line:col ---
tmp = tempfile.mkdtemp(prefix="sy-sim-")
bad = os.path.join(tmp, "bad.yaml")
with open(bad, "w") as f:
    f.write("models:\n  - name: x\n    tps: lots\n    fualt: 500\n")
r = subprocess.run([BIN, "sim", "-c", bad, "--listen", "127.0.0.1:1"], capture_output=True, text=True, timeout=10)
check("bad config: exit 1 with positioned errors", r.returncode == 1 and (bad + ":3:") in r.stderr and (bad + ":4:") in r.stderr and "fault" in r.stderr, r.stderr)

done()
