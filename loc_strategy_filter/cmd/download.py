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
"""

import contextlib
import logging
import os
import sys
import time

from loc_strategy_filter import settings
from loc_strategy_filter import stores
from loc_strategy_filter.cmd.order import locations_of
from loc_strategy_filter.cmd.progress import Progress
from loc_strategy_filter.cmd.strategy_args import strategy_overrides
from loc_strategy_filter.download.failover import (
    FailoverStream, NoReadableLocation, StreamBroken)
from loc_strategy_filter.download.failures import FailureMemory
from loc_strategy_filter.download.verify import IntegrityError, Verifier
from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.locations import store_of
from loc_strategy_filter.locations import store_type_of

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

    def data(self, image_id, start):
        """The image's bytes from byte ``start``, in chunks."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        response = None
        try:
            response = self._proxy.get(f"/images/{image_id}/file",
                                       headers=headers, stream=True)
            skip = _skipped(response, start)
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


def _skipped(response, start):
    """How many leading bytes of the answer precede byte ``start``: a
    server may ignore ``Range`` and send the whole image (200)."""
    status = response.status_code
    if status == 206:
        first = response.headers.get("Content-Range", "")[len("bytes "):]
        if first.partition("-")[0] != str(start):
            raise DownloadFailed(f"image API download: asked for bytes "
                                 f"{start}-, got {first or 'no range'}")
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
    """Standard output, one chunk behind: a wrong image reaches the pipe
    cut short, never whole."""

    name = "standard output"

    def __init__(self, stream):
        self._stream = stream
        self._held = b""

    def write(self, chunk):
        self._stream.write(self._held)
        self._held = chunk

    def restart(self):
        raise DownloadFailed("standard output cannot start over; "
                             "the data written to it is incomplete")

    def commit(self):
        self._stream.write(self._held)
        self._stream.flush()

    def discard(self):
        self._held = b""


class _Transfer:
    """The image's bytes into an output, counted, hashed and shown."""

    def __init__(self, image, output, progress, verify_checksums):
        self.image = image
        self.output = output
        self._progress = progress
        self._checksums = (
            (image.get("checksum"), image.get("os_hash_algo"),
             image.get("os_hash_value")) if verify_checksums else ())
        self.position = 0
        self.verifier = Verifier(image["size"], *self._checksums)
        self.sources = []  # what wrote the output, for the summary

    def write(self, chunk):
        self.output.write(chunk)
        self.verifier.update(chunk)
        self.position += len(chunk)
        if self._progress:
            self._progress.advance(len(chunk))

    def start_over(self):
        self.output.restart()
        self.position = 0
        self.verifier = Verifier(self.image["size"], *self._checksums)
        self.sources = []
        if self._progress:
            self._progress.rewind()


def _describe(index, location):
    url = location["url"]
    store = store_of(location)
    kind = f"{store_type_of(url) or 'unknown'} store"
    return (f"location {index} ({kind}{f' {store!r}' if store else ''}, "
            f"{redact_url(url)})")


def _candidates(image, order, readers):
    """``(index, location)`` pairs in strategy order, of the locations the
    readers' allow-lists admit; the index is the place in the image's
    list. Empty for an image that is not active: the image API decides
    whether those may be downloaded (deactivated images, for one), so
    they are never read directly."""
    if image.get("status") != "active":
        return []
    try:
        locations = [location for location in locations_of(image)
                     if isinstance(location.get("url"), str)]
    except ValueError:
        return []  # the image API shows no locations
    position = {id(location): index
                for index, location in enumerate(locations)}
    return [(position.get(id(location)), location)
            for location in order(locations)
            if _readable(readers, location["url"])]


def _readable(readers, url):
    reader = stores.reader_for(readers, url)
    return reader is not None and reader.allows(url)


def _from_locations(transfer, stream, candidates):
    """Whether the locations wrote the whole, verified image. If not, the
    output holds the bytes to resume after (maybe none)."""
    try:
        stream.open_first()
    except NoReadableLocation:
        return False
    try:
        for chunk in stream.chunks():
            transfer.write(chunk)
        transfer.verifier.check()
    except StreamBroken:
        served_by = stream.served_by
        transfer.sources.append(
            f"{_describe(served_by, dict(candidates)[served_by])} up to "
            f"byte {transfer.position}")
        return False
    except IntegrityError as error:
        LOG.warning("Image %s: location %s sent wrong data: %s",
                    transfer.image["id"], stream.served_by, error)
        transfer.start_over()
        return False
    finally:
        stream.close()
    served_by = stream.served_by
    transfer.sources.append(_describe(served_by, dict(candidates)[served_by]))
    return True


def _from_api(transfer, api):
    """Write the rest of the image from the image API's own download;
    from byte 0 again if what it resumed does not make the image."""
    start = transfer.position
    for chunk in api.data(transfer.image["id"], start):
        transfer.write(chunk)
    try:
        transfer.verifier.check()
    except IntegrityError as error:
        if start == 0:
            raise DownloadFailed(f"the image API sent wrong data: {error}"
                                 ) from None
        LOG.warning("Image %s: the data resumed at byte %d does not make "
                    "the image: %s", transfer.image["id"], start, error)
        transfer.start_over()
        _from_api(transfer, api)
        return
    transfer.sources.append("the image API" + (
        f" from byte {start}" if start else ""))


def _with_data(image):
    """``image``, unless it has no data to download (no size yet)."""
    if not isinstance(image.get("size"), int):
        raise DownloadFailed(f"image {image['id']} has no data (status "
                             f"{image.get('status')})")
    return image


def _download(api, image, candidates, readers, chosen, output, progress):
    """Write ``image`` into ``output``, then commit it; the ``_Transfer``
    says which sources wrote it."""
    transfer = _Transfer(image, output, progress, chosen.verify_checksums)
    # No verifier in the stream: the transfer's one sees the bytes of
    # every source, so that a download resumed from the API is checked
    # whole.
    stream = FailoverStream(
        candidates, readers, 0, image["size"], None,
        FailureMemory(chosen.location_failure_ttl),
        image_id=image["id"], expected_size=image["size"])
    try:
        if not _from_locations(transfer, stream, candidates):
            _from_api(transfer, api)
        output.commit()
    except BaseException:
        output.discard()
        raise
    return transfer


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
        raise settings.ConfigError(f"cloud configuration: {exc}") from None
    errors = (openstack.exceptions.SDKException, auth_errors.ClientException,
              requests.RequestException)
    return _ImageAPI(connection, errors, chunk_size)


def _configuration(args):
    """The settings and readers, as the filter builds them."""
    chosen = settings.from_config(settings.load_config(
        config_files=args.config_file, overrides=strategy_overrides(args)))
    return chosen, chosen.readers


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


def _summary(transfer, seconds):
    size = transfer.image["size"]
    rate = size / max(seconds, 1e-6) / 1e6
    return (f"{_PROG}: image {transfer.image['id']}: {size} bytes to "
            f"{transfer.output.name} from {', then '.join(transfer.sources)} "
            f"in {seconds:.1f} s ({rate:.1f} MB/s)")


def run(args):
    if args.output == "-" and sys.stdout.isatty():
        print(f"{_PROG}: will not write an image to a terminal; use "
              "-o FILE or redirect standard output", file=sys.stderr)
        return 2
    chosen, readers = _configuration(args)
    try:
        import openstack  # the optional extra "client"
    except ImportError:
        print(f"{_PROG}: openstacksdk is missing; install "
              "loc-strategy-filter[client]", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        api = _image_api(openstack, args, _CHUNK_SIZE)
        image = _with_data(api.record(args.image_id))
        candidates = _candidates(image, chosen.order, readers)
        output = _open_output(args.output)
        with _progress_bar(image["size"]) as progress:
            transfer = _download(api, image, candidates, readers, chosen,
                                output, progress)
    except (DownloadFailed, OSError) as exc:
        print(f"{_PROG}: failed: {exc}", file=sys.stderr)
        return 1
    print(_summary(transfer, time.monotonic() - started), file=sys.stderr)
    return 0
