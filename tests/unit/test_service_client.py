"""Service credentials from [location_strategy_filter_auth]."""

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import token_endpoint
from oslo_config import cfg
import pytest

from loc_strategy_filter import options
from loc_strategy_filter import service_client
from loc_strategy_filter import settings

GROUP = options.AUTH_GROUP


def conf_with(tmp_path, **values):
    path = tmp_path / "filter.conf"
    path.write_text(f"[{GROUP}]\n" + "".join(
        f"{key} = {value}\n" for key, value in values.items()))
    return settings.load_config(config_files=[str(path)])


def test_no_auth_type_is_no_service_client(tmp_path):
    assert service_client.load(conf_with(tmp_path), 5) is None


def test_admin_token_gives_an_image_adapter(tmp_path):
    client = service_client.load(conf_with(
        tmp_path, auth_type="admin_token", endpoint="http://glance:9292",
        token="t"), 2.5)
    assert isinstance(client.adapter, ks_adapter.Adapter)
    assert isinstance(client.adapter.session.auth, token_endpoint.Token)
    assert client.adapter.service_type == "image"
    assert client.timeout == 2.5
    assert client.adapter.get_endpoint() == "http://glance:9292"


def test_endpoint_override_and_service_type_reach_the_adapter(tmp_path):
    client = service_client.load(conf_with(
        tmp_path, auth_type="admin_token", endpoint="http://a",
        token="t", endpoint_override="http://internal:9292",
        service_type="image-internal", valid_interfaces="internal"), 5)
    assert client.adapter.endpoint_override == "http://internal:9292"
    assert client.adapter.service_type == "image-internal"


def test_password_loads_without_calling_keystone(tmp_path):
    client = service_client.load(conf_with(
        tmp_path, auth_type="password", auth_url="http://keystone/v3",
        username="glance-filter", password="secret",
        user_domain_name="Default", project_name="service",
        project_domain_name="Default"), 5)
    assert client.adapter.session.auth.auth_url == "http://keystone/v3"


@pytest.mark.parametrize("values, named", [
    ({"auth_type": "nope"}, "auth_type"),
    ({"auth_type": "admin_token", "token": "t"}, "endpoint"),
    ({"auth_type": "password"}, "auth_url"),
])
def test_bad_credentials_name_the_option(tmp_path, values, named):
    with pytest.raises(service_client.ServiceCredentialsError, match=named):
        service_client.load(conf_with(tmp_path, **values), 5)


def test_settings_carry_the_service_client(tmp_path):
    conf = conf_with(tmp_path, auth_type="admin_token", endpoint="http://a",
                     token="t")
    assert settings.from_config(conf).service.adapter.get_endpoint() == \
        "http://a"


def test_registering_twice_is_harmless():
    conf = cfg.ConfigOpts()
    settings.register_options(conf)
    settings.register_options(conf)
    conf(args=[])
    assert conf[GROUP].service_type == "image"


def test_an_unknown_auth_type_names_the_plugins_allowed(tmp_path):
    with pytest.raises(service_client.ServiceCredentialsError) as raised:
        service_client.load(conf_with(tmp_path, auth_type="nope"), 1.0)
    assert "'nope'" in str(raised.value)
    assert "allowed:" in str(raised.value)
    assert "password" in str(raised.value).partition("allowed:")[2]
