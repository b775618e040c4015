"""Reading an image's bytes from its best location, failing over to the next.

A client trusts a body that ends cleanly, so a download ends with exactly
the bytes asked for or broken: a location failing part way gives way to the
next at the offset reached, the last to the upstream's own download, and the
last chunk waits until no byte came past it. Opening precedes any header,
so the caller can still send the upstream's answer.
"""

import logging

from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.errors import LocationsExhausted
from loc_strategy_filter.errors import NoReadableLocation
from loc_strategy_filter.errors import VerificationFailed
from loc_strategy_filter.locations import describe
from loc_strategy_filter.locations import store_type_of
from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.stores import ReadFailed
from loc_strategy_filter.stores import ReadRefused
from loc_strategy_filter.stores import WrongObject

LOG = logging.getLogger(__name__)


def _reason(error, url):
    """The text of ``error``, in case a reader quoted its URL, redacted."""
    return str(error).replace(url, redact_url(url))


class FailoverStream:
    """Bytes ``start`` up to ``stop`` (None: the end) of the image
    ``recorded`` describes, from the first of ``candidates`` that serves,
    then once ``continuation(offset, stop)``. ``recalled`` (a
    ``failures.Recalled`` of ``recorded``) says which failed lately, and
    takes the failures of this stream.
    """

    def __init__(self, candidates, recorded, start=0, stop=None, *,
                 image_id, recalled=None, continuation=None):
        stop = recorded.size if stop is None else stop
        if not 0 <= start <= stop <= recorded.size:
            raise ValueError(f"bytes {start} to {stop} are not within an "
                             f"image of {recorded.size} bytes")
        self._candidates = iter(candidates)  # each tried once, in order
        self._recorded = recorded
        self._start = start
        self._stop = stop
        self._image_id = image_id
        self._memory = (FailureMemory(0).recall((), recorded)
                        if recalled is None else recalled)
        self._continuation = continuation
        self._opened = []  # the candidates that sent (or could send) bytes
        self._reading = None  # the candidate read now; None: the continuation
        self._continued_from = None  # the offset the continuation took over
        self._source = None
        self._complete = False  # every byte went out, not yet logged
        self.failovers = 0  # how many locations failed so far

    @property
    def single_source(self):
        """Whether every byte so far came from the location opened first."""
        return len(self._opened) == 1 and self._continued_from is None

    @property
    def continued_from(self):
        """The byte the continuation took over at; None: it did not."""
        return self._continued_from

    @property
    def served_by(self):
        """The ``Candidate`` read last, None before one opened."""
        return self._opened[-1] if self._opened else None

    def open_first(self):
        """The source of the first location that opens (or raises)."""
        if not self._open_next(self._start):
            raise NoReadableLocation(
                f"image {self._image_id}: no location could be opened")
        return self._source

    def chunks(self):
        """Exactly the bytes asked for, or an exception part way."""
        if self._source is None:
            raise RuntimeError("open_first() has not opened a location")
        try:
            to_send, last = self._stop - self._start, None
            for chunk in self._resumed_chunks():
                to_send -= len(chunk)
                if to_send:
                    yield chunk
                else:
                    last = chunk  # held back until no byte came past it
            self._complete = True
            if last is not None:
                yield last
        finally:
            self.close()

    __iter__ = chunks

    def close(self):
        """Safe twice; logs here, as a server may stop at Content-Length."""
        source, self._source = self._source, None
        if source is not None:
            source.close()
        if self._complete:
            self._complete = False
            self._log_served()

    def wrong_bytes(self, error):
        """Each location read may hold a bad copy, of this record only."""
        self._complete = False
        for candidate in self._opened:
            self._memory.failed(candidate.url, self._recorded)
        LOG.error("Image %s: data read from location(s) %s is not the "
                  "image's: %s", self._image_id, self._indices(), error)

    def _open_next(self, offset):
        """Open the next candidate at ``offset``; False when none is left."""
        for candidate in self._candidates:
            if self.failovers and self._memory.recently_failed(
                    candidate.url):
                # Failing over: do not wait on one that failed lately too.
                LOG.debug("Image %s: location %s failed lately; not tried "
                          "again", self._image_id, candidate.index)
                continue
            try:
                self._source = self._open(candidate, offset)
            except ReadRefused as refusal:
                LOG.debug("Image %s: location %s is not read: %s",
                          self._image_id, candidate.index,
                          _reason(refusal, candidate.url))
            except ReadFailed as failure:
                self._failed(candidate, offset, failure)
            else:
                self._opened.append(candidate)
                self._reading = candidate
                return True
        return False

    def _open_continuation(self, offset):
        """Open the continuation at ``offset``; False when it cannot."""
        continuation, self._continuation = self._continuation, None
        if continuation is None:
            return False
        try:
            self._source = continuation(offset, self._stop)
        except ReadFailed as failure:
            LOG.warning("Image %s: the upstream's download cannot continue "
                        "from byte %d: %s", self._image_id, offset, failure)
            return False
        self._reading, self._continued_from = None, offset
        LOG.warning("Image %s: no location left; bytes %d to %d continue "
                    "from the upstream's own download", self._image_id,
                    offset, self._stop)
        return True

    def _open(self, candidate, offset):
        source = candidate.reader.open(candidate.url, offset, self._stop)
        if source.size is not None and source.size != self._recorded.size:
            source.close()
            raise WrongObject(f"it holds {source.size} bytes, "
                              f"not the image's {self._recorded.size}")
        return source

    def _resumed_chunks(self):
        """The bytes asked for, reopened at the offset reached on failure."""
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
                    or self._open_continuation(position)):
                LOG.error("Image %s: no location left to read bytes %d to %d",
                          self._image_id, position, self._stop)
                raise LocationsExhausted(
                    f"image {self._image_id}: every location "
                    f"failed before byte {self._stop}")

    def _sent_too_much(self, position):
        self._failed(self._reading, position,
                     WrongObject(f"it sent bytes past byte {self._stop}"))
        # The bytes already sent may be wrong too: no failover can fix them.
        raise VerificationFailed(
            f"image {self._image_id}: a location sent more than the "
            f"{self._stop - self._start} bytes asked for")

    def _failed(self, candidate, offset, reason):
        """``candidate`` (None: the continuation) failed at ``offset``."""
        if candidate is None:
            LOG.warning("Image %s: the upstream's download failed at byte "
                        "%d: %s", self._image_id, offset, reason)
            return
        wrong_object = isinstance(reason, WrongObject)
        self._memory.failed(candidate.url,
                            self._recorded if wrong_object else None)
        self.failovers += 1
        LOG.warning("Image %s: %s failed at byte %d: %s", self._image_id,
                    describe(candidate.index, candidate.location), offset,
                    _reason(reason, candidate.url))

    def _indices(self):
        return ", ".join(str(candidate.index) for candidate in self._opened)

    def _log_served(self):
        """At INFO when something failed over; the plain case at DEBUG, as
        it is every download's (Glance's log formatter is not cheap).
        """
        if self._continued_from is not None:
            LOG.info("Image %s: bytes %d to %d served by location(s) %s, "
                     "then from byte %d by the upstream, after %d "
                     "failover(s)", self._image_id, self._start, self._stop,
                     self._indices(), self._continued_from, self.failovers)
            return
        log = LOG.info if self.failovers else LOG.debug
        log("Image %s: bytes %d to %d served by location %s (%s store) after "
            "%d failover(s)", self._image_id, self._start, self._stop,
            self.served_by.index,
            store_type_of(self.served_by.url) or "unknown", self.failovers)
