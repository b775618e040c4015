import pytest
from oslo_config import cfg

from loc_strategy_filter import settings

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
], ids=["unknown-strategy", "strategy-name-is-case-sensitive",
        "unknown-store-type", "not-a-boolean", "int-for-boolean",
        "int-for-list", "unknown-paste-key", "missing-config-file"])
def test_bad_paste_values_fail_at_load(conf, fragments):
    with pytest.raises(settings.ConfigError) as raised:
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
    with pytest.raises(settings.ConfigError) as raised:
        settings.from_paste({}, {"oslo_config_file": path})
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_bad_value_on_a_callers_config_opts_fails(tmp_path):
    path = write_conf(tmp_path, "[store_type_location_strategy]\n"
                                "store_type_preference = fiel\n"
                                "[DEFAULT]\nlocation_strategy = store_type\n")
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[path])
    with pytest.raises(settings.ConfigError, match="store_type_preference"):
        settings.resolve(conf)


def test_load_config_refuses_an_unknown_override():
    with pytest.raises(settings.ConfigError) as raised:
        settings.load_config(overrides={"store_type_preferences": "http"})
    message = str(raised.value)
    assert "'store_type_preferences'" in message
    assert "store_type_preference" in message


def test_a_typo_in_an_unselected_strategy_fails_at_load():
    with pytest.raises(settings.ConfigError, match="fiel"):
        settings.from_paste({}, {"location_strategy": "location_order",
                                 "store_type_preference": "fiel"})


def test_a_malformed_config_file_fails_with_a_config_error(tmp_path):
    path = write_conf(tmp_path, "[DEFAULT\nlocation_strategy = store_type\n")
    with pytest.raises(settings.ConfigError, match="config files"):
        settings.from_paste({}, {"oslo_config_file": path})


def test_a_source_tree_without_entry_points_is_a_configuration_error(
        no_entry_points):
    with pytest.raises(settings.ConfigError,
                       match=r"not installed.*pip install -e \."):
        settings.from_config(settings.load_config())


def test_the_command_says_so_in_one_line(no_entry_points, capsys):
    from loc_strategy_filter import cmd

    assert cmd.main(["order", "--strategy", "store_type", "-"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("loc-strategy-filter: configuration error: ")
    assert "Traceback" not in error
