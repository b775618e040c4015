"""A one-line progress bar for a download, drawn on a terminal only.

Redrawn at most ten times a second: a terminal that repaints for every 64 KiB
chunk costs more than the download on a fast link.
"""

import contextlib
import time

_INTERVAL = 0.1
_UNITS = ("B", "kB", "MB", "GB", "TB")


def _size(count):
    """``count`` bytes in the largest decimal unit that keeps it >= 1."""
    unit = 0
    while count >= 1000 and unit < len(_UNITS) - 1:
        count /= 1000
        unit += 1
    return f"{count:.0f} B" if unit == 0 else f"{count:.1f} {_UNITS[unit]}"


class Progress:
    """Bytes written, percent and rate, on ``stream``: the ``progress``
    callback of ``Client.download``.
    """

    def __init__(self, stream, clock=time.monotonic):
        self._stream = stream
        self._clock = clock
        self._started = self._drawn = clock()
        self._total = 0
        self._position = 0
        self._received = 0  # counts bytes written again after a start over

    def __call__(self, written, total):
        started_over = written < self._position
        self._received += max(written - self._position, 0)
        self._position, self._total = written, total
        if started_over or self._clock() - self._drawn >= _INTERVAL:
            self._draw()

    def finish(self):
        """Draw the final state and end the line."""
        self._draw()
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self):
        self._drawn = now = self._clock()
        rate = self._received / max(now - self._started, 1e-6)
        percent = 100 * self._position // self._total if self._total else 100
        line = (f"{_size(self._position)} of {_size(self._total)}"
                f"  {percent:3d}%  {_size(rate)}/s")
        self._stream.write(f"\r{line:<50}")
        self._stream.flush()


@contextlib.contextmanager
def progress_bar(stream):
    """A ``Progress`` on ``stream`` when it is a terminal, else None."""
    if not stream.isatty():
        yield None
        return
    progress = Progress(stream)
    try:
        yield progress
    finally:
        progress.finish()
