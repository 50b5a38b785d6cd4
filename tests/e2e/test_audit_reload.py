#!/usr/bin/env python3
"""Audit settings on reload (SIGHUP), against switchyard serve + sim, SQLite.

What can change while running applies: flush_interval and batch_records
(seen in when a record reaches the database), checkpoint_records (seen in
the checkpoints), content (seen in the records). What cannot (the store,
the signing key, queue_capacity, turning the log off) is refused with a
logged error naming the setting, and the running value is kept: records go
on into the same database, signed by the same key, and the log verifies.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sylib import BIN, Server, check, done, request, stopped_at_exit  # noqa: E402

KEY = "sk-sy-e2e-reload-0123456789"
sim = stopped_at_exit(Server(["sim", "--listen", "127.0.0.1:{port}"]))


def config(store="audit.db", key="audit-signing.key", enabled="true", **audit):
    settings = {"flush_interval": "3s", "batch_records": 1000, "checkpoint_records": 1000,
                "checkpoint_interval": "1h", "content": "none", "queue_capacity": 1024}
    settings.update(audit)
    return """listen: 127.0.0.1:{port}
workers: 2
keys: [%s]
providers:
  - { name: openai, kind: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sim-openai-key }
models:
  - { name: gpt-4o-mini, deployments: [{ provider: openai, model: gpt-4o-mini }] }
store: sqlite:%s
log: { level: info, format: json }
audit:
  enabled: %s
  signing_key_file: %s
%s""" % (KEY, sim.port, store, enabled, key, "".join("  %s: %s\n" % kv for kv in settings.items()))


gw = stopped_at_exit(Server(["serve", "-c", "{config}"], config()))
DB = os.path.join(gw.tmp, "audit.db")


def reload(text):
    """Write the configuration, SIGHUP, wait for the reload's log line.
    Returns the log lines the reload wrote."""
    before = len(gw.logtext())
    with open(gw.config_path, "w") as f:
        f.write(text.replace("{port}", str(gw.port)))
    gw.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        new = gw.logtext()[before:]
        if '"configuration reloaded"' in new or '"reload failed' in new:
            return [json.loads(line) for line in new.splitlines() if line.startswith("{")]
        time.sleep(0.05)
    return []


def chat(text):
    st, h, _ = request(gw.port, "POST", "/v1/chat/completions",
                       json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}),
                       {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    return st, h.get("x-switchyard-request-id")


def record(rid):
    c = sqlite3.connect(DB)
    try:
        row = c.execute("SELECT record FROM audit_records WHERE request_id = ?", (rid,)).fetchone()
        return json.loads(row[0]) if row else None
    finally:
        c.close()


def written_within(rid, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if record(rid):
            return True
        time.sleep(0.02)
    return record(rid) is not None


def checkpoints():
    c = sqlite3.connect(DB)
    try:
        return c.execute("SELECT count(*) FROM audit_checkpoints").fetchone()[0]
    finally:
        c.close()


# flush_interval 3s: a lone record waits for it
st, rid = chat("before")
check("a request is served", st == 200 and rid, st)
check("with flush_interval 3s a lone record is not written within 1 s", not written_within(rid, 1.0))
time.sleep(2.5)
check("...and is written once the interval has passed", record(rid) is not None)

# batch_records 1: each record closes its batch at once, flush_interval still 3s
lines = reload(config(batch_records=1))
check("reload: batch_records applies", any(l.get("msg") == "audit settings reloaded" and l.get("batch_records") == 1
                                           for l in lines), lines)
st, rid = chat("one per batch")
check("with batch_records 1 a record is written at once despite flush_interval 3s", written_within(rid, 1.0))

# flush_interval 20ms, content full, checkpoint every record
cp0 = checkpoints()
lines = reload(config(flush_interval="20ms", content="full", checkpoint_records=1, synchronous="normal"))
check("reload: flush_interval, content, checkpoint_records and synchronous apply",
      any(l.get("msg") == "audit settings reloaded" and l.get("flush_interval_ms") == 20 and
          l.get("content") == "full" and l.get("checkpoint_records") == 1 and l.get("synchronous") == "normal"
          for l in lines), lines)
st, rid = chat("full content please")
check("with flush_interval 20ms a record is written within 0.5 s", written_within(rid, 0.5))
rec = record(rid) or {}
check("content: full puts the request body in the record",
      rec.get("content_mode") == "full" and "full content please" in rec.get("request_content", ""), rec)
time.sleep(0.3)
check("checkpoint_records 1: a checkpoint now follows every batch", checkpoints() > cp0, (cp0, checkpoints()))

lines = reload(config(flush_interval="20ms", content="redacted", checkpoint_records=1))
st, rid = chat("secret words")
written_within(rid, 0.5)
rec = record(rid) or {}
check("content: redacted masks the text",
      rec.get("content_mode") == "redacted" and "secret words" not in json.dumps(rec) and
      "[redacted]" in rec.get("request_content", ""), rec)

# what cannot change: refused, named, the running value kept
lines = reload(config(store="other.db", key="other.key", queue_capacity=2048, flush_interval="20ms",
                      content="redacted", checkpoint_records=1))
refused = {l.get("setting"): l for l in lines if l.get("level") == "error" and "cannot change" in l.get("msg", "")}
check("reload: a different store, signing key and queue_capacity are refused with an error naming each",
      set(refused) == {"store", "audit.signing_key_file", "audit.queue_capacity"} and
      refused["store"]["running"] == "sqlite:audit.db" and refused["store"]["requested"] == "sqlite:other.db"
      and refused["audit.queue_capacity"]["running"] == 1024, lines)
check("...the rest of the configuration is still reloaded", any(l.get("msg") == "configuration reloaded" for l in lines))
st, rid = chat("still here")
check("...records go on into the running store", st == 200 and written_within(rid, 0.5) and
      not os.path.exists(os.path.join(gw.tmp, "other.db")) and not os.path.exists(os.path.join(gw.tmp, "other.key")))

lines = reload(config(enabled="false"))
check("reload: turning the audit log off is refused", any(l.get("setting") == "audit.enabled" and l.get("level") == "error"
                                                           for l in lines), lines)
st, rid = chat("still audited")
check("...and records are still written", st == 200 and written_within(rid, 4.0))

st, _, m = request(gw.port, "GET", "/metrics")
check("no store error along the way", b"switchyard_audit_store_errors_total 0\n" in m)
gw.stop()
p = subprocess.run([BIN, "audit", "verify", "--db", DB, "--public-key", os.path.join(gw.tmp, "audit-signing.key.pub")],
                   capture_output=True, text=True, timeout=60)
check("the log verifies with the key it started with, fully covered",
      p.returncode == 0 and "not covered" not in p.stdout, p.stdout + p.stderr)
sim.stop()
done()
