"""faultproxy.py - an HTTP proxy for distcp's S3 tests: it sits between distcp and a
test server on 127.0.0.1, records every request (method, path with query, headers) and
injects faults by rule. It runs in the test's own process (a thread) and is stopped by
the test.

  p = FaultProxy("127.0.0.1", upstream_port); p.start()
  p.rule("PUT", "partNumber=2", status=503, body=b"<Error><Code>SlowDown</Code></Error>",
         headers={"Retry-After": "1"}, times=2)
  p.rule("GET", "/bucket/key", action="reset", times=1)     # connection closed, no answer
  p.rule("PUT", "partNumber=3", action="hold")              # block until p.release(),
                                                            # then close: no answer
  p.rule("PUT", "partNumber=1", action="gate")              # block until p.release(),
                                                            # then forward
  ... distcp -D fs.s3a.endpoint=http://127.0.0.1:<p.port> ...
  p.requests  -> [(method, path, {header: value})]
  p.stop()

A rule matches when the method equals and `needle` is a substring of the request path
(with its query); it fires `times` times (None: always). Rules are checked in order.
Request bodies are read in full and forwarded; answers are read in full (capped at
256 MiB) and passed back. The Host header is forwarded unchanged, so SigV4 signatures
stay valid."""
import http.client
import http.server
import threading

BODY_MAX = 256 << 20


class _Rule:
    def __init__(self, method, needle, status, body, headers, times, action):
        self.method, self.needle, self.status = method, needle, status
        self.body, self.headers, self.times, self.action = body, headers or {}, times, action
        self.hits = 0


class FaultProxy:
    def __init__(self, host, upstream_port):
        self.upstream = (host, upstream_port)
        self.requests = []
        self.rules = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.held = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > BODY_MAX:
                    self.send_error(413)
                    return
                body = self.rfile.read(n) if n else b""
                hdrs = {k: v for k, v in self.headers.items()}
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, hdrs))
                    rule = proxy._match(self.command, self.path)
                if rule is not None:
                    if rule.action == "reset":
                        self.close_connection = True
                        try:
                            self.connection.shutdown(2)
                        except OSError:
                            pass
                        return
                    if rule.action == "gate":
                        proxy.held.set()
                        proxy.released.wait(120)
                        rule = None          # then forwarded as usual
                if rule is not None:
                    if rule.action == "hold":
                        proxy.held.set()
                        proxy.released.wait(120)
                        self.close_connection = True
                        try:
                            self.connection.shutdown(2)
                        except OSError:
                            pass
                        return
                    self.send_response(rule.status)
                    for k, v in rule.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(rule.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(rule.body)
                    return
                try:
                    c = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                    c.putrequest(self.command, self.path, skip_host=True,
                                 skip_accept_encoding=True)
                    for k, v in hdrs.items():
                        if k.lower() not in ("connection", "content-length"):
                            c.putheader(k, v)
                    c.putheader("Content-Length", str(len(body)))
                    c.endheaders(body)
                    r = c.getresponse()
                    data = r.read(BODY_MAX) if self.command != "HEAD" else b""
                    rh = r.getheaders()
                    status = r.status
                    c.close()
                except OSError:
                    self.close_connection = True
                    return
                self.send_response(status)
                for k, v in rh:
                    if k.lower() not in ("connection", "transfer-encoding", "content-length",
                                         "keep-alive"):
                        self.send_header(k, v)
                if self.command == "HEAD":
                    length = dict((k.lower(), v) for k, v in rh).get("content-length", "0")
                    self.send_header("Content-Length", length)
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    try:
                        self.wfile.write(data)
                    except OSError:       # the client stopped reading (a cut GET)
                        self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _match(self, method, path):
        for r in self.rules:
            if r.method == method and r.needle in path and (r.times is None or r.hits < r.times):
                r.hits += 1
                return r
        return None

    def rule(self, method, needle, status=500, body=b"", headers=None, times=1,
             action="reply"):
        with self.lock:
            r = _Rule(method, needle, status, body, headers, times, action)
            self.rules.append(r)
            return r

    def clear(self):
        with self.lock:
            self.rules = []
            self.requests = []

    def release(self):
        self.released.set()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, method, needle=""):
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and needle in p)
