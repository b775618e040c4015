"""A loopback reverse proxy that says who its client is, as HAProxy's
``option forwardfor`` or nginx's ``$proxy_add_x_forwarded_for`` do.

``ForwardingProxy(upstream_url, host)`` listens on a free port of ``host``
(any 127.0.0.0/8 address: all are this host's on Linux), and forwards each
request to ``upstream_url`` from ``host`` too, so that the upstream's peer
(its ``REMOTE_ADDR``) is the proxy's address. It appends its own client's
address to the request's ``X-Forwarded-For`` (keeping what the client sent
to its left) and passes the answer back as it comes, a download's body in
chunks. A proxy may forward to another (``upstream_url`` its ``url``).
"""

import http.client
import http.server
import urllib.parse

from tests import servers

# Headers of one connection, not of the message: never forwarded.
_HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade"))
_CHUNK = 64 * 1024


def _end_to_end(headers):
    return [(name, value) for name, value in headers
            if name.lower() not in _HOP_BY_HOP]


class ForwardingProxy:
    """The proxy, serving in a thread until ``stop()`` (a context manager
    too). ``forwarded_for`` is every ``X-Forwarded-For`` it sent on.
    """

    def __init__(self, upstream_url, host):
        upstream = urllib.parse.urlsplit(upstream_url)
        self.host = host
        self.forwarded_for = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = [(name, value)
                           for name, value in _end_to_end(self.headers.items())
                           if name.lower() != "x-forwarded-for"]
                chain = self.headers.get_all("X-Forwarded-For", [])
                chain.append(self.client_address[0])
                forwarded_for = ", ".join(chain)
                proxy.forwarded_for.append(forwarded_for)
                headers.append(("X-Forwarded-For", forwarded_for))
                connection = http.client.HTTPConnection(
                    upstream.hostname, upstream.port, timeout=30,
                    source_address=(proxy.host, 0))
                try:
                    connection.putrequest(self.command, self.path,
                                          skip_host=True,
                                          skip_accept_encoding=True)
                    for name, value in headers:
                        connection.putheader(name, value)
                    connection.endheaders(body)
                    answer = connection.getresponse()
                    self.send_response(answer.status, answer.reason)
                    for name, value in _end_to_end(answer.getheaders()):
                        self.send_header(name, value)
                    # HTTP/1.0: the close ends a body of no stated length.
                    self.send_header("Connection", "close")
                    self.end_headers()
                    while chunk := answer.read(_CHUNK):
                        self.wfile.write(chunk)
                finally:
                    connection.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _forward
            do_DELETE = _forward

        self._running = servers.http_server(Handler, host=host)
        self.port = self._running.port

    @property
    def url(self):
        return self._running.url()

    def stop(self):
        self._running.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
