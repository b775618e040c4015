"""Test doubles for the log-redaction tests: a root handler that keeps
every record formatted, and a server whose header block does not parse."""

import contextlib
import logging
import socket
import threading


class Capture(logging.Handler):
    """Every record, formatted (traceback included) as an operator's handler
    would show it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(
            "%(name)s %(levelname)s %(message)s"))
        self.texts = []

    def emit(self, record):
        self.texts.append(self.format(record))


@contextlib.contextmanager
def capturing_root():
    """A ``Capture`` on the root logger, which every logger propagates to,
    at DEBUG."""
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class ColonlessHeaderServer:
    """Answers every request on 127.0.0.1 with ``body`` and a header line
    without a colon, which urllib3 reports in a warning quoting the URL."""

    def __init__(self, body):
        self.body = body
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = connection.recv(4096)
                    if not data:
                        break
                    request += data
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                    b"this line has no colon\r\nConnection: close\r\n\r\n"
                    % len(self.body) + self.body)

    def stop(self):
        self.sock.close()
