"""The stub image API served on a real loopback server, for the consumer's
tools (the library, the commands) reached through openstacksdk without
authentication.
"""

import functools
import glob
import os
import re
import time

from loc_strategy_filter_stub import StubImageAPI
from tests import servers

DATA = os.urandom(256 * 1024 + 17)


class ImageAPI:
    """The stub image API served on 127.0.0.1; ``log`` records each
    request as (method, path, Range header). With ``ignore_range`` it
    answers every download with the whole image, as HTTP allows; with
    ``misrange`` its 206s say they end one byte early.
    """

    ignore_range = False
    misrange = False

    def __init__(self, data_dir):
        self.stub = StubImageAPI(data_dir=str(data_dir),
                                 show_multiple_locations=True,
                                 show_image_direct_url=True)
        self.log = []
        self.server = servers.wsgi_server(self._logged)
        self.url = self.server.url()

    def _logged(self, environ, start_response):
        self.log.append((environ["REQUEST_METHOD"], environ["PATH_INFO"],
                         environ.get("HTTP_RANGE")))
        if self.ignore_range:
            environ.pop("HTTP_RANGE", None)
        if self.misrange:
            return self.stub(environ, functools.partial(_misranged,
                                                        start_response))
        return self.stub(environ, start_response)

    def downloads(self):
        return [entry for entry in self.log if entry[1].endswith("/file")]

    def image_with(self, *urls, data=DATA, name="x"):
        """An uploaded image (its file location first), then ``urls``."""
        image = self.stub.create_image(name=name, disk_format="raw",
                                       container_format="bare")
        self.stub.upload(image["id"], data)
        for url in urls:
            self.stub.add_location(image["id"], url)
        return image["id"]

    def stop(self):
        self.server.stop()


def _misranged(start_response, status, headers, exc_info=None):
    """``Content-Range: bytes a-b/n`` said as ``bytes a-(b-1)/n``."""
    def said(name, value):
        if name.lower() != "content-range":
            return value
        first, last, size = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)",
                                         value).groups()
        return f"bytes {first}-{int(last) - 1}/{size}"
    return start_response(status, [(name, said(name, value))
                                   for name, value in headers], exc_info)


def wait_until_writing(process, output):
    """Until the command ``process`` writes its partial file of
    ``output``, and a moment more.
    """
    deadline = time.monotonic() + 60
    while not glob.glob(f"{output}.*.part"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
