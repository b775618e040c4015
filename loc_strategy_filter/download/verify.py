"""Checking a whole image body against what Glance recorded for it: a store
serves a stale, truncated or damaged copy without complaint. (A range has
no checksum: the failover stream checks its length.)

A large body's digests are each computed in a thread of their own, while the
next block is read and sent: hashlib lets go of the GIL on large buffers,
so two digests cost the time of the slower one, not of both.
"""

import hashlib
import queue
import threading
import weakref

from loc_strategy_filter.download.record import computable
from loc_strategy_filter.errors import VerificationFailed
from loc_strategy_filter.upstream import close_body

#: A body expected to be smaller is hashed on the calling thread: starting
#: and joining the threads costs more than they save (bench_hashing).
THREADED_FROM = 1 << 20
#: Chunks go to a digest thread in batches of about this many bytes, so
#: that small chunks do not pay a thread switch each.
BATCH_BYTES = 1 << 20
#: Batches waiting for each digest thread: with the batch being filled and
#: the one being hashed, at most ~4 MiB of a body is held, however long.
QUEUED_BATCHES = 2
#: How long closing waits for a digest thread to finish its batch.
_STOP_WAIT = 1.0
_STOP = None


class Verifier:
    """Counts and hashes a body; ``check`` it against ``RecordedBytes``.

    ``close`` stops the digest threads of a body that will not be checked.
    """

    def __init__(self, recorded):
        self._expected_size = recorded.size
        self.received = 0
        self._digests = []  # (what, hash object, expected hex digest)
        if recorded.checksum:
            self._digests.append(("md5 checksum",
                                  hashlib.md5(usedforsecurity=False),
                                  recorded.checksum.lower()))
        algo, value = recorded.hash_algo, recorded.hash_value
        if algo and value and computable(algo):
            self._digests.append((f"{algo} os_hash_value", hashlib.new(algo),
                                  value.lower()))
        self._threaded = bool(self._digests) and (
            recorded.size >= THREADED_FROM)
        # Started by the first chunk: a body never read starts no thread.
        self._threads = None
        self._failure = None

    def update(self, chunk):
        self.received += len(chunk)
        if self._threaded and self._threads is None:
            try:
                self._threads = _DigestThreads(
                    [(what, digest) for what, digest, _ in self._digests])
            except RuntimeError:  # no thread to be had: hash here instead
                self._threaded = False
        if self._threads is not None:
            if not isinstance(chunk, bytes):  # a buffer its source reuses
                chunk = bytes(chunk)
            self._threads.update(chunk)
            return
        for _, digest, _ in self._digests:
            digest.update(chunk)

    def check(self):
        """Raises ``VerificationFailed`` unless the body so far is the image
        (or what stopped a digest thread).
        """
        self._settle()
        if self.received != self._expected_size:
            raise VerificationFailed(
                f"size mismatch: expected {self._expected_size} bytes, "
                f"read {self.received}")
        for what, digest, expected in self._digests:
            actual = digest.hexdigest()
            if actual != expected:
                raise VerificationFailed(
                    f"{what} mismatch: expected {expected}, "
                    f"computed {actual}")

    def close(self):
        """Stop hashing: what the digests come to is no longer wanted."""
        threads, self._threads, self._threaded = self._threads, None, False
        if threads is not None:
            threads.cancel()
            self._failure = RuntimeError("closed before it was checked")

    def _settle(self):
        """Wait for the digest threads; any later chunk is hashed inline."""
        threads, self._threads, self._threaded = self._threads, None, False
        if threads is not None:
            try:
                threads.finish()
            except BaseException as error:
                # A digest that missed bytes is no verdict, nor their fault.
                self._failure = error
        if self._failure is not None:
            raise self._failure


class _DigestThreads:
    """One thread per hash object, fed the same chunks in batches."""

    def __init__(self, digests):
        self._workers = []
        try:
            for what, digest in digests:
                self._workers.append(_DigestThread(what, digest))
        except BaseException:  # those started must not wait for ever
            _cancel(self._workers)
            raise
        self._batch, self._batched = [], 0
        # A verifier dropped unchecked must not leave its threads waiting.
        self._cancel = weakref.finalize(self, _cancel, self._workers)

    def update(self, chunk):
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= BATCH_BYTES:
            self._send()

    def finish(self):
        """Hash what is left and wait for it; a thread's failure is raised."""
        try:
            self._send()
            for worker in self._workers:
                worker.put(_STOP)
            for worker in self._workers:
                worker.join()
        finally:
            self._cancel()  # the others, when one failed

    def cancel(self):
        self._cancel()

    def _send(self):
        if self._batch:
            batch, self._batch, self._batched = tuple(self._batch), [], 0
            for worker in self._workers:
                worker.put(batch)


def _cancel(workers):
    for worker in workers:
        worker.cancel()
    for worker in workers:
        worker.wait(_STOP_WAIT)


class _DigestThread:
    """A hash object updated by its own daemon thread from a bounded queue.

    Only one thread puts. A worker that ends, for whatever reason, empties
    its queue as it goes, so a ``put`` never waits on a worker that is gone.
    """

    def __init__(self, what, digest):
        self._what = what
        self._digest = digest
        self._queue = queue.Queue(QUEUED_BATCHES)
        self._cancelled = False
        self._ended = False
        self._error = None
        self._thread = threading.Thread(
            target=self._run, daemon=True,
            name=f"loc-strategy-filter-digest ({what})")
        self._thread.start()

    def put(self, batch):
        if self._ended:
            raise self._failure()
        self._queue.put(batch)

    def join(self):
        """Wait for the batches put to be hashed, ``_STOP`` last."""
        self._thread.join()
        if self._error is not None:
            raise self._failure()

    def cancel(self):
        """Tell the thread to end at its next batch, without waiting."""
        self._cancelled = True
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass  # it takes a batch soon, and then sees it is cancelled

    def wait(self, timeout):
        # A finalizer may run on the thread itself, when it collects.
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _failure(self):
        failure = RuntimeError(f"the {self._what} could not be computed")
        failure.__cause__ = self._error
        return failure

    def _run(self):
        try:
            while True:
                batch = self._queue.get()
                if batch is _STOP or self._cancelled:
                    return
                for chunk in batch:
                    self._digest.update(chunk)
        except BaseException as error:  # raised on the putting thread
            self._error = error
        finally:
            self._ended = True
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break


class Verified:
    """A WSGI body whose last chunk waits for the size and digests to match,
    so a wrong image arrives short; ``on_mismatch`` hears a mismatch first,
    ``on_verified`` (no arguments) hears once that the image is whole.
    """

    def __init__(self, chunks, recorded, on_mismatch=None, on_verified=None):
        self._chunks = chunks
        self._size = recorded.size
        self._on_mismatch = on_mismatch
        self._on_verified = on_verified
        # Not lazily: a record it cannot check fails before any header.
        self._verifier = Verifier(recorded)

    def __iter__(self):
        verifier, held = self._verifier, []
        try:
            for chunk in self._chunks:
                verifier.update(chunk)
                if verifier.received < self._size:
                    yield chunk
                    continue
                if not held:
                    # Before the next pull: a stream read to its end logs
                    # that it served, so it must hear of wrong bytes first.
                    self._check(verifier)
                held.append(chunk)
            self._check(verifier)
            if self._on_verified is not None:
                self._on_verified()
            yield from held
        finally:
            self.close()

    def close(self):
        """Also when the client left part way: no digest thread is left."""
        try:
            self._verifier.close()
        finally:
            close_body(self._chunks)

    def _check(self, verifier):
        try:
            verifier.check()
        except VerificationFailed as error:
            if self._on_mismatch is not None:
                self._on_mismatch(error)
            raise
