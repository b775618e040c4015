"""The user's request as it reached the filter, to ask the upstream again.

Both halves use it: the download filter for the image record and the
steered download, the response filter for the location API.

Copied before the upstream sees it: frameworks write routing state into the
environ (a urlmap moves ``/v2`` into ``SCRIPT_NAME``), and a real Glance
routes a request built from that nowhere. Internal requests share only
immutable values and the identity objects; webob's request attributes
(``req.context``) are copied for each, so what the upstream sets stays put.
"""

import io

from loc_strategy_filter.requester import ANYONE

# Objects earlier filters put in the environ to say who the user is.
_IDENTITY_KEYS = ("keystone.token_info", "keystone.token_auth")
_REQUEST_ATTRS = "webob.adhoc_attrs"
_WSGI_KEYS = ("wsgi.version", "wsgi.url_scheme", "wsgi.errors",
              "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")
# Headers that shape the answer to the user's download, not an image record.
_DOWNLOAD_HEADERS = ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_MATCH",
                     "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
                     "HTTP_IF_UNMODIFIED_SINCE", "HTTP_ACCEPT_ENCODING",
                     "HTTP_ACCEPT", "CONTENT_LENGTH", "CONTENT_TYPE")


class UserRequest:
    """The request's values, and ``requester``: who asks, for the strategy."""

    def __init__(self, environ, requester=ANYONE):
        self.requester = requester
        self._values = {key: value for key, value in environ.items()
                        if isinstance(value, str) and "." not in key}
        self._shared = {key: environ[key]
                        for key in (*_WSGI_KEYS, *_IDENTITY_KEYS)
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
        """A header by its CGI name (``HTTP_RANGE``), or None."""
        return self._values.get(cgi_name)

    def record_environ(self):
        """A fresh GET of the image's own record, as the same user."""
        return self.json_environ(self.path_info[:-len("/file")])

    def json_environ(self, path_info):
        """A fresh GET of ``path_info`` (the user's own prefix, as the
        request reached the filter) for an uncompressed JSON answer, as the
        same user; nothing of the user's body, method or conditions.
        """
        values = {key: value for key, value in self._values.items()
                  if key not in _DOWNLOAD_HEADERS}
        values["HTTP_ACCEPT"] = "application/json"
        return self._fresh(values, path_info, "")

    def download_environ(self, query_string=None):
        """A fresh GET of the download, its range and conditions kept."""
        return self._fresh(dict(self._values), self.path_info,
                           self.query_string if query_string is None
                           else query_string)

    def _fresh(self, values, path_info, query_string):
        values.update(self._shared)
        if self._attrs is not None:
            values[_REQUEST_ATTRS] = dict(self._attrs)
        values.update({"REQUEST_METHOD": "GET", "PATH_INFO": path_info,
                       "QUERY_STRING": query_string,
                       "wsgi.input": io.BytesIO(b"")})
        return values
