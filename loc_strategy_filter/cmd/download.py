"""Download an image the way a consumer (Nova, Cinder) would: from its best
location, read directly.

The image record comes from the image API through openstacksdk, configured
as for every OpenStack command (``--os-cloud``/``OS_CLOUD`` and clouds.yaml,
or ``OS_*`` variables). Its locations are ordered by the filter's strategy
and configuration and read with the filter's readers, allow-lists and
checks; the image API's own download is the last resort, resumed at the byte
a broken direct read reached. A wrong image is never left behind: data goes
to ``FILE.part``, renamed to ``FILE`` only once its size and checksums match
the image's; on standard output the last chunk is held back until then.

The locations are ordered for the client the image API sees: the one of
``--client-address``, or else the address this host reaches the image API's
endpoint from.
"""

import contextlib
import functools
import logging
import os
import sys
import time

from loc_strategy_filter import settings as settings_mod
from loc_strategy_filter.cmd import client_address
from loc_strategy_filter.cmd.progress import Progress
from loc_strategy_filter.cmd.strategy_args import strategy_overrides
from loc_strategy_filter.download import ranges
from loc_strategy_filter.download.candidates import candidates
from loc_strategy_filter.download.failover import FailoverStream
from loc_strategy_filter.download.failover import NoReadableLocation
from loc_strategy_filter.download.failover import StreamBroken
from loc_strategy_filter.download.record import RecordedBytes
from loc_strategy_filter.download.verify import IntegrityError
from loc_strategy_filter.download.verify import Verified
from loc_strategy_filter.locations import describe

NAME = "download"
HELP = "download an image from its best location, as a client would"
LOG = logging.getLogger(__name__)
_PROG = "loc-strategy-filter download"
_CHUNK_SIZE = 1 << 16


class DownloadFailed(Exception):
    """The image could not be written whole and verified."""


def add_arguments(parser):
    parser.add_argument("image_id", metavar="IMAGE_ID")
    parser.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="the file to write; - (the default) for "
                             "standard output")
    parser.add_argument("--client-address", metavar="ADDRESS",
                        type=client_address.client_address_argument,
                        help="order the locations for a client at this IP "
                             "address, as the filter orders for a request "
                             "from it (client_network); default: the local "
                             "address this host reaches the image API from, "
                             "else none")
    cloud = parser.add_argument_group(
        "cloud", "the image API, found as every OpenStack command finds it: "
                 "a cloud of clouds.yaml, or else the OS_* environment "
                 "variables (OS_AUTH_URL, OS_USERNAME, ...; "
                 "OS_AUTH_TYPE=none with OS_ENDPOINT for an API without "
                 "authentication)")
    cloud.add_argument("--os-cloud", metavar="NAME",
                       help="a cloud of clouds.yaml (default: $OS_CLOUD)")
    cloud.add_argument("--os-region-name", metavar="NAME",
                       help="the region (default: $OS_REGION_NAME or the "
                            "cloud's)")


class _ImageAPI:
    """The image API through an openstacksdk connection. Its errors, of
    three libraries, come out as ``DownloadFailed``."""

    def __init__(self, connection, errors, chunk_size):
        self._proxy = connection.image
        self._errors = errors
        self._chunk_size = chunk_size

    def record(self, image_id):
        """The image as a plain dict, in Glance's field names."""
        try:
            image = self._proxy.get_image(image_id)
        except self._errors as exc:
            raise DownloadFailed(f"image {image_id}: {exc}") from None
        fields = {"id": image.id, "status": image.status, "size": image.size,
                  "checksum": image.checksum,
                  "os_hash_algo": image.hash_algo,
                  "os_hash_value": image.hash_value,
                  "locations": image.locations, "direct_url": image.direct_url}
        return {key: value for key, value in fields.items()
                if value is not None}

    def endpoint(self):
        """The image API's endpoint URL the connection uses, or None."""
        try:
            endpoint = self._proxy.get_endpoint()
        except self._errors as exc:
            endpoint, reason = None, exc
        else:
            reason = "the connection has none"
        if endpoint is None:
            LOG.info("No image API endpoint (%s): ordering for a client of "
                     "no known address", reason)
        return endpoint

    def data(self, image_id, start, size):
        """The bytes of the ``size``-byte image from byte ``start``, in
        chunks."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        response = None
        try:
            response = self._proxy.get(f"/images/{image_id}/file",
                                       headers=headers, stream=True)
            skip = _skipped(response, start, size)
            for chunk in response.iter_content(self._chunk_size):
                dropped = min(skip, len(chunk))
                skip -= dropped
                if dropped < len(chunk):
                    yield chunk[dropped:]
        except self._errors as exc:
            raise DownloadFailed(f"image API download: {exc}") from None
        finally:
            if response is not None:
                response.close()


def _skipped(response, start, size):
    """How many leading bytes of the answer precede byte ``start`` of the
    ``size``-byte image: a server may ignore ``Range`` and send the whole
    image (200). A 206 must carry exactly the bytes asked for, as the
    filter's own continuation requires."""
    status = response.status_code
    if status == 206:
        wanted = ranges.content_range(start, size, size)
        got = response.headers.get("Content-Range")
        if got != wanted:
            raise DownloadFailed(f"image API download: asked for {wanted}, "
                                 f"got {got or 'no range'}")
        return 0
    if status != 200:
        raise DownloadFailed(f"image API download: HTTP {status}")
    return start


class _PartFile:
    """``path.part``, renamed to ``path`` once the image is verified."""

    def __init__(self, path):
        self.name = path
        self._part = f"{path}.part"
        self._file = open(self._part, "wb")

    def write(self, chunk):
        self._file.write(chunk)

    def restart(self):
        self._file.seek(0)
        self._file.truncate()

    def commit(self):
        self._file.flush()
        os.fsync(self._file.fileno())  # the name must never hold less
        self._file.close()
        os.replace(self._part, self.name)

    def discard(self):
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part)


class _StandardOutput:
    """Standard output; the image's last chunk reaches it only once the
    image is verified, so a wrong image reaches the pipe cut short."""

    name = "standard output"

    def __init__(self, stream):
        self._stream = stream

    def write(self, chunk):
        self._stream.write(chunk)

    def restart(self):
        raise DownloadFailed("standard output cannot start over; "
                             "the data written to it is incomplete")

    def commit(self):
        self._stream.flush()

    def discard(self):
        pass


class _Sources:
    """The image's bytes as a consumer reads them, and who sent them: its
    locations as far as they go, then the image API from the byte they
    reached (0 when none opened)."""

    def __init__(self, api, image_id, size):
        self._api = api
        self._image_id = image_id
        self._size = size
        #: Who sent the bytes, for the summary.
        self.names = []
        #: The byte the image API took over at; None: it did not.
        self.resumed_at = None

    def located_then_api(self, stream):
        received = 0
        try:
            stream.open_first()
            for chunk in stream:
                received += len(chunk)
                yield chunk
            self.names.append(_describe(stream.served_by))
            return
        except NoReadableLocation:
            pass
        except StreamBroken:
            self.names.append(f"{_describe(stream.served_by)} up to byte "
                              f"{received}")
        finally:
            stream.close()
        yield from self.api_from(received)

    def api_from(self, start):
        self.resumed_at = start
        self.names.append("the image API" + (f" from byte {start}"
                                             if start else ""))
        yield from self._api.data(self._image_id, start, self._size)


def _describe(candidate):
    return describe(candidate.index, candidate.location)


def _written(chunks, recorded, output, progress):
    """Write ``chunks``, verified; the ``IntegrityError`` that cut them
    short, or None."""
    try:
        for chunk in Verified(chunks, recorded):
            output.write(chunk)
            if progress:
                progress.advance(len(chunk))
    except IntegrityError as error:
        return error
    return None


def _download(api, image, candidates, recorded, output, progress):
    """Write ``image`` into ``output``, verified, then commit it; the names
    of the sources that sent it. Wrong bytes from a location, or from the
    image API resumed, start the image over from the image API."""
    image_id = image["id"]
    sources = _Sources(api, image_id, recorded.size)
    stream = FailoverStream(candidates, recorded, image_id=image_id)
    try:
        wrong = _written(sources.located_then_api(stream), recorded, output,
                         progress)
        if wrong is not None and sources.resumed_at != 0:
            if sources.resumed_at is None:
                LOG.warning("Image %s: location %s sent wrong data: %s",
                            image_id, stream.served_by.index, wrong)
            else:
                LOG.warning("Image %s: the data resumed at byte %d does not "
                            "make the image: %s", image_id,
                            sources.resumed_at, wrong)
            output.restart()
            if progress:
                progress.rewind()
            sources.names = []
            wrong = _written(sources.api_from(0), recorded, output, progress)
        if wrong is not None:
            raise DownloadFailed(f"the image API sent wrong data: {wrong}")
        output.commit()
    except BaseException:
        output.discard()
        raise
    return sources.names


def _image_api(openstack, args, chunk_size):
    """The image API of the cloud clouds.yaml or ``OS_*`` describe."""
    # Installed with openstacksdk, which is optional: imported as late.
    from keystoneauth1 import exceptions as auth_errors
    import requests
    region = ({"region_name": args.os_region_name} if args.os_region_name
              else {})
    try:
        connection = openstack.connect(cloud=args.os_cloud, **region)
    except (openstack.exceptions.ConfigException,
            auth_errors.AuthPluginException) as exc:
        raise settings_mod.ConfigError(f"cloud configuration: {exc}") from None
    errors = (openstack.exceptions.SDKException, auth_errors.ClientException,
              requests.RequestException)
    try:  # finding the image API authenticates, and may fail
        return _ImageAPI(connection, errors, chunk_size)
    except errors as exc:
        raise DownloadFailed(f"image API: {exc}") from None


def _configuration(args):
    """The settings, as the filter builds them, with its readers."""
    return settings_mod.from_config(settings_mod.load_config(
        config_files=args.config_file, overrides=strategy_overrides(args)))


def _order_for_client(args, api, settings):
    """``settings.order`` for the client the image API sees."""
    endpoint = None if args.client_address is not None else api.endpoint()
    requester, whence = client_address.requester_for(args.client_address,
                                                     endpoint)
    if requester.client_address is not None:
        LOG.info("Ordering the locations for client address %s (%s)",
                 requester.client_address, whence)
    return functools.partial(settings.order, requester=requester)


def _open_output(path):
    if path == "-":
        return _StandardOutput(sys.stdout.buffer)
    return _PartFile(path)


@contextlib.contextmanager
def _progress_bar(total):
    """A progress bar on standard error when it is a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    progress = Progress(sys.stderr, total)
    try:
        yield progress
    finally:
        progress.finish()


def _summary(image, output, sources, seconds):
    size = image["size"]
    rate = size / max(seconds, 1e-6) / 1e6
    return (f"{_PROG}: image {image['id']}: {size} bytes to {output.name} "
            f"from {', then '.join(sources)} in {seconds:.1f} s "
            f"({rate:.1f} MB/s)")


def run(args):
    if args.output == "-" and sys.stdout.isatty():
        print(f"{_PROG}: will not write an image to a terminal; use "
              "-o FILE or redirect standard output", file=sys.stderr)
        return 2
    settings = _configuration(args)
    try:
        import openstack  # the optional extra "client"
    except ImportError:
        print(f"{_PROG}: openstacksdk is missing; install "
              "loc-strategy-filter[client]", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        api = _image_api(openstack, args, _CHUNK_SIZE)
        image = api.record(args.image_id)
        recorded = RecordedBytes.of(image, settings.verify_checksums)
        if recorded is None:
            raise DownloadFailed(f"image {image['id']} has no data (status "
                                 f"{image.get('status')})")
        found = candidates(image, _order_for_client(args, api, settings),
                           settings.readers)
        output = _open_output(args.output)
        with _progress_bar(recorded.size) as progress:
            sources = _download(api, image, found, recorded, output,
                                progress)
    except (DownloadFailed, OSError) as exc:
        print(f"{_PROG}: failed: {exc}", file=sys.stderr)
        return 1
    print(_summary(image, output, sources, time.monotonic() - started),
          file=sys.stderr)
    return 0
