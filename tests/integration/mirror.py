"""A loopback HTTP server standing in for an http image store.

Glance checks a new http location with one HEAD (it needs the size), so the
mirror answers HEAD with ``Content-Length`` and keeps a log of every request
it saw: a test can tell whether anything read the image from it.
"""

import http.server
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_GET(self):
        self._answer(send_body=True)

    def _answer(self, send_body):
        mirror = self.server.mirror
        mirror.requests.append((self.command, self.path))
        data = mirror.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def log_message(self, format, *args):
        """Quiet: the access log is ``Mirror.requests``."""


class Mirror:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1, on a free port."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                       _Handler)
        self._server.daemon_threads = True
        self._server.mirror = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="mirror", daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    def publish(self, path, data):
        """Serve ``data`` at ``path``; returns its URL."""
        self.files[path] = data
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path):
        return [method for method, seen in self.requests if seen == path]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
