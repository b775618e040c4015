"""Loopback HTTP servers that play image mirrors, good and bad."""

import contextlib
import http.server
import socket
import struct
import time

from tests import servers


class Mirror:
    """An http server on 127.0.0.1 serving ``data`` under any path.

    ``behaviour``: ``ok``; ``dies`` (closes the connection after
    ``die_after`` bytes); ``corrupt`` (the right number of wrong bytes);
    ``redirect`` (302 to ``redirect_to``); ``error`` (500).
    Every request is recorded in ``log`` as (method, path, Range header).
    """

    def __init__(self, data=b"", behaviour="ok", die_after=0,
                 redirect_to=None):
        self.data = data
        self.behaviour = behaviour
        self.die_after = die_after
        self.redirect_to = redirect_to
        self.log = []
        self._running = servers.http_server(self._handler())
        self.port = self._running.port

    def url(self, path="/image"):
        return self._running.url(path)

    def stop(self):
        self._running.stop()

    def _handler(self):
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._answer(send_body=False)

            def do_GET(self):
                self._answer(send_body=True)

            def _answer(self, send_body):
                mirror.log.append((self.command, self.path,
                                   self.headers.get("Range")))
                if mirror.behaviour == "redirect":
                    self.send_response(302)
                    self.send_header("Location", mirror.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if mirror.behaviour == "error":
                    self.send_error(500)
                    return
                data = mirror.data
                if mirror.behaviour == "corrupt":
                    data = bytes(byte ^ 0xFF for byte in data)
                start, stop = 0, len(data)
                header = self.headers.get("Range", "")
                if header.startswith("bytes="):
                    first, _, last = header[6:].partition("-")
                    start = int(first)
                    # A range past the end is cut to the object, as real
                    # web servers (nginx, S3) do.
                    stop = min(int(last) + 1 if last else len(data),
                               len(data))
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{stop - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(stop - start))
                self.end_headers()
                if not send_body:
                    return
                body = data[start:stop]
                if mirror.behaviour == "dies":
                    self.wfile.write(body[:mirror.die_after])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler


class RawMirror:
    """Answers every request by calling ``script(connection)``, for answers
    http.server cannot give (bad header blocks, dribbles, resets).

    The script writes whatever bytes it likes, with whatever pauses; the
    connection is closed after it returns. ``requests`` holds each request's
    head, as received.
    """

    def __init__(self, script):
        self.script = script
        self.requests = []
        self._running = servers.raw_server(self._answer)
        self.port = self._running.port

    def url(self, path="/img"):
        return self._running.url(path)

    def _answer(self, connection):
        request = b""
        while b"\r\n\r\n" not in request:
            data = connection.recv(4096)
            if not data:
                return
            request += data
        self.requests.append(request)
        with contextlib.suppress(OSError):
            self.script(connection)

    def stop(self):
        self._running.stop()


def answer(head, body=b""):
    """A ``RawMirror`` script sending ``head`` (lines, CRLF added) and
    ``body``.
    """
    def script(connection):
        connection.sendall("".join(f"{line}\r\n" for line in head).encode()
                           + b"\r\n" + body)
    return script


def dribble(head, body=b"", step=5, pause=0.02):
    """A ``RawMirror`` script sending ``head`` then ``body``, ``step`` bytes
    at a time: each well within any read timeout, the whole never done.
    """
    def script(connection):
        data = head + body
        for offset in range(0, len(data), step):
            connection.sendall(data[offset:offset + step])
            time.sleep(pause)
    return script


def reset(connection):
    """Close ``connection`` with a TCP reset rather than a clean end."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))


class Listener:
    """A listening socket that records whether anybody connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]

    def accepted(self):
        count = 0
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return count
            connection.close()
            count += 1

    def close(self):
        self.sock.close()


def closed_port():
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
