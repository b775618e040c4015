"""A stub of the Glance v2 image API, for running the filter against.

It is the upstream, so it depends on nothing else in this package. Its paste
app factory is ``egg:loc_strategy_filter#stub_image_api``.
"""

from loc_strategy_filter.stub.app import StubImageAPI

__all__ = ["StubImageAPI"]
