"""Time the verifier's MD5 + SHA-512 over a body, inline and threaded.

Each case feeds one body, already in memory, to ``Verifier.update`` in
chunks of 64 KiB or 1 MiB and calls ``check``: the figure is what verifying
costs the thread that serves the download. Threaded, the two digests run
side by side in their own threads; inline, one after the other on the
calling thread. Small bodies show the threads' start-up cost (the choice of
``THREADED_FROM``); the ``batch=chunk`` and ``queue=N`` rows show what
batching small chunks and the queue length buy, the ``sha512`` rows a record
with SHA-512 alone (what ``verify_checksums = strongest`` checks), where
only the calling thread's own work runs beside the digest. The cases take
turns, round after round, so that drift hits all alike; the table gives
medians, and the ratio is inline time over the case's (above 1: faster
than inline). On a loaded machine no core is free for the threads.

    python bench/bench_hashing.py [--rounds N]
"""

import argparse
import contextlib
import dataclasses
import hashlib
import os
import statistics
import time

from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download import verify

KIB = 1 << 10
MIB = 1 << 20
BODIES = (  # body size, chunk size
    (64 * KIB, 64 * KIB), (256 * KIB, 64 * KIB), (512 * KIB, 64 * KIB),
    (1 * MIB, 64 * KIB),
    (1 * MIB, 1 * MIB), (64 * MIB, 64 * KIB), (64 * MIB, 1 * MIB))
VARIANTS = {  # name: module settings for the threaded case
    "threaded": {},
    "batch=chunk": {"BATCH_BYTES": 1},
    "queue=1": {"QUEUED_BATCHES": 1},
    "queue=4": {"QUEUED_BATCHES": 4},
}


@contextlib.contextmanager
def settings(**values):
    saved = {name: getattr(verify, name) for name in values}
    for name, value in values.items():
        setattr(verify, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(verify, name, value)


def body_of(size, chunk_size):
    data = os.urandom(size)
    chunks = [data[at:at + chunk_size] for at in range(0, size, chunk_size)]
    recorded = RecordedBytes(size, hashlib.md5(data).hexdigest(), "sha512",
                             hashlib.sha512(data).hexdigest())
    return chunks, recorded


def seconds(chunks, recorded, **values):
    with settings(**values):
        start = time.perf_counter()
        verifier = verify.Verifier(recorded)
        for chunk in chunks:
            verifier.update(chunk)
        verifier.check()
        return time.perf_counter() - start


def cases():
    for size, chunk_size in BODIES:
        yield (size, chunk_size, "inline"), {"THREADED_FROM": size + 1}
        for name, values in VARIANTS.items():
            if name != "threaded" and size < 64 * MIB:
                continue  # batching and queues only matter on long bodies
            yield (size, chunk_size, name), {"THREADED_FROM": 0, **values}
        if size == 64 * MIB:
            yield (size, chunk_size, "sha512 inline"), {
                "THREADED_FROM": size + 1}
            yield (size, chunk_size, "sha512"), {"THREADED_FROM": 0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7,
                        help="runs of each case; the median counts")
    args = parser.parse_args()
    bodies = {key: body_of(*key) for key in BODIES}
    runs = {case: [] for case, _ in cases()}
    for _ in range(args.rounds):
        for (size, chunk_size, name), values in cases():
            chunks, recorded = bodies[size, chunk_size]
            if name.startswith("sha512"):
                recorded = dataclasses.replace(recorded, checksum=None)
            runs[size, chunk_size, name].append(
                seconds(chunks, recorded, **values))
    report({case: statistics.median(times) for case, times in runs.items()},
           args)


def report(medians, args):
    print(f"Verifier, MD5 + SHA-512, {os.cpu_count()} CPUs, median of "
          f"{args.rounds} rounds; MB is 10^6 bytes")
    print(f"{'body':>8}{'chunk':>8}  {'case':<14}{'ms':>9}{'MB/s':>8}"
          f"{'ratio':>8}")
    for (size, chunk_size, name), time_taken in medians.items():
        inline = medians[size, chunk_size, "sha512 inline"
                         if name.startswith("sha512") else "inline"]
        print(f"{size // KIB:>6}Ki{chunk_size // KIB:>6}Ki  {name:<14}"
              f"{time_taken * 1e3:>9.2f}{size / time_taken / 1e6:>8.0f}"
              f"{inline / time_taken:>7.2f}x")


if __name__ == "__main__":
    main()
