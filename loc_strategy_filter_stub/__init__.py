"""A test double: a stub of the Glance v2 image API, to run the filter against.

It is the upstream of ``loc-strategy-filter serve``, the benchmarks and the
tests, and nothing in ``loc_strategy_filter`` imports it: a Glance process
that loads the filter never loads the stub. Its paste app factory is
``egg:loc_strategy_filter#stub_image_api``.

It stays an independent model of Glance, so that a test of the filter
cannot pass by the stub sharing the filter's bug. It deliberately does not
reuse, and writes again its own plainer way:

- the filter's ``Range`` parsing (``loc_strategy_filter.download.ranges``):
  ``download.byte_range`` here, one range only, as Glance answers;
- the filter's bounded response bodies: ``download._Body`` here;
- the file reader's path check (``loc_strategy_filter.stores.file``, a
  no-follow walk from each allowed root): ``locations.DataDirectory`` here
  resolves links and compares with ``os.path.commonpath``;
- the http reader (``loc_strategy_filter.stores.http``): urllib here, with
  no host allow-list, as Glance's own http store;
- the location vocabulary and the log redaction (``loc_strategy_filter
  .locations``, ``loc_strategy_filter.redaction``): the stub parses schemes
  with ``urllib.parse`` and never logs a URL at all.
"""

from loc_strategy_filter_stub.app import StubImageAPI

__all__ = ["StubImageAPI"]
