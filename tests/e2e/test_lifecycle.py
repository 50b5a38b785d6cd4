"""Process lifecycle of `switchyard serve`: load and memory, SIGHUP reloads
under load (good and bad files), SIGTERM draining in-flight requests, the
drain timeout, leaks under valgrind, and the `config` / `--help` CLI."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from sylib import BIN, Server, check, connect, done, raw_exchange, read_response, request, status_of

WRK = shutil.which("wrk")


def config(port, body="64k", workers=2, drain="5s"):
    return """
listen: 127.0.0.1:%d
workers: %d
limits:
  max_body_bytes: %s
  header_timeout: 2s
  drain_timeout: %s
""" % (port, workers, body, drain)


def wrk(port, conns, secs, path="/health"):
    out = subprocess.run([WRK, "-t2", "-c%d" % conns, "-d%ds" % secs, "--timeout", "5s",
                          "http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True, timeout=secs + 30).stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errs = sum(int(x) for x in errs.groups()) if errs else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(non2xx.group(1)) if non2xx else 0
    return reqs, errs, non2xx, out


def write_config(srv, text):
    tmp = srv.config_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, srv.config_path)


# --- load, memory ---
srv = Server(["serve", "-c", "{config}"], "listen: 127.0.0.1:{port}\nworkers: 2\n")
P = srv.port
for _ in range(20):
    request(P, "GET", "/health")
time.sleep(1.5)
rss_before = srv.rss_kb()
reqs, errs, non2xx, out = wrk(P, 256, 10)
check("wrk -c 256 -d 10s: no errors", reqs > 1000 and errs == 0 and non2xx == 0, out)
time.sleep(2.0)  # idle workers give freed memory back after 1 s
rss_after = srv.rss_kb()
check("RSS back within 10%% after the run (%d -> %d KiB)" % (rss_before, rss_after),
      rss_after <= rss_before * 1.10, (rss_before, rss_after))
srv.stop()

# --- SIGHUP under load ---
srv = Server(["serve", "-c", "{config}"], config(0).replace("127.0.0.1:0", "127.0.0.1:{port}"))
P = srv.port
result = {}
t = threading.Thread(target=lambda: result.update(r=wrk(P, 32, 5)))
t.start()
time.sleep(0.5)
for i in range(10):
    write_config(srv, config(P, body="%dk" % (64 + i)))
    srv.signal(signal.SIGHUP)
    time.sleep(0.3)
t.join()
reqs, errs, non2xx, out = result["r"]
check("10 SIGHUP reloads during load: zero failed requests", reqs > 1000 and errs == 0 and non2xx == 0, out)
check("reloads logged", srv.logtext().count("configuration reloaded") >= 10, srv.logtext()[-500:])

write_config(srv, config(P, body="1k"))
srv.signal(signal.SIGHUP)
time.sleep(0.5)
st = request(P, "POST", "/x", body="z" * 4000)[0]
check("a reload applies new limits to new connections", st == 413, st)

write_config(srv, config(P, body="1k") + "lisen: nope\n")
srv.signal(signal.SIGHUP)
time.sleep(0.5)
log = srv.logtext()
check("a bad reload is refused and says why (file:line and did-you-mean)",
      "reload failed" in log and re.search(r'switchyard\.yaml:\d+:\d+: unknown key \\"lisen\\"', log) is not None
      and "did you mean" in log, log[-600:])
st = request(P, "POST", "/x", body="z" * 4000)[0]
check("after a bad reload the running configuration stays", st == 413 and request(P, "GET", "/health")[0] == 200, st)
srv.stop()

# --- SIGTERM drains in-flight requests ---
srv = Server(["serve", "-c", "{config}"], config(0, drain="5s").replace("127.0.0.1:0", "127.0.0.1:{port}"))
P = srv.port
inflight = []
for i in range(5):  # requests whose bodies are still arriving
    s = connect(P)
    s.sendall(b"POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
    inflight.append(s)
idle = connect(P)
idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
read_response(idle)
time.sleep(0.2)
t0 = time.time()
srv.signal(signal.SIGTERM)
time.sleep(0.5)
refused = False
try:
    request(P, "GET", "/health", timeout=1)
except OSError:
    refused = True
check("after SIGTERM no new connections are accepted", refused)
idle.settimeout(2)
try:
    idle_closed = idle.recv(10) == b""
except OSError:
    idle_closed = True
check("idle keep-alive connections are closed at once", idle_closed)
answers = []
for s in inflight:
    s.sendall(b"world")
    answers.append(read_response(s))
check("every in-flight request completes, with Connection: close",
      all(a[0] == 404 and a[1].get("connection") == "close" for a in answers), [a[0] for a in answers])
rc = srv.proc.wait(10)
check("then the process exits 0", rc == 0 and time.time() - t0 < 5, (rc, time.time() - t0))
srv.stop()

srv = Server(["serve", "-c", "{config}"], config(0, drain="1s").replace("127.0.0.1:0", "127.0.0.1:{port}"))
s = connect(srv.port)
s.sendall(b"POST /stuck HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
time.sleep(0.2)
t0 = time.time()
srv.signal(signal.SIGTERM)
rc = srv.proc.wait(10)
el = time.time() - t0
check("a request that never completes is cut at drain_timeout", rc == 0 and 0.8 < el < 4, (rc, el))
s.close()
srv.stop()

# --- valgrind: no leaks over a scripted client run ---
if shutil.which("valgrind"):
    srv = Server(["serve", "-c", "{config}"], config(0, workers=2).replace("127.0.0.1:0", "127.0.0.1:{port}"),
                 wrapper=["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                          "--error-exitcode=9", "--show-leak-kinds=definite,indirect"])
    P = srv.port
    for i in range(20):
        request(P, "GET", "/health")
        request(P, "POST", "/x", body="abc" * i)
    raw_exchange(P, b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    raw_exchange(P, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    raw_exchange(P, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n")
    s = connect(P)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
    for _ in range(10):
        read_response(s)
    s2 = connect(P)
    s2.sendall(b"GET /hea")  # left half-sent at shutdown
    time.sleep(0.3)
    rc = srv.stop(timeout=60)
    log = srv.logtext()
    check("valgrind: no leaks or memory errors over a scripted run", rc == 0 and "ERROR SUMMARY: 0 errors" in log,
          (rc, log[-1500:]))
    s.close()
    s2.close()

# --- CLI ---
def run(*args):
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout, p.stderr

rc, out, err = run("version")
check("switchyard version", rc == 0 and out.startswith("switchyard "), out)
for cmd in (["--help"], ["serve", "--help"], ["config", "--help"], ["config", "check", "--help"], ["version", "--help"]):
    rc, out, err = run(*cmd)
    check("switchyard %s exits 0 with usage" % " ".join(cmd), rc == 0 and "usage: switchyard" in out, (rc, out, err))
rc, out, err = run("bogus")
check("unknown command -> exit 2 with usage", rc == 2 and "unknown command" in err, err)
tmpd = srv.tmp
good = os.path.join(tmpd, "good.yaml")
with open(good, "w") as f:
    f.write("listen:\n  - 127.0.0.1:4000\n  - '[::1]:4000'\nworkers: auto\nlimits:\n  max_body_bytes: 8m\n")
rc, out, err = run("config", "check", good)
check("config check: a good file -> exit 0", rc == 0 and "ok" in out, (rc, out, err))
rc, out, err = run("config", "check", good, "--print")
check("config check --print shows the effective configuration", rc == 0 and "max_body_bytes: 8m" in out, out)
bad = os.path.join(tmpd, "bad.yaml")
with open(bad, "w") as f:
    f.write("listen: 127.0.0.1:4000\nworkers: lots\nlimits:\n  max_header_bytes: huge\n  idle_timout: 5s\n")
rc, out, err = run("config", "check", bad)
check("config check: errors name file:line:col and the key", rc == 1
      and re.search(r"bad\.yaml:2:\d+: workers: ", err) and re.search(r"bad\.yaml:4:\d+: limits\.max_header_bytes: ", err)
      and 'did you mean "limits.idle_timeout"' in err, err)
rc, out, err = run("config", "check", os.path.join(tmpd, "missing.yaml"))
check("config check: a missing file says so", rc == 1 and "cannot open" in err, err)
env = dict(os.environ)
env.pop("SY_TEST_UNSET", None)
with open(bad, "w") as f:
    f.write("listen: ${SY_TEST_UNSET}\n")
p = subprocess.run([BIN, "config", "check", bad], capture_output=True, text=True, timeout=10, env=env)
check("config check: an unset ${VAR} is named", p.returncode == 1 and "SY_TEST_UNSET" in p.stderr, p.stderr)
rc, out, err = run("serve", "-c", bad)
check("serve with a bad file exits 1 with the reason", rc == 1 and "SY_TEST_UNSET" in err, err)
done()
