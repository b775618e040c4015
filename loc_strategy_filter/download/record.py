"""Fetching an image's own record from the upstream, as the user.

Internal requests are built from ``UserRequest``, a copy of the user's
request taken when it reached the filter, before the upstream saw it: WSGI
frameworks write per-request state into the environ they are given (a
urlmap moves ``/v2`` from ``PATH_INFO`` to ``SCRIPT_NAME``, routes and
webob leave routing results and request attributes), and a request built
from that state is routed nowhere by a real Glance. Each internal environ
shares only immutable values (CGI variables and HTTP headers, which carry
the user's credentials) and the identity objects that authentication
middleware left for the upstream. Glance's context filter sets
``req.context``, which webob keeps in ``webob.adhoc_attrs``: that dict is
copied for every internal request, so what the upstream sets there stays
there.
"""

import io
import json
import logging

from loc_strategy_filter.upstream import HeldResponse

LOG = logging.getLogger(__name__)

# Objects earlier filters put in the environ to say who the user is.
IDENTITY_KEYS = ("keystone.token_info", "keystone.token_auth")
# Where webob keeps attributes set on a request (``req.context = ...``).
_REQUEST_ATTRS = "webob.adhoc_attrs"
_WSGI_KEYS = ("wsgi.version", "wsgi.url_scheme", "wsgi.errors",
              "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")
# Headers that shape the answer to the user's download, not an image record.
_DOWNLOAD_HEADERS = ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_MATCH",
                     "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
                     "HTTP_IF_UNMODIFIED_SINCE", "HTTP_ACCEPT_ENCODING",
                     "HTTP_ACCEPT", "CONTENT_LENGTH", "CONTENT_TYPE")


class UserRequest:
    """The user's request as it reached the filter, for building internal
    requests as the same user at any later time."""

    def __init__(self, environ):
        self._values = {key: value for key, value in environ.items()
                        if isinstance(value, str) and "." not in key}
        self._shared = {key: environ[key]
                        for key in (*_WSGI_KEYS, *IDENTITY_KEYS)
                        if key in environ}
        attrs = environ.get(_REQUEST_ATTRS)
        self._attrs = dict(attrs) if isinstance(attrs, dict) else None

    @property
    def path_info(self):
        return self._values.get("PATH_INFO", "")

    @property
    def query_string(self):
        return self._values.get("QUERY_STRING", "")

    def header(self, cgi_name):
        """A header of the user's request by its CGI name (``HTTP_RANGE``),
        or None."""
        return self._values.get(cgi_name)

    @property
    def image_path(self):
        """The image's own path, from the path of its download."""
        return self.path_info[:-len("/file")]

    def environ(self, path_info, query_string="", download=False):
        """A fresh GET environ for ``path_info``, as the same user.

        With ``download`` the user's range and conditional headers are kept.
        """
        fresh = {key: value for key, value in self._values.items()
                 if download or key not in _DOWNLOAD_HEADERS}
        fresh.update(self._shared)
        if self._attrs is not None:
            fresh[_REQUEST_ATTRS] = dict(self._attrs)
        fresh.update({"REQUEST_METHOD": "GET", "PATH_INFO": path_info,
                      "QUERY_STRING": query_string,
                      "wsgi.input": io.BytesIO(b"")})
        if not download:
            fresh["HTTP_ACCEPT"] = "application/json"
        return fresh


def fetch_image(application, user_request):
    """The image record the upstream shows this user, or None.

    A record the upstream fails to give (5xx) or that is not an image is a
    warning: the download then cannot follow the strategy, and an operator
    must be able to see why.
    """
    path = user_request.image_path
    held = HeldResponse(application, user_request.environ(path))
    if held.status_code != 200:
        held.close()
        log = LOG.warning if held.status_code >= 500 else LOG.debug
        log("Image record %s: the upstream answered %s; the download does "
            "not follow the strategy", path, held.status)
        return None
    try:
        image = json.loads(held.read())
    except (ValueError, RecursionError):
        image = None
    if not (isinstance(image, dict) and isinstance(image.get("id"), str)):
        LOG.warning("Image record %s is not a JSON image; the download does "
                    "not follow the strategy", path)
        return None
    return image
