from importlib import metadata
import pathlib

from oslo_config import generator
import pytest

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter import options

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATOR_CONF = (ROOT / "etc" / "oslo-config-generator"
                  / "loc-strategy-filter.conf")
SAMPLE = ROOT / "etc" / "loc-strategy-filter.conf.sample"

# The filter's own options; the auth group's are keystoneauth1's, the cache
# group's oslo.cache's.
ALL_OPTS = [(group, opt) for group, opts in options.list_opts()
            if group not in (options.AUTH_GROUP, options.CACHE_GROUP)
            for opt in opts]


def test_list_opts_groups_and_names():
    assert sorted((group, [opt.name for opt in opts])
                  for group, opts in options.list_opts()) == [
        ("DEFAULT", ["location_strategy"]),
        ("client_network_location_strategy", [
            "network_preferences", "default_preference", "prefer_by"]),
        ("location_strategy_filter", [
            "hide_locations", "download_mode", "trusted_proxies",
            "client_address_header", "verify_checksums",
            "location_failure_ttl", "download_record_ttl",
            "location_lookup_timeout",
            "location_lookup_concurrency", "location_cache_ttl",
            "file_dirs", "http_allowed_hosts",
            "http_connect_timeout", "http_read_timeout",
            "http_header_timeout", "http_min_rate", "http_rate_window"]),
        ("location_strategy_filter_auth", [
            opt.name for opt in options.auth_opts()]),
        ("location_strategy_filter_cache", [
            opt.name for opt in options.cache_opts()]),
        ("store_id_location_strategy", ["store_id_preference"]),
        ("store_type_location_strategy", ["store_type_preference"]),
    ]


def test_the_auth_group_lists_keystoneauths_common_options():
    names = {opt.dest for _, opts in options.list_opts()
             if _ == options.AUTH_GROUP for opt in opts}
    assert {"auth_type", "auth_section", "cafile", "timeout",
            "service_type", "endpoint_override",
            "valid_interfaces"} <= names


def test_the_cache_group_is_oslo_caches_with_defaults_for_a_request_path():
    opts = {opt.dest: opt for _, opts in options.list_opts()
            if _ == options.CACHE_GROUP for opt in opts}
    assert {"enabled", "backend", "memcache_servers", "memcache_dead_retry",
            "socket_timeout", "tls_enabled"} <= set(opts)
    assert opts["enabled"].default is False
    assert opts["socket_timeout"].default == 0.1
    assert opts["memcache_dead_retry"].default == 30
    # Copies: oslo.cache's own [cache] defaults are not changed.
    from oslo_cache import _opts
    (_, originals), = _opts.list_opts()
    assert {opt.dest: opt.default for opt in originals}[
        "socket_timeout"] == 1.0


@pytest.mark.parametrize(
    "opt", [opt for _, opt in ALL_OPTS],
    ids=[f"{group}.{opt.name}" for group, opt in ALL_OPTS])
def test_help_follows_the_openstack_template(opt):
    summary, blank_line, *detail = opt.help.strip().splitlines()
    assert summary.endswith(".")
    assert blank_line == "" and detail
    assert "\nPossible values:\n" in opt.help
    assert "\nRelated options:\n" in opt.help


@pytest.mark.parametrize("name", [
    "hide_locations", "file_dirs", "http_allowed_hosts",
    "location_cache_ttl"])
def test_options_about_locations_have_a_security_note(name):
    (opt,) = [opt for _, opt in ALL_OPTS if opt.dest == name]
    assert "\nSecurity note:\n" in opt.help


@pytest.mark.parametrize("group, name, target", [
    ("oslo.config.opts", "loc_strategy_filter", options.list_opts),
    ("paste.filter_factory", "location_strategy",
     LocationStrategyFilter.factory),
], ids=["oslo-config-opts", "paste-filter-factory"])
def test_entry_point_resolves(group, name, target):
    (entry_point,) = metadata.entry_points(group=group, name=name)
    assert entry_point.load() == target


def test_sample_config_is_up_to_date(tmp_path):
    generated = tmp_path / "loc-strategy-filter.conf.sample"
    generator.main(["--config-file", str(GENERATOR_CONF),
                    "--output-file", str(generated)])
    assert generated.read_text() == SAMPLE.read_text(), (
        "etc/loc-strategy-filter.conf.sample is stale; regenerate it from the "
        "repository root with: oslo-config-generator --config-file "
        "etc/oslo-config-generator/loc-strategy-filter.conf")
