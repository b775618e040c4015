"""A loopback HTTP server standing in for an http image store.

Glance checks a new http location with one HEAD (it needs the size), so the
mirror answers HEAD with ``Content-Length``. It answers a GET with one byte
range with 206, as a real web server does, and keeps a log of every request
it saw, headers included: a test can tell whether anything read the image
from it, and who (the filter says ``Via: 1.1 loc-strategy-filter``).

A path may be published with a misbehaviour, which applies to GETs only
(Glance's HEAD, which checks a new location, always gets the truth):
``corrupt`` (the right number of wrong bytes), ``dies`` (the connection
closes after ``die_after`` bytes), ``gzip`` (says ``Content-Encoding:
gzip``, which nobody asked for), ``slow`` (dribbles a few bytes at a time),
``hangs`` (takes the request and never answers, not even a status line,
until the reader hangs up or ``hang_seconds`` have passed).
"""

import dataclasses
import http.server
import re
import time

from tests import servers

FILTER_VIA = "1.1 loc-strategy-filter"
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)\Z")


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request in the mirror's access log."""

    method: str
    path: str
    headers: dict

    @property
    def from_filter(self):
        return self.headers.get("Via") == FILTER_VIA


def _byte_range(header, size):
    """``(start, stop)`` of a satisfiable single range, else None."""
    match = _RANGE.match(header or "")
    if not match or not any(match.groups()) or size == 0:
        return None
    first, last = (int(group) if group else None for group in match.groups())
    if first is None:
        return max(size - last, 0), size
    if first >= size or (last is not None and last < first):
        return None
    return first, size if last is None else min(last + 1, size)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_GET(self):
        self._answer(send_body=True)

    def _answer(self, send_body):
        mirror = self.server.mirror
        mirror.requests.append(Seen(self.command, self.path,
                                    dict(self.headers.items())))
        data = mirror.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if send_body and mirror.behaviours.get(self.path) == "hangs":
            self._hang(mirror.hang_seconds)
            return
        window = _byte_range(self.headers.get("Range"), len(data))
        if window is None:
            self.send_response(200)
            start, stop = 0, len(data)
        else:
            self.send_response(206)
            start, stop = window
            self.send_header("Content-Range",
                             f"bytes {start}-{stop - 1}/{len(data)}")
        behaviour = mirror.behaviours.get(self.path, "ok")
        if not send_body:
            behaviour = "ok"
        body = data[start:stop]
        if behaviour == "corrupt":
            body = bytes(255 - byte for byte in body)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        if behaviour == "gzip":
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if not send_body:
            return
        if behaviour == "dies":
            self.wfile.write(body[:mirror.die_after])
            self.wfile.flush()
            self.close_connection = True
        elif behaviour == "slow":
            for offset in range(0, len(body), 16):
                self.wfile.write(body[offset:offset + 16])
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.wfile.write(body)

    def _hang(self, seconds):
        """Say nothing until the reader closes the connection (or
        ``seconds`` pass), then close it.
        """
        self.close_connection = True
        self.connection.settimeout(seconds)
        try:
            self.rfile.read(1)  # b"" once the reader has hung up
        except OSError:
            pass

    def log_message(self, format, *args):
        """Quiet: the access log is ``Mirror.requests``."""


class Mirror:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1, on a free port,
    from its construction until ``stop()``.
    """

    def __init__(self, die_after=4096, hang_seconds=30):
        self.files = {}
        self.behaviours = {}
        self.die_after = die_after
        self.hang_seconds = hang_seconds
        self.requests = []
        self._running = servers.http_server(_Handler)
        self._running.server.mirror = self

    @property
    def port(self):
        return self._running.port

    def publish(self, path, data, behaviour="ok"):
        """Serve ``data`` at ``path``, with ``behaviour`` for GETs; returns
        its URL.
        """
        self.files[path] = data
        self.behaviours[path] = behaviour
        return self._running.url(path)

    def requests_for(self, path):
        """The methods of the requests for ``path``, in order."""
        return [seen.method for seen in self.seen(path)]

    def seen(self, path, since=0):
        """The requests for ``path``, from the ``since``-th request on."""
        return [seen for seen in self.requests[since:] if seen.path == path]

    def stop(self):
        """Stop serving and close the port: connections are refused.
        Stopping twice is stopping once.
        """
        self._running.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
