import pytest

from loc_strategy_filter import strategies


@pytest.fixture
def no_entry_points(monkeypatch):
    """The entry-point lookup finds nothing, as from an uninstalled tree."""
    monkeypatch.setattr(strategies.metadata, "entry_points",
                        lambda group: [])
    strategies._registry.cache_clear()
    yield
    strategies._registry.cache_clear()
