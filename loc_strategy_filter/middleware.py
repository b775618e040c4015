"""The paste filter that applies a location strategy to image responses.

It rewrites the JSON answers of image show, list, create and update: image
``locations`` in strategy order, ``direct_url`` at the best one. Image
downloads go to the download handler. Every other request and response goes
through untouched: the upstream's iterable is handed back as it is, never
read.
"""

import logging

from loc_strategy_filter import rewrite
from loc_strategy_filter import routes
from loc_strategy_filter import settings as settings_mod
from loc_strategy_filter.download.handler import DownloadFilter
from loc_strategy_filter.upstream import close_body

LOG = logging.getLogger(__name__)

# With hide_locations, a body that cannot be checked for locations is not sent.
_HIDDEN_FAILED = ("502 Bad Gateway", [("Content-Type", "text/plain")],
                  b"The image API sent a body the location strategy filter "
                  b"could not check for image locations.")
_DROPPED_AFTER_REWRITE = frozenset(
    ("content-length", "content-md5", "etag", "transfer-encoding"))


def _json_encoding(status, headers):
    """The content coding of a 2xx JSON answer ("" when uncompressed), or
    None for any other answer."""
    if status[0] != "2" or status.startswith(("204", "205")):
        return None
    media_type = encoding = ""
    for name, value in headers:
        name = name.lower()
        if name == "content-type":
            media_type = value.partition(";")[0].strip().lower()
        elif name == "content-encoding":
            encoding = value.strip().lower()
    if media_type != "application/json":
        return None
    return "" if encoding == "identity" else encoding


class LocationStrategyFilter:
    """WSGI filter applying a location strategy to image responses.

    ``conf`` is a paste-style dict of option values, an oslo.config
    ``ConfigOpts``, or ready ``Settings``.
    """

    def __init__(self, application, conf=None):
        self.application = application
        self.settings = settings_mod.resolve(conf)
        self.download = DownloadFilter(application, self.settings)

    @classmethod
    def factory(cls, global_conf, **local_conf):
        """Paste filter factory; bad configuration fails here, at load."""
        settings = settings_mod.from_paste(global_conf, local_conf)

        def location_strategy_filter(application):
            return cls(application, settings)

        return location_strategy_filter

    def __call__(self, environ, start_response):
        call = routes.image_call(environ)
        if call is None:
            return self.application(environ, start_response)
        if call is routes.ImageCall.DOWNLOAD:
            return self.download(environ, start_response)
        if self.settings.hide_locations:
            # Ask for a body the filter can read, so it can hide locations.
            environ.pop("HTTP_ACCEPT_ENCODING", None)
        return _Exchange(self.settings, call, environ, start_response).run(
            self.application)


class _Exchange:
    """One rewritable request: decides from the status and headers whether
    to buffer and rewrite the body or to pass it on untouched."""

    __slots__ = ("settings", "call", "environ", "start_response", "response",
                 "passed_through", "unreadable", "written")

    def __init__(self, settings, call, environ, start_response):
        self.settings = settings
        self.call = call
        self.environ = environ
        self.start_response = start_response
        self.response = None
        self.passed_through = self.unreadable = False
        self.written = []

    def capture(self, status, headers, exc_info=None):
        encoding = None if exc_info else _json_encoding(status, headers)
        if encoding and self.settings.hide_locations:
            # Compressed all the same: it cannot be checked, so not sent.
            LOG.warning("Image %s response for %s has Content-Encoding %s: "
                        "refused, as its locations cannot be hidden",
                        self.call.value, self.environ.get("PATH_INFO"),
                        encoding)
            self.response, self.unreadable = (status, headers), True
            return self.written.append
        if encoding != "":
            self.passed_through = True
            return self.start_response(status, headers, exc_info)
        self.response = (status, headers)
        return self.written.append

    def run(self, application):
        app_iter = application(self.environ, self.capture)
        if self.passed_through:
            return app_iter
        if self.response is None:
            return self._lazy(app_iter)
        return [self._finish(self._read(app_iter))]

    def _read(self, app_iter):
        try:
            return b"".join([*self.written, *app_iter])
        finally:
            close_body(app_iter)

    def _lazy(self, app_iter):
        """For an application that calls start_response when iterated."""
        iterator = iter(app_iter)
        try:
            for chunk in iterator:
                if self.passed_through:
                    yield chunk
                    yield from iterator
                    return
                self.written.append(chunk)
                yield self._finish(b"".join([*self.written, *iterator]))
                return
            if self.response is not None:
                yield self._finish(b"".join(self.written))
        finally:
            close_body(app_iter)

    def _finish(self, body):
        status, headers = self.response
        try:
            new_body = self._rewritten(body)
        except rewrite.UnusableBody:
            status, headers, new_body = _HIDDEN_FAILED
        if new_body is not None:
            body = new_body
            headers = [(key, value) for key, value in headers
                       if key.lower() not in _DROPPED_AFTER_REWRITE]
            headers.append(("Content-Length", str(len(body))))
        self.start_response(status, headers)
        return body

    def _rewritten(self, body):
        """The new body, or None to send the upstream's unchanged.

        With ``hide_locations`` a body the strategy cannot be applied to
        still loses its locations, and one the rewriter does not understand
        raises ``UnusableBody``, as a compressed body does (fail closed).
        """
        if self.unreadable:
            raise rewrite.UnusableBody("a compressed body")
        if not body:
            return None
        try:
            return rewrite.rewrite_body(body, self.call, self.settings)
        except rewrite.UnusableBody as exc:
            LOG.warning("Image %s response for %s: %s", self.call.value,
                        self.environ.get("PATH_INFO"), exc)
            if self.settings.hide_locations:
                raise
        except Exception:  # a rewrite must never cost the user the response
            LOG.exception("Image %s response for %s: the strategy failed",
                          self.call.value, self.environ.get("PATH_INFO"))
            if self.settings.hide_locations:
                return rewrite.without_locations(body, self.call)
        LOG.warning("Image %s response for %s passed through unchanged",
                    self.call.value, self.environ.get("PATH_INFO"))
        return None
