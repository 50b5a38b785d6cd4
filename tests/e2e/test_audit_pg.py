#!/usr/bin/env python3
"""The audit log on PostgreSQL, shared by several gateways (switchyard serve
+ sim + a throwaway PostgreSQL cluster on loopback).

1. Three instances append to one log: every answered request has exactly one
   record, the records form one sequence without gaps (one tree), and
   `switchyard audit verify | summary | proof -c FILE` work against
   postgres://. The proof is folded by hand and its checkpoint checked with
   openssl; summary totals equal the costs the clients were told.
2. One byte changed in one record in PostgreSQL: verify fails and names that
   record; restored, the log verifies again.
3. PostgreSQL restarts under load: requests go on being served (records wait
   in the queue), the writer reconnects, and every answered request has its
   record, once.
4. PostgreSQL down longer than the queue can absorb: brief back-pressure,
   then 503 with Retry-After; served requests all get their record later.
5. kill -9 of one of two instances under load: every request it answered
   longer ago than the durability window has its record; the other instance
   and a restart go on in the same sequence, and the log verifies.
6. An instance with another signing key is refused at start, naming both
   key ids.
"""
import concurrent.futures
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from sylib import (BIN, PostgresServer, Server, check, done, request, rfc9162_fold,  # noqa: E402
                   stopped_at_exit)

KEY = "sk-sy-e2e-auditpg-0123456789"
FLUSH_MS = 100
# The durability window, as in test_audit.py: flush_interval plus one batch
# commit. A commit here is several round trips to PostgreSQL, possibly after
# waiting for the other instance's batch to release the tree's lock, with
# both gateways, PostgreSQL and the load competing for a shared 2-core
# machine: it is given 900 ms (commits measured on an idle machine take a
# few milliseconds; the test prints the gateway's own worst lag).
WINDOW_S = (FLUSH_MS + 900) / 1000.0

started = stopped_at_exit


sim = started(Server(["sim", "--listen", "127.0.0.1:{port}"]))
pg = started(PostgresServer())
URL = pg.create_db("audit")
KEYDIR = tempfile.mkdtemp(prefix="sy-auditpg-key-")
SIGNING_KEY = os.path.join(KEYDIR, "audit-signing.key")


def gateway_config(key=SIGNING_KEY, extra=""):
    s = "http://127.0.0.1:%d" % sim.port
    return """listen: 127.0.0.1:{port}
workers: 2
keys: [%s]
providers:
  - { name: openai, kind: openai, base_url: "%s/v1", api_key: sim-openai-key, region: us-east-1, jurisdiction: us }
  - { name: anthropic, kind: anthropic, base_url: "%s", api_key: sim-anthropic-key, region: eu-west-1, jurisdiction: eu }
models:
  - { name: gpt-4o-mini, deployments: [{ provider: openai, model: gpt-4o-mini }] }
  - { name: claude-sonnet, deployments: [{ provider: anthropic, model: claude-sonnet-4-5 }] }
store: %s
audit:
  enabled: true
  signing_key_file: %s
  flush_interval: %dms
  checkpoint_records: 50
  checkpoint_interval: 300ms
%s""" % (KEY, s, s, URL, key, FLUSH_MS, extra)


def gateway(key=SIGNING_KEY, extra=""):
    srv = started(Server(["serve", "-c", "{config}"], gateway_config(key, extra)))
    deadline = time.time() + 15
    while '"listening","addr":"127.0.0.1:%d"' % srv.port not in srv.logtext():
        if time.time() > deadline:
            raise RuntimeError("gateway did not start:\n" + srv.logtext())
        time.sleep(0.05)
    return srv


def call(srv, i, timeout=15):
    if i % 2:
        path, body = "/v1/chat/completions", {"model": "gpt-4o-mini", "stream": i % 4 == 1,
                                              "messages": [{"role": "user", "content": "pg %d" % i}]}
    else:
        path, body = "/v1/messages", {"model": "claude-sonnet", "max_tokens": 64, "stream": i % 4 == 0,
                                      "messages": [{"role": "user", "content": "pg %d" % i}]}
    return request(srv.port, "POST", path, json.dumps(body),
                   {"Authorization": "Bearer " + KEY, "x-api-key": KEY, "anthropic-version": "2023-06-01",
                    "Content-Type": "application/json"}, timeout=timeout)


def records():
    """request id -> (seq, record text), and every seq in order."""
    out = pg.psql("audit", "SELECT seq || E'\\t' || request_id || E'\\t' || record FROM audit_records ORDER BY seq")
    recs, seqs = {}, []
    for line in out.splitlines():
        seq, rid, rec = line.split("\t", 2)
        seqs.append(int(seq))
        recs.setdefault(rid, []).append((int(seq), rec))
    return recs, seqs


def audit(*args, timeout=60):
    p = subprocess.run([BIN, "audit"] + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def metric(srv, name):
    st, _, body = request(srv.port, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def usd_pico(s):
    whole, _, frac = s.partition(".")
    return int(whole) * 10 ** 12 + int((frac + "0" * 12)[:12] or 0)


def load_until(servers, stop, answered, errors, n_threads=6):
    """Threads sending requests round-robin until `stop`; answered gets
    (request id, server index, monotonic completion time) for every 200."""
    lock = threading.Lock()

    def worker(t):
        k = t
        while not stop.is_set():
            si = k % len(servers)
            k += n_threads
            try:
                st, h, _ = call(servers[si], k, timeout=20)
            except OSError:
                if stop.is_set():
                    break
                time.sleep(0.01)
                continue
            now = time.monotonic()
            if st == 200:
                with lock:
                    answered.append((h.get("x-switchyard-request-id"), si, now))
            elif st is not None:
                errors.append(st)
            time.sleep(0.002)
    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(n_threads)]
    for t in threads:
        t.start()
    return threads


def test_three_instances_one_log():
    gws = [gateway() for _ in range(3)]
    check("the first instance creates the signing key; the others use the same file",
          os.path.exists(SIGNING_KEY) and os.path.exists(SIGNING_KEY + ".pub"))

    def one(i):
        return call(gws[i % 3], i)
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as ex:
        res = list(ex.map(one, range(240)))
    ok = [r for r in res if r[0] == 200]
    check("240 requests over three instances are served", len(ok) == 240, sorted(set(r[0] for r in res)))
    for g in gws:
        g.stop()
    recs, seqs = records()
    ids = [r[1]["x-switchyard-request-id"] for r in ok]
    check("three instances: one record per request, in one sequence 0..n-1 without gaps",
          seqs == list(range(len(seqs))) and len(seqs) == 240 and all(len(recs.get(i, [])) == 1 for i in ids),
          (len(seqs), seqs[:5], [i for i in ids if len(recs.get(i, [])) != 1][:3]))
    by_srv = {r[1]["x-switchyard-request-id"]: i % 3 for i, r in enumerate(res) if r[0] == 200}
    order = sorted(recs, key=lambda r: recs[r][0][0])
    switches = sum(1 for x, y in zip(order, order[1:]) if by_srv.get(x) != by_srv.get(y))
    check("the records of the three instances share the one sequence (%d changes of instance along it)" % switches,
          len(set(by_srv.values())) == 3 and switches >= 2, switches)
    bad = []
    for r in ok:
        rid = r[1]["x-switchyard-request-id"]
        rec = json.loads(recs[rid][0][1])
        told = r[1].get("x-switchyard-cost-usd")  # a stream's cost is not known when its head goes out
        if rec["seq"] != recs[rid][0][0] or rec["status"] != 200 or \
                (told is not None and rec["cost_pico"] != usd_pico(told)) or \
                rec["response_sha256"] != hashlib.sha256(r[2]).hexdigest():
            bad.append(rid)
    check("each record carries its index, status, the cost the client was told and the response hash",
          not bad, bad[:3])
    writers = pg.psql("audit", "SELECT count(*) FROM audit_writers").strip()
    check("each instance registered as a writer", writers == "3", writers)

    cfg = gws[0].config_path
    rc, out, err = audit("verify", "-c", cfg)
    check("audit verify -c FILE works against postgres:// and passes",
          rc == 0 and out.startswith("ok: 240 records") and "not covered" not in out, out + err)
    rc, out, err = audit("verify", "-c", cfg, "--public-key", SIGNING_KEY + ".pub")
    check("...and with --public-key", rc == 0, out + err)
    rc, out, err = audit("summary", "-c", cfg)
    summ = json.loads(out) if rc == 0 else {}
    total = sum(json.loads(v[0][1])["cost_pico"] for v in recs.values())
    check("audit summary against postgres:// totals the records' costs",
          rc == 0 and summ["total"]["records"] == 240 and summ["total"]["cost_pico"] == total and total > 0,
          out[:300] + err)

    rid = ids[100]
    rc, out, err = audit("proof", "-c", cfg, rid)
    good = rc == 0
    if good:
        proof = json.loads(out)
        leaf = hashlib.sha256(b"\x00" + proof["record"].encode()).digest()
        root = rfc9162_fold(leaf, proof["leaf_index"], proof["tree_size"], [bytes.fromhex(h) for h in proof["audit_path"]])
        msg = "switchyard-audit-checkpoint/v1\ntree_size=%d\nroot=%s\ntime_ms=%d\n" % (
            proof["tree_size"], proof["root"], proof["checkpoint"]["time_ms"])
        good = (proof["record"] == recs[rid][0][1] and leaf.hex() == proof["leaf_hash"] and root is not None
                and root.hex() == proof["root"] and msg == proof["checkpoint"]["message"])
        d = tempfile.mkdtemp(prefix="sy-auditpg-proof-")
        with open(os.path.join(d, "msg"), "w") as f:
            f.write(msg)
        with open(os.path.join(d, "sig"), "wb") as f:
            f.write(bytes.fromhex(proof["checkpoint"]["signature"]))
        v = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", SIGNING_KEY + ".pub", "-rawin",
                            "-in", os.path.join(d, "msg"), "-sigfile", os.path.join(d, "sig")],
                           capture_output=True, text=True)
        good = good and v.returncode == 0
    check("audit proof against postgres://: path folded by hand to the signed root, signature checked by openssl",
          good, out[:300] + err)
    return recs, cfg


def test_tamper(recs):
    victim = sorted(recs, key=lambda r: recs[r][0][0])[117]
    seq, rec = recs[victim][0]
    i = rec.index('"duration_us":') + len('"duration_us":')
    flipped = rec[:i] + ("1" if rec[i] != "1" else "2") + rec[i + 1:]
    pg.psql("audit", "UPDATE audit_records SET record = $sy$%s$sy$ WHERE seq = %d" % (flipped, seq))
    rc, out, err = audit("verify", "--public-key", SIGNING_KEY + ".pub", "-c", CFG)
    check("one changed byte in PostgreSQL: verify fails and names that record by id and index",
          rc == 1 and victim in out and ("index %d" % seq) in out, out + err)
    pg.psql("audit", "UPDATE audit_records SET record = $sy$%s$sy$ WHERE seq = %d" % (rec, seq))
    rc, out, err = audit("verify", "-c", CFG)
    check("...and restored, the log verifies again", rc == 0, out + err)


def test_database_restart():
    gw = gateway()
    before = len(records()[1])
    stop, answered, errors = threading.Event(), [], []
    threads = load_until([gw], stop, answered, errors, n_threads=4)
    time.sleep(1.0)
    pg.halt()
    down_at = len(answered)
    time.sleep(1.5)
    served_while_down = len(answered) - down_at
    pg.resume()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(20)
    deadline = time.time() + 15
    while metric(gw, "switchyard_audit_queue_reserved") not in (0.0, None) and time.time() < deadline:
        time.sleep(0.1)
    errs = metric(gw, "switchyard_audit_store_errors_total")
    gw.stop()
    recs, seqs = records()
    missing = [rid for rid, _, _ in answered if rid not in recs]
    twice = [rid for rid, _, _ in answered if len(recs.get(rid, [])) > 1]
    check("PostgreSQL restart: requests are served while it is down (records wait in the queue)",
          served_while_down > 0 and not errors, (served_while_down, errors[:5]))
    check("...the writer reconnects and every answered request has its record, once "
          "(%d requests, %d store errors retried)" % (len(answered), errs or 0),
          answered and not missing and not twice and (errs or 0) > 0 and len(seqs) == before + len(answered)
          and seqs == list(range(len(seqs))), (len(missing), len(twice), errs, len(seqs), before, len(answered)))
    print("     database restart: %d requests answered, %d while PostgreSQL was down, all recorded"
          % (len(answered), served_while_down), flush=True)


def test_queue_full_while_down():
    """PostgreSQL down for longer than the queue can absorb: the documented
    policy (brief back-pressure, then 503), never a served request without
    its record."""
    gw = gateway(extra="  queue_capacity: 16\n  queue_full_wait: 5ms\n")
    before = len(records()[1])
    pg.halt()
    res = [call(gw, i) for i in range(30)]
    served = [r[1].get("x-switchyard-request-id") for r in res if r[0] == 200]
    refused = [r for r in res if r[0] == 503]
    check("PostgreSQL down, queue of 16: 16 requests are served, then 503 with Retry-After: 1",
          len(served) == 16 and len(refused) == 14 and all(r[1].get("retry-after") == "1" for r in refused),
          [r[0] for r in res])
    full = metric(gw, "switchyard_audit_queue_full_total")
    pg.resume()
    deadline = time.time() + 15
    while metric(gw, "switchyard_audit_queue_reserved") != 0.0 and time.time() < deadline:
        time.sleep(0.1)
    st, _, _ = call(gw, 99)
    gw.stop()
    recs, seqs = records()
    check("...counted in switchyard_audit_queue_full_total; once it is back every served request has its "
          "record and new requests are served",
          full == 14 and all(rid in recs for rid in served) and st == 200 and len(seqs) == before + 17,
          (full, sum(1 for rid in served if rid not in recs), st, len(seqs) - before))


def test_kill9():
    a, b = gateway(), gateway()
    before = len(records()[1])
    stop, answered, errors = threading.Event(), [], []
    threads = load_until([a, b], stop, answered, errors, n_threads=8)
    lag_max = 0.0
    t_end = time.monotonic() + 3.0
    while time.monotonic() < t_end:  # the worst lag up to the kill
        lag_max = max(lag_max, metric(a, "switchyard_audit_write_lag_max_seconds") or 0.0)
        time.sleep(0.1)
    t_kill = time.monotonic()
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait()
    a.log.close()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(20)
    b.stop()
    recs, seqs = records()
    from_a = [(rid, t) for rid, si, t in answered if si == 0]
    old = [rid for rid, t in from_a if t < t_kill - WINDOW_S]
    missing = [rid for rid in old if rid not in recs]
    recent = [rid for rid, t in from_a if t >= t_kill - WINDOW_S]
    check("load on two instances ran", len(from_a) > 100 and len(answered) - len(from_a) > 100,
          (len(from_a), len(answered) - len(from_a)))
    check("observed write lag on PostgreSQL (switchyard_audit_write_lag_max_seconds %.0f ms) is within the window"
          % (lag_max * 1000), 0 < lag_max <= WINDOW_S, (lag_max, WINDOW_S))
    check("kill -9 of one instance: every response it completed more than %.0f ms before the kill has its "
          "record (%d of %d; %d more inside the window, %d of them recorded)"
          % (WINDOW_S * 1000, len(old) - len(missing), len(old), len(recent), sum(1 for r in recent if r in recs)),
          old and not missing, missing[:5])
    from_b = [rid for rid, si, t in answered if si == 1]
    check("...the other instance's records are all there, and the sequence has no gap",
          all(rid in recs for rid in from_b) and seqs == list(range(len(seqs))) and len(seqs) > before,
          (sum(1 for rid in from_b if rid not in recs), len(seqs)))
    c = gateway()
    for i in range(10):
        call(c, i)
    c.stop()
    recs2, seqs2 = records()
    rc, out, err = audit("verify", "-c", CFG, "--public-key", SIGNING_KEY + ".pub")
    check("a restarted instance continues the same sequence; the log verifies, fully covered",
          seqs2 == list(range(len(seqs) + 10)) and rc == 0 and "not covered" not in out, (len(seqs2), out + err))


def test_other_key_refused():
    other = os.path.join(KEYDIR, "other.key")
    try:
        srv = started(Server(["serve", "-c", "{config}"], gateway_config(other)))
        srv.stop()
        log, refused = srv.logtext(), False
    except RuntimeError as e:  # it exited at start, as it should
        log, refused = str(e), True
    check("an instance with another signing key is refused at start, saying every instance needs the same key",
          refused and "not the key this audit log was started with" in log and "same key file" in log, log[-500:])


recs0, CFG = test_three_instances_one_log()
test_tamper(recs0)
test_database_restart()
test_queue_full_while_down()
test_kill9()
test_other_key_refused()
sim.stop()
pg.stop()
done()
