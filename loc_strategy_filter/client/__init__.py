"""The consumer's library: order an image's locations and read its bytes
the way the filter does, in one call.

A service that consumes images (a Nova- or Cinder-like one) builds one
``Client`` from the same configuration as the filter (its config files and
overrides) and an openstacksdk connection, then::

    client = Client(openstack.connect(), config_files=["client.conf"])
    client.ordered(image)                 # the locations, best first
    served = client.download(image, "image.raw")

An image is an openstacksdk ``Image``, a dict in Glance's field names (a
glanceclient image is one) or, with a connection, an image ID.

The rule of what may be read, and in what order, is the filter's own
(``download.candidates``): only an ``active`` image, its locations in
strategy order, those the readers allow (``file://`` inside the configured
directories, ``http(s)://`` from allowed hosts), the ones that failed
lately last. Every error is a ``errors.LocationStrategyError``.
"""

import logging

from loc_strategy_filter.client import address
from loc_strategy_filter.client import destinations
from loc_strategy_filter.client.image_api import ImageAPI
from loc_strategy_filter.client.images import record_of
from loc_strategy_filter.client.reading import ImageStream
from loc_strategy_filter.client.reading import Served
from loc_strategy_filter.download import candidates
from loc_strategy_filter.download.failover import FailoverStream
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter import errors
from loc_strategy_filter.locations import shown_locations
from loc_strategy_filter import redaction
from loc_strategy_filter import requester as requester_mod
from loc_strategy_filter import settings as settings_mod
from loc_strategy_filter.stores.http import HttpReader
from loc_strategy_filter.stores import ReadFailed

__all__ = ["Client", "ImageStream", "Served"]

LOG = logging.getLogger(__name__)


class Client:
    """Orders and reads images for one consumer.

    :param connection: an openstacksdk ``Connection`` (``openstack
        .connect()``), for image IDs, the image API's download when no
        location can be read, and this host's address towards the image
        API; None for none of these.
    :param config_files: oslo.config files to read, as the filter reads
        them (``glance-api.conf``, a file of ``[location_strategy_filter]``
        and the readers' groups).
    :param settings: ready ``settings.Settings``, instead of
        ``config_files`` and ``overrides``.
    :param client_address: the IP address to order for (``client_network``
        orders by it); by default this host's address towards the image
        API.
    :param overrides: option values over the files', by option name, such
        as ``location_strategy="store_type"``.
    :raises errors.ConfigurationError: for configuration the filter would
        not start with.
    """

    def __init__(self, connection=None, *, config_files=(), settings=None,
                 client_address=None, **overrides):
        if settings is None:
            settings = settings_mod.from_config(settings_mod.load_config(
                config_files=list(config_files), overrides=overrides))
        elif overrides or config_files:
            raise TypeError("settings and configuration: give one")
        self.settings = settings
        # The libraries under the connection log URLs: redacted, as ours.
        redaction.redact_logs_of(*redaction.FILTERED_LOGGERS)
        self._image_api = None if connection is None else ImageAPI(
            connection, _timeout(settings))
        self._requester = None if client_address is None else _requester(
            client_address)
        self._failures = FailureMemory(settings.location_failure_ttl)

    def image(self, image):
        """``image`` as a dict in Glance's field names; an image ID is
        fetched from the image API.
        """
        if isinstance(image, str):
            return self._api("an image ID").record(image)
        return record_of(image)

    def ordered(self, image, client_address=None):
        """The image's locations (as it shows them: ``locations``, else
        ``direct_url``) in strategy order, for ``client_address``.
        """
        return self.settings.order(shown_locations(self.image(image)),
                                   requester=self.requester(client_address))

    def best(self, image, client_address=None):
        """The first of ``ordered``, or None."""
        return next(iter(self.ordered(image, client_address)), None)

    def requester(self, client_address=None):
        """Who the locations are ordered for: ``client_address``, else the
        client's, else this host as the image API sees it.
        """
        if client_address is not None:
            return _requester(client_address)
        if self._requester is None:
            endpoint = (None if self._image_api is None
                        else self._image_api.endpoint())
            self._requester, whence = address.requester_for(None, endpoint)
            if whence is not None:
                LOG.info("Ordering the locations for client address %s (%s)",
                         self._requester.client_address, whence)
        return self._requester

    def open(self, image, *, fallback=True, client_address=None):
        """The image's bytes as an ``ImageStream``: verified, failing over
        from location to location, then (with ``fallback`` and a
        connection) to the image API at the byte reached.

        :raises errors.NoImageData: the image has no bytes (not active).
        :raises errors.NoReadableLocation: no location could be opened,
            and no fallback.
        """
        record = self.image(image)
        return self._open(record, _recorded(record, self.settings),
                          self._fallback(fallback), client_address)

    def download(self, image, destination, *, fallback=True,
                 client_address=None, progress=None):
        """Write the image's exact bytes to ``destination`` (a path, or a
        binary file object), or raise.

        A path gets a partial file beside it first (``path.<random>.part``),
        renamed to ``path`` only once the bytes are verified, and removed on
        failure. Wrong bytes from a location, or from the image API resumed,
        start over from the image API (a file object cannot take back what
        it was given: then the download fails).
        ``progress(written, size)`` hears how many of the image's ``size``
        bytes are written so far (back to 0 when it starts over).

        :returns: ``Served``: which location (or the image API) sent it.
        :raises errors.DownloadFailed: or one of its kinds, when the image
            could not be written whole and verified.
        """
        record = self.image(image)
        recorded = _recorded(record, self.settings)
        api = self._fallback(fallback)
        output = destinations.destination(destination)
        try:
            served = self._written(record, recorded, api, client_address,
                                   output, progress)
            output.commit()
        except BaseException:
            output.discard()
            raise
        return served

    def _written(self, record, recorded, api, client_address, output,
                 progress):
        """Who sent the bytes written to ``output``, verified."""
        with self._open(record, recorded, api, client_address) as stream:
            try:
                _write(stream, output, progress)
                return stream.served
            except errors.VerificationFailed as wrong:
                served = stream.served
                if api is None or served.image_api_from == 0:
                    raise
                LOG.warning("Image %s: the bytes from %s are not the "
                            "image's (%s); starting over from the image API",
                            record["id"], served, wrong)
        output.restart()
        with ImageStream(recorded, image_api=_opened(api, record["id"],
                                                     recorded)) as stream:
            _write(stream, output, progress)
            return stream.served

    def _open(self, record, recorded, api, client_address):
        image_id = record["id"]
        _, recalled, tried = candidates.planned(
            record, self._order_for(client_address), self._failures,
            recorded)
        found = candidates.readable(tried, self.settings.readers)
        continuation = None if api is None else (
            lambda start, stop: api.source(image_id, recorded.size, start,
                                           stop))
        stream = FailoverStream(found, recorded, image_id=image_id,
                                recalled=recalled, continuation=continuation)
        try:
            stream.open_first()
        except errors.NoReadableLocation:
            if api is None:
                raise
            LOG.info("Image %s: no location could be opened; reading from "
                     "the image API", image_id)
            return ImageStream(recorded,
                               image_api=_opened(api, image_id, recorded))
        return ImageStream(recorded, located=stream)

    def _order_for(self, client_address):
        requester = self.requester(client_address)
        return lambda locations: self.settings.order(locations,
                                                     requester=requester)

    def _fallback(self, fallback):
        return self._api("fallback") if fallback and (
            self._image_api is not None) else None

    def _api(self, needed_for):
        if self._image_api is None:
            raise errors.ConfigurationError(
                f"{needed_for} needs the image API: give the Client a "
                "connection")
        return self._image_api


def _recorded(record, settings):
    """What the bytes of the image ``record`` must be; ``NoImageData``
    when it has none to read.
    """
    status = record.get("status")
    recorded = RecordedBytes.of(record, settings.verify_checksums)
    if not isinstance(record.get("id"), str):
        raise errors.NoImageData("an image without an id cannot be read")
    if status != "active" or recorded is None:
        raise errors.NoImageData(f"image {record.get('id')} has no data to "
                                 f"read (status {status})")
    return recorded


def _timeout(settings):
    """The image API is asked with the http reader's connect and read
    timeouts, as a mirror is (its defaults, if another reader reads http).
    """
    reader = settings.readers.get("http")
    if isinstance(reader, HttpReader):
        return reader.timeouts
    defaults = {opt.dest: opt.default for opt in HttpReader.OPTIONS}
    return defaults["http_connect_timeout"], defaults["http_read_timeout"]


def _requester(client_address):
    try:
        return requester_mod.Requester.at(client_address)
    except ValueError:
        raise errors.ConfigurationError(
            f"client_address {client_address!r} is not an IP address (such "
            "as 10.1.2.3 or fd00:1::5)") from None


def _opened(api, image_id, recorded):
    """The image API's download of the whole image."""
    try:
        return api.source(image_id, recorded.size)
    except ReadFailed as exc:
        raise errors.DownloadFailed(f"image {image_id}: {exc}") from None


def _write(stream, output, progress):
    written = 0
    if progress is not None:
        progress(written, stream.size)
    for chunk in stream:
        output.write(chunk)
        written += len(chunk)
        if progress is not None:
            progress(written, stream.size)
