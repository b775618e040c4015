"""The paste filter: one entry point for both halves of the filter.

Image downloads go to the download filter, the image calls whose JSON shows
locations to the response filter, and every other request straight to the
upstream, untouched. Both halves learn the locations of images Glance shows
without them through one ``LocationLookup``; it, and the download filter's
kept records, forget an image when a request that may change its locations
passes here.
"""

from loc_strategy_filter.download.filter import DownloadFilter
from loc_strategy_filter.location_lookup import LocationLookup
from loc_strategy_filter import redaction
from loc_strategy_filter.responses import ImageResponseFilter
from loc_strategy_filter import routes
from loc_strategy_filter import settings as settings_mod


class LocationStrategyFilter:
    """WSGI filter applying a location strategy to the image API.

    ``conf`` is a paste-style dict of option values, an oslo.config
    ``ConfigOpts``, or ready ``Settings``.
    """

    def __init__(self, application, conf=None):
        self._application = application
        self.settings = settings_mod.resolve(conf)
        self.lookup = LocationLookup(application, self.settings,
                                     self.settings.service)
        self.download = DownloadFilter(application, self.settings,
                                       self.lookup)
        self.responses = ImageResponseFilter(application, self.settings,
                                             self.lookup)
        # Ready Settings skip settings.from_config, which redacts too: a
        # filter that may read locations redacts whichever way it was built.
        redaction.redact_logs_of(*redaction.FILTERED_LOGGERS)

    @property
    def application(self):
        """The upstream, fixed at construction: both filters hold it."""
        return self._application

    @classmethod
    def factory(cls, global_conf, **local_conf):
        """Paste filter factory; bad configuration fails here, at load."""
        settings = settings_mod.from_paste(global_conf, local_conf)

        def location_strategy_filter(application):
            return cls(application, settings)

        return location_strategy_filter

    def __call__(self, environ, start_response):
        changed = routes.location_change(environ)
        if changed is None:
            return self._routed(environ, start_response)
        # Before, so that this answer learns afresh; after, so that a
        # lookup racing with the change does not keep what it replaced.
        self._forget(changed)
        try:
            return self._routed(environ, start_response)
        finally:
            self._forget(changed)

    def _forget(self, image_id):
        self.lookup.forget(image_id)
        self.download.forget(image_id)

    def _routed(self, environ, start_response):
        call = routes.image_call(environ)
        if call is None:
            return self._application(environ, start_response)
        if call is routes.ImageCall.DOWNLOAD:
            return self.download(environ, start_response)
        return self.responses.respond(call, environ, start_response)
