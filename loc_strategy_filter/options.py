"""The oslo.config options of the filter, its strategies and its readers.

``[DEFAULT] location_strategy`` and the ``[<name>_location_strategy]`` groups
keep the historic Glance names, so an operator's old ``glance-api.conf``
lines work unchanged. The filter's own switches live in
``[location_strategy_filter]``, and so do the options of the built-in
readers (``file_dirs``, ``http_*``), where operators have always set them.
A third party's reader has a group of its own: see ``reader_group``.
"""

from oslo_config import cfg

from loc_strategy_filter import stores
from loc_strategy_filter import strategies

FILTER_GROUP = "location_strategy_filter"

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
    * The name of any other strategy registered under the entry-point group
      ``loc_strategy_filter.strategies``.

Related options:
    * ``[store_type_location_strategy] store_type_preference``
    * ``[store_id_location_strategy] store_id_preference``
""")

DEFAULT_OPTS = (LOCATION_STRATEGY_OPT,)

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
    messages (``reader 'rbd' (mypkg.rbd.RbdReader)``)."""
    yield "DEFAULT", "the filter", DEFAULT_OPTS
    yield FILTER_GROUP, "the filter", FILTER_OPTS
    for name, reader_class in stores.reader_classes().items():
        yield (reader_group(name, reader_class),
               f"reader {name!r} ({reader_class.__module__}."
               f"{reader_class.__qualname__})", reader_class.OPTIONS)
    for name in strategies.available_strategies():
        strategy = strategies.load_strategy(name)
        yield strategy.config_group, f"strategy {name!r}", strategy.options


def list_opts():
    """Every option, by group, for ``oslo-config-generator``."""
    groups = {}
    for group, _, opts in declared_opts():
        groups.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in groups.items() if opts]
