"""The README's Python example, run as the README says to run it, so that
it can never rot: against the stub image API and a loopback mirror, through
openstacksdk without authentication.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.functional.stub_api import DATA

pytest.importorskip("openstack")

README = pathlib.Path(__file__).parents[2] / "README.md"
MARKER = "<!-- README example: client library"


def example():
    """The Python block after the marker."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    return re.search(r"```python\n(.*?)```", after, re.DOTALL).group(1)


def test_the_example_is_at_most_ten_lines():
    assert len(example().strip().splitlines()) <= 10


def test_the_example_downloads_from_the_best_location(api, started,
                                                      tmp_path):
    mirror = started(DATA)
    image_id = api.image_with(mirror.url())
    (tmp_path / "snippet.py").write_text(example())
    (tmp_path / "client.conf").write_text(
        "[location_strategy_filter]\nhttp_allowed_hosts = 127.0.0.1\n")

    ran = subprocess.run([sys.executable, "snippet.py", image_id],
                         cwd=tmp_path, env=dict(os.environ),
                         capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, ran.stderr
    assert f"best: {mirror.url()}\n" in ran.stdout
    assert "read from location 1 (http store" in ran.stdout
    assert (tmp_path / "image.raw").read_bytes() == DATA
    assert list(tmp_path.glob("image.raw*")) == [tmp_path / "image.raw"]
    assert [entry[0] for entry in mirror.log].count("GET") == 1
    assert api.downloads() == []
