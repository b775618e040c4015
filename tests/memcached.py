"""A real memcached (Debian's package) on a free loopback port, per test.

``tools/run-tests.sh`` installs the package when it is missing. ``kill``,
``pause`` and ``resume`` are the faults a shared cache has in production:
gone, and hung (accepting connections but answering nothing).
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

BINARY = shutil.which("memcached") or "/usr/bin/memcached"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Memcached:
    """One memcached process; ``address`` stays the same across restarts."""

    def __init__(self):
        self.port = _free_port()
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        if not os.access(BINARY, os.X_OK):
            pytest.fail("memcached is not installed: tools/run-tests.sh "
                        "installs it (apt-get install -y memcached)")
        self.process = subprocess.Popen(
            [BINARY, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
             "-m", "16", "-t", "1", *(["-u", "root"] if os.getuid() == 0
                                      else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"memcached exited with {self.process.returncode}"
                            f" on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        pytest.fail(f"memcached did not listen on port {self.port}")

    def kill(self):
        """Gone: connections are refused from now on."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self):
        """Hung: the kernel still accepts connections; nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def command(self, line):
        """memcached's answer to one text-protocol ``line``, up to END."""
        with socket.create_connection(("127.0.0.1", self.port), 2) as sock:
            sock.sendall(line.encode() + b"\r\n")
            answer = b""
            while not _complete(answer):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            return answer.decode("latin-1")

    def keys(self):
        """Every key memcached holds (``lru_crawler metadump``)."""
        deadline = time.monotonic() + 5
        dump = self.command("lru_crawler metadump all")
        # The crawler answers BUSY while its own background crawl runs.
        while dump.startswith("BUSY") and time.monotonic() < deadline:
            time.sleep(0.02)
            dump = self.command("lru_crawler metadump all")
        return [urllib.parse.unquote(field[len("key="):])
                for line in dump.splitlines()
                for field in line.split() if field.startswith("key=")]

    def stats(self):
        lines = self.command("stats").splitlines()
        return {parts[1]: parts[2] for parts in map(str.split, lines)
                if len(parts) == 3 and parts[0] == "STAT"}

    def stop(self):
        if self.process is not None:
            self.resume()
            self.kill()


_LAST_LINES = (b"END", b"STORED", b"OK", b"BUSY", b"ERROR", b"CLIENT_ERROR",
               b"SERVER_ERROR")


def _complete(answer):
    """Whether ``answer`` ends with the last line of a text-protocol reply."""
    if not answer.endswith(b"\r\n"):
        return False
    # metadump ends its own lines with a bare \n.
    last_line = answer[:-2].rpartition(b"\n")[2]
    return last_line.startswith(_LAST_LINES)


@pytest.fixture
def memcached():
    server = Memcached().start()
    yield server
    server.stop()
