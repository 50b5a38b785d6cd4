#!/usr/bin/env python3
"""Governance end to end: virtual keys, budgets, rate limits, residency and
revocation, on one gateway (SQLite, in-process counters, audit log on) and
on three gateways sharing PostgreSQL and Redis, all against `switchyard sim`.

Acceptance points checked here:
  1. 500 concurrent requests against a key with a $1.00 budget never spend
     more than $1.00 plus the largest single reservation, on one instance and
     across three; the spend ledger equals the audit records' costs (one
     instance: the audit log shares the SQLite store; three instances: the
     audit log they share in PostgreSQL), the access logs' per-request costs
     and the cost headers clients got.
  2. An RPM limit of 60 shared by three instances: exactly 60 succeed, the
     rest get 429 with Retry-After and the rate-limit headers.
  3. A revoked key is refused within 1 s by every instance.
  4. A request of a restricted data class, allowed only in the EU, never
     reaches the US deployment (the sim's request log) and is refused, with
     the rule named, when no EU deployment can serve it.
  5. Redis down: requests with limits get 503 naming the reason (fail
     closed); Redis back: served again without a restart.
  6. No secret (provider key, virtual key, master key, static key) in any
     gateway log (sylib checks every log at stop), metrics page, refusal
     body, audit record or the store.
"""
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sylib import (BIN, PostgresServer, RedisServer, Server, check, done, jbody,  # noqa: E402
                   request, stopped_at_exit)

started = stopped_at_exit


MASTER = "mk-" + os.urandom(12).hex()
STATIC = "sk-static-" + os.urandom(8).hex()
PROVIDER_KEY = "sim-provider-" + os.urandom(6).hex()
PRICE_IN, PRICE_OUT = 3, 15          # USD per million tokens, set on the deployment
PICO = 10 ** 12
MAX_TOKENS = 400                     # the sim answers exactly this many tokens

sim = started(Server(["sim", "--listen", "127.0.0.1:{port}", "--workers", "2", "--log-level", "info", "-c", "{config}"], config="""
record_requests: 10000
models:
  - { name: gov-model, family: openai, output_tokens: 400 }
  - { name: res-us, family: openai }
  - { name: res-eu, family: openai }
  - { name: res-eu-down, family: openai, fault: 503 }
"""))
SIM = "http://127.0.0.1:%d" % sim.port


def gateway_config(store, counters="local", audit=False):
    return """listen: 127.0.0.1:{port}
workers: 2
keys: [%s]
admin:
  master_key: ${SY_TEST_MASTER}
providers:
  - { name: us, kind: openai, base_url: "%s/v1", api_key: %s, region: us-east-1, jurisdiction: us }
  - { name: eu, kind: openai, base_url: "%s/v1", api_key: %s, region: eu-west-1, jurisdiction: eu }
models:
  - name: priced
    deployments: [{ provider: us, model: gov-model, price: { input: %d, output: %d } }]
  - name: resid
    deployments: [{ provider: us, model: res-us }, { provider: eu, model: res-eu, priority: 1 }]
  - name: resid-eu-down
    deployments: [{ provider: us, model: res-us }, { provider: eu, model: res-eu-down, priority: 1 }]
  - name: us-only
    deployments: [{ provider: us, model: res-us }]
router: { retries: 0, circuit_failures: 0, circuit_failure_ratio: 0 }
guardrails:
  - name: pii-eu
    input:
      pii: { action: restrict, kinds: [email], data_class: pii }
store: %s
counters: %s
log: { level: info, format: json }
%s""" % (STATIC, SIM, PROVIDER_KEY, SIM, PROVIDER_KEY, PRICE_IN, PRICE_OUT, store, counters,
         "audit:\n  enabled: true\n  flush_interval: 20ms\n" + (
             "  signing_key_file: %s\n" % audit if isinstance(audit, str) else "") if audit else "")


def gateway(store, counters="local", audit=False):
    srv = started(Server(["serve", "-c", "{config}"], config=gateway_config(store, counters, audit),
                         env={"SY_TEST_MASTER": MASTER}))
    deadline = time.time() + 15
    while '"listening","addr":"127.0.0.1:%d"' % srv.port not in srv.logtext():
        if time.time() > deadline:
            raise RuntimeError("gateway did not start:\n" + srv.logtext())
        time.sleep(0.05)
    return srv


def admin(srv, method, path, body=None):
    st, _, b = request(srv.port, method, path, json.dumps(body) if body is not None else None,
                       {"Authorization": "Bearer " + MASTER, "Content-Type": "application/json"},
                       timeout=10)
    return st, jbody(b)


def chat(srv, key, model="priced", headers=None, max_tokens=MAX_TOKENS):
    h = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    h.update(headers or {})
    body = json.dumps({"model": model, "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": "hi"}]})
    return request(srv.port, "POST", "/v1/chat/completions", body, h, timeout=30)


def new_key(srv, team, **spec):
    spec["team"] = team
    st, k = admin(srv, "POST", "/admin/keys", spec)
    if st != 201:
        raise RuntimeError("key not created: %s %s" % (st, k))
    return k


def usd_pico(s):
    whole, _, frac = s.partition(".")
    return int(whole) * PICO + int((frac + "0" * 12)[:12] or 0)


def wait_known(servers, key, timeout=5):
    """Until every instance accepts the key (its directory has it)."""
    deadline = time.time() + timeout
    pending = list(servers)
    while pending and time.time() < deadline:
        pending = [s for s in pending if request(s.port, "GET", "/v1/models", None,
                                                  {"Authorization": "Bearer " + key})[0] != 200]
        time.sleep(0.02)
    return not pending


def budget_run(servers, key, n=500):
    """n requests at once, spread over the instances. Returns (statuses,
    costs in pico from the headers, refusal bodies, largest reservation)."""
    def one(i):
        st, h, b = chat(servers[i % len(servers)], key)
        return st, h, b
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(one, range(n)))
    statuses = [r[0] for r in results]
    costs = [usd_pico(r[1]["x-switchyard-cost-usd"]) for r in results if r[0] == 200]
    refusals = [r[2].decode() for r in results if r[0] != 200]
    largest = 0
    for body in refusals:
        m = re.search(r"may cost up to \$([0-9.]+)", body)
        if m:
            largest = max(largest, usd_pico(m.group(1)))
    return statuses, costs, refusals, largest


def access_costs(srv, key_requests=None):
    """Sum of cost_usd over the access log's lines with status 200."""
    total = 0
    for line in srv.logtext().splitlines():
        if '"msg":"access"' not in line:
            continue
        e = json.loads(line)
        if e.get("status") == 200 and "cost_usd" in e and e.get("model") == "priced":
            total += usd_pico(repr(e["cost_usd"]) if isinstance(e["cost_usd"], float) else str(e["cost_usd"]))
    return total


def spend_of(srv, key_id):
    st, s = admin(srv, "GET", "/admin/spend?by=key&key=" + key_id)
    return s["total"]["cost_pico"] if st == 200 else None


def check_budget(name, statuses, costs, refusals, largest, limit=PICO):
    ok = statuses.count(200)
    refused = statuses.count(429)
    check(name + ": every request is served or refused for the budget (429)",
          ok + refused == len(statuses) and all("insufficient_quota" in r for r in refusals),
          "statuses %s" % sorted(set(statuses)))
    spent = sum(costs)
    check(name + ": spend never exceeds the budget plus the largest reservation",
          0 < spent <= limit + largest, "spent %d pico, largest reservation %d" % (spent, largest))
    print("     %s: %d served, %d refused, spent $%.6f of $1.00 (largest reservation $%.6f; "
          "without reservations %d requests would have spent $%.2f)"
          % (name, ok, refused, spent / PICO, largest / PICO, len(statuses),
             len(statuses) * largest / PICO), flush=True)
    return spent


def revocation(servers, admin_srv, team, name):
    k = new_key(admin_srv, team)
    for s in servers:
        s.add_secret(k["key"])
    check(name + ": a new key works on every instance", wait_known(servers, k["key"]))
    st, _ = admin(admin_srv, "DELETE", "/admin/keys/" + k["id"])
    t0 = time.time()
    check(name + ": revoke answers 200", st == 200)
    worst = 0.0
    refused = True
    for s in servers:
        while True:
            st, _, b = request(s.port, "GET", "/v1/models", None, {"Authorization": "Bearer " + k["key"]})
            if st == 401:
                worst = max(worst, time.time() - t0)
                break
            if time.time() - t0 > 3:
                refused = False
                break
            time.sleep(0.01)
    check(name + ": the revoked key is refused by every instance within 1 s", refused and worst <= 1.0,
          "slowest instance refused it after %.3f s" % worst)
    print("     %s: revoked key refused everywhere after %.0f ms" % (name, worst * 1000), flush=True)
    st, _, b = chat(servers[0], k["key"])
    check(name + ": the refusal says revoked and does not echo the key",
          st == 401 and b"revoked" in b and k["key"].encode() not in b, (st, b[:200]))


def audit_costs_pg(pg, key_id):
    """(sum of cost_pico, count) over the PostgreSQL audit records of key_id."""
    out = pg.psql("switchyard", "SELECT COALESCE(SUM((record::jsonb->>'cost_pico')::bigint), 0) || ' ' || COUNT(*)"
                                " FROM audit_records WHERE record::jsonb->>'key_id' = '%s'" % key_id)
    total, n = out.split()
    return int(total), int(n)


def ledger_vs_audit_pg(pg, servers, key_id, spent):
    """Three instances, one audit log in PostgreSQL: the ledger of the key
    equals the sum of its audit records' costs, once every writer drained."""
    deadline = time.time() + 10
    ledger = audit = None
    while time.time() < deadline:
        ledger = spend_of(servers[0], key_id)
        audit = audit_costs_pg(pg, key_id)
        if ledger == audit[0] == spent:
            break
        time.sleep(0.2)
    all_ledger = int(pg.psql("switchyard", "SELECT COALESCE(SUM(cost_pico), 0) FROM sy_spend WHERE key_id = '%s'"
                             % key_id).strip())
    check("three instances: the spend ledger equals the sum of the audit records' costs in PostgreSQL",
          ledger == all_ledger == audit[0] == spent and audit[1] > 0,
          (ledger, all_ledger, audit, spent))
    print("     three instances: ledger $%.6f = %d audit records in PostgreSQL $%.6f"
          % (ledger / PICO if ledger else 0, audit[1], audit[0] / PICO), flush=True)


def no_secrets_in(srv, text, where):
    return srv.check_secrets(text, where)


# ---------------------------------------------------------------- 1 instance
gw = gateway("sqlite:gov.db", audit=True)
st, _ = admin(gw, "GET", "/admin/keys")
check("admin API needs the master key", request(gw.port, "GET", "/admin/keys")[0] == 401 and st == 200)
st, t = admin(gw, "POST", "/admin/teams", {"id": "spenders", "metadata": {"cost_centre": "42"}})
check("team created in the default organisation", st == 201 and t["org"] == "default", t)
key = new_key(gw, "spenders", budget="1/total", name="load")
gw.add_secret(key["key"])
check("key shown once: sk-sy- + 43 characters, listed only by hint",
      re.fullmatch(r"sk-sy-[0-9A-Za-z]{43}", key["key"]) is not None and
      key["key"] not in json.dumps(admin(gw, "GET", "/admin/keys/" + key["id"])[1]) and
      admin(gw, "GET", "/admin/keys/" + key["id"])[1]["hint"].endswith(key["key"][-4:]))
statuses, costs, refusals, largest = budget_run([gw], key["key"])
spent1 = check_budget("one instance", statuses, costs, refusals, largest)
check("one instance: refusal bodies do not echo the key",
      all(key["key"] not in r and MASTER not in r for r in refusals))
st, h, b = chat(gw, key["key"])
check("a spent budget is 429 insufficient_quota naming the budget, with x-should-retry: false",
      st == 429 and b"total budget of $1" in b and h.get("x-should-retry") == "false" and
      jbody(b)["error"]["type"] == jbody(b)["error"]["code"] == "insufficient_quota", (st, b[:300]))
st, h, b = request(gw.port, "POST", "/v1/messages",
                   json.dumps({"model": "priced", "max_tokens": MAX_TOKENS,
                               "messages": [{"role": "user", "content": "hi"}]}),
                   {"x-api-key": key["key"], "anthropic-version": "2023-06-01"})
check("...and 400 invalid_request_error for Anthropic clients, as Anthropic answers a spend limit",
      st == 400 and jbody(b)["error"]["type"] == "invalid_request_error" and b"Budget exceeded" in b,
      (st, b[:300]))
time.sleep(0.3)
check("one instance: the ledger (admin API) equals the costs the clients were told",
      spend_of(gw, key["id"]) == spent1, (spend_of(gw, key["id"]), spent1))
st, m, mb = request(gw.port, "GET", "/metrics")
no_secrets_in(gw, mb.decode(), "metrics")
revocation([gw], gw, "spenders", "one instance")

# a guardrail's restriction feeds residency: e-mail addresses may only go to the EU
st, _ = admin(gw, "POST", "/admin/teams", {"id": "guarded", "residency": {"pii": ["eu"]}})
st, b = admin(gw, "POST", "/admin/keys", {"team": "guarded", "guardrails": "no-such-policy"})
check("a key naming a guardrail policy the configuration lacks is refused", st == 400 and
      "no-such-policy" in json.dumps(b), (st, b))
gkey = new_key(gw, "guarded", guardrails="pii-eu")
gw.add_secret(gkey["key"])
EMAIL = "Please write to jane.doe@example.com about the invoice."
g1 = request(gw.port, "POST", "/v1/chat/completions",
             json.dumps({"model": "resid", "max_tokens": 16, "messages": [{"role": "user", "content": EMAIL}]}),
             {"Authorization": "Bearer " + gkey["key"]})
g2 = chat(gw, gkey["key"], model="resid", max_tokens=16)
check("a guardrail that restricts (an e-mail address) sends the request to the EU only",
      g1[0] == 200 and g1[1].get("x-switchyard-provider") == "eu", (g1[0], g1[1].get("x-switchyard-provider"), g1[2][:200]))
check("...and the same key without personal data goes to the US deployment first",
      g2[0] == 200 and g2[1].get("x-switchyard-provider") == "us", (g2[0], g2[1].get("x-switchyard-provider")))
g3 = request(gw.port, "POST", "/v1/chat/completions",
             json.dumps({"model": "us-only", "max_tokens": 16, "messages": [{"role": "user", "content": EMAIL}]}),
             {"Authorization": "Bearer " + gkey["key"]})
check("...and is refused where only the US could serve it", g3[0] == 400 and b"data class pii" in g3[2],
      (g3[0], g3[2][:300]))

# the command line, against the same gateway
cli_env = dict(os.environ, SWITCHYARD_ADMIN_URL="http://127.0.0.1:%d" % gw.port,
               SWITCHYARD_MASTER_KEY=MASTER)


def cli(*args):
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, env=cli_env, timeout=30)
    return p.returncode, p.stdout, p.stderr


rc, out, err = cli("teams", "create", "cli-team", "--budget", "50/month", "--rpm", "100",
                   "--meta", "owner=ops")
check("switchyard teams create", rc == 0 and "cli-team" in out and "$50/month" in out, (rc, out, err))
rc, out, err = cli("teams", "create", "cli-team2", "--residency", "pii=eu,uk", "--residency",
                   "health=eu", "--meta", "owner=ops", "--meta", "cost-centre=4711")
st, t = admin(gw, "GET", "/admin/teams/cli-team2")
t = t if st == 200 and isinstance(t, dict) else {}
check("switchyard teams create --residency CLASS=J1,J2 and --meta KEY=VALUE reach the team",
      rc == 0 and t.get("residency") == {"pii": ["eu", "uk"], "health": ["eu"]} and
      t.get("metadata") == {"owner": "ops", "cost-centre": "4711"}, (rc, err, st, t))
rc, out, err = cli("keys", "create", "--team", "cli-team", "--budget", "5/day", "--models", "priced",
                   "--expires", "30d", "--name", "ci")
m = re.search(r"^key: (sk-sy-[0-9A-Za-z]{43})$", out, re.M)
check("switchyard keys create prints the key once", rc == 0 and m is not None and "shown once" in err,
      (rc, out, err))
if m:
    ckey = m.group(1)
    gw.add_secret(ckey)
    check("the CLI's key works for its models", chat(gw, ckey, max_tokens=16)[0] == 200)
    st, _, b = chat(gw, ckey, model="us-only", max_tokens=16)
    check("...and is refused other models with 403 naming the rule",
          st == 403 and b"may not use model `us-only`" in b, (st, b[:200]))
    rc, out, err = cli("keys", "list", "--team", "cli-team")
    check("switchyard keys list shows the hint, never the key",
          rc == 0 and ckey[-4:] in out and ckey not in out and "$5/day" in out, out)
    kid = re.search(r"^(key_\S+)", out, re.M).group(1)
    rc, out, err = cli("keys", "update", kid, "--rpm", "7", "--budget", "none/day")
    check("switchyard keys update", rc == 0 and " 7 " in out and "$5/day" not in out, (out, err))
    rc, out, err = cli("keys", "rotate", kid)
    m2 = re.search(r"^key: (sk-sy-[0-9A-Za-z]{43})$", out, re.M)
    if m2:
        gw.add_secret(m2.group(1))
    check("switchyard keys rotate: the new key works, the old one no longer",
          rc == 0 and m2 is not None and chat(gw, m2.group(1), max_tokens=16)[0] == 200 and
          chat(gw, ckey, max_tokens=16)[0] == 401, (rc, out, err, m2 and chat(gw, m2.group(1), max_tokens=16)[:3:2], chat(gw, ckey, max_tokens=16)[::2]))
    rc, out, err = cli("keys", "revoke", kid)
    check("switchyard keys revoke", rc == 0 and "revoked" in out and
          chat(gw, m2.group(1) if m2 else ckey, max_tokens=16)[0] == 401, (out, err))
    rc, out, err = cli("spend", "--by", "team")
    check("switchyard spend --by team", rc == 0 and "cli-team" in out and "spenders" in out, out)
rc, out, err = subprocess.run([BIN, "keys", "list"], capture_output=True, text=True, timeout=30,
                              env=dict(cli_env, SWITCHYARD_MASTER_KEY="wrong-key-123")).returncode, "", ""
check("the CLI with a wrong master key fails", rc == 1)
db = os.path.join(gw.tmp, "gov.db")
gw.stop()
c = sqlite3.connect(db)
ledger = c.execute("SELECT COALESCE(SUM(cost_pico), 0) FROM sy_spend WHERE key_id = ?", (key["id"],)).fetchone()[0]
audit = c.execute("SELECT COALESCE(SUM(json_extract(record, '$.cost_pico')), 0), COUNT(*) FROM audit_records"
                  " WHERE json_extract(record, '$.key_id') = ?", (key["id"],)).fetchone()
all_ledger = c.execute("SELECT COALESCE(SUM(cost_pico), 0) FROM sy_spend").fetchone()[0]
all_audit = c.execute("SELECT COALESCE(SUM(json_extract(record, '$.cost_pico')), 0) FROM audit_records").fetchone()[0]
c.close()
c = sqlite3.connect(db)
verdicts = [r[0] for r in c.execute("SELECT json_extract(record, '$.verdicts') FROM audit_records"
                                    " WHERE json_extract(record, '$.key_id') = ?", (gkey["id"],))]
c.close()
check("the audit records carry the guardrail's verdict", any("guardrail:pii-eu:restrict:pii" in (v or "") for v in verdicts),
      verdicts[:3])
check("one instance: the spend ledger equals the sum of the audit records' costs",
      ledger == audit[0] == spent1 and all_ledger == all_audit, (ledger, audit, spent1, all_ledger, all_audit))
raw = open(db, "rb").read() + b"".join(open(db + s, "rb").read() for s in ("-wal",) if os.path.exists(db + s))
check("the store holds no key, master key or provider key (only hashes)",
      key["key"].encode() not in raw and MASTER.encode() not in raw and PROVIDER_KEY.encode() not in raw)

# --------------------------------------------------------------- 3 instances
redis = started(RedisServer())
pg = started(PostgresServer())
url = pg.create_db("switchyard")
# One audit log in PostgreSQL for the three: they share its signing key.
SHARED_KEY = os.path.join(pg.tmp, "audit-signing.key")
gws = [gateway(url, "redis://127.0.0.1:%d" % redis.port, audit=SHARED_KEY) for _ in range(3)]
st, _ = admin(gws[0], "POST", "/admin/teams", {"id": "shared"})
check("three instances: team created on one", st == 201)
key = new_key(gws[1], "shared", budget="1/total")
for g in gws:
    g.add_secret(key["key"])
check("three instances: a key made on one works on all", wait_known(gws, key["key"]))
statuses, costs, refusals, largest = budget_run(gws, key["key"])
spent3 = check_budget("three instances", statuses, costs, refusals, largest)
statuses2, _, _, _ = budget_run(gws, key["key"], n=60)
check("three instances: a spent budget stays spent on every instance", statuses2.count(200) == 0,
      statuses2.count(200))
time.sleep(0.5)
access_total = sum(access_costs(g) for g in gws)
check("three instances: the spend ledger equals the access logs' per-request costs",
      spend_of(gws[2], key["id"]) == spent3 == access_total, (spend_of(gws[2], key["id"]), spent3, access_total))
ledger_vs_audit_pg(pg, gws, key["id"], spent3)

# RPM 60 shared by three instances
rk = new_key(gws[0], "shared", rpm=60)
for g in gws:
    g.add_secret(rk["key"])
check("RPM key known everywhere", wait_known(gws, rk["key"]))


def rpm_one(i):
    return chat(gws[i % 3], rk["key"], model="us-only", max_tokens=16)


t0 = time.time()
with concurrent.futures.ThreadPoolExecutor(max_workers=90) as ex:
    res = list(ex.map(rpm_one, range(90)))
took = time.time() - t0
ok = [r for r in res if r[0] == 200]
limited = [r for r in res if r[0] == 429]
check("RPM 60 across three instances: exactly 60 succeed", len(ok) == 60,
      "%d succeeded, %d refused, statuses %s" % (len(ok), len(limited), sorted(set(r[0] for r in res))))
check("...the rest get 429 with Retry-After and the rate-limit headers",
      len(limited) == 30 and all(int(r[1].get("retry-after", "0")) > 0 and
                                 jbody(r[2])["error"]["code"] == "rate_limit_exceeded" and
                                 r[1].get("x-ratelimit-limit-requests") == "60" and
                                 r[1].get("x-ratelimit-remaining-requests") == "0" and
                                 b"requests per minute" in r[2] for r in limited),
      limited[0][1] if limited else "none refused")
check("...successes carry the remaining count", all(r[1].get("x-ratelimit-limit-requests") == "60" for r in ok))
print("     RPM: %d/90 served within %.2f s across 3 instances, %d refused (Retry-After %s s)"
      % (len(ok), took, len(limited), limited[0][1].get("retry-after") if limited else "-"), flush=True)
st, h, b = request(gws[1].port, "POST", "/v1/messages",
                   json.dumps({"model": "us-only", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
                   {"x-api-key": rk["key"], "anthropic-version": "2023-06-01"})
check("Anthropic clients get 429 rate_limit_error with anthropic-ratelimit-* headers",
      st == 429 and jbody(b)["error"]["type"] == "rate_limit_error" and
      h.get("anthropic-ratelimit-requests-limit") == "60" and "retry-after" in h, (st, h))

# revocation on every instance
revocation(gws, gws[2], "shared", "three instances")

# residency
st, _ = admin(gws[0], "POST", "/admin/teams", {"id": "eu-team", "residency": {"restricted": ["eu"]}})
rkey = new_key(gws[0], "eu-team")
dkey = new_key(gws[0], "eu-team", default_data_class="restricted")
for g in gws:
    g.add_secret(rkey["key"])
    g.add_secret(dkey["key"])
check("residency keys known everywhere", wait_known(gws, rkey["key"]) and wait_known(gws, dkey["key"]))
request(sim.port, "POST", "/_sim/reset")
RESTRICTED = {"x-switchyard-data-class": "restricted"}
served = [chat(gws[i % 3], rkey["key"], model="resid", headers=RESTRICTED, max_tokens=16) for i in range(12)]
served += [chat(gws[i % 3], dkey["key"], model="resid", max_tokens=16) for i in range(6)]
check("restricted data goes to the EU deployment only",
      all(r[0] == 200 and r[1].get("x-switchyard-provider") == "eu" for r in served),
      [(r[0], r[1].get("x-switchyard-provider")) for r in served][:4])
st, h, b = chat(gws[0], rkey["key"], model="us-only", headers=RESTRICTED, max_tokens=16)
check("with no EU deployment the request is refused, naming the rule",
      st == 400 and b"jurisdiction" in b and b"data class restricted" in b, (st, b[:400]))
st, h, b = chat(gws[1], rkey["key"], model="resid-eu-down", headers=RESTRICTED, max_tokens=16)
check("when the EU deployment fails there is no fallback to the US one", st >= 500, (st, b[:300]))
_, _, simlog = request(sim.port, "GET", "/_sim/requests", timeout=10)
models = [json.loads(e["body"]).get("model") if isinstance(e.get("body"), str) else (e.get("body") or {}).get("model")
          for e in jbody(simlog)["requests"]] if jbody(simlog) and "requests" in jbody(simlog) else []
check("the sim's request log shows no restricted request at the US deployment",
      len(models) >= 19 and "res-us" not in models and models.count("res-eu") >= 18, models[:30])
st, h, b = chat(gws[2], rkey["key"], model="resid", max_tokens=16)
check("(control) without the data class the same key is served by the US deployment first",
      st == 200 and h.get("x-switchyard-provider") == "us", (st, h.get("x-switchyard-provider")))

# explain shows residency
st, _, b = request(gws[0].port, "GET", "/admin/routes/explain?model=resid&key=" + rkey["id"], None,
                   {"Authorization": "Bearer " + MASTER, "x-switchyard-data-class": "restricted"})
ex = jbody(b) or {}
check("route explain shows the residency rule and the dropped US deployment",
      st == 200 and "data class restricted" in json.dumps(ex) and '"residency"' in b.decode(), (st, b[:500]))

# Redis down: fail closed, then recover
redis.stop()
time.sleep(0.2)
st, h, b = chat(gws[0], rk["key"], model="us-only", max_tokens=16)
check("Redis down: a request with limits is refused with 503 naming the reason",
      st == 503 and b"Redis" in b and "retry-after" in h, (st, b[:300]))
st, h, b = chat(gws[0], STATIC, model="us-only", max_tokens=16)
check("...a request without limits (static key) is still served", st == 200, st)
redis.start()
deadline = time.time() + 12
st = 0
while time.time() < deadline:
    st, h, b = chat(gws[0], rk["key"], model="us-only", max_tokens=16)
    if st in (200, 429):
        break
    time.sleep(0.2)
check("Redis back: served again without a restart", st in (200, 429), (st, b[:200]))

for g in gws:
    st, _, mb = request(g.port, "GET", "/metrics")
    no_secrets_in(g, mb.decode(), "metrics")
    check("metrics count governance", b"switchyard_governance_refusals_total" in mb)
for g in gws:
    g.stop()
raw = pg.psql("switchyard", "SELECT id, hash, hint, spec FROM sy_keys")
check("PostgreSQL holds key hashes and hints, never keys",
      all(k not in raw for k in (key["key"], rk["key"], rkey["key"], MASTER)) and len(raw) > 0)
raw = pg.psql("switchyard", "SELECT record FROM audit_records")
check("the audit records in PostgreSQL hold no key, master key or provider key",
      len(raw) > 0 and all(k not in raw for k in (key["key"], rk["key"], rkey["key"], MASTER, STATIC, PROVIDER_KEY)))
pg.stop()
redis.stop()
sim.stop()
done()
