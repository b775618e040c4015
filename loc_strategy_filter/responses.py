"""The filter's response half: image JSON answers in strategy order.

Image show, list, create and update answer with the images' locations, and
the location API with a bare list of them (each call's ``shape`` in
``routes.ImageCall``), so their JSON is held and rewritten (``rewrite``)
before it goes on. Whatever
the filter has no business with goes on untouched and unread: the
upstream's iterable itself (behind the one chunk it had to take from an
application that starts its response only when iterated).
"""

import functools
import logging

from loc_strategy_filter import rewrite
from loc_strategy_filter import routes
from loc_strategy_filter.stores.http import VIA
from loc_strategy_filter import upstream
from loc_strategy_filter.upstream import HeldResponse
from loc_strategy_filter.user_request import UserRequest

LOG = logging.getLogger(__name__)

# The body is the filter's own after a rewrite: the upstream's framing and
# digests describe bytes no longer sent.
_DROPPED_AFTER_REWRITE = upstream.FRAMING_HEADERS | upstream.CONTENT_HEADERS
# With hide_locations, a body that cannot be checked for locations is not sent.
_REFUSED_BODY = (b"The image API sent a body the location strategy filter "
                 b"could not check for image locations.")
_REFUSED_HEADERS = (("Content-Type", "text/plain"),
                    ("Content-Length", str(len(_REFUSED_BODY))))


def _json_encoding(held):
    """The content coding of a 2xx JSON answer ("" when uncompressed), or
    None for any other answer, an error the upstream raised included.
    """
    status = held.status
    if held.exc_info or status[0] != "2" or status.startswith(("204", "205")):
        return None
    media_type = encoding = ""
    for name, value in held.headers:
        name = name.lower()
        if name == "content-type":
            media_type = value.partition(";")[0].strip().lower()
        elif name == "content-encoding":
            encoding = value.strip().lower()
    if media_type != "application/json":
        return None
    return "" if encoding == "identity" else encoding


def _refuse(start_response):
    start_response("502 Bad Gateway", list(_REFUSED_HEADERS))
    return [_REFUSED_BODY]


class ImageResponseFilter:
    """A WSGI filter that rewrites the JSON answers of the calls whose
    answer holds locations (a ``shape``) from ``application``.

    With ``hide_locations`` it fails closed: the upstream is asked for an
    uncompressed body, a compressed or unparseable one is answered with
    502, and when the strategy fails the locations are removed all the same.

    An image that shows ``direct_url`` but no ``locations`` has them
    learned by ``lookup`` (a ``location_lookup.LocationLookup``, or None
    to leave such images as they are), except for a request that another
    filter's internal call made (``Via``), so that two filters never
    recurse.
    """

    def __init__(self, application, settings, lookup=None):
        self.application = application
        self.settings = settings
        self.lookup = lookup

    def __call__(self, environ, start_response):
        call = routes.image_call(environ)
        if call is None or call.shape is None:
            return self.application(environ, start_response)
        return self.respond(call, environ, start_response)

    def respond(self, call, environ, start_response):
        """The upstream's answer to ``call``, a request already matched
        (the entry point matches once for both halves): rewritten when it
        is uncompressed 2xx JSON, refused when it must be and cannot be,
        otherwise sent on untouched.
        """
        if self.settings.hide_locations:
            # Ask for a body the filter can read, so it can hide locations.
            environ.pop("HTTP_ACCEPT_ENCODING", None)
        learn = self._learning(call, environ)
        requester = self.settings.requester(environ)
        held = HeldResponse(self.application, environ)
        encoding = _json_encoding(held)
        if encoding == "":
            return self._rewrite(held, call, environ, start_response, learn,
                                 requester)
        if encoding and self.settings.hide_locations:
            # Compressed all the same: it cannot be checked, so not sent.
            LOG.warning("Image %s response for %s has Content-Encoding %s: "
                        "refused, as its locations cannot be hidden",
                        call.value, environ.get("PATH_INFO"), encoding)
            held.close()
            return _refuse(start_response)
        return held.forward(start_response)

    def _learning(self, call, environ):
        """``learn(image_ids)`` for the images of ``call``'s answer, as the
        user asked (the request as it reached the filter), or None.
        """
        if (self.lookup is None or call.shape is routes.Shape.LOCATIONS
                or VIA in environ.get("HTTP_VIA", "")):
            return None
        return functools.partial(self.lookup.learn, UserRequest(environ))

    def _rewrite(self, held, call, environ, start_response, learn,
                 requester):
        body = held.read()
        try:
            new_body = self._new_body(body, call, environ, learn, requester)
        except rewrite.UnusableBody:
            return _refuse(start_response)
        if new_body is None:
            start_response(held.status, held.headers)
            return [body]
        headers = upstream.without_headers(held.headers,
                                           _DROPPED_AFTER_REWRITE)
        headers.append(("Content-Length", str(len(new_body))))
        start_response(held.status, headers)
        return [new_body]

    def _new_body(self, body, call, environ, learn, requester):
        """The new body, or None to send the upstream's unchanged.

        With ``hide_locations`` a body the strategy cannot be applied to
        still loses its images' locations, and one the rewriter does not
        understand raises ``UnusableBody`` (fail closed).
        """
        if not body:
            return None
        try:
            return rewrite.rewrite_body(body, call.shape, self.settings,
                                        learn, requester)
        except rewrite.UnusableBody as exc:
            LOG.warning("Image %s response for %s: %s", call.value,
                        environ.get("PATH_INFO"), exc)
            if self.settings.hide_locations:
                raise
        except Exception:  # a rewrite must never cost the user the response
            LOG.exception("Image %s response for %s: the strategy failed",
                          call.value, environ.get("PATH_INFO"))
            if self.settings.hide_locations:
                return rewrite.hidden_unordered(body, call.shape)
        LOG.warning("Image %s response for %s passed through unchanged",
                    call.value, environ.get("PATH_INFO"))
        return None
