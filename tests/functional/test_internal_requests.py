"""The filter's internal requests, behind an upstream that rewrites environs.

Real Glance's ``rootapp`` is a urlmap: it moves ``/v2`` from ``PATH_INFO`` to
``SCRIPT_NAME`` in the environ it is given, and its router leaves routing
state there too. The filter's record request, made after the user's download
went through, must be routed as a request of its own.
"""

import logging

import webob
import webob.dec
from webob import exc

from tests.functional.test_download import DATA
from tests.functional.test_download import download
from tests.functional.test_download import filtered
from tests.functional.test_download import gets
from tests.functional.test_download import image_with
from tests.functional.test_download import MIRROR_FIRST


class UrlMap:
    """Mounts ``app`` at ``/v2`` the way paste's urlmap does: by rewriting
    the environ it was given; anything else is not found.
    """

    def __init__(self, app):
        self.app = app
        self.paths = []

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        self.paths.append((environ.get("SCRIPT_NAME", ""), path))
        if not path.startswith("/v2/"):
            return exc.HTTPNotFound()(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/v2"
        environ["PATH_INFO"] = path[3:]
        webob.Request(environ).routed_to = "the user's download"
        return self.app(environ, start_response)


def test_serve_mode_reads_the_record_behind_a_urlmap(stub, tmp_path, started,
                                                     caplog):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())
    urlmap = UrlMap(stub)

    response = download(filtered(urlmap, tmp_path, **MIRROR_FIRST), image_id)

    assert response.status_int == 200 and response.body == DATA
    assert len(gets(mirror)) == 1, "the filter must serve from the mirror"
    assert urlmap.paths == [("", f"/v2/images/{image_id}/file"),
                            ("", f"/v2/images/{image_id}")]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_failing_record_request_is_a_warning(stub, tmp_path, started,
                                               caplog):
    mirror = started(DATA)
    image_id = image_with(stub, mirror.url())

    @webob.dec.wsgify
    def broken_show(request):
        if request.path_info.endswith("/file"):
            return request.get_response(stub)
        return webob.Response(status=500, body=b"Internal Server Error")

    response = download(filtered(broken_show, tmp_path, **MIRROR_FIRST),
                        image_id)

    assert response.status_int == 200 and response.body == DATA
    assert gets(mirror) == []
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert image_id in warning.getMessage()
    assert "500" in warning.getMessage()
