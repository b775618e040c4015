"""The JSON backends the rewriter can run with, as a fixture: a test module
that uses ``json_backend`` runs each of its tests once with orjson and
once with the standard library's json (orjson switched off, as when it is
not installed).
"""

import pytest

from loc_strategy_filter import json_codec

BACKENDS = ["orjson", "stdlib"]


@pytest.fixture(params=BACKENDS)
def json_backend(request, monkeypatch):
    """The backend's name; with "stdlib", ``json_codec`` has no orjson."""
    if request.param == "stdlib":
        monkeypatch.setattr(json_codec, "orjson", None)
    elif not json_codec.available():
        pytest.skip("orjson is not installed (pip install -e '.[test]')")
    return request.param
