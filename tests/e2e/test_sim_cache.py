"""`switchyard sim`: the answer cache (docs/sim.md, "The answer cache").

Two simulators with the same models, one with the cache (the default) and
one with `answer_cache: 0`. Every request goes to both, twice to the cached
one (a miss that stores, then a hit): the three answers must be the same
bytes except the per-response fields (id, created, x-request-id, Date), and
the two ids must differ. Covers text, tool calls (parallel, forced),
response_format, stop sequences, max_tokens cuts, Azure, x-sim-* controls,
pacing, faults (never cached) and 4xx verdicts (never cached, and a cached
answer is not served to a request whose credentials or Content-Type fail).
Then the cache's bound: many distinct requests never hold more entries than
configured."""
import json
import re
import time

from sylib import Server, check, done, jbody, request

MODELS = """
models:
  - name: shaky
    family: openai
    fault: 503
    fault_first: 2
  - name: coin
    family: openai
    fault: 500
    fault_rate: 0.5
  - name: coin-an
    family: anthropic
    fault: 529
    fault_rate: 0.5
  - name: slow-mini
    family: openai
    ttft: 200ms
    output_tokens: 12
"""

cached = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}", "--workers", "1"],
                "record_requests: 0\n" + MODELS)
plain = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}", "--workers", "1"],
               "record_requests: 0\nanswer_cache: 0\n" + MODELS)
small = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}", "--workers", "1"],
               "record_requests: 0\nanswer_cache: 8\n")

OA = {"Authorization": "Bearer sk-test-abcdefghijkl1234", "Content-Type": "application/json"}
AZ = {"api-key": "az-test-abcdefghijkl1234", "Content-Type": "application/json"}
AN = {"x-api-key": "ak-test-abcdefghijkl5678", "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
CHAT = "/v1/chat/completions"
MSG = "/v1/messages"
AZURE = "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}


def chat(**kw):
    b = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello, how are you?"}]}
    b.update(kw)
    return json.dumps(b)


def msg(**kw):
    b = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hello there"}]}
    b.update(kw)
    return json.dumps(b)


def normal(body):
    """The answer with its per-response fields blanked."""
    j = jbody(body)
    if isinstance(j, dict):
        if "id" in j:
            j["id"] = "ID"
        if "created" in j:
            j["created"] = 0
        return json.dumps(j, sort_keys=True)
    return body


def same_headers(a, b):
    skip = {"date", "x-request-id", "request-id"}
    return {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}


def health(srv):
    st, _, body = request(srv.port, "GET", "/health")
    return jbody(body)["answer_cache"]


CASES = [
    ("plain", CHAT, chat(max_tokens=64), OA),
    ("seeded", CHAT, chat(), dict(OA, **{"x-sim-seed": "42", "x-sim-output-tokens": "40"})),
    ("tools", CHAT, chat(tools=[WEATHER, TIME]), OA),
    ("parallel tools", CHAT, chat(tools=[WEATHER, TIME]), dict(OA, **{"x-sim-tools": "parallel"})),
    ("forced tool", CHAT, chat(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}}), OA),
    ("tool result", CHAT, json.dumps({"model": "gpt-4o-mini", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "cold"}]}), OA),
    ("json_object", CHAT, chat(messages=[{"role": "user", "content": "answer in json"}], response_format={"type": "json_object"}), OA),
    ("json_schema", CHAT, chat(response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": {
        "type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}, "required": ["n", "s"]}}}), OA),
    ("stop", CHAT, chat(stop=["the", "a"]), dict(OA, **{"x-sim-output-tokens": "60"})),
    ("length", CHAT, chat(max_tokens=3), OA),
    ("reasoning", CHAT, json.dumps({"model": "o3-mini", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 40}), OA),
    ("azure", AZURE, json.dumps({"messages": [{"role": "user", "content": "hi"}]}), AZ),
    ("content-type fault", CHAT, chat(), dict(OA, **{"x-sim-fault": "content-type"})),
    ("anthropic", MSG, msg(), AN),
    ("anthropic tools", MSG, msg(tools=[{"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}]), AN),
    ("anthropic thinking", MSG, msg(max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2000}), dict(AN, **{"x-sim-output-tokens": "30"})),
    ("anthropic stop", MSG, msg(stop_sequences=["the"]), dict(AN, **{"x-sim-output-tokens": "60"})),
]

for name, path, body, hdr in CASES:
    s1, h1, b1 = request(cached.port, "POST", path, body, hdr)
    s2, h2, b2 = request(cached.port, "POST", path, body, hdr)
    s0, h0, b0 = request(plain.port, "POST", path, body, hdr)
    check(name + ": status", s0 == s1 == s2, (s0, s1, s2, b1[:200]))
    check(name + ": same answer cached and not", normal(b0) == normal(b1) == normal(b2), (b0[:300], b2[:300]))
    check(name + ": same headers", same_headers(h0, h1) and same_headers(h1, h2), (h0, h2))
    j1, j2 = jbody(b1), jbody(b2)
    if s1 == 200 and isinstance(j2, dict) and path == MSG:
        check(name + ": fresh id", j1["id"] != j2["id"] and re.fullmatch(r"msg_01[A-Za-z0-9]{18}", j2["id"]), (j1["id"], j2["id"]))
        check(name + ": fresh request id", h1["request-id"] != h2["request-id"], h2.get("request-id"))
    elif s1 == 200 and isinstance(j2, dict):
        check(name + ": fresh id", j1["id"] != j2["id"] and re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", j2["id"]), (j1["id"], j2["id"]))
        check(name + ": fresh request id", h1["x-request-id"] != h2["x-request-id"], h2.get("x-request-id"))
        check(name + ": created is now", abs(j2["created"] - time.time()) < 5, j2["created"])

st = health(cached)
check("the cases were served from the cache", st["hits"] >= 16 and st["stores"] >= 16, st)
hits = st["hits"]

# Faults are never cached: the answer stays the fault every time, the same
# as without the cache.
for fault in ("429", "500", "503", "529", "malformed"):
    h = dict(OA, **{"x-sim-fault": fault})
    got = [request(srv.port, "POST", CHAT, chat(), h) for srv in (cached, cached, plain)]
    if fault == "malformed":
        ok = all(g[0] == 200 and jbody(g[2]) is None and g[2].endswith(b'"<<malformed>>') for g in got)
    else:
        ok = got[0][0] == got[1][0] == got[2][0] == int(fault) and got[0][2] == got[1][2] == got[2][2]
    check("fault %s: the fault every time" % fault, ok, [(g[0], g[2][:80]) for g in got])
check("faults: no hit", health(cached)["hits"] == hits, health(cached))

# A model's fault schedule depends on a counter, not the request: the
# statuses follow the same sequence with and without the cache.
for model in ("shaky", "coin", "coin-an"):
    body = msg(model=model) if model == "coin-an" else chat(model=model)
    path, hdr = (MSG, AN) if model == "coin-an" else (CHAT, OA)
    seq = {srv.port: [request(srv.port, "POST", path, body, hdr)[0] for _ in range(8)] for srv in (cached, plain)}
    check(model + ": fault schedule unchanged", seq[cached.port] == seq[plain.port] and 200 in seq[plain.port]
          and any(s != 200 for s in seq[plain.port]), seq)

# Pacing still applies to a hit.
body = chat(model="slow-mini")
request(cached.port, "POST", CHAT, body, OA)
t = time.time()
s, _, b = request(cached.port, "POST", CHAT, body, OA)
check("ttft applies to a cached answer", s == 200 and time.time() - t >= 0.18, time.time() - t)

# Verdicts: a 400 is given every time; a cached body does not pass a
# request whose credentials or Content-Type fail; another x-sim-* value or
# header order is another key.
bad = chat(temperature=5)
r = [request(cached.port, "POST", CHAT, bad, OA) for _ in range(2)]
check("400 every time", r[0][0] == r[1][0] == 400 and r[0][2] == r[1][2], r)
good = chat(max_tokens=64)
request(cached.port, "POST", CHAT, good, OA)
s, _, b = request(cached.port, "POST", CHAT, good, {"Authorization": "Bearer ", "Content-Type": "application/json"})
check("cached body, no key: 401", s == 401, (s, b[:120]))
s, _, b = request(cached.port, "POST", CHAT, good, {"Authorization": OA["Authorization"], "Content-Type": "text/plain"})
check("cached body, wrong Content-Type: 400", s == 400 and b"unsupported_content_type" in b, (s, b[:160]))
s, _, b = request(cached.port, "POST", CHAT, good, dict(OA, **{"x-sim-output-tokens": "abc"}))
check("cached body, bad x-sim header: 400", s == 400, (s, b[:160]))
a = jbody(request(cached.port, "POST", CHAT, good, dict(OA, **{"x-sim-output-tokens": "5"}))[2])
c = jbody(request(cached.port, "POST", CHAT, good, dict(OA, **{"x-sim-output-tokens": "9"}))[2])
check("x-sim-* values are in the key", a["usage"]["completion_tokens"] == 5 and c["usage"]["completion_tokens"] == 9, (a["usage"], c["usage"]))
s, _, b = request(cached.port, "POST", CHAT, good, dict(OA, **{"x-sim-output-tokens": "5", "x-sim-seed": "7"}))
check("a hit needs every x-sim-* header", jbody(b)["usage"]["completion_tokens"] == 5, b[:200])

# Streams are not cached (and still stream).
sb = chat(stream=True)
r = [request(cached.port, "POST", CHAT, sb, OA) for _ in range(2)]
check("streams: both stream", all(x[0] == 200 and x[2].rstrip().endswith(b"data: [DONE]") for x in r), r[0][2][-80:])

# The bound: 200 distinct requests into 8 entries.
for i in range(200):
    request(small.port, "POST", CHAT, chat(messages=[{"role": "user", "content": "question %d" % i}]), OA)
st = health(small)
check("bounded: at most the configured entries", st["capacity"] == 8 and 0 < st["entries"] <= 8 and st["stores"] >= 200, st)
check("bounded: bytes", st["bytes"] <= 8 * (8192 + 16384), st)
s, _, b = request(small.port, "POST", CHAT, chat(messages=[{"role": "user", "content": "question 0"}]), OA)
check("evicted entries are generated again", s == 200 and jbody(b)["choices"][0]["message"]["content"], b[:200])
check("no cache: nothing stored", health(plain)["capacity"] == 0 and health(plain)["stores"] == 0, health(plain))

for srv in (cached, plain, small):
    srv.stop()
done()
