"""Loopback servers for the tests, each serving in a thread of its own.

``http_server(handler)`` serves an ``http.server`` request handler,
``wsgi_server(app)`` a WSGI app, and ``raw_server(answer)`` calls
``answer(connection)`` for every connection accepted. Each listens on a
free port of 127.0.0.1 (or of ``::1``), is running once built, and is a
context manager that stops it.

Stopping is prompt: ``serve_forever()`` looks for a shutdown only between
polls (0.5 s apart by default, so every teardown waited half a second), and
here the listening socket is shut down first, which wakes the poll at once
(on Linux; elsewhere the poll every 50 ms bounds the wait). Requests still
being answered are not waited for (their threads are daemons): a test that
needs one finished first reads it to the end, or serves with
``threaded=False``, whose one thread finishes a request before it stops.
"""

import contextlib
import http.server
import socket
import socketserver
import sys
import threading
from wsgiref import simple_server

POLL_INTERVAL = 0.05


class _Loopback:
    """A server on a free port of ``host``, quiet about clients hanging up:
    a reader may close the connection once it has the bytes it wanted.
    """

    daemon_threads = True
    request_queue_size = 16

    def __init__(self, host, handler_class):
        self.address_family = (socket.AF_INET6 if ":" in host
                               else socket.AF_INET)
        super().__init__((host, 0), handler_class)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _HTTPServer(_Loopback, http.server.ThreadingHTTPServer):
    pass


class _WSGIServer(_Loopback, socketserver.ThreadingMixIn,
                  simple_server.WSGIServer):
    pass


class _SerialWSGIServer(_Loopback, simple_server.WSGIServer):
    pass


class _RawServer(_Loopback, socketserver.ThreadingTCPServer):
    def shutdown_request(self, request):
        # Closed as the answer left it, without a FIN first: an answer that
        # set SO_LINGER to 0 ends with a reset.
        self.close_request(request)


class QuietWSGIHandler(simple_server.WSGIRequestHandler):
    """No access log lines on stderr."""

    def log_message(self, format, *args):
        pass


class Running:
    """``server`` serving in a daemon thread until ``stop()``."""

    def __init__(self, server):
        self.server = server
        self.host, self.port = server.server_address[:2]
        self._stopped = False
        self._thread = threading.Thread(target=server.serve_forever,
                                        args=(POLL_INTERVAL,),
                                        name=f"server-{self.port}",
                                        daemon=True)
        self._thread.start()

    def url(self, path=""):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        """Stop serving and close the port: connections are then refused.
        Stopping twice is stopping once.
        """
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError):
            self.server.socket.shutdown(socket.SHUT_RDWR)
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def http_server(handler_class, host="127.0.0.1"):
    """Serve ``handler_class``, an ``http.server.BaseHTTPRequestHandler``."""
    return Running(_HTTPServer(host, handler_class))


def wsgi_server(app, host="127.0.0.1", handler_class=QuietWSGIHandler,
                threaded=True):
    """Serve the WSGI ``app`` with wsgiref; with ``threaded=False`` one
    request at a time, each finished (logged too) before a stop returns.
    """
    server_class = _WSGIServer if threaded else _SerialWSGIServer
    server = server_class(host, handler_class)
    server.set_app(app)
    return Running(server)


def raw_server(answer, host="127.0.0.1"):
    """Call ``answer(connection)`` for every connection; it is closed once
    ``answer`` returns.
    """
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            answer(self.request)

    return Running(_RawServer(host, Handler))
