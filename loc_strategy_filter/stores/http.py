"""Reading ``http://`` and ``https://`` image locations from allowed hosts.

A location URL may be user-supplied, so this reader is a server-side request
maker and must not become a way into the operator's network. The only way
out is the ``http_allowed_hosts`` option: each host is reduced to its
canonical spelling (see ``stores.hosts``), checked, and then connected to in
exactly that spelling, for the first request and for every redirect hop,
before any connection is made to it. Proxy environment variables are never
consulted (urllib3 reads none), and redirects are followed here, hop by hop.

Security decisions:

* ``user:password@`` in the URL (percent-decoded, as Glance's requests-based
  store does) is sent as HTTP basic auth, and carried over a redirect only
  to the same scheme, host and port; a URL is logged only through
  ``redact_url``.
* A redirect from https to http is refused: the operator chose TLS.
* https verifies the certificate against the URL's host, with the system's
  trusted CAs.
* The body is passed on exactly as sent (no content decoding), for the
  download layer to check against the image's size and checksums. An
  answer that is not those bytes is refused whatever ``verify_checksums``
  says: a ``Content-Encoding`` (only ``identity`` was asked for), a 206
  whose ``Content-Length`` and ``Content-Range`` disagree, a header block
  that does not parse.
* Every malformed answer, at open or mid-stream, is a failed location
  (``ReadFailed``), as a refused connection is; so is one too slow to meet
  its ``stores.deadline``.
* A server that answers a ranged request with the whole object (200) is
  still used: the bytes before ``start`` are read and dropped. That costs
  transfer, never correctness, and keeps such servers usable for failover.
"""

import base64
import http.client
import logging
import re
import select
import socket
import typing
import urllib.parse
import weakref

from oslo_config import cfg
import urllib3
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.util.response import assert_header_parsing

from loc_strategy_filter.redaction import redact_url
from loc_strategy_filter.stores.base import InvalidReaderOption
from loc_strategy_filter.stores.base import ReadFailed
from loc_strategy_filter.stores.base import ReadRefused
from loc_strategy_filter.stores.base import WrongObject
from loc_strategy_filter.stores.deadline import Deadline
from loc_strategy_filter.stores.hosts import canonical_host
from loc_strategy_filter.stores.hosts import HostAllowList
from loc_strategy_filter.stores.hosts import split_host_port

LOG = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# At most 19 digits: any real size fits, and int() never sees a huge string.
_CONTENT_RANGE = re.compile(
    r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19}|\*)\Z")
# What a malformed or cut-off answer can raise from urllib3 and http.client.
_BROKEN = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
           ValueError)
_USER_AGENT = "loc-strategy-filter"
#: Bytes read at a time, at most: a fast mirror's body comes in blocks this
#: large (twice the speed of 64 KiB reads, bench_download), a slow one's
#: bytes go on as they arrive.
BLOCK_SIZE = 1 << 20
# Tells a filtered image API that this request comes from the filter, so
# that a location pointing back at it is never served by the filter again.
VIA = "1.1 loc-strategy-filter"


class _Target(typing.NamedTuple):
    """One request: the URL as given, and where and how to send it."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    authorization: typing.Optional[str]

    @property
    def origin(self):
        return self.scheme, self.host, self.port


class _Answer(typing.NamedTuple):
    """A response, and the connection and socket it arrives on."""

    connection: HTTPConnection
    sock: socket.socket  # http.client may drop its own reference to it
    response: urllib3.HTTPResponse

    def close(self):
        self.response.close()
        self.connection.close()


class _CheckedResponse(http.client.HTTPResponse):
    """Refuses a header block that does not parse.

    urllib3 only logs a warning for one (a line without a colon, say), and
    the headers after the defect are then silently lost.
    """

    def begin(self):
        super().begin()
        assert_header_parsing(self.msg)


class _Connection(HTTPConnection):
    response_class = _CheckedResponse


class _TLSConnection(HTTPSConnection):
    response_class = _CheckedResponse


class HttpReader:
    """Opens ``http`` and ``https`` locations on the allowed hosts.

    urllib3 logs whole URLs: ``settings.from_config`` and
    ``stores.load_readers`` put the log redaction on its loggers. A program
    that builds an ``HttpReader`` in another way calls
    ``redaction.redact_logs_of(*redaction.FILTERED_LOGGERS)`` itself.
    """

    schemes = ("http", "https")
    OPTIONS = (
        cfg.ListOpt(
            "http_allowed_hosts",
            default=[],
            help="""
Hosts the filter may fetch ``http://`` and ``https://`` locations from.

Possible values:
    * A comma-separated list of ``host`` or ``host:port`` entries; a host
      without a port allows any port. IP addresses are compared in their
      canonical form (every spelling of an address is the same host, and
      all loopback addresses are one host). Each redirect is checked again.
    * Empty (the default): no http location is fetched.

Related options:
    * ``download_mode``, ``http_connect_timeout``, ``http_read_timeout``

Security note:
    Location URLs can be set by image owners. Allowing a host lets the
    filter connect to it on a user's behalf: never allow internal services
    that are not image mirrors.
"""),
        cfg.FloatOpt(
            "http_connect_timeout",
            default=5.0,
            min=0.001,
            help="""
Seconds to wait for a connection to an http location.

Possible values:
    * A positive number of seconds.

Related options:
    * ``http_allowed_hosts``, ``http_read_timeout``
"""),
        cfg.FloatOpt(
            "http_read_timeout",
            default=30.0,
            min=0.001,
            help="""
Seconds to wait for data from an http location before trying the next.

Possible values:
    * A positive number of seconds.

Related options:
    * ``http_allowed_hosts``, ``http_connect_timeout``
    * ``http_header_timeout``, ``http_min_rate``: this timeout bounds each
      wait for data, not a whole read; those bound the read.
"""),
        cfg.FloatOpt(
            "http_header_timeout",
            default=60.0,
            min=0.001,
            help="""
Seconds an http location may take to answer with its headers.

Counted from the connection to the status line and headers of the last
redirect hop, redirects included. ``http_read_timeout`` alone cannot end a
mirror that sends its headers a byte at a time; this does: the location
counts as failed and the download moves on to the next.

Possible values:
    * A positive number of seconds.

Related options:
    * ``http_connect_timeout``, ``http_read_timeout``, ``http_min_rate``
"""),
        cfg.IntOpt(
            "http_min_rate",
            default=1024,
            min=1,
            help="""
Bytes per second an http location must send its body at, at least.

Averaged over the last ``http_rate_window`` seconds spent waiting for the
location: time the filter spends passing bytes to a slow client does not
count. A location slower than this counts as failed, and the download
resumes from the next location at the byte reached. With a positive rate,
no mirror can hold a download for ever.

Possible values:
    * A positive number of bytes per second.

Related options:
    * ``http_rate_window``, ``http_header_timeout``, ``http_read_timeout``
"""),
        cfg.FloatOpt(
            "http_rate_window",
            default=30.0,
            min=0.001,
            help="""
Seconds of waiting over which ``http_min_rate`` is averaged.

A longer window forgives a mirror's short stalls; a shorter one fails a
slow mirror over sooner. A body read waits at most this long for the first
``http_min_rate`` x ``http_rate_window`` bytes.

Possible values:
    * A positive number of seconds.

Related options:
    * ``http_min_rate``
"""),
    )

    def __init__(self, *, http_allowed_hosts, http_connect_timeout,
                 http_read_timeout, http_header_timeout, http_min_rate,
                 http_rate_window, http_max_redirects=3,
                 chunk_size=BLOCK_SIZE):
        try:
            self._allowed = HostAllowList(http_allowed_hosts)
        except ValueError as exc:
            raise InvalidReaderOption(
                "http_allowed_hosts", ", ".join(http_allowed_hosts), exc,
                "host or host:port entries") from None
        self._connect_timeout = http_connect_timeout
        self._read_timeout = http_read_timeout
        self._deadline = (http_header_timeout, http_min_rate,
                          http_rate_window)
        self._max_redirects = http_max_redirects
        self._chunk_size = chunk_size

    @property
    def timeouts(self):
        """``(connect, read)`` in seconds, as ``requests`` takes them: the
        client asks the image API with them too.
        """
        return self._connect_timeout, self._read_timeout

    def allows(self, url):
        """Whether ``url``'s host is allowed; decided without a connection."""
        try:
            self._allowed_target(url)
        except ReadRefused:
            return False
        return True

    def open(self, url, start=0, stop=None):
        """``url`` opened at ``start``; see ``stores.base.Reader.open``."""
        if start < 0 or (stop is not None and stop < start):
            raise ValueError(f"bad byte range {start}:{stop}")
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity",
                   "Via": VIA}
        if (start, stop) != (0, None) and start != stop:
            last = "" if stop is None else stop - 1
            headers["Range"] = f"bytes={start}-{last}"
        target = self._allowed_target(url)
        deadline = Deadline(*self._deadline)
        try:
            return self._follow(target, headers, deadline, start, stop)
        except BaseException:
            deadline.stop()
            raise

    def _follow(self, target, headers, deadline, start, stop):
        """The source at the end of ``target``'s redirects."""
        url = target.url
        redirects = 0
        while True:
            answer = self._request(target, headers, deadline)
            if answer.response.status not in _REDIRECTS:
                deadline.headers_received()
                return HttpSource(answer, start, stop, "Range" in headers,
                                  self._chunk_size, target.url, deadline)
            location = answer.response.headers.get("Location")
            answer.close()
            if location is None:
                raise ReadFailed(f"{redact_url(target.url)}: redirect "
                                 "without a Location")
            if redirects == self._max_redirects:
                raise ReadFailed(f"{redact_url(url)}: more than "
                                 f"{self._max_redirects} redirects")
            redirects += 1
            target = self._redirected(target, location)

    def _allowed_target(self, url):
        """``url`` parsed, or ``ReadRefused`` if its host is not allowed."""
        target = _parse(url)
        if not self._allowed.allows(target.host, target.port):
            raise ReadRefused(f"{redact_url(url)}: host not allowed")
        return target

    def _redirected(self, target, location):
        """Where a redirect from ``target`` to ``location`` leads.

        A ``Location`` that is no http(s) URL is the mirror's fault: the
        location failed. One to a host not allowed is refused.
        """
        try:
            url = urllib.parse.urljoin(target.url, location)
            new = _parse(url)
        except ValueError:  # its text may quote the Location's netloc
            raise ReadFailed(f"{redact_url(target.url)}: bad redirect: "
                             "not a URL") from None
        except ReadRefused as exc:
            raise ReadFailed(f"{redact_url(target.url)}: bad redirect: "
                             f"{exc}") from None
        LOG.debug("%s redirects to %s", redact_url(target.url),
                  redact_url(url))
        if not self._allowed.allows(new.host, new.port):
            raise ReadRefused(f"{redact_url(url)}: host not allowed")
        if (target.scheme, new.scheme) == ("https", "http"):
            raise ReadRefused(f"{redact_url(url)}: redirect from https "
                              "to http")
        if new.authorization is None and new.origin == target.origin:
            new = new._replace(authorization=target.authorization)
        return new

    def _request(self, target, headers, deadline):
        """An ``_Answer`` from ``target``, its headers received.

        A connection of our own rather than a pool's: the deadline needs
        its socket while the status line may still be on its way.
        """
        if target.scheme == "https":
            connection = _TLSConnection(target.host, target.port,
                                        timeout=self._connect_timeout,
                                        cert_reqs="CERT_REQUIRED")
        else:
            connection = _Connection(target.host, target.port,
                                     timeout=self._connect_timeout)
        if target.authorization:
            headers = {**headers, "Authorization": target.authorization}
        try:
            connection.connect()
            sock = connection.sock
            deadline.watch(sock)
            connection.timeout = self._read_timeout
            connection.request("GET", target.path, headers=headers,
                               preload_content=False, decode_content=False)
            response = connection.getresponse()
        except _BROKEN as exc:
            connection.close()
            raise ReadFailed(
                f"{redact_url(target.url)}: "
                f"{deadline.expired or _described(exc)}") from None
        answer = _Answer(connection, sock, response)
        if deadline.expired:
            answer.close()
            raise ReadFailed(f"{redact_url(target.url)}: {deadline.expired}")
        return answer


def _parse(url):
    """``url`` as a ``_Target``; ``ReadRefused`` if it is not one."""
    if not isinstance(url, str) or any(c <= " " or c == "\x7f" for c in url):
        raise ReadRefused(f"{redact_url(url)}: space or control character "
                          "in URL")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # its text may quote the netloc, userinfo and all
        raise ReadRefused(f"{redact_url(url)}: not a URL") from None
    try:
        userinfo, _, host_port = parts.netloc.rpartition("@")
        host, port = split_host_port(host_port)
        host = canonical_host(host)
    except ValueError:
        # Not the reason's text: it quotes the netloc, credentials and all.
        raise ReadRefused(f"{redact_url(url)}: malformed host or port"
                          ) from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise ReadRefused(f"{redact_url(url)}: not an http(s) URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        authorization = _basic_auth(userinfo)
    except UnicodeEncodeError:  # JSON may carry a lone surrogate
        raise ReadRefused(f"{redact_url(url)}: credentials that are not "
                          "text") from None
    return _Target(url, parts.scheme, host,
                   port or _DEFAULT_PORTS[parts.scheme], path, authorization)


def _basic_auth(userinfo):
    """The ``Authorization`` value for URL ``user:password``, if any."""
    if not userinfo:
        return None
    user, _, password = userinfo.partition(":")
    credentials = ":".join(map(urllib.parse.unquote, (user, password)))
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


class HttpSource:
    """An HTTP response body, from byte ``start`` of the stored object."""

    file_object = None  # bytes from a peer are always read through chunks

    def __init__(self, answer, start, stop, ranged, chunk_size, url,
                 deadline):
        self._answer = answer
        self._response = answer.response
        self._chunk_size = chunk_size
        self._url = url
        self._deadline = deadline
        # A source dropped unclosed must not leave its watchdog thread.
        weakref.finalize(self, deadline.stop)
        self._failure = None  # met after bytes that are still to be passed on
        self._poll = select.poll() if hasattr(select, "poll") else None
        if self._poll:  # poll, not select: any descriptor number works
            self._poll.register(answer.sock, select.POLLIN)
        try:
            self._skip, self._remaining, self.size = _body_extent(
                answer.response, start, stop, ranged)
        except ReadFailed as exc:
            self.close()
            raise type(exc)(f"{redact_url(url)}: {exc}") from None

    def chunks(self):
        """The bytes asked for, in chunks; ``ReadFailed`` if cut short.

        Each chunk is what arrived, up to ``chunk_size``: a slow source's
        first bytes go on at once, a fast one's come in large blocks.
        """
        remaining = self._remaining
        if remaining == 0:
            return
        self._discard(self._skip)
        while remaining != 0:
            want = self._chunk_size
            if remaining is not None:
                want = min(want, remaining)
            data = self._read(want)
            if not data and remaining is None:
                return
            if not data:
                raise ReadFailed(f"{redact_url(self._url)}: connection "
                                 f"closed with {remaining} bytes to go")
            if remaining is not None:
                remaining -= len(data)
            yield data

    def _discard(self, count):
        """Read and drop ``count`` bytes a 200 sent before ``start``."""
        while count:
            data = self._read(min(count, self._chunk_size))
            if not data:
                raise ReadFailed(f"{redact_url(self._url)}: object ends "
                                 "before the first byte asked for")
            count -= len(data)

    def _read(self, amount):
        """Up to ``amount`` bytes: what has arrived, waiting only if none.

        Bytes that arrived before a failure are returned first, and the
        failure raised by the next call: the download then resumes
        elsewhere from the last good byte, not from before them.
        """
        if self._failure is not None:
            raise self._failure
        started = self._deadline.reading()
        pieces, count = [], 0
        try:
            while count < amount and (not pieces or self._arrived()):
                piece = self._response.read1(amount - count,
                                             decode_content=False)
                if not piece:
                    break
                pieces.append(piece)
                count += len(piece)
        except _BROKEN as exc:
            self._failure = ReadFailed(
                f"{redact_url(self._url)}: "
                f"{self._deadline.expired or _described(exc)}")
        finally:
            self._deadline.read(started, count)
        # A socket shut down by the deadline reads as a clean end.
        if self._failure is None and self._deadline.expired:
            self._failure = ReadFailed(f"{redact_url(self._url)}: "
                                       f"{self._deadline.expired}")
        if self._failure is not None and not pieces:
            raise self._failure
        return b"".join(pieces)

    def _arrived(self):
        """Whether more bytes can be read without waiting for the source."""
        if getattr(self._answer.sock, "pending", lambda: 0)():
            return True  # decrypted TLS bytes
        return bool(self._poll and self._poll.poll(0))

    def close(self):
        """Drop the connection, unread body and all; safe to call twice."""
        self._deadline.stop()
        self._answer.close()


def identity_coded(content_encoding):
    """Whether a ``Content-Encoding`` value (repeated headers joined with
    commas) leaves the bytes as they are.
    """
    return all(coding.strip().lower() in ("", "identity")
               for coding in content_encoding.split(","))


def _described(error):
    """``error``, or what it is when its text would quote the answer: a
    malformed status line or header block may echo the request back,
    its ``Authorization`` header and all.
    """
    causes = (error, *(arg for arg in getattr(error, "args", ())
                       if isinstance(arg, BaseException)))
    for cause in causes:
        if isinstance(cause, http.client.BadStatusLine):
            return "a malformed status line"
        if isinstance(cause, urllib3.exceptions.HeaderParsingError):
            return "a header block that does not parse"
    return error


def _body_extent(response, start, stop, ranged):
    """``(bytes to skip, bytes to serve or None, object size or None)``.

    Raises ``ReadFailed`` for an answer that is not the bytes asked for.
    """
    status = response.status
    encoding = response.headers.get("Content-Encoding", "")
    if not identity_coded(encoding):
        raise ReadFailed(f"Content-Encoding {encoding!r}, not the image's "
                         "bytes")
    # http.client decodes "chunked" alone; any other transfer coding would
    # reach us as the coded bytes.
    transfer = response.headers.get("Transfer-Encoding")
    if transfer is not None and transfer.strip().lower() != "chunked":
        raise ReadFailed(f"Transfer-Encoding {transfer!r}, not the image's "
                         "bytes")
    if status == 416:
        raise WrongObject(f"bytes {start}:{stop} are not in the object")
    if status == 206 and ranged:
        first, last, size = _content_range(response.headers)
        length = _content_length(response.headers)
        if length is not None and length != last - first + 1:
            raise ReadFailed(f"Content-Length {length} for Content-Range "
                             f"bytes {first}-{last}")
        if size is not None and stop is not None and stop > size:
            raise WrongObject(f"bytes {start}:{stop} asked of a {size}-byte "
                              "object")
        expected_last = stop - 1 if stop is not None else (
            last if size is None else size - 1)
        if (first, last) != (start, expected_last):
            raise ReadFailed(f"asked for bytes {start}-{expected_last}, "
                             f"got {first}-{last}")
        return 0, last - first + 1, size
    if status != 200:
        raise ReadFailed(f"HTTP {status}")
    size = _content_length(response.headers)
    end = stop if stop is not None else size
    if size is not None and max(start, end) > size:
        raise WrongObject(f"bytes {start}:{stop} asked of a {size}-byte "
                          "object")
    return start, None if end is None else end - start, size


def _content_range(headers):
    match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
    if not match:
        raise ReadFailed("206 without a valid Content-Range")
    first, last = int(match[1]), int(match[2])
    size = None if match[3] == "*" else int(match[3])
    if first > last or (size is not None and last >= size):
        raise ReadFailed(f"bad Content-Range {match[0]!r}")
    return first, last, size


def _content_length(headers):
    value = headers.get("Content-Length")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        raise ReadFailed(f"bad Content-Length {value!r}")
    return int(value)
