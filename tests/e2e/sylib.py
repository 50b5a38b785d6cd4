"""Shared helpers for Switchyard's end-to-end tests.

Every test talks only to 127.0.0.1, starts its own processes on free ports,
bounds every wait with a timeout, and stops what it started. A test script
calls check(name, cond, detail) for each assertion group and ends with
done(), which prints "N passed, N failed" and exits non-zero on failure.
"""
import json
import os
import re
import shutil
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


# Whatever a test registers here is stopped when it exits, even after a crash.
_at_exit = []


def _stop_leftovers():
    for obj in reversed(_at_exit):
        try:
            if isinstance(obj, Server):
                if obj.proc.poll() is None:
                    obj.proc.kill()
                    obj.proc.wait()
            else:
                obj.stop()
        except Exception:
            pass


def _exit_on_signal(signum, frame):
    # SystemExit unwinds the test and runs the atexit hooks, so a runner's
    # timeout (SIGTERM) stops the servers the test started as well.
    sys.exit(128 + signum)


# Every test imports this module: a runner's SIGTERM (or SIGINT, SIGHUP)
# becomes SystemExit in the test, so its `finally` blocks and the atexit
# hook below stop what it started instead of leaving servers behind.
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    if signal.getsignal(_sig) in (signal.SIG_DFL, signal.default_int_handler):
        signal.signal(_sig, _exit_on_signal)


def stopped_at_exit(obj):
    """Register a Server, PostgresServer or RedisServer to be stopped when
    the test exits (normally, by an exception, or by a signal as above);
    returns it."""
    if not _at_exit:
        import atexit
        atexit.register(_stop_leftovers)
    _at_exit.append(obj)
    return obj


def rfc9162_fold(leaf, m, n, path):
    """Fold an inclusion proof (RFC 9162 section 2.1.3.2): the root reached
    from leaf hash `leaf` at index m of a tree of size n, or None."""
    import hashlib
    fn, sn, r = m, n - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Configuration values that are secrets: provider keys, the master key, a
# password in a URL, and the static `keys` (inline list or block list).
_SECRET_FIELD = re.compile(r'\b(?:api_key|master_key|aws_secret_access_key|aws_session_token)\s*:\s*"?(\$\{[^}]*\}|[^"\s,}#]+)')
_URL_PASSWORD = re.compile(r'://[^/\s:@"]*:([^@\s"/]+)@')
_ENV_REF = re.compile(r'^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$')


def config_secrets(text, env):
    """The secret values a configuration holds (${ENV} references resolved
    with `env`), for the check that none of them reaches a log."""
    found = _SECRET_FIELD.findall(text) + _URL_PASSWORD.findall(text)
    m = re.search(r'^keys:\s*\[(.*?)\]', text, re.M)
    if m:
        found += [k.strip().strip('"') for k in m.group(1).split(",")]
    else:
        m = re.search(r'^keys:\s*\n((?:\s+-\s*.*\n)+)', text, re.M)
        if m:
            found += [l.strip()[1:].strip().strip('"') for l in m.group(1).splitlines()]
    out = set()
    for v in found:
        r = _ENV_REF.match(v)
        if r:
            v = env.get(r.group(1)) or r.group(2) or ""
        if len(v) >= 8:
            out.add(v)
    return out


class Server:
    """A switchyard process (serve or sim) on a free loopback port.

    A gateway (`serve`) is checked when it stops: no secret it was configured
    with (provider keys, the master key, static keys, passwords in URLs), nor
    any added with add_secret() (virtual keys a test created), may appear in
    its log."""

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
        self.gateway = "serve" in args
        self.secrets = config_secrets(config, e) if config else set()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.wait_ready(ready_path, 60 if wrapper else 10)

    def wait_ready(self, path, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early:\n" + self.logtext())
            try:
                st, _, _ = request(self.port, "GET", path, timeout=1)
                # Another process that won the race for the same free port
                # would answer the probe too; ours then fails to bind and
                # exits at once. Ready: ours says it listens (log level info),
                # or it is still running a moment after the probe succeeded.
                if st and "listening" not in self.logtext():
                    time.sleep(0.2)
                if st and self.proc.poll() is None:
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

    def add_secret(self, s):
        if s and len(s) >= 8:
            self.secrets.add(s)

    def check_secrets(self, text, where):
        """No secret of this server in `text` (a log, a metrics page, a body).
        The secret itself is never printed: only where and which kind."""
        for s in self.secrets:
            i = text.find(s)
            if i >= 0:
                line = text.count("\n", 0, i) + 1
                check("no secret in the %s of %s" % (where, os.path.basename(self.tmp)), False,
                      "a configured or created secret (%d characters, starting %r) appears at line %d"
                      % (len(s), s[:4], line))
                return False
        return True

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
        if self.gateway:
            self.check_secrets(text, "log")
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
        # the buffered reader holds the socket's descriptor open too
        f = _readers.pop(s, None)
        if f is not None:
            f.close()
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


# ---- Redis and PostgreSQL on loopback, for the governance tests ----

class RedisServer:
    """redis-server on a free loopback port, in memory only."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.tmp = tempfile.mkdtemp(prefix="sy-redis-")
        self.start()

    def start(self):
        self.log = open(os.path.join(self.tmp, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.tmp, "--protected-mode", "yes"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    s.close()
                    return
                s.close()
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def command(self, *args):
        """One command; returns the raw reply bytes."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            req = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(str(a).encode()), a) for a in args)
            s.sendall(req.encode())
            return s.recv(1 << 20)
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory) on a
    free loopback port, trust authentication for loopback only. As root it
    runs as the `postgres` user (PostgreSQL refuses to run as root)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.tmp = tempfile.mkdtemp(prefix="sy-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.user = "sy"
        bindir = self._bindir()
        self.as_user = []
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run([os.path.join(bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", self.user,
                   "--no-sync", "-E", "UTF8"], 120)
        self.bindir = bindir
        self.resume()

    @staticmethod
    def _bindir():
        for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir("/usr/lib/postgresql") else []:
            p = os.path.join("/usr/lib/postgresql", d, "bin")
            if os.path.exists(os.path.join(p, "initdb")):
                return p
        p = shutil.which("initdb")
        if p:
            return os.path.dirname(p)
        raise RuntimeError("PostgreSQL is not installed (make deps installs it)")

    def _run(self, argv, timeout):
        p = subprocess.run(self.as_user + argv, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s %s" % (os.path.basename(argv[0]), p.stdout, p.stderr))

    def create_db(self, name):
        self._run([os.path.join(self.bindir, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name], 60)
        return "postgres://%s@127.0.0.1:%d/%s" % (self.user, self.port, name)

    def psql(self, db, sql):
        p = subprocess.run(self.as_user + [os.path.join(self.bindir, "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.user, "-d", db, "-At", "-c", sql], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("psql: " + p.stderr)
        return p.stdout

    def halt(self):
        """Stop the server (fast: open connections are cut), keeping its data."""
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"], 60)

    def resume(self):
        """Start it again after halt(), on the same port and data."""
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.tmp, "pg.log"),
                   "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
                   % (self.port, self.tmp), "-w", "-t", "60", "start"], 90)

    def stop(self):
        try:
            self.halt()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)
