"""The oslo.config options of the filter and of every registered strategy.

``[DEFAULT] location_strategy`` and the ``[<name>_location_strategy]`` groups
keep the historic Glance names, so an operator's old ``glance-api.conf``
lines work unchanged. The filter's own switches live in
``[location_strategy_filter]``.
"""

from oslo_config import cfg

from loc_strategy_filter import strategies

FILTER_GROUP = "location_strategy_filter"

DEFAULT_OPTS = (
    cfg.StrOpt(
        "location_strategy",
        default=strategies.DEFAULT_STRATEGY,
        help="""
The strategy that orders image locations, best first.

The filter reorders the ``locations`` of image responses by this strategy
and points ``direct_url`` at the first of them.

Possible values:
    * location_order: the order the image owner or admin gave.
    * store_type: by store type, see ``[store_type_location_strategy]``.
    * store_id: by store identifier, see ``[store_id_location_strategy]``.
    * The name of any other strategy registered under the entry-point group
      ``loc_strategy_filter.strategies``.

Related options:
    * ``[store_type_location_strategy] store_type_preference``
    * ``[store_id_location_strategy] store_id_preference``
"""),
)

FILTER_OPTS = (
    cfg.BoolOpt(
        "hide_locations",
        default=False,
        help="""
Remove ``locations`` from image responses after using them.

The filter chooses ``direct_url`` from the locations the image API shows it,
then removes them, so that end users see the best location's URL (if the
image API shows ``direct_url``) but never the list.

Possible values:
    * True: users never see ``locations``.
    * False: users see ``locations`` in strategy order whenever the image API
      shows them.

Related options:
    * Glance's ``show_multiple_locations`` and ``show_image_direct_url``.

Security note:
    Location URLs can reveal a deployment's storage back ends and, for some
    stores, credentials (OSSN-0065, OSSN-0090). Where the image API must show
    locations for the filter to order them, set this option so that users
    do not see them.
"""),
    cfg.StrOpt(
        "download_mode",
        default="auto",
        choices=("auto", "serve", "steer", "off"),
        help="""
How image downloads (``GET /v2/images/{id}/file``) follow the strategy.

Possible values:
    * serve: the filter reads the bytes itself from the best location a
      store reader may read, falling back to the next, after the image API
      has accepted the user's own download request.
    * steer: the image API serves, asked with ``?prefer=<store>`` to read
      from the best location's store (multi-store Glance); if it refuses
      that, the user gets the plain download.
    * auto: steer when the best location names a store in its metadata,
      else serve when a reader may read a location, else pass through.
    * off: downloads pass through untouched.

Related options:
    * ``file_dirs``, ``http_allowed_hosts``: what the filter may read.
    * ``verify_checksums``, ``location_failure_ttl``.

Security note:
    Serving makes the filter read image locations itself, with its own
    process's file access and network reach. It reads only what
    ``file_dirs`` and ``http_allowed_hosts`` allow (nothing by default), and
    serves bytes only after the image API has accepted the user's own
    download request. Keep the filter after the authentication filters.
"""),
    cfg.ListOpt(
        "file_dirs",
        default=[],
        help="""
Directories whose files the filter may read for ``file://`` locations.

Possible values:
    * A comma-separated list of absolute directories. A location is read
      only when its real path (symbolic links resolved) is a regular file
      inside one of them.
    * Empty (the default): the directories of Glance's file stores when the
      filter reads Glance's configuration (``filesystem_store_datadir(s)``,
      or each file backend's in multi-store), otherwise none.

Related options:
    * ``download_mode``

Security note:
    Every file in these directories can be served to any user the image API
    lets download an image that has a location pointing at it. List only
    the image stores' directories.
"""),
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
    cfg.BoolOpt(
        "verify_checksums",
        default=True,
        help="""
Verify the checksums of image bytes the filter streams.

When the filter streams a whole image from a location, it checks the
image's ``checksum`` (MD5) and, when set, ``os_hash_algo``/``os_hash_value``
on the fly, and aborts the response (the client sees a broken connection,
never a clean end) if they do not match. The size is always checked.

Possible values:
    * True (the default), False.

Related options:
    * ``download_mode``
"""),
    cfg.IntOpt(
        "location_failure_ttl",
        default=60,
        min=0,
        help="""
Seconds during which a location that failed is tried last.

So that one dead mirror does not cost every download a timeout.

Possible values:
    * 0 or a positive number of seconds; 0 disables the memory.

Related options:
    * ``download_mode``
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


def list_opts():
    """Every option, by group, for ``oslo-config-generator``."""
    groups = [("DEFAULT", list(DEFAULT_OPTS)), (FILTER_GROUP, list(FILTER_OPTS))]
    for name in strategies.available_strategies():
        strategy = strategies.load_strategy(name)
        if strategy.options:
            groups.append((strategy.config_group, list(strategy.options)))
    return groups
