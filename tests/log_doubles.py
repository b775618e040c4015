"""Test doubles for the log-redaction tests: a root handler that keeps
every record formatted, and a server whose header block does not parse.
"""

import contextlib
import logging

from tests.functional.mirrors import answer
from tests.functional.mirrors import RawMirror


class Capture(logging.Handler):
    """Every record, formatted (traceback included) as an operator's handler
    would show it.
    """

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
    at DEBUG.
    """
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def colonless_header_server(body):
    """A mirror answering every request with ``body`` and a header line
    without a colon, which urllib3 reports in a warning quoting the URL.
    """
    return RawMirror(answer(["HTTP/1.1 200 OK", f"Content-Length: {len(body)}",
                             "this line has no colon", "Connection: close"],
                            body))
