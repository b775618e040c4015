import dataclasses
import ipaddress
import logging

from oslo_config import cfg
import pytest

from loc_strategy_filter import errors
from loc_strategy_filter import options
from loc_strategy_filter.redaction import RedactingFilter
from loc_strategy_filter.requester import ANYONE
from loc_strategy_filter.requester import Requester
from loc_strategy_filter import settings
from loc_strategy_filter import stores
from loc_strategy_filter import strategies
from tests import distributions

FILE_URL = "file:///srv/images/x"
HTTP_URL = "http://127.0.0.1:9292/x"
LOCATIONS = [{"url": FILE_URL, "metadata": {"store": "local"}},
             {"url": HTTP_URL, "metadata": {"store": "web"}}]
STRATEGIES = ["location_order", "store_id", "store_type"]
STORE_TYPES = ["cinder", "file", "filesystem", "http", "rbd", "s3", "swift",
               "vmware", "vmware_datastore"]

GLANCE_API_CONF = """\
[DEFAULT]
bind_host = 0.0.0.0
bind_port = 9292
show_multiple_locations = true
enabled_backends = local:file, web:http
location_strategy = store_type

[database]
connection = sqlite://

[glance_store]
stores = file,http
filesystem_store_datadir = /var/lib/glance/images/

[keystone_authtoken]
auth_type = password

[store_type_location_strategy]
store_type_preference = http, file
"""


def best_url(result):
    return result.order(LOCATIONS)[0]["url"]


@pytest.fixture
def glance_api_conf(tmp_path):
    path = tmp_path / "glance-api.conf"
    path.write_text(GLANCE_API_CONF)
    return path


def write_conf(tmp_path, text, name="extra.conf"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- Values -------------------------------------------------------------------

def test_defaults_keep_the_given_order_and_show_locations():
    result = settings.from_paste({}, {})
    assert result.strategy == "location_order"
    assert result.hide_locations is False
    assert result.order(LOCATIONS) == LOCATIONS


@pytest.mark.parametrize("local_conf, strategy, url, hide", [
    ({"location_strategy": "store_type",
      "store_type_preference": "http, file"}, "store_type", HTTP_URL, False),
    ({"location_strategy": "store_type",
      "store_type_preference": "FILE,Http"}, "store_type", FILE_URL, False),
    ({"location_strategy": "store_id",
      "store_id_preference": "web, local"}, "store_id", HTTP_URL, False),
    ({"location_strategy": "store_type"}, "store_type", FILE_URL, False),
    ({"store_type_preference": "http"}, "location_order", FILE_URL, False),
    ({"hide_locations": "true"}, "location_order", FILE_URL, True),
    ({"hide_locations": "False"}, "location_order", FILE_URL, False),
], ids=["store-type", "store-type-case-insensitive", "store-id",
        "store-type-without-preference", "preference-of-unused-strategy",
        "hide-locations", "hide-locations-false"])
def test_paste_keys(local_conf, strategy, url, hide):
    result = settings.from_paste({}, local_conf)
    assert (result.strategy, best_url(result), result.hide_locations) == (
        strategy, url, hide)


@pytest.mark.parametrize("global_conf, local_conf, url", [
    ({"here": "/etc/glance", "__file__": "/etc/glance/api-paste.ini",
      "debug": "true", "location_strategy": "store_type",
      "store_type_preference": "http"}, {}, HTTP_URL),
    ({"location_strategy": "store_type", "store_type_preference": "http"},
     {"store_type_preference": "file"}, FILE_URL),
], ids=["unknown-global-keys-ignored-known-taken",
        "section-overrides-global"])
def test_global_conf_keys(global_conf, local_conf, url):
    assert best_url(settings.from_paste(global_conf, local_conf)) == url


def test_oslo_config_file_is_read_and_unrelated_options_ignored(
        glance_api_conf):
    result = settings.from_paste(
        {}, {"oslo_config_file": str(glance_api_conf)})
    assert result.strategy == "store_type"
    assert best_url(result) == HTTP_URL


@pytest.mark.parametrize("local_conf, strategy, url", [
    ({"store_type_preference": "file, http"}, "store_type", FILE_URL),
    ({"location_strategy": "location_order"}, "location_order", FILE_URL),
    ({"location_strategy": "store_id", "store_id_preference": "web"},
     "store_id", HTTP_URL),
], ids=["preference", "strategy", "other-strategy-and-its-preference"])
def test_paste_value_overrides_file_value(glance_api_conf, local_conf,
                                          strategy, url):
    result = settings.from_paste(
        {}, {"oslo_config_file": str(glance_api_conf), **local_conf})
    assert (result.strategy, best_url(result)) == (strategy, url)


def test_later_config_file_overrides_earlier(tmp_path, glance_api_conf):
    override = write_conf(tmp_path, "[store_type_location_strategy]\n"
                                    "store_type_preference = file\n")
    result = settings.from_paste(
        {}, {"oslo_config_file": f"{glance_api_conf}, {override}"})
    assert best_url(result) == FILE_URL


def test_oslo_config_project_without_files_uses_defaults():
    result = settings.from_paste({}, {"oslo_config_project": "no-such-project",
                                      "oslo_config_program": "no-such-api"})
    assert result.strategy == "location_order"


# -- Independence -------------------------------------------------------------

def test_two_filters_do_not_affect_each_other(glance_api_conf):
    http_first = settings.from_paste(
        {}, {"oslo_config_file": str(glance_api_conf)})
    file_first = settings.from_paste(
        {}, {"location_strategy": "store_type",
             "store_type_preference": "file, http", "hide_locations": "true"})
    assert best_url(file_first) == FILE_URL
    assert file_first.hide_locations is True
    assert best_url(http_first) == HTTP_URL
    assert http_first.hide_locations is False


def test_the_process_wide_config_is_left_alone():
    settings.from_paste({}, {"location_strategy": "store_type"})
    assert "location_strategy" not in cfg.CONF
    assert "store_type_location_strategy" not in cfg.CONF


def test_load_config_gives_private_config_objects():
    first = settings.load_config(overrides={"location_strategy": "store_id"})
    second = settings.load_config()
    assert first is not second
    assert first.location_strategy == "store_id"
    assert second.location_strategy == "location_order"


def test_load_config_reads_files_then_overrides(glance_api_conf):
    conf = settings.load_config(
        config_files=[str(glance_api_conf)],
        overrides={"store_type_preference": "rbd, http"})
    assert conf.location_strategy == "store_type"
    assert conf.store_type_location_strategy.store_type_preference == [
        "rbd", "http"]


# -- ConfigOpts and Settings -------------------------------------------------

def test_resolve_a_parsed_config_opts(glance_api_conf):
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[str(glance_api_conf)])
    result = settings.resolve(conf)
    assert (result.strategy, best_url(result)) == ("store_type", HTTP_URL)


def test_from_config_honours_overrides_on_the_callers_config():
    conf = cfg.ConfigOpts()
    conf(args=[])
    settings.register_options(conf)
    conf.set_override("location_strategy", "store_id")
    conf.set_override("store_id_preference", ["web"],
                      group="store_id_location_strategy")
    result = settings.from_config(conf)
    assert (result.strategy, best_url(result)) == ("store_id", HTTP_URL)


@pytest.mark.parametrize("conf, url, hide", [
    (None, FILE_URL, False),
    ({}, FILE_URL, False),
    ({"location_strategy": "store_type", "store_type_preference":
      ["http", "file"], "hide_locations": True}, HTTP_URL, True),
], ids=["none", "empty-dict", "dict-of-python-values"])
def test_resolve_a_dict(conf, url, hide):
    result = settings.resolve(conf)
    assert (best_url(result), result.hide_locations) == (url, hide)


def test_resolve_returns_settings_unchanged():
    built = settings.from_paste({}, {"location_strategy": "store_type"})
    assert settings.resolve(built) is built


# -- Errors -------------------------------------------------------------------

@pytest.mark.parametrize("conf, fragments", [
    ({"location_strategy": "fastest"},
     ["location_strategy", "'fastest'", *STRATEGIES]),
    ({"location_strategy": "Store_Type"},
     ["location_strategy", "'Store_Type'", *STRATEGIES]),
    ({"location_strategy": "store_type",
      "store_type_preference": "http, fiel"},
     ["store_type_preference", "'fiel'", *STORE_TYPES]),
    ({"hide_locations": "maybe"},
     ["hide_locations", "'maybe'", "true or false"]),
    ({"hide_locations": 3}, ["hide_locations", "3", "true or false"]),
    ({"location_strategy": "store_type", "store_type_preference": 5},
     ["store_type_preference", "5", "comma-separated list"]),
    ({"store_type_preferences": "http"},
     ["'store_type_preferences'", "store_type_preference", "hide_locations",
      "location_strategy", "oslo_config_file"]),
    ({"oslo_config_file": "/nonexistent/glance-api.conf"},
     ["oslo_config_file", "'/nonexistent/glance-api.conf'",
      "existing config files"]),
    ({"trusted_proxies": "10.0.0.0/8, 10.1.2.3/16"},
     ["[location_strategy_filter] trusted_proxies", "'10.1.2.3/16'",
      "10.0.0.0/8", "no host bits set"]),
    ({"trusted_proxies": "haproxy.example.com"},
     ["trusted_proxies", "'haproxy.example.com'", "IP network"]),
    ({"trusted_proxies": "::ffff:10.0.0.0/104"},
     ["trusted_proxies", "'::ffff:10.0.0.0/104'", "IPv4 network"]),
    ({"client_address_header": "x-real-ip"},
     ["client_address_header", "'x-real-ip'", "x-forwarded-for, forwarded"]),
    ({"trusted_proxies": "fe80::1%eth0"},
     ["trusted_proxies", "'fe80::1%eth0'", "without one"]),
    ({"location_strategy": "client_network",
      "network_preferences": "10.1.0.0/16: edge1; 10.2.0.0/16: edge2",
      "trusted_proxies": "192.0.2.10, 10.0.0.0/8"},
     ["[location_strategy_filter] trusted_proxies", "'10.0.0.0/8'",
      "client network 10.1.0.0/16", "proxies' own addresses"]),
    ({"location_strategy": "client_network",
      "network_preferences": "10.1.2.3/32: edge1",
      "trusted_proxies": "10.1.2.0/24"},
     ["trusted_proxies", "'10.1.2.0/24'", "client network 10.1.2.3/32"]),
], ids=["unknown-strategy", "strategy-name-is-case-sensitive",
        "unknown-store-type", "not-a-boolean", "int-for-boolean",
        "int-for-list", "unknown-paste-key", "missing-config-file",
        "proxy-network-with-host-bits", "proxy-by-name",
        "proxy-ipv4-mapped", "unknown-client-address-header",
        "proxy-with-a-scope", "proxies-holding-client-networks",
        "proxies-holding-a-client"])
def test_bad_paste_values_fail_at_load(conf, fragments):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.resolve(conf)
    assert isinstance(raised.value, ValueError)
    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.parametrize("text, fragments", [
    ("[DEFAULT]\nlocation_strategy = fastest\n",
     ["location_strategy", "'fastest'", *STRATEGIES]),
    ("[DEFAULT]\nlocation_strategy = store_type\n"
     "[store_type_location_strategy]\nstore_type_preference = http, fiel\n",
     ["store_type_preference", "'fiel'", *STORE_TYPES]),
    ("[location_strategy_filter]\nhide_locations = maybe\n",
     ["hide_locations", "'maybe'", "true or false"]),
], ids=["unknown-strategy", "unknown-store-type", "not-a-boolean"])
def test_bad_file_values_fail_at_load(tmp_path, text, fragments):
    path = write_conf(tmp_path, text)
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_paste({}, {"oslo_config_file": path})
    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.parametrize("written, verification", [
    ("strongest", "strongest"), ("ALL", "all"), (" off ", "off"),
    ("true", "all"), ("True", "all"), ("yes", "all"), ("on", "all"),
    ("1", "all"), ("false", "off"), ("no", "off"), ("0", "off"),
])
def test_verify_checksums_takes_its_names_and_the_old_booleans(
        tmp_path, written, verification):
    from_paste = settings.from_paste({}, {"verify_checksums": written})
    path = write_conf(tmp_path, "[location_strategy_filter]\n"
                      f"verify_checksums = {written}\n")
    from_file = settings.from_paste({}, {"oslo_config_file": path})
    assert from_paste.verify_checksums == verification
    assert from_file.verify_checksums == verification


@pytest.mark.parametrize("given, verification", [
    (True, "all"), (False, "off"), (" STRONGEST", "strongest")])
def test_settings_built_by_hand_say_verification_the_new_way(given,
                                                             verification):
    built = settings.Settings(strategy="x", order=lambda locations: locations,
                              verify_checksums=given)
    assert built.verify_checksums == verification


def test_an_unknown_verification_names_the_allowed_ones():
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.resolve({"verify_checksums": "sha512"})
    for fragment in ("verify_checksums", "'sha512'",
                     "strongest, all, off"):
        assert fragment in str(raised.value)


@pytest.mark.parametrize("trusted_proxies", [
    "10.1.255.0/24, 192.0.2.10", "10.1.2.3", "10.3.0.0/16",
], ids=["proxy-subnet-inside-a-site", "proxy-address-in-a-site",
        "proxies-beside-the-sites"])
def test_proxies_inside_or_beside_client_networks_are_allowed(
        trusted_proxies):
    result = settings.from_paste({}, {
        "location_strategy": "client_network",
        "network_preferences": "10.1.0.0/16: edge1; 10.2.0.0/16: edge2",
        "trusted_proxies": trusted_proxies})
    assert result.trusted_proxies


def test_bad_value_on_a_callers_config_opts_fails(tmp_path):
    path = write_conf(tmp_path, "[store_type_location_strategy]\n"
                                "store_type_preference = fiel\n"
                                "[DEFAULT]\nlocation_strategy = store_type\n")
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[path])
    with pytest.raises(errors.ConfigurationError,
                       match="store_type_preference"):
        settings.resolve(conf)


def test_load_config_refuses_an_unknown_override():
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.load_config(overrides={"store_type_preferences": "http"})
    message = str(raised.value)
    assert "'store_type_preferences'" in message
    assert "store_type_preference" in message


def test_a_typo_in_an_unselected_strategy_fails_at_load():
    with pytest.raises(errors.ConfigurationError, match="fiel"):
        settings.from_paste({}, {"location_strategy": "location_order",
                                 "store_type_preference": "fiel"})


def test_a_malformed_config_file_fails_with_a_config_error(tmp_path):
    path = write_conf(tmp_path, "[DEFAULT\nlocation_strategy = store_type\n")
    with pytest.raises(errors.ConfigurationError, match="config files"):
        settings.from_paste({}, {"oslo_config_file": path})


def test_a_source_tree_without_entry_points_is_a_configuration_error(
        no_entry_points):
    with pytest.raises(errors.ConfigurationError,
                       match=r"not installed.*pip install -e \."):
        settings.from_config(settings.load_config())


def test_the_command_says_so_in_one_line(no_entry_points, capsys):
    from loc_strategy_filter import cmd

    assert cmd.main(["order", "--strategy", "store_type", "-"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("loc-strategy-filter: configuration error: ")
    assert "Traceback" not in error


# -- Every option reaches Settings, a strategy or a reader --------------------

# The auth group's options reach keystoneauth1 (test_service_client.py).
# The cache group's options are oslo.cache's: test_failure_cache.py.
ALL_OPTS = [(group, opt) for group, opts in options.list_opts()
            if group not in (options.AUTH_GROUP, options.CACHE_GROUP)
            for opt in opts]
FILTER = options.FILTER_GROUP
# A valid value other than the default for every option. An option missing
# here fails the test below: give it a value, and wire it.
NOT_DEFAULT = {
    ("DEFAULT", "location_strategy"): "store_type",
    (FILTER, "hide_locations"): True,
    (FILTER, "download_mode"): "serve",
    (FILTER, "verify_checksums"): "all",
    (FILTER, "location_failure_ttl"): 7,
    (FILTER, "download_record_ttl"): 9,
    (FILTER, "file_dirs"): ["/srv/images"],
    (FILTER, "http_allowed_hosts"): ["mirror.example.com"],
    (FILTER, "http_connect_timeout"): 1.5,
    (FILTER, "http_read_timeout"): 2.5,
    (FILTER, "http_header_timeout"): 3.5,
    (FILTER, "http_min_rate"): 7,
    (FILTER, "http_rate_window"): 4.5,
    (FILTER, "location_lookup_timeout"): 0.25,
    (FILTER, "location_lookup_concurrency"): 3,
    (FILTER, "location_cache_ttl"): 0,
    (FILTER, "trusted_proxies"): [ipaddress.ip_network("10.0.0.0/8")],
    (FILTER, "client_address_header"): "forwarded",
    ("client_network_location_strategy", "network_preferences"):
        "10.0.0.0/8: a",
    ("client_network_location_strategy", "default_preference"): "a",
    ("client_network_location_strategy", "prefer_by"): "store_type",
    ("store_id_location_strategy", "store_id_preference"): ["web"],
    ("store_type_location_strategy", "store_type_preference"): ["http"],
}
# The option whose Settings field has another name.
SETTINGS_FIELD = {"location_strategy": "strategy"}


@pytest.fixture
def built_with(monkeypatch):
    """The keyword arguments every reader and strategy is built with."""
    calls = []
    build_reader, orderer = stores.build_reader, strategies.Strategy.orderer

    def recording_build_reader(reader_class, **values):
        calls.append(values)
        return build_reader(reader_class, **values)

    def recording_orderer(strategy, **values):
        calls.append(values)
        return orderer(strategy, **values)

    monkeypatch.setattr(stores, "build_reader", recording_build_reader)
    monkeypatch.setattr(strategies.Strategy, "orderer", recording_orderer)
    return calls


@pytest.mark.parametrize("group, opt", ALL_OPTS,
                         ids=[f"{group}.{opt.dest}"
                              for group, opt in ALL_OPTS])
def test_every_option_reaches_settings_a_strategy_or_a_reader(
        group, opt, built_with):
    assert (group, opt.dest) in NOT_DEFAULT, (
        f"[{group}] {opt.dest} is new: give it a value in NOT_DEFAULT, and "
        "make it a Settings field or an option of a strategy or reader")
    value = NOT_DEFAULT[group, opt.dest]
    assert value != opt.default
    conf = settings.load_config()
    conf.set_override(opt.dest, value,
                      group=None if group == "DEFAULT" else group)
    result = settings.from_config(conf)
    field = SETTINGS_FIELD.get(opt.dest, opt.dest)
    reached = [getattr(result, field, None),
               *(values.get(opt.dest) for values in built_with)]
    assert value in reached


def test_settings_fields_are_the_filter_options_at_their_defaults():
    fields = {field.name: field.default
              for field in dataclasses.fields(settings.Settings)}
    defaults = {opt.dest: opt.default for opt in options.FILTER_OPTS}
    assert defaults.items() <= fields.items()
    assert set(fields) - set(defaults) == {"strategy", "order", "readers",
                                           "service", "failure_cache"}


def test_settings_built_by_hand_have_the_options_defaults():
    by_hand = settings.Settings(
        strategy="location_order",
        order=lambda locations, requester=None: locations)
    configured = settings.from_paste({}, {})
    for opt in options.FILTER_OPTS:
        assert getattr(by_hand, opt.dest) == getattr(configured, opt.dest)


# -- A third party's reader ---------------------------------------------------

RBD_MODULE = '''\
from oslo_config import cfg

from loc_strategy_filter.stores import InvalidReaderOption, ReadRefused


class RbdReader:
    schemes = ("rbd",)
    OPTIONS = (
        cfg.StrOpt("pool", default="images", help="The pool."),
        cfg.StrOpt("ceph_conf", default="/etc/ceph/ceph.conf",
                   help="The Ceph configuration."),
    )

    def __init__(self, *, pool, ceph_conf):
        if not pool.isidentifier():
            raise InvalidReaderOption("pool", pool, "not a pool name",
                                      "letters, digits and _")
        self.pool, self.ceph_conf = pool, ceph_conf

    def allows(self, url):
        return False

    def open(self, url, start=0, stop=None):
        raise ReadRefused(url)
'''


@pytest.fixture
def rbd_reader_installed(tmp_path, monkeypatch):
    """A distribution registering the reader ``rbd``."""
    distributions.install(
        tmp_path, monkeypatch, "third-party-rbd", RBD_MODULE,
        "[loc_strategy_filter.readers]\nrbd = third_party_rbd:RbdReader\n")


def test_a_third_party_readers_options_have_a_group_of_their_own(
        rbd_reader_installed):
    groups = dict(options.list_opts())
    assert [opt.dest for opt in groups["rbd_store_reader"]] == [
        "pool", "ceph_conf"]
    assert "pool" not in [opt.dest for opt in groups[FILTER]]


def test_a_third_party_reader_is_built_from_its_options(
        rbd_reader_installed, tmp_path):
    path = write_conf(tmp_path, "[rbd_store_reader]\npool = fast\n"
                                "[location_strategy_filter]\n"
                                "file_dirs = /srv/images\n")
    readers = settings.from_paste({}, {"oslo_config_file": path}).readers
    assert (readers["rbd"].pool, readers["rbd"].ceph_conf) == (
        "fast", "/etc/ceph/ceph.conf")
    assert readers["file"].dirs == ("/srv/images",)
    assert settings.from_paste({}, {"pool": "slow"}).readers["rbd"].pool == (
        "slow")


def test_a_third_party_readers_bad_value_fails_at_load(rbd_reader_installed):
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_paste({}, {"pool": "no pool"})
    assert str(raised.value) == (
        "Invalid value 'no pool' for option [rbd_store_reader] pool: not a "
        "pool name; allowed: string value (letters, digits and _)")


def _reader_module(*names, options=True, scheme="x-evil"):
    """A reader declaring a string option of each of ``names``, or, without
    ``options``, no OPTIONS at all.
    """
    return (
        "from oslo_config import cfg\n\n"
        "class Reader:\n"
        f"    schemes = ({scheme!r},)\n"
        + (f"    OPTIONS = tuple(cfg.StrOpt(name) for name in {names!r})\n"
           if options else "")
        + "    def __init__(self, **values):\n"
        "        self.values = values\n"
        "    def allows(self, url):\n"
        "        return False\n"
        "    def open(self, url, start=0, stop=None):\n"
        "        raise NotImplementedError\n")


def _install_reader(tmp_path, monkeypatch, name, module_source):
    distributions.install(
        tmp_path, monkeypatch, f"third-party-{name}", module_source,
        f"[loc_strategy_filter.readers]\n{name} = third_party_{name}:Reader\n")


EVIL = "[evil_store_reader] by reader 'evil' (third_party_evil.Reader)"


@pytest.mark.parametrize("name, declarations", [
    ("store_type_preference",
     f"{EVIL} and in [store_type_location_strategy] by strategy "
     "'store_type'"),
    ("file_dirs", f"{EVIL} and in [{FILTER}] by reader 'file' "
                  "(loc_strategy_filter.stores.file.FileReader)"),
    ("hide_locations", f"[{FILTER}] by the filter and in {EVIL}"),
    ("location_strategy", f"[DEFAULT] by the filter and in {EVIL}"),
], ids=["a-strategys", "a-built-in-readers", "the-filters", "in-DEFAULT"])
def test_a_third_party_reader_cannot_take_a_paste_key_of_another_option(
        tmp_path, monkeypatch, name, declarations):
    _install_reader(tmp_path, monkeypatch, "evil", _reader_module(name))
    expected = (
        f"Option {name!r} is declared twice, in {declarations}: a paste key "
        "names an option without its group, so each name must be declared "
        "once; rename one of them")
    paste = {"store_type_preference": "http, file"}
    for load in (lambda: settings.from_paste({}, paste),
                 lambda: settings.from_paste({}, {}),
                 lambda: settings.from_config(cfg.ConfigOpts())):
        with pytest.raises(errors.ConfigurationError) as raised:
            load()
        assert str(raised.value) == expected


def test_two_third_party_readers_cannot_declare_one_option_name(
        tmp_path, monkeypatch):
    _install_reader(tmp_path, monkeypatch, "one",
                    _reader_module("pool", scheme="x-one"))
    _install_reader(tmp_path, monkeypatch, "two",
                    _reader_module("pool", scheme="x-two"))
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_paste({}, {"pool": "images"})
    assert str(raised.value) == (
        "Option 'pool' is declared twice, in [one_store_reader] by reader "
        "'one' (third_party_one.Reader) and in [two_store_reader] by reader "
        "'two' (third_party_two.Reader): a paste key names an option without "
        "its group, so each name must be declared once; rename one of them")


def test_a_reader_without_options_is_refused_at_load(tmp_path, monkeypatch):
    _install_reader(tmp_path, monkeypatch, "bare",
                    _reader_module(options=False))
    with pytest.raises(errors.ConfigurationError) as raised:
        settings.from_paste({}, {})
    assert str(raised.value) == (
        "reader 'bare' (third_party_bare:Reader) declares no OPTIONS tuple; "
        "allowed: a tuple of the oslo.config options it is built from, () "
        "for none")


# -- Log redaction is switched on at start-up ---------------------------------

def test_start_up_puts_the_log_redaction_on_our_loggers_and_urllib3s():
    probe = logging.getLogger("loc_strategy_filter.tests_probe")
    for reader_class in stores.reader_classes().values():
        stores.build_reader(reader_class)
    assert not any(isinstance(f, RedactingFilter) for f in probe.filters), (
        "building readers has no side effect on logging")
    settings.from_paste({}, {})
    for logger in (probe, logging.getLogger("urllib3.connectionpool")):
        assert any(isinstance(f, RedactingFilter) for f in logger.filters)


def test_settings_built_by_hand_with_an_orderer_of_locations_alone():
    # The shape of an orderer before requesters existed.
    by_hand = settings.Settings(strategy="reverse",
                                order=lambda locations: locations[::-1])
    assert by_hand.order(LOCATIONS, Requester.at("10.1.2.3")) == \
        LOCATIONS[::-1]
    assert settings.Settings(strategy="same", order=list).order(
        LOCATIONS, Requester.at("10.1.2.3")) == LOCATIONS


@pytest.mark.parametrize("local_conf, expected", [
    ({"location_strategy": "client_network"}, Requester.at("10.1.2.3")),
    ({"location_strategy": "client_network",
      "trusted_proxies": "10.1.2.3"}, Requester.at("192.0.2.7")),
    ({"location_strategy": "store_id"}, ANYONE),
], ids=["seeing-strategy", "behind-a-trusted-proxy", "blind-strategy"])
def test_the_requester_is_found_for_a_strategy_that_looks(local_conf,
                                                          expected):
    environ = {"REMOTE_ADDR": "10.1.2.3",
               "HTTP_X_FORWARDED_FOR": "192.0.2.7"}
    assert settings.from_paste({}, local_conf).requester(environ) == expected
