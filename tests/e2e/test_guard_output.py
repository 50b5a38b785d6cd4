"""Output guardrails on the request path: a key whose policy blocks on words
the model writes gets a content-filter refusal (whole responses) or a stream
that ends with the API's own error event; a key without the policy is served
as usual. The simulator writes from a fixed word list, so a deny list of those
words is certain to match. Each verdict is in the request's audit record
(policy, action, detector and count; never the words), for whole responses
and for streams, and a policy that only logs lets the answer through with
its verdict recorded."""
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time

from sylib import BIN, Server, check, done, request

MASTER = "mk-" + os.urandom(12).hex()
STATIC = "sk-static-" + os.urandom(8).hex()
WORDS = ["the", "simulated", "model", "answers", "with", "words", "from", "small", "list", "and",
         "every", "token", "chosen", "seed", "same", "request", "gets", "reply", "router",
         "gateway", "stream", "river", "quiet", "bright", "signal", "harbor", "engine", "garden"]

sim = Server(["sim", "--listen", "127.0.0.1:{port}", "--log-level", "info"])
tmp = tempfile.mkdtemp(prefix="sy-guard-out-")
gw = Server(["serve", "-c", "{config}"], env={"SY_TEST_MASTER": MASTER}, config="""listen: 127.0.0.1:{port}
workers: 1
keys: [%s]
admin:
  master_key: ${SY_TEST_MASTER}
providers:
  - { name: sim, kind: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sim-key }
models:
  - name: m
    deployments: [{ provider: sim, model: gpt-4o-mini }]
guardrails:
  - name: no-sim-words
    output:
      deny: { action: block, words: [%s] }
  - name: log-sim-words
    output:
      deny: { action: log, words: [%s] }
store: sqlite:%s/gov.db
audit:
  enabled: true
  flush_interval: 10ms
  signing_key_file: %s/audit.key
log: { level: info }
""" % (STATIC, sim.port, ", ".join(WORDS), ", ".join(WORDS), tmp, tmp))


def admin(method, path, body):
    st, _, b = request(gw.port, method, path, json.dumps(body),
                       {"Authorization": "Bearer " + MASTER, "Content-Type": "application/json"}, timeout=10)
    return st, json.loads(b or b"null")


st, _ = admin("POST", "/admin/teams", {"id": "t"})
st, guarded = admin("POST", "/admin/keys", {"team": "t", "guardrails": "no-sim-words"})
st2, plain = admin("POST", "/admin/keys", {"team": "t"})
st3, logged = admin("POST", "/admin/keys", {"team": "t", "guardrails": "log-sim-words"})
check("keys created", st == 201 and st2 == 201 and st3 == 201, (st, st2, st3))
for k in (guarded, plain, logged):
    gw.add_secret(k["key"])


def chat(key, stream):
    body = {"model": "m", "max_tokens": 24, "stream": stream,
            "messages": [{"role": "user", "content": "say something"}]}
    return request(gw.port, "POST", "/v1/chat/completions", json.dumps(body),
                   {"Authorization": "Bearer " + key, "Content-Type": "application/json"}, timeout=15)


rids = {}
st, h, b = chat(plain["key"], False)
check("a key without an output policy is answered", st == 200, (st, b[:200]))
rids["plain"] = h.get("x-switchyard-request-id")
st, h, b = chat(guarded["key"], False)
rids["blocked"] = h.get("x-switchyard-request-id")
j = json.loads(b or b"{}")
check("a whole response the output policy blocks is refused with 400 in OpenAI's shape",
      st == 400 and "error" in j and "no-sim-words" in j["error"]["message"], (st, b[:300]))
check("...and the refusal does not echo the model's words",
      not any(" %s " % w in j.get("error", {}).get("message", "") for w in WORDS[8:]), b[:300])
st, h, b = chat(plain["key"], True)
check("a stream without an output policy ends with [DONE]", st == 200 and b.rstrip().endswith(b"data: [DONE]"), b[-200:])
st, h, b = chat(guarded["key"], True)
rids["blocked-stream"] = h.get("x-switchyard-request-id")
text = b.decode("utf-8", "replace")
check("a stream the output policy blocks ends with the API's error event and [DONE]",
      st == 200 and '"error"' in text and text.rstrip().endswith("data: [DONE]"), text[-400:])
check("...and the gateway stays up", request(gw.port, "GET", "/health")[0] == 200)
st, h, b = chat(logged["key"], False)
rids["logged"] = h.get("x-switchyard-request-id")
check("a policy that only logs answers the response", st == 200, (st, b[:200]))
st, h, b = chat(logged["key"], True)
rids["logged-stream"] = h.get("x-switchyard-request-id")
check("...and the stream", st == 200 and b.rstrip().endswith(b"data: [DONE]"), b[-200:])

# The audit records: one output verdict per guarded request, none otherwise.
recs = {}
deadline = time.time() + 10
while time.time() < deadline:
    c = sqlite3.connect(os.path.join(tmp, "gov.db"))
    recs = {r[0]: json.loads(r[1]) for r in c.execute("SELECT request_id, record FROM audit_records")}
    c.close()
    if all(r in recs for r in rids.values()):
        break
    time.sleep(0.1)
check("every request has its audit record", all(r in recs for r in rids.values()), (rids, list(recs)))


def outv(name):
    return [v for v in recs.get(rids[name], {}).get("verdicts", []) if v.startswith("guardrail-output:")]


check("no output verdict for a key without an output policy", outv("plain") == [], outv("plain"))
for name, policy, action in [("blocked", "no-sim-words", "block"), ("blocked-stream", "no-sim-words", "block"),
                             ("logged", "log-sim-words", "log"), ("logged-stream", "log-sim-words", "log")]:
    v = outv(name)
    # exactly policy, action, detector=count: no room for the matched words
    check("%s: the record has the output verdict (policy, action, detector and count), nothing else" % name,
          len(v) == 1 and re.fullmatch(r"guardrail-output:%s:%s:deny=[1-9][0-9]*" % (policy, action), v[0]), v)
check("a blocked whole response is recorded with its status", recs.get(rids["blocked"], {}).get("status") == 400,
      recs.get(rids["blocked"], {}).get("status"))
p = subprocess.run([BIN, "audit", "summary", "-c", gw.config_path], capture_output=True, text=True, timeout=30,
                   env=dict(os.environ, SY_TEST_MASTER=MASTER))
check("audit summary lists the output verdicts by policy and action",
      p.returncode == 0 and "guardrail-output:no-sim-words:block" in p.stdout and
      "guardrail-output:log-sim-words:log" in p.stdout, p.stdout[-800:] + p.stderr[-300:])
gw.stop()
sim.stop()
done()
