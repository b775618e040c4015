"""Reading an image's bytes from its best location, failing over to the next.

A client trusts a body that ends cleanly, so a download ends either with
exactly the bytes asked for or with a broken connection (an exception out of
the body iterator). A location that fails part way is replaced by the next
one, opened at the offset reached. When no location is left, a
``fallback`` (the upstream's own download, asked for the rest) may continue
the body. Every chunk goes out as it arrives except the one that carries
the last byte: it is held back until the body is known to be whole and,
for a whole image, to match its checksums, so a wrong or short body always
arrives short.

Opening comes first and apart from streaming, so that the caller can still
fall back to the upstream's own response before any header is sent.
"""

import logging

from loc_strategy_filter.download.failures import RecordedBytes
from loc_strategy_filter.download.verify import IntegrityError
from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.stores import (
    ReadFailed, ReadRefused, WrongObject, reader_for)
from loc_strategy_filter.locations import store_type_of

LOG = logging.getLogger(__name__)


class NoReadableLocation(Exception):
    """No location could be opened; nothing has been sent yet."""


class StreamBroken(Exception):
    """Every location left failed part way: the body must end broken."""


def _reason(error, url):
    """The text of ``error``, in case a reader quoted its URL, redacted."""
    return str(error).replace(url, redact_url(url))


class FailoverStream:
    """Bytes ``start`` up to ``stop`` (exclusive) of an image of
    ``expected_size`` bytes, from the first of ``candidates`` that serves.

    ``candidates`` are ``(index, location)`` pairs in the order to try, the
    index being the location's place in the image's list (for logs only).
    ``verifier``, for a whole image only, checks its checksums. Failures are
    told to ``memory``: a failed read for the location, wrong bytes for the
    location and ``recorded`` (what the image's record says its bytes are;
    by default its size only). ``fallback(offset, stop)``, when given,
    opens a source for the rest once no location is left (a ``ReadFailed``
    when it cannot); it is tried once and never remembered as a failure.
    Use: ``open_first()``, then iterate ``chunks()`` (or the stream itself,
    which is a WSGI body), and ``close()``.
    """

    def __init__(self, candidates, readers, start, stop, verifier, memory, *,
                 image_id, expected_size, recorded=None, fallback=None):
        if not 0 <= start <= stop <= expected_size:
            raise ValueError(f"bytes {start} to {stop} are not within an "
                             f"image of {expected_size} bytes")
        self._candidates = list(candidates)
        self._readers = readers
        self._start = start
        self._stop = stop
        self._verifier = verifier
        self._memory = memory
        self._image_id = image_id
        self._expected_size = expected_size
        self._recorded = recorded or RecordedBytes(expected_size)
        self._fallback = fallback
        self._next = 0  # the next candidate to try
        self._opened = []  # the candidates that sent (or could send) bytes
        self._reading = None  # the candidate read now; None: the fallback
        self._fallback_from = None  # the offset the fallback took over at
        self._source = None
        #: How many locations failed so far.
        self.failovers = 0

    @property
    def served_by(self):
        """The index of the location read last, None before one opened."""
        return self._opened[-1][0] if self._opened else None

    def open_first(self):
        """The source of the first location that opens.

        Raises ``NoReadableLocation`` when none does.
        """
        if not self._open_next(self._start):
            raise NoReadableLocation(
                f"image {self._image_id}: no location could be opened")
        return self._source

    def chunks(self):
        """The body: exactly the bytes asked for, or an exception part way
        (``StreamBroken`` or ``IntegrityError``)."""
        if self._source is None:
            raise RuntimeError("open_first() has not opened a location")
        try:
            to_send, last = self._stop - self._start, None
            for chunk in self._window():
                if self._verifier is not None:
                    self._verifier.update(chunk)
                to_send -= len(chunk)
                if to_send:
                    yield chunk
                else:
                    last = chunk  # held back until the body is known right
            if self._verifier is not None:
                self._verify()
            self._log_served()
            if last is not None:
                yield last
        finally:
            self.close()

    __iter__ = chunks

    def close(self):
        """Release the open location; safe to call twice."""
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def _open_next(self, offset):
        """Open the next candidate that opens at ``offset``; False when none
        is left."""
        while self._next < len(self._candidates):
            candidate = self._candidates[self._next]
            self._next += 1
            if self.failovers and self._memory.recently_failed(
                    candidate[1]["url"], self._recorded):
                # Behind a failure already, this download does not wait
                # for one that failed lately too: the fallback is next.
                LOG.debug("Image %s: location %s failed lately; not tried "
                          "again", self._image_id, candidate[0])
                continue
            try:
                self._source = self._open(candidate[1]["url"], offset)
            except ReadRefused as refusal:
                LOG.debug("Image %s: location %s is not read: %s",
                          self._image_id, candidate[0],
                          _reason(refusal, candidate[1]["url"]))
            except ReadFailed as failure:
                self._failed(candidate, offset, failure)
            else:
                self._opened.append(candidate)
                self._reading = candidate
                return True
        return False

    def _open_fallback(self, offset):
        """Continue from ``fallback`` at ``offset``; False when there is
        none, or it cannot."""
        fallback, self._fallback = self._fallback, None
        if fallback is None:
            return False
        try:
            self._source = fallback(offset, self._stop)
        except ReadFailed as failure:
            LOG.warning("Image %s: the upstream's download cannot continue "
                        "from byte %d: %s", self._image_id, offset, failure)
            return False
        self._reading, self._fallback_from = None, offset
        LOG.warning("Image %s: no location left; bytes %d to %d continue "
                    "from the upstream's own download", self._image_id,
                    offset, self._stop)
        return True

    def _open(self, url, offset):
        reader = reader_for(self._readers, url)
        if reader is None:
            raise ReadRefused("no reader reads its scheme")
        source = reader.open(url, offset, self._stop)
        if source.size is not None and source.size != self._expected_size:
            source.close()
            raise WrongObject(f"it holds {source.size} bytes, "
                             f"not the image's {self._expected_size}")
        return source

    def _window(self):
        """The bytes asked for in chunks, reopening at the offset reached
        whenever a location fails."""
        position = self._start
        while True:
            try:
                for chunk in self._source.chunks():
                    if position + len(chunk) > self._stop:
                        self._sent_too_much(position)
                    position += len(chunk)
                    if chunk:
                        yield chunk
                reason = "it ended early"
            except ReadFailed as failure:
                reason = failure
            if position == self._stop:
                return  # whole: a failure after the last byte costs nothing
            self.close()
            self._failed(self._reading, position, reason)
            if not (self._open_next(position)
                    or self._open_fallback(position)):
                LOG.error("Image %s: no location left to read bytes %d to %d",
                          self._image_id, position, self._stop)
                raise StreamBroken(f"image {self._image_id}: every location "
                                   f"failed before byte {self._stop}")

    def _sent_too_much(self, position):
        self._failed(self._reading, position,
                     WrongObject(f"it sent bytes past byte {self._stop}"))
        # The bytes already sent may be wrong too: no failover can fix them.
        raise IntegrityError(
            f"image {self._image_id}: a location sent more than the "
            f"{self._stop - self._start} bytes asked for")

    def _verify(self):
        try:
            self._verifier.check()
        except IntegrityError as error:
            # Any of the locations read could hold the bad copy; for
            # another image's record, each may hold the right one.
            for _, location in self._opened:
                self._memory.failed(location["url"], self._recorded)
            LOG.error("Image %s: data read from location(s) %s is not the "
                      "image's: %s", self._image_id,
                      ", ".join(str(index) for index, _ in self._opened),
                      error)
            raise

    def _failed(self, candidate, offset, reason):
        """``candidate`` (None: the fallback) failed at byte ``offset``."""
        if candidate is None:
            LOG.warning("Image %s: the upstream's download failed at byte "
                        "%d: %s", self._image_id, offset, reason)
            return
        index, location = candidate
        url = location["url"]
        wrong_bytes = isinstance(reason, WrongObject)
        self._memory.failed(url, self._recorded if wrong_bytes else None)
        self.failovers += 1
        LOG.warning("Image %s: location %s (%s) failed at byte %d: %s",
                    self._image_id, index, redact_url(url), offset,
                    _reason(reason, url))

    def _log_served(self):
        if self._fallback_from is not None:
            LOG.info("Image %s: bytes %d to %d served by location(s) %s, "
                     "then from byte %d by the upstream, after %d "
                     "failover(s)", self._image_id, self._start, self._stop,
                     ", ".join(str(index) for index, _ in self._opened),
                     self._fallback_from, self.failovers)
            return
        index, location = self._opened[-1]
        store_type = store_type_of(location["url"]) or "unknown"
        LOG.info("Image %s: bytes %d to %d served by location %s (%s store) "
                 "after %d failover(s)", self._image_id, self._start,
                 self._stop, index, store_type, self.failovers)
