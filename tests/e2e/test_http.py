"""HTTP/1.1 server behaviour of `switchyard serve`, as a client sees it:
keep-alive, pipelining, bodies, caps, smuggling shapes, slow and vanishing
clients. The server must answer each with the right status and stay up."""
import socket
import time

from sylib import Server, check, connect, done, jbody, raw_exchange, read_response, request, status_of

CONFIG = """
listen: 127.0.0.1:{port}
workers: 2
limits:
  max_request_line: 1k
  max_header_bytes: 4k
  max_headers: 20
  max_body_bytes: 64k
  header_timeout: 1s
  body_timeout: 1s
  idle_timeout: 2s
  drain_timeout: 5s
log:
  level: info
"""

srv = Server(["serve", "-c", "{config}"], CONFIG)
P = srv.port

# --- basics ---
st, h, b = request(P, "GET", "/health")
j = jbody(b)
check("GET /health is 200 JSON", st == 200 and j and j.get("status") == "ok" and h.get("content-type") == "application/json", (st, h, b))
st, h, b = request(P, "GET", "/no/such/path")
j = jbody(b)
check("unknown path is 404 with a JSON error", st == 404 and j and j["error"]["type"] == "not_found_error" and "/no/such/path" in j["error"]["message"], (st, b))
st, h, b = request(P, "POST", "/health", body="{}")
check("wrong method is 405", st == 405 and jbody(b) is not None, (st, b))
st, h, b = request(P, "HEAD", "/health")
check("HEAD has headers and no body", st == 200 and b == b"" and int(h.get("content-length", "0")) > 0, (st, h, b))
check("Date and Server headers present", "date" in h and h.get("server") == "switchyard", h)

# --- keep-alive and pipelining ---
s = connect(P)
ok = True
for i in range(5):
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, b = read_response(s)
    ok = ok and st == 200 and h.get("connection") != "close"
s.close()
check("five requests over one keep-alive connection", ok)

s = connect(P)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
got = [read_response(s) for _ in range(4)]
s.close()
check("pipelined requests answered in order", [g[0] for g in got] == [200, 404, 404, 200] and b"/a" in got[1][2] and b"/b" in got[2][2], [g[0] for g in got])

# many pipelined in one write (exercises batching of responses)
s = connect(P)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 200)
sts = [read_response(s)[0] for _ in range(200)]
s.close()
check("200 pipelined requests, 200 responses", sts == [200] * 200, sts[:5])

# --- bodies ---
s = connect(P)
s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: y\r\n\r\n"
          b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
a = read_response(s)
bb = read_response(s)
s.close()
check("chunked request body framed, next request follows", a[0] == 404 and bb[0] == 200, (a[0], bb[0]))

s = connect(P)
s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
first = read_response(s)
s.sendall(b"hello world")
final = read_response(s)
s.close()
check("Expect: 100-continue gets 100 then the answer", first[0] == 100 and final[0] == 404, (first[0], final[0]))

# body split over several writes
s = connect(P)
s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel")
time.sleep(0.05)
s.sendall(b"lo wor")
time.sleep(0.05)
s.sendall(b"ld")
st = read_response(s)[0]
s.close()
check("body arriving in pieces", st == 404, st)

# A body large enough to move the read buffer while it arrives: the head
# (path, headers) must still be read correctly by the handler afterwards.
s = connect(P)
big = b"x" * 60000
s.sendall(b"POST /large/path/for/head/views HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big))
for i in range(0, len(big), 7000):
    s.sendall(big[i:i + 7000])
    time.sleep(0.002)
st, h, b = read_response(s)
s.close()
check("large body arriving in pieces: handler still sees the right path", st == 404 and b"/large/path/for/head/views" in b, (st, b[:120]))

# Connection: close is known from the head; the body must still be read whole.
s = connect(P)
s.sendall(b"POST /close/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 30000\r\n\r\n")
for i in range(0, 30000, 5000):
    time.sleep(0.01)
    s.sendall(b"y" * 5000)
st, h, b = read_response(s)
s.close()
check("Connection: close with a body in several reads is answered", st == 404 and h.get("connection") == "close", st)

# --- caps ---
r = raw_exchange(P, b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
check("request line over cap -> 414", status_of(r) == 414, r[:60])
r = raw_exchange(P, b"GET /" + b"a" * 2000)  # no CRLF yet
check("request line over cap without CRLF -> 414", status_of(r) == 414, r[:60])
r = raw_exchange(P, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n")
check("header bytes over cap -> 431", status_of(r) == 431, r[:60])
r = raw_exchange(P, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(30)) + b"\r\n")
check("header count over cap -> 431", status_of(r) == 431, r[:60])
r = raw_exchange(P, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
check("Content-Length over body cap -> 413 at once", status_of(r) == 413, r[:60])
big_chunks = b"".join(b"1000\r\n" + b"z" * 4096 + b"\r\n" for _ in range(20))
r = raw_exchange(P, b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + big_chunks + b"0\r\n\r\n")
check("chunked body over cap -> 413", status_of(r) == 413, r[:60])
j = jbody(r.split(b"\r\n\r\n", 1)[1]) if b"\r\n\r\n" in r else None
check("cap errors carry a JSON error body", j is not None and "max_body_bytes" in j["error"]["message"], r[-200:])

# --- smuggling shapes ---
cases = [
    ("CL with TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("duplicate CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("invalid CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello", 400),
    ("negative CL", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("CL list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\n", 400),
    ("missing CRLF after chunk", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("bare CR", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("TE not chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("TE chunked not last", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("HTTP/2.0 line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("NUL in header", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),
]
for name, data, want in cases:
    r = raw_exchange(P, data)
    check("smuggling/malformed: %s -> %d" % (name, want), status_of(r) == want and b"connection: close" in r.lower(), r[:80])

# --- slow and vanishing clients ---
t0 = time.time()
r = raw_exchange(P, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5)
el = time.time() - t0
check("slowloris head -> 408 after header_timeout", status_of(r) == 408 and 0.8 < el < 3.5, (r[:40], el))
s = connect(P)
s.sendall(b"GET / HTTP/1.1\r\n")
for i in range(6):  # trickle a header line every 0.3 s: total time still capped
    time.sleep(0.3)
    try:
        s.sendall(b"X-%d: y\r\n" % i)
    except OSError:
        break
s.settimeout(3)
try:
    data = s.recv(1000)
except OSError:
    data = b""
s.close()
check("trickled head still capped by header_timeout -> 408", status_of(data) == 408, data[:40])
r = raw_exchange(P, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", timeout=5)
check("stalled body -> 408 after body_timeout", status_of(r) == 408, r[:40])
r = raw_exchange(P, b"GET /health HTTP/1.1\r\nHost: x\r\n", shut=True)
check("half-closed with a truncated head -> 400", status_of(r) == 400, r[:60])
r = raw_exchange(P, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", shut=True)
check("half-closed after a whole request still gets its answer", status_of(r) == 200, r[:60])
t0 = time.time()
s = connect(P)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
read_response(s)
s.settimeout(5)
try:
    eof = s.recv(10) == b""
except OSError:
    eof = True
el = time.time() - t0
s.close()
check("idle keep-alive closed after idle_timeout", eof and 1.5 < el < 4.5, el)
s = connect(P)
s.settimeout(3)
try:
    eof = s.recv(10) == b""
except OSError:
    eof = True
s.close()
check("silent connection closed after header_timeout", eof)

for i in range(50):  # disconnect at every phase
    s = connect(P)
    msg = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"q" * 50
    s.sendall(msg[: (i * 7) % len(msg)])
    if i % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    s.close()
st = request(P, "GET", "/health")[0]
check("server up after 50 clients vanished mid-request", st == 200, st)

# HTTP/1.0
r = raw_exchange(P, b"GET /health HTTP/1.0\r\n\r\n")
check("HTTP/1.0 without keep-alive: answer then close", status_of(r) == 200 and b"connection: close" in r.lower(), r[:100])
s = connect(P)
s.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
a = read_response(s)
s.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
bb = read_response(s)
s.close()
check("HTTP/1.0 keep-alive honoured", a[0] == 200 and bb[0] == 200 and a[1].get("connection") == "keep-alive", (a[0], bb[0], a[1]))
s = connect(P)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
a = read_response(s)
s.settimeout(2)
rest = b""
try:
    while True:
        c = s.recv(1000)
        if not c:
            break
        rest += c
except OSError:
    pass
s.close()
check("Connection: close ends the connection after its response", a[0] == 200 and rest == b"", rest[:60])

st = request(P, "GET", "/health")[0]
check("server still up at the end", st == 200 and srv.proc.poll() is None)
rc = srv.stop()
check("SIGTERM exits 0", rc == 0, rc)
log = srv.logtext()
check("log lines are JSON", all(l.startswith("{") for l in log.strip().splitlines()), log[-300:])

# --- header slots: a connection starts with 32 and grows to limits.max_headers ---
srv2 = Server(["serve", "-c", "{config}"], "listen: 127.0.0.1:{port}\nworkers: 1\nlimits:\n  max_headers: 60\n")
P2 = srv2.port
many = lambda n: b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(n)) + b"\r\n"
r = raw_exchange(P2, many(20) + many(50) + many(58) + many(20))
check("40-60 header fields (past the first 32 slots) on one connection are served",
      r.count(b"HTTP/1.1 200") == 4, r[:120])
r = raw_exchange(P2, many(60))
check("more fields than max_headers -> 431 after growing", status_of(r) == 431, r[:60])
check("SIGTERM exits 0 (second server)", srv2.stop() == 0)
done()
