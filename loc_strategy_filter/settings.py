"""Turning configuration into the filter's settings, once, at start-up.

Configuration comes from oslo.config files (``oslo_config_project``,
``oslo_config_file``, ``oslo_config_program``, as oslo.middleware reads them)
and from the paste section, whose values override the files. Each filter
gets a private ``ConfigOpts``: two filters in one process never share
settings. Every value is validated here, by its option's type, the strategy
or the reader that takes it, so that a bad one stops the pipeline from
loading instead of failing requests.

Nothing is copied by hand: each of ``options.FILTER_OPTS`` is the
``Settings`` field of its name, each strategy and each reader is built from
the values of the options it declares.
"""

import dataclasses
import functools
import inspect
import logging
import os

from oslo_config import cfg
from oslo_config import types

from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter import failure_cache
from loc_strategy_filter import glance_config
from loc_strategy_filter import options
from loc_strategy_filter import redaction
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import requester_of
from loc_strategy_filter import service_client
from loc_strategy_filter import stores
from loc_strategy_filter import strategies

LOG = logging.getLogger(__name__)

PASTE_CONFIG_KEYS = ("oslo_config_project", "oslo_config_file",
                     "oslo_config_program")


def _default(name):
    """The default of the filter option ``name``: settings built by hand
    start where configured ones do, and the default lives in one place.
    """
    (opt,) = [opt for opt in options.FILTER_OPTS if opt.dest == name]
    return opt.default


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the filter needs per request, derived from configuration.

    Every option of ``options.FILTER_OPTS`` is the field of its name.
    """

    #: The name ``[DEFAULT] location_strategy`` gives; ``order`` is that
    #: strategy's orderer, built from its options:
    #: ``order(locations, requester)`` (``strategies.base.Orderer``).
    strategy: str
    order: strategies.base.Orderer
    hide_locations: bool = _default("hide_locations")
    download_mode: str = _default("download_mode")
    verify_checksums: str = _default("verify_checksums")
    location_failure_ttl: int = _default("location_failure_ttl")
    download_record_ttl: int = _default("download_record_ttl")
    location_lookup_timeout: float = _default("location_lookup_timeout")
    location_lookup_concurrency: int = _default("location_lookup_concurrency")
    location_cache_ttl: int = _default("location_cache_ttl")
    #: ``ipaddress`` networks, or None.
    trusted_proxies: list = _default("trusted_proxies")
    client_address_header: str = _default("client_address_header")
    #: The store readers by lower-case URL scheme, built at start-up from
    #: the options each declares.
    readers: dict = dataclasses.field(default_factory=dict)
    #: The ``service_client.ServiceClient`` of
    #: ``[location_strategy_filter_auth]``, or None when it sets no
    #: ``auth_type``.
    service: object = None
    #: The ``failure_cache.SharedCache`` of
    #: ``[location_strategy_filter_cache]``, or None when it is not enabled.
    failure_cache: object = None

    def __post_init__(self):
        # Built by hand, settings may say it the old way (a boolean).
        object.__setattr__(self, "verify_checksums", options.Verification()(
            self.verify_checksums))
        if not _takes_a_requester(self.order):
            # Built by hand, the way an orderer was before requesters.
            object.__setattr__(self, "order", _blind(self.order))

    def requester(self, environ):
        """Who asks, for the strategy: found only if it looks."""
        if not getattr(self.order, "sees_requester", True):
            return ANYONE
        return requester_of(environ, self.trusted_proxies,
                            self.client_address_header)


def _takes_a_requester(order):
    try:
        inspect.signature(order).bind([], ANYONE)
    except TypeError:
        return False
    except ValueError:  # no signature to read: take it at its word
        pass
    return True


def _blind(order):
    @functools.wraps(order)
    def ordered(locations, requester=ANYONE):
        return order(locations)

    ordered.sees_requester = False
    return ordered


def _option_index():
    """Each option name with its group and option.

    A paste key is an option's name without its group, so two options of
    one name, whoever declares them, are refused: otherwise one of them
    would silently take the other's paste value.
    """
    try:
        declared = list(options.declared_opts())
    except ValueError as exc:  # a reader without OPTIONS
        raise ConfigurationError(str(exc)) from None
    index, owners = {}, {}
    for group, owner, opts in declared:
        for opt in opts:
            if opt.dest in index:
                raise ConfigurationError(
                    f"Option {opt.dest!r} is declared twice, in "
                    f"[{index[opt.dest][0]}] by {owners[opt.dest]} and in "
                    f"[{group}] by {owner}: a paste key names an option "
                    "without its group, so each name must be declared once; "
                    "rename one of them")
            index[opt.dest], owners[opt.dest] = (group, opt), owner
    return index


def _allowed_values(opt):
    if isinstance(opt.type, types.Boolean):
        return "true or false"
    if isinstance(opt.type, types.List):
        return "a comma-separated list"
    if getattr(opt.type, "choices", None):
        return ", ".join(map(str, opt.type.choices))
    name = getattr(opt.type, "type_name", "a value")
    if getattr(opt.type, "min", None) is not None:
        return f"{name} >= {opt.type.min:g}"
    return name


def register_options(conf):
    """Register every option on ``conf``; repeated calls are harmless."""
    for group, opts in options.list_opts():
        if group != options.AUTH_GROUP:
            conf.register_opts(opts,
                               group=None if group == "DEFAULT" else group)
    service_client.register(conf)
    failure_cache.register(conf)


def _split_files(value):
    return [path.strip() for path in (value or "").split(",") if path.strip()]


def load_config(project=None, config_files=(), program=None, overrides=None):
    """A private ``ConfigOpts`` from config files, then ``overrides``.

    ``overrides`` maps option names (in any group) to values, as a paste
    section gives them.
    """
    for path in config_files:
        if not os.path.isfile(path):
            raise ConfigurationError(
                f"oslo_config_file: {path!r} is not a readable file; "
                "allowed: paths of existing config files")
    index = _option_index()
    conf = cfg.ConfigOpts()
    register_options(conf)
    glance_config.register(conf)
    try:
        conf(args=[], project=project, prog=program,
             default_config_files=list(config_files) or None,
             validate_default_values=True, use_env=False)
    except cfg.Error as exc:
        raise ConfigurationError(
            f"Cannot read the config files: {exc}") from None
    for name, value in (overrides or {}).items():
        if name not in index:
            raise ConfigurationError(f"Unknown option {name!r}; allowed: "
                                     f"{', '.join(sorted(index))}")
        group, opt = index[name]
        try:
            conf.set_override(name, value,
                              group=None if group == "DEFAULT" else group)
        # oslo.config's types raise AttributeError or TypeError, not
        # ValueError, for a value of the wrong Python type (3 for a bool).
        except (AttributeError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                _invalid(group, opt, value, exc)) from None
    return conf


def _invalid(group, opt, value, reason):
    return (f"Invalid value {value!r} for option [{group}] {opt.dest}: "
            f"{reason}; allowed: {_allowed_values(opt)}")


def _value(conf, group, opt):
    try:
        if group == "DEFAULT":
            return conf[opt.dest]
        return conf[group][opt.dest]
    except (cfg.ConfigFileValueError, ValueError) as exc:
        raise ConfigurationError(
            f"Invalid value for option [{group}] {opt.dest}: "
            f"{exc}; allowed: {_allowed_values(opt)}") from None


def _strategy_orderer(conf, strategy):
    values = {opt.dest: _value(conf, strategy.config_group, opt)
              for opt in strategy.options}
    try:
        return strategy.orderer(**values)
    except strategies.InvalidOptionError as exc:
        raise ConfigurationError(
            f"Invalid value {exc.value!r} for option "
            f"[{strategy.config_group}] {exc.option}; allowed: {exc.allowed}"
        ) from None


def from_config(conf):
    """``Settings`` from a ``ConfigOpts`` holding this project's options.

    The options of every registered strategy are checked, not only the
    selected one's: a typo must not wait for the day the strategy changes.
    This is the filter's start-up, so it also puts the log redaction on
    urllib3's loggers and ours, now that the readers' modules are imported.
    An option name declared twice is refused here too, whether or not a
    paste section could name it.
    """
    _option_index()
    register_options(conf)
    name = _value(conf, "DEFAULT", options.LOCATION_STRATEGY_OPT)
    try:
        strategy = strategies.load_strategy(name)
    except strategies.UnknownStrategyError as exc:
        raise ConfigurationError(
            f"Invalid value {name!r} for option [DEFAULT] location_strategy; "
            f"allowed: {', '.join(exc.available)}") from None
    except strategies.StrategiesNotInstalledError as exc:
        raise ConfigurationError(str(exc)) from None
    for other in strategies.available_strategies():
        _strategy_orderer(conf, strategies.load_strategy(other))
    fields = {opt.dest: _value(conf, options.FILTER_GROUP, opt)
              for opt in options.FILTER_OPTS}
    order = _strategy_orderer(conf, strategy)
    _check_trusted_proxies(fields["trusted_proxies"], order)
    readers = _readers(conf)
    service = _service(conf, fields["location_lookup_timeout"])
    try:
        cache = failure_cache.load(conf, fields["location_failure_ttl"])
    except failure_cache.CacheConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    redaction.redact_logs_of(*redaction.FILTERED_LOGGERS)
    return Settings(strategy=name, order=order, readers=readers,
                    service=service, failure_cache=cache, **fields)


def _check_trusted_proxies(trusted_proxies, order):
    """Refuse a trusted proxy network holding one of the strategy's client
    networks: its clients would be taken for proxies, and the forwarding
    header they write believed.
    """
    for proxies in trusted_proxies or ():
        for clients in getattr(order, "client_networks", ()):
            if (proxies.version == clients.version
                    and clients.subnet_of(proxies)):
                raise ConfigurationError(
                    f"Invalid value {str(proxies)!r} for option "
                    f"[{options.FILTER_GROUP}] trusted_proxies: it holds the "
                    f"client network {clients} of the location strategy, "
                    "whose clients would be taken for proxies; allowed: the "
                    "proxies' own addresses or networks of proxies only")


def _service(conf, timeout):
    """The service client of the auth group, or None (said once, here)."""
    try:
        service = service_client.load(conf, timeout)
    except service_client.ServiceCredentialsError as exc:
        raise ConfigurationError(str(exc)) from None
    if service is None:
        LOG.info("No service credentials ([%s] auth_type is not set): the "
                 "direct_url of an image whose locations the caller may not "
                 "read stays as Glance sends it", options.AUTH_GROUP)
    return service


def _readers(conf):
    """Every registered reader, built from its options, by scheme."""
    readers = [_reader(conf, name, reader_class)
               for name, reader_class in stores.reader_classes().items()]
    try:
        return stores.by_scheme(readers)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _reader(conf, name, reader_class):
    group = options.reader_group(name, reader_class)
    opts = {opt.dest: opt for opt in reader_class.OPTIONS}
    values = {dest: _reader_value(conf, group, opt)
              for dest, opt in opts.items()}
    try:
        return stores.build_reader(reader_class, **values)
    except ValueError as exc:  # InvalidReaderOption, or the reader's own
        raise ConfigurationError(_reader_error(conf, name, group, opts, exc)
                                 ) from None


def _reader_error(conf, name, group, opts, error):
    if not (isinstance(error, stores.InvalidReaderOption)
            and error.option in opts):
        return f"Reader {name!r}: {error}"
    opt = opts[error.option]
    message = (_invalid(group, opt, error.value, error.reason)
               + f" ({error.allowed})")
    if (group, opt.dest) in _FROM_GLANCE and not _value(conf, group, opt):
        message += ("; the option is not set, so the value is from Glance's "
                    "configuration")
    return message


def _reader_value(conf, group, opt):
    """The option's value, or, where it is empty and ``_FROM_GLANCE`` says
    so, what Glance's own configuration implies.
    """
    value = _value(conf, group, opt)
    if value or (group, opt.dest) not in _FROM_GLANCE:
        return value
    return _FROM_GLANCE[group, opt.dest](conf)


def _glance_file_dirs(conf):
    try:
        return glance_config.file_store_dirs(conf, conf.project)
    except cfg.NoSuchOptError:  # a caller's ConfigOpts without Glance's
        return ()
    except (cfg.ConfigFileValueError, ValueError) as exc:
        raise ConfigurationError(
            f"Invalid Glance file store configuration: {exc}") from None


#: The reader options that, left empty, default to what Glance's own
#: configuration says: ``file_dirs`` to the directories of its file stores.
_FROM_GLANCE = {(options.FILTER_GROUP, "file_dirs"): _glance_file_dirs}


def from_paste(global_conf, local_conf):
    """``Settings`` from a paste section and the config files it names.

    Keys of the section itself must be known; the paste ``[DEFAULT]`` may
    carry anything, and only the keys this project knows are taken from it.
    """
    known = _option_index()
    unknown = sorted(set(local_conf) - set(known) - set(PASTE_CONFIG_KEYS))
    if unknown:
        raise ConfigurationError(
            f"Unknown option {unknown[0]!r} in the paste section of the "
            f"location strategy filter; allowed: "
            f"{', '.join(sorted([*known, *PASTE_CONFIG_KEYS]))}")
    merged = {key: value for key, value in global_conf.items()
              if key in known or key in PASTE_CONFIG_KEYS}
    merged.update(local_conf)
    project = merged.pop("oslo_config_project", None)
    program = merged.pop("oslo_config_program", None)
    files = (_split_files(merged.pop("oslo_config_file", None))
             or glance_config.files_glance_reads(project, program))
    conf = load_config(project=project, config_files=files, program=program,
                       overrides=merged)
    return from_config(conf)


def resolve(conf):
    """``Settings`` from a paste dict, a ``ConfigOpts`` or ``Settings``."""
    if isinstance(conf, Settings):
        return conf
    if isinstance(conf, cfg.ConfigOpts):
        return from_config(conf)
    return from_paste({}, dict(conf or {}))
