"""A command stopped by a signal still cleans up: SIGTERM and SIGHUP raise
``SystemExit`` in the main thread, as Ctrl-C raises ``KeyboardInterrupt``,
so that a download's partial file is removed on the way out.
"""

import contextlib
import signal

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _exit(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def terminations_as_exits():
    """SIGTERM and SIGHUP exit through ``finally`` blocks while inside."""
    previous = {signum: signal.signal(signum, _exit) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
