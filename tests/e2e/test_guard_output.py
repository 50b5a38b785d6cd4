"""Output guardrails on the request path: a key whose policy blocks on words
the model writes gets a content-filter refusal (whole responses) or a stream
that ends with the API's own error event; a key without the policy is served
as usual. The simulator writes from a fixed word list, so a deny list of those
words is certain to match."""
import json
import os
import tempfile

from sylib import Server, check, done, request

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
store: sqlite:%s/gov.db
log: { level: info }
""" % (STATIC, sim.port, ", ".join(WORDS), tmp))


def admin(method, path, body):
    st, _, b = request(gw.port, method, path, json.dumps(body),
                       {"Authorization": "Bearer " + MASTER, "Content-Type": "application/json"}, timeout=10)
    return st, json.loads(b or b"null")


st, _ = admin("POST", "/admin/teams", {"id": "t"})
st, guarded = admin("POST", "/admin/keys", {"team": "t", "guardrails": "no-sim-words"})
st2, plain = admin("POST", "/admin/keys", {"team": "t"})
check("keys created", st == 201 and st2 == 201, (st, st2))


def chat(key, stream):
    body = {"model": "m", "max_tokens": 24, "stream": stream,
            "messages": [{"role": "user", "content": "say something"}]}
    return request(gw.port, "POST", "/v1/chat/completions", json.dumps(body),
                   {"Authorization": "Bearer " + key, "Content-Type": "application/json"}, timeout=15)


st, h, b = chat(plain["key"], False)
check("a key without an output policy is answered", st == 200, (st, b[:200]))
st, h, b = chat(guarded["key"], False)
j = json.loads(b or b"{}")
check("a whole response the output policy blocks is refused with 400 in OpenAI's shape",
      st == 400 and "error" in j and "no-sim-words" in j["error"]["message"], (st, b[:300]))
check("...and the refusal does not echo the model's words",
      not any(" %s " % w in j.get("error", {}).get("message", "") for w in WORDS[8:]), b[:300])
st, h, b = chat(plain["key"], True)
check("a stream without an output policy ends with [DONE]", st == 200 and b.rstrip().endswith(b"data: [DONE]"), b[-200:])
st, h, b = chat(guarded["key"], True)
text = b.decode("utf-8", "replace")
check("a stream the output policy blocks ends with the API's error event and [DONE]",
      st == 200 and '"error"' in text and text.rstrip().endswith("data: [DONE]"), text[-400:])
check("...and the gateway stays up", request(gw.port, "GET", "/health")[0] == 200)
gw.stop()
sim.stop()
done()
