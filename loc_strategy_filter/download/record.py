"""Fetching an image's own record from the upstream, as the user.

The request is a new one: WSGI frameworks (routes, webob) keep per-request
state inside the environ, so a shallow copy of the user's environ can make a
real Glance route the user's download to the wrong controller. The new
environ shares only immutable values (CGI variables and HTTP headers, which
carry the user's credentials) and the identity objects that authentication
middleware left for the upstream: Glance's context filter sets
``req.context``, which webob keeps in ``webob.adhoc_attrs``. That dict is
copied, so what the upstream sets on the internal request stays there.
"""

import io
import json
import logging

from loc_strategy_filter.download.upstream import HeldResponse

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


def internal_environ(environ, path_info, query_string="", download=False):
    """A fresh GET environ for ``path_info``, as the same user.

    With ``download`` the user's range and conditional headers are kept.
    """
    fresh = {key: value for key, value in environ.items()
             if isinstance(value, str) and "." not in key
             and (download or key not in _DOWNLOAD_HEADERS)}
    fresh.update((key, environ[key]) for key in (*_WSGI_KEYS, *IDENTITY_KEYS)
                 if key in environ)
    if isinstance(environ.get(_REQUEST_ATTRS), dict):
        fresh[_REQUEST_ATTRS] = dict(environ[_REQUEST_ATTRS])
    fresh.update({"REQUEST_METHOD": "GET", "PATH_INFO": path_info,
                  "QUERY_STRING": query_string, "wsgi.input": io.BytesIO(b"")})
    if not download:
        fresh["HTTP_ACCEPT"] = "application/json"
    return fresh


def image_path(environ):
    """The image's own path, from the path of its download."""
    return environ["PATH_INFO"][:-len("/file")]


def fetch_image(application, environ):
    """The image record the upstream shows this user, or None."""
    held = HeldResponse(application, internal_environ(environ,
                                                      image_path(environ)))
    if held.status_code != 200:
        held.close()
        LOG.debug("Image record for %s: upstream answered %s",
                  environ.get("PATH_INFO"), held.status)
        return None
    try:
        image = json.loads(held.read())
    except ValueError:
        LOG.warning("Image record for %s is not JSON", environ.get("PATH_INFO"))
        return None
    return image if isinstance(image, dict) else None
