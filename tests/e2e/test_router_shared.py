"""Deployment limits shared by several instances (counters: redis).

Three gateways share one Redis. A deployment with rpm 30 and a fallback:
of 90 requests spread over the three, exactly 30 are served by the limited
deployment inside the window and the other 60 by the fallback. A deployment
with rpm 30 and no fallback: 30 served, the rest refused with 429 and a
Retry-After naming the deployment's limit. Requests to a deployment without
limits never ask Redis (its EVALSHA count does not move). Route explain on an
instance that heard the refusal shows the limit. With Redis gone, the default
fail-closed mode skips the limited deployment (the fallback serves; without
one, 503), fail open counts it per instance, and counting resumes by itself
when Redis is back."""
import json
import os
import re
import threading
import time

from sylib import RedisServer, Server, check, done, request

MASTER = "mk-" + os.urandom(12).hex()
STATIC = "sk-static-" + os.urandom(8).hex()
LIMIT = 30

started = []


def start(srv):
    started.append(srv)
    return srv


try:
    sim = start(Server(["sim", "--listen", "127.0.0.1:{port}", "--log-level", "info"]))
    redis = start(RedisServer())

    def gw_config():
        return """listen: 127.0.0.1:{port}
workers: 2
keys: [%s]
admin:
  master_key: ${SY_TEST_MASTER}
providers:
  - { name: sim, kind: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sim-key }
  - { name: sim2, kind: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sim-key }
models:
  - name: limited
    deployments:
      - { provider: sim, model: gpt-4o-mini, rpm: %d }
      - { provider: sim, model: gpt-4o }
  - name: alone
    deployments:
      - { provider: sim2, model: gpt-4o-mini, rpm: %d }
  - name: free
    deployments:
      - { provider: sim2, model: gpt-4o }
  - name: roomy
    deployments:
      - { provider: sim, model: gpt-4o, rpm: 1000 }
store: sqlite:gov.db
counters: redis://127.0.0.1:%d
log: { level: info }
""" % (STATIC, sim.port, sim.port, LIMIT, LIMIT, redis.port)

    gws = [start(Server(["serve", "-c", "{config}"], config=gw_config(), env={"SY_TEST_MASTER": MASTER}))
           for _ in range(3)]

    def chat(gw, model):
        body = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        return request(gw.port, "POST", "/v1/chat/completions", json.dumps(body),
                       {"Authorization": "Bearer " + STATIC, "Content-Type": "application/json"}, timeout=15)

    def burst(model, n):
        """n requests from 9 threads, spread over the three gateways."""
        out = [None] * n
        nxt = [0]
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n:
                    return
                try:
                    out[i] = chat(gws[i % 3], model)
                except OSError as e:
                    out[i] = (0, {}, str(e).encode())

        ts = [threading.Thread(target=worker) for _ in range(9)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    def evalsha_calls():
        info = redis.command("INFO", "commandstats").decode("latin-1")
        m = re.search(r"cmdstat_evalsha:calls=(\d+)", info)
        return int(m.group(1)) if m else 0

    # Wait until every worker's Redis connection is up (a request to a
    # limited deployment succeeds everywhere would spend the budget: use
    # the Redis client list instead).
    deadline = time.time() + 10
    while time.time() < deadline:
        clients = redis.command("CLIENT", "LIST").decode("latin-1").count("cmd=")
        if clients >= 6:
            break
        time.sleep(0.1)

    # ---- no limit: no round trip ----
    before = evalsha_calls()
    res = burst("free", 18)
    check("a deployment without limits is served", all(r[0] == 200 for r in res), [r[0] for r in res])
    check("...without a single Redis call", evalsha_calls() == before, (before, evalsha_calls()))

    # ---- rpm 30 with a fallback, three instances ----
    t0 = time.time()
    res = burst("limited", 90)
    took = time.time() - t0
    statuses = [r[0] for r in res]
    models = [r[1].get("x-switchyard-model", "") for r in res]
    first = models.count("gpt-4o-mini")
    fallback = models.count("gpt-4o")
    print("     90 requests in %.2f s: %d to the limited deployment, %d to the fallback" % (took, first, fallback),
          flush=True)
    check("every request is served", statuses.count(200) == 90, statuses)
    if took < 55:
        check("exactly %d go to the limited deployment within the window, the rest to the fallback" % LIMIT,
              first == LIMIT and fallback == 90 - LIMIT, (first, fallback))
    time.sleep(0.3)  # access log lines are written after the response
    acc = [l for gw in gws for l in gw.logtext().splitlines() if '"access"' in l and '"model":"limited"' in l]
    check("a request the fallback served after a skip for the limit records no error class",
          len(acc) >= 60 and not any('"error_class"' in l for l in acc), (len(acc), [l for l in acc if "error_class" in l][:1]))
    h = redis.command("HGETALL", "sy:{d:sim/gpt-4o-mini}:rpm").decode("latin-1")
    counts = [int(x) for x in h.split("\r\n")[2::2][1::2] if x.isdigit()]
    check("Redis holds the deployment's window: %d requests" % LIMIT, sum(counts) == LIMIT, h[:300])

    # ---- rpm 30 without a fallback ----
    res = burst("alone", 45)
    statuses = [r[0] for r in res]
    print("     45 requests, no fallback: %d served, %d refused" % (statuses.count(200), statuses.count(429)),
          flush=True)
    check("exactly %d served, the rest 429" % LIMIT,
          statuses.count(200) == LIMIT and statuses.count(429) == 45 - LIMIT, statuses)
    refused = [r for r in res if r[0] == 429]
    ok = bool(refused)
    for st, hd, b in refused:
        ra = hd.get("retry-after", "")
        msg = json.loads(b or b"{}").get("error", {}).get("message", "")
        if not (ra.isdigit() and 1 <= int(ra) <= 61 and "sim2/gpt-4o-mini" in msg and
                "requests-per-minute limit %d" % LIMIT in msg):
            ok = False
            check("a refusal carries Retry-After and names the deployment's limit", False, (ra, msg))
            break
    if ok:
        check("every refusal carries Retry-After (1-61 s) and names the deployment's limit", True)
        print("     e.g. Retry-After %s: %s" % (refused[0][1].get("retry-after"),
                                                json.loads(refused[0][2])["error"]["message"]), flush=True)

    # ---- explain is truthful: the instances that heard the refusal say so ----
    seen = 0
    for gw in gws:
        st, _, b = request(gw.port, "GET", "/admin/routes/explain?model=alone", None,
                           {"Authorization": "Bearer " + MASTER}, timeout=10)
        text = b.decode("utf-8", "replace")
        if st == 200 and "rpm_limit" in text:
            seen += 1
    check("route explain shows the deployment's limit reached on the instances that heard it", seen >= 1, seen)

    # ---- Redis gone: fail closed ----
    redis.stop()
    time.sleep(0.5)
    st, hd, b = chat(gws[0], "limited")
    check("Redis down, fail closed: the limited deployment is skipped and the fallback serves",
          st == 200 and hd.get("x-switchyard-model") == "gpt-4o", (st, hd.get("x-switchyard-model"), b[:200]))
    st, hd, b = chat(gws[1], "roomy")
    check("Redis down, no fallback: 503 with Retry-After naming the counter store",
          st == 503 and hd.get("retry-after") == "1" and b"Redis" in b, (st, b[:300]))
    st, hd, b = chat(gws[2], "free")
    check("Redis down: a deployment without limits is served as usual", st == 200, (st, b[:200]))
    # fail open: a fresh instance counts the limit in its own windows meanwhile
    gw4 = start(Server(["serve", "-c", "{config}"], env={"SY_TEST_MASTER": MASTER},
                       config=gw_config().replace("log: { level: info }",
                                                  "governance: { counters_failure: open }\nlog: { level: info }")))
    res = [chat(gw4, "alone")[0] for _ in range(LIMIT + 5)]
    check("Redis down, fail open: the instance holds the limit in its own windows (%d served, then 429)" % LIMIT,
          res == [200] * LIMIT + [429] * 5, res)
    gw4.stop()
    redis.start()
    deadline = time.time() + 15
    recovered = False
    while time.time() < deadline and not recovered:
        st, hd, b = chat(gws[1], "roomy")
        recovered = st == 200
        if not recovered:
            time.sleep(0.3)
    check("Redis back: shared counting resumes without a restart", recovered, (st, b[:200]))
    for gw in gws:
        gw.stop()
finally:
    for s in reversed(started):
        try:
            s.stop()
        except Exception:
            pass
done()
