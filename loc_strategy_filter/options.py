"""The oslo.config options of the filter, its strategies and its readers.

``[DEFAULT] location_strategy`` and the ``[<name>_location_strategy]`` groups
keep the historic Glance names, so an operator's old ``glance-api.conf``
lines work unchanged. The filter's own switches live in
``[location_strategy_filter]``, and so do the options of the built-in
readers (``file_dirs``, ``http_*``), where operators have always set them.
A third party's reader has a group of its own: see ``reader_group``.
"""

import copy
import ipaddress

from keystoneauth1 import loading as ks_loading
from oslo_cache import _opts as oslo_cache_opts
from oslo_config import cfg
from oslo_config import types

from loc_strategy_filter import stores
from loc_strategy_filter import strategies

FILTER_GROUP = "location_strategy_filter"
#: keystoneauth1's auth, session and adapter options of the filter's service
#: credentials: a group of its own, which Glance never reads.
AUTH_GROUP = "location_strategy_filter_auth"
#: oslo.cache's options for the memory of failed locations that workers and
#: hosts share (``failure_cache``): not ``[cache]``, which Glance's own config
#: files may hold for Glance.
CACHE_GROUP = "location_strategy_filter_cache"

#: Where oslo.cache's defaults do not suit a cache that may slow no request:
#: the socket timeout bounds what a hung server costs, and
#: ``memcache_dead_retry`` how often one that failed is tried again.
_CACHE_DEFAULTS = {"socket_timeout": 0.1, "memcache_dead_retry": 30}
#: What the filter makes of oslo.cache's options, before their own help.
_CACHE_HELP = {
    "enabled": """
Share the memory of failed locations between workers and hosts.

With it, a location that failed for one Glance API worker (see
``[location_strategy_filter] location_failure_ttl``) is tried last by all the
workers of every host using the same memcached, instead of each paying the
timeout. Without it, each process remembers its own failures. Only
``enabled``, ``backend``, ``memcache_servers``, ``socket_timeout``,
``memcache_dead_retry`` (how often a cache that failed is tried again) and
the ``tls_*`` options are used here; the others are accepted so that lines
written for other services can be copied.

Security note:
    Keys are digests and values carry no URL, but whoever can write to
    memcached can make locations look failed (read last, or not read by the
    filter): keep it on a trusted network. Nothing read from it is
    unpickled, and every byte served is still verified.
""",
    "backend": """
Only ``dogpile.cache.pymemcache`` is accepted when ``enabled`` is true.

The filter builds that client itself, with the socket timeouts below and no
pickling; it cannot authenticate (``memcache_sasl_enabled``, ``username``
and ``password`` are refused).
""",
    "socket_timeout": """
Above 0 and at most 1 second here: it bounds each call to memcached as a
whole (every read of its answer together), which the requests in flight
when memcached hangs wait for.
""",
    "memcache_dead_retry": """
1 or more seconds here: how long a worker leaves memcached alone once it
failed, before a thread of its own tries it again (no request does).
""",
}

LOCATION_STRATEGY_OPT = cfg.StrOpt(
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
    * client_network: by the client's network, each network with its own
      store preference (edge and multi-site clouds), see
      ``[client_network_location_strategy]``.
    * The name of any other strategy registered under the entry-point group
      ``loc_strategy_filter.strategies``.

Related options:
    * ``[store_type_location_strategy] store_type_preference``
    * ``[store_id_location_strategy] store_id_preference``
    * ``[client_network_location_strategy] network_preferences``
    * ``[location_strategy_filter] trusted_proxies``
""")

DEFAULT_OPTS = (LOCATION_STRATEGY_OPT,)


_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


class IPNetwork(types.ConfigType):
    """An IPv4 or IPv6 network, ``10.0.0.0/8`` or ``fd00::/8``; a bare
    address is the network of that one address.
    """

    def __init__(self, type_name="IP network value"):
        super().__init__(type_name=type_name)

    def __call__(self, value):
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return value
        try:
            network = ipaddress.ip_network(str(value).strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP network such as 10.0.0.0/8 or "
                "fd00::/8 (no host bits set)") from None
        if network.version == 6 and network.network_address.scope_id:
            # A link-local address names a host only together with its
            # link, and the peer's link is not compared.
            raise ValueError(f"{value!r} has a scope: write networks "
                             "without one")
        if network.version == 6 and network.subnet_of(_IPV4_MAPPED):
            # Clients are compared as the IPv4 addresses these map.
            raise ValueError(f"{value!r} is an IPv4-mapped network: write "
                             "the IPv4 network it maps")
        return network

    def _formatter(self, value):
        return str(value)


#: What ``verify_checksums`` may name, and why.
VERIFICATIONS = (
    ("strongest", "the multihash if recorded, else MD5"),
    ("all", "the multihash and MD5"),
    ("off", "the size only"),
)
#: The boolean spellings ``verify_checksums`` took before it named what to
#: check (oslo.config's BoolOpt's, case aside).
_BOOLEAN_VERIFICATIONS = {"true": "all", "yes": "all", "on": "all",
                          "1": "all", "false": "off", "no": "off", "0": "off"}


class Verification(types.String):
    """One of ``VERIFICATIONS``; an old boolean value says all or off."""

    def __init__(self, type_name="verification value"):
        super().__init__(choices=VERIFICATIONS, type_name=type_name)

    def __call__(self, value):
        if isinstance(value, bool):
            return "all" if value else "off"
        text = str(value).strip().lower()
        return super().__call__(_BOOLEAN_VERIFICATIONS.get(text, text))


#: The filter's own options: each is the ``settings.Settings`` field of its
#: name.
FILTER_OPTS = (
    cfg.BoolOpt(
        "hide_locations",
        default=False,
        help="""
Remove ``locations`` from image responses after using them.

The filter chooses ``direct_url`` from the locations the image API shows it,
then removes them, so that end users see the best location's URL (if the
image API shows ``direct_url``) but never the list. The location API
(``GET /v2/images/{id}/locations``), Glance's way for services to read
locations that users do not see, is still answered, in strategy order.

Possible values:
    * True: image responses never show ``locations``; an image response, or
      a location API answer, that the filter cannot check is refused (502).
    * False: users see ``locations`` in strategy order whenever the image API
      shows them.

Related options:
    * Glance's ``show_multiple_locations`` and ``show_image_direct_url``.
    * Glance's ``fetch_image_location`` policy, which says who may call the
      location API.

Security note:
    Location URLs can reveal a deployment's storage back ends and, for some
    stores, credentials (OSSN-0065, OSSN-0090). Where the image API must show
    locations for the filter to order them, set this option so that users
    do not see them. The location API is not hidden: Glance answers it only
    to callers its ``fetch_image_location`` policy allows (services by
    default, ``role:service`` or ``role:admin``), who need the locations
    (Cinder and Nova read them there), and the filter only reorders what
    Glance chose to show them. It adds no location and allows no caller:
    keep that policy service-only. An answer of that API that is not a list
    of locations is refused all the same, as the filter cannot tell what it
    shows.
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
        "trusted_proxies",
        item_type=IPNetwork(),
        default=None,
        help="""
The networks of the proxies (load balancers) in front of the image API.

A strategy that orders by who asks (``client_network``) sees the client's
address. That is the peer's (``REMOTE_ADDR``), unless the peer is in one
of these networks: then it is taken from the ``client_address_header``
chain, read from the right, as the first address that is not one of these
proxies'.

Possible values:
    * A comma-separated list of networks or addresses, e.g.
      ``192.0.2.10, 10.255.0.0/24, fd00:ff::/64``.
    * Empty (the default): no proxy is trusted; the peer is the client.

Related options:
    * ``client_address_header``
    * ``[DEFAULT] location_strategy``

Security note:
    List only the proxies' own addresses (or networks that hold nothing but
    proxies), and only proxies that write the header themselves. A client
    can send any forwarding header: one from a peer that is not listed is
    ignored, so that no client chooses its own network by writing a header.
    A client inside a listed network would be taken for a proxy, and the
    address it wrote believed: a network that holds one of the strategy's
    client networks (``network_preferences``) is refused at start-up.
"""),
    cfg.StrOpt(
        "client_address_header",
        default="x-forwarded-for",
        choices=("x-forwarded-for", "forwarded"),
        ignore_case=True,
        help="""
The header in which the ``trusted_proxies`` give the client's address.

Possible values:
    * x-forwarded-for (the default): ``X-Forwarded-For``, as HAProxy's
      ``option forwardfor`` and nginx's ``$proxy_add_x_forwarded_for``
      write it.
    * forwarded: ``Forwarded`` (RFC 7239), its ``for=`` parameters.

Related options:
    * ``trusted_proxies``

Security note:
    Only this header is read; the other is ignored, as a proxy that does not
    write it passes on whatever the client wrote there.
"""),
    cfg.Opt(
        "verify_checksums",
        type=Verification(),
        default="strongest",
        help="""
What the filter checks of the image bytes it streams.

Each whole image the filter streams from a location is checked on the fly
against the image's record, and the response aborted (the client sees a
broken connection, never a clean end) if the bytes are not the image's. The
size is always checked. A file location is checked the first time it is
served, then sent by sendfile for as long as the file is unchanged.

Possible values:
    * strongest (the default): the secure multihash (``os_hash_algo``,
      ``os_hash_value``, SHA-512 unless Glance is configured otherwise)
      when the record has one, else the MD5 ``checksum``. Checking MD5 as
      well finds no wrong image that SHA-512 misses, and SHA-512 alone
      hashes faster than MD5.
    * all: both the multihash and the MD5 ``checksum``.
    * off: the size only.
    * The boolean values of earlier releases: true (and yes, on, 1) means
      all, false (and no, 0) means off.

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

Each worker process remembers its own failures, unless
``[location_strategy_filter_cache]`` shares them through memcached.

Possible values:
    * 0 or a positive number of seconds; 0 disables the memory.

Related options:
    * ``download_mode``
    * ``[location_strategy_filter_cache] enabled``
"""),
    cfg.IntOpt(
        "download_record_ttl",
        default=5,
        min=0,
        help="""
Seconds a download reuses the image record another download read.

To plan a download the filter reads the image's record (its locations,
size and checksums) from the image API, which costs about as much as an
image show; for images of a few MiB that is more than the download itself.
Each worker process keeps the record it read for this long, and a download
of the same image plans from it. A location change that passes through the
filter (a PATCH of the image, a POST or DELETE of its locations, its DELETE)
forgets the image at once; a change through another process is seen after
this many seconds. Records are never shared between processes.

Possible values:
    * 0: every download reads the record.
    * A positive number of seconds.

Related options:
    * ``download_mode``

Security note:
    A kept record only plans how to read bytes: the filter serves them only
    after the image API has answered the user's own download request with a
    200 or 206, exactly as without it, and it never shows a user the record.
"""),
    cfg.FloatOpt(
        "location_lookup_timeout",
        default=5.0,
        min=0.001,
        help="""
Seconds an image answer waits for the image API's location API.

When Glance shows an image's ``direct_url`` but not its ``locations``
(``show_multiple_locations = False``), the filter learns the locations from
``GET /v2/images/{id}/locations`` to point ``direct_url`` at the best one,
and a download learns them the same way. Each such internal call, and the
wait for all those of one list answer, is bounded by this timeout; past it
``direct_url`` stays as Glance sent it.

Possible values:
    * A number of seconds greater than 0.

Related options:
    * ``location_lookup_concurrency``, ``location_cache_ttl``
    * ``[location_strategy_filter_auth]``: the service credentials.
"""),
    cfg.IntOpt(
        "location_lookup_concurrency",
        default=8,
        min=1,
        help="""
How many location API calls the filter makes at once.

The images of one list answer are looked up concurrently, and this bounds
the calls of all answers of the filter (one per process) together.

Possible values:
    * A positive number of calls.

Related options:
    * ``location_lookup_timeout``, ``location_cache_ttl``
"""),
    cfg.IntOpt(
        "location_cache_ttl",
        default=30,
        min=0,
        help="""
Seconds the filter keeps the locations it learned of an image.

So that a list answer does not call the location API for every image every
time. Only with service credentials (``[location_strategy_filter_auth]``):
without them one caller's lookup never decides another's ``direct_url``.
A location change that passes through the filter (a PATCH of the
image, a POST or DELETE of its locations, its DELETE) forgets the image at
once; a change through another process is seen after this many seconds.

Possible values:
    * 0: no cache, every answer looks its images up.
    * A positive number of seconds.

Related options:
    * ``location_lookup_timeout``, ``location_lookup_concurrency``

Security note:
    What is kept is used only for an image a later answer shows, and only to
    choose that image's ``direct_url``: it never shows a caller an image, or
    a location list, that Glance did not show them.
"""),
)


def reader_group(name, reader_class):
    """The group the options of the reader registered as ``name`` live in.

    The built-in readers' options are in the filter's own group, where
    they were before readers declared options; any other reader's are in
    ``[<name>_store_reader]`` (``[rbd_store_reader]``), so that no reader's
    option is registered over the filter's or another reader's. A paste key
    names an option without its group, so a name declared twice is refused
    at load (``settings``), whichever groups it is in.
    """
    if reader_class.__module__.startswith(f"{stores.__name__}."):
        return FILTER_GROUP
    return f"{name}_store_reader"


def declared_opts():
    """``(group, owner, options)`` for the filter, each registered reader and
    each registered strategy; ``owner`` names who declares them, for
    messages (``reader 'rbd' (mypkg.rbd.RbdReader)``).
    """
    yield "DEFAULT", "the filter", DEFAULT_OPTS
    yield FILTER_GROUP, "the filter", FILTER_OPTS
    for name, reader_class in stores.reader_classes().items():
        yield (reader_group(name, reader_class),
               f"reader {name!r} ({reader_class.__module__}."
               f"{reader_class.__qualname__})", reader_class.OPTIONS)
    for name in strategies.available_strategies():
        strategy = strategies.load_strategy(name)
        yield strategy.config_group, f"strategy {name!r}", strategy.options


def auth_opts():
    """The common options of ``[location_strategy_filter_auth]``:
    keystoneauth1's ``auth_type`` and ``auth_section``, its session and its
    adapter options (an auth plugin's own, such as ``password``'s, follow its
    ``auth_type``).
    """
    adapter_opts = ks_loading.get_adapter_conf_options()
    for opt in adapter_opts:
        if opt.dest == "service_type":
            opt.default = "image"  # as service_client registers it
    return [*ks_loading.get_auth_common_conf_options(),
            *ks_loading.get_session_conf_options(), *adapter_opts]


def cache_opts():
    """oslo.cache's options, copied into our group, old names included, with
    ``_CACHE_DEFAULTS``: from the
    function oslo.cache publishes as its ``oslo.config.opts`` entry point.
    """
    found = []
    for _, opts in oslo_cache_opts.list_opts():
        for opt in opts:
            opt = copy.deepcopy(opt)
            if opt.dest in _CACHE_DEFAULTS:
                opt.default = _CACHE_DEFAULTS[opt.dest]
            for old in opt.deprecated_opts:  # their old names, in our group
                if old.group == "cache":
                    old.group = CACHE_GROUP
            if opt.dest in _CACHE_HELP:
                opt.help = _CACHE_HELP[opt.dest].strip() + "\n\n" + opt.help
            found.append(opt)
    return found


def list_opts():
    """Every option, by group, for ``oslo-config-generator``."""
    groups = {}
    for group, _, opts in declared_opts():
        groups.setdefault(group, []).extend(opts)
    groups[AUTH_GROUP] = auth_opts()
    groups[CACHE_GROUP] = cache_opts()
    return [(group, opts) for group, opts in groups.items() if opts]
