#!/usr/bin/env python3
"""Peers for tests/unit/test_http_client.c, on 127.0.0.1 only.

  http_client_peer.py tls CERT KEY   an HTTPS/1.1 server (keep-alive); paths:
                                     /hello -> "hello tls", /close -> Connection: close
  http_client_peer.py proxy AUTH     a CONNECT proxy; AUTH is the required
                                     Proxy-Authorization value ("-" for none)

Prints "PORT <n>" once listening, then serves until its stdin closes (the
test exits), so a crashed test never leaves it behind. The proxy prints
"CONNECT <target>" for each tunnel it opens.
"""
import socket
import ssl
import sys
import threading
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def exit_on_stdin_eof():
    def run():
        try:
            while sys.stdin.buffer.read(1):
                pass
        finally:
            os._exit(0)
    threading.Thread(target=run, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = b"hello tls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def serve_tls(cert, key):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def proxy_client(c, auth):
    f = c.makefile("rb")
    line = f.readline().decode("latin-1").strip()
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "CONNECT":
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    if auth != "-" and headers.get("proxy-authorization") != auth:
        c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    host, _, port = parts[1].rpartition(":")
    host = host.strip("[]")
    if host not in ("localhost", "127.0.0.1", "::1"):  # loopback only
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    try:
        u = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    u.settimeout(None)
    print("CONNECT %s" % parts[1], flush=True)
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
    pump(c, u)


def serve_proxy(auth):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print("PORT %d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=proxy_client, args=(c, auth), daemon=True).start()


if __name__ == "__main__":
    exit_on_stdin_eof()
    if sys.argv[1] == "tls":
        serve_tls(sys.argv[2], sys.argv[3])
    else:
        serve_proxy(sys.argv[2])
