"""The memory of files verified to hold their image."""

from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.verified_files import VerifiedFiles

RECORD = RecordedBytes(10, None, "sha512", "a" * 128)
OTHER = RecordedBytes(10, None, "sha512", "b" * 128)


class Source:
    def __init__(self, identity):
        self.identity = identity


def test_a_file_is_sendable_for_the_record_it_matched_only():
    files = VerifiedFiles()
    files.remember(Source((1, 2, 10, 3, 4)), RECORD)
    assert files.sendable(Source((1, 2, 10, 3, 4)), RECORD, whole=True)
    assert not files.sendable(Source((1, 2, 10, 3, 4)), OTHER, whole=True)
    assert not files.sendable(Source((1, 2, 10, 3, 5)), RECORD, whole=True)


def test_ranges_and_size_only_records_need_no_verification():
    files = VerifiedFiles()
    assert files.sendable(Source((1, 2, 10, 3, 4)), RECORD, whole=False)
    assert files.sendable(Source((1, 2, 10, 3, 4)), RecordedBytes(10),
                          whole=True)


def test_a_source_without_an_identity_is_never_sendable_whole():
    files = VerifiedFiles()
    files.remember(Source(None), RECORD)
    assert not files.sendable(object(), RECORD, whole=True)


def test_the_memory_is_bounded_the_oldest_going_first():
    files = VerifiedFiles(size=2)
    for inode in (1, 2, 3):
        files.remember(Source((1, inode, 10, 0, 0)), RECORD)
    assert not files.sendable(Source((1, 1, 10, 0, 0)), RECORD, whole=True)
    assert files.sendable(Source((1, 3, 10, 0, 0)), RECORD, whole=True)
