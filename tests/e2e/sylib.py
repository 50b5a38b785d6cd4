"""Shared helpers for Switchyard's end-to-end tests.

Every test talks only to 127.0.0.1, starts its own processes on free ports,
bounds every wait with a timeout, and stops what it started. A test script
calls check(name, cond, detail) for each assertion group and ends with
done(), which prints "N passed, N failed" and exits non-zero on failure.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref

ROOT = os.environ.get("SY_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SY_BIN") or os.path.join(ROOT, "build", "switchyard")

_passed = 0
_failed = 0


def check(name, cond, detail=""):
    global _passed, _failed
    if cond:
        _passed += 1
        print("ok   " + name, flush=True)
    else:
        _failed += 1
        print("FAIL " + name + (": " + str(detail) if detail != "" else ""), flush=True)
    return cond


def done():
    print("%d passed, %d failed" % (_passed, _failed), flush=True)
    sys.exit(1 if _failed else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A switchyard process (serve or sim) on a free loopback port."""

    def __init__(self, args, config=None, port=None, env=None, wrapper=None, ready_path="/health"):
        self.port = port or free_port()
        self.tmp = tempfile.mkdtemp(prefix="sy-e2e-")
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.tmp, "switchyard.yaml")
            with open(self.config_path, "w") as f:
                f.write(config.replace("{port}", str(self.port)))
        argv = list(wrapper or []) + [BIN] + [a.replace("{port}", str(self.port)).replace("{config}", self.config_path or "") for a in args]
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "wb")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.wait_ready(ready_path, 60 if wrapper else 10)

    def wait_ready(self, path, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early:\n" + self.logtext())
            try:
                st, _, _ = request(self.port, "GET", path, timeout=1)
                if st:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server not ready:\n" + self.logtext())

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # A sanitizer build reports memory errors in the log without
        # necessarily failing a request: make them fail the test.
        text = self.logtext()
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in text:
                i = text.index(marker)
                check("no sanitizer report in the server log", False, text[max(0, i - 200):i + 1500])
                break
        return self.proc.returncode

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def connect(port, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


_readers = weakref.WeakKeyDictionary()  # one buffered reader per socket: it reads ahead


def read_response(sock, timeout=5):
    """Read one HTTP/1.1 response (Content-Length, chunked or close-delimited).
    Returns (status, headers dict lower-cased, body bytes) or (None, {}, b"") on EOF."""
    sock.settimeout(timeout)
    f = _readers.get(sock)
    if f is None:
        f = _readers[sock] = sock.makefile("rb")
    line = f.readline()
    if not line:
        return None, {}, b""
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if status < 200:
        return status, headers, b""
    body = b""
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = f.read(n) if n else b""
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    else:
        body = f.read()
    return status, headers, body


def request(port, method, path, body=None, headers=None, timeout=5):
    s = connect(port, timeout)
    try:
        h = {"Host": "127.0.0.1", "Connection": "close"}
        h.update(headers or {})
        data = body.encode() if isinstance(body, str) else (body or b"")
        if body is not None:
            h["Content-Length"] = str(len(data))
        head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        s.sendall(head.encode() + data)
        return read_response(s, timeout)
    finally:
        s.close()


def raw_exchange(port, data, timeout=5, shut=False):
    """Send raw bytes, read until the server closes or timeout. Returns bytes."""
    s = connect(port, timeout)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(timeout)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(raw):
    if not raw.startswith(b"HTTP/1."):
        return None
    return int(raw.split(b" ", 2)[1])


def jbody(body):
    try:
        return json.loads(body)
    except Exception:
        return None
