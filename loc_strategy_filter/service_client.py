"""The filter's service credentials: a keystoneauth1 adapter for the image
API, loaded the way OpenStack services configure calls to each other.

``[location_strategy_filter_auth]`` takes keystoneauth1's standard auth,
session and adapter options (``auth_type = password`` or
``v3applicationcredential`` in production; ``admin_token`` with
``endpoint`` and ``token`` stands in for a service user in the tests). It
is a group Glance never reads, so the filter's credentials are never taken
for Glance's own. With no ``auth_type`` there are none, and the filter asks
the location API only as the caller.

The call goes to Glance's public endpoint, so in a Glance process it is a
self-call: it needs another worker free to answer (uWSGI ``processes`` > 1,
or ``threads``), or an internal endpoint of its own (``endpoint_override``),
and it is bounded by ``location_lookup_timeout``. It carries ``Via: 1.1
loc-strategy-filter``, so a filter on the far side learns nothing for it.
"""

import logging

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import token_endpoint

from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter import options
from loc_strategy_filter.stores.http import VIA

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "image"


class ServiceCredentialsError(ConfigurationError):
    """Service credentials the filter cannot start with."""


def register(conf):
    """Register the group's auth, session and adapter options on ``conf``."""
    group = options.AUTH_GROUP
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group)
    conf.set_default("service_type", SERVICE_TYPE, group=group)


class ServiceClient:
    """GETs of the location API with the service credentials."""

    def __init__(self, adapter, timeout):
        self.adapter = adapter
        self.timeout = timeout

    def get_locations(self, image_id):
        """``(status, body bytes)`` of ``GET /v2/images/{id}/locations``;
        raises keystoneauth1's or requests' errors when there is no answer.
        Not logged by keystoneauth: the body holds every location URL.
        """
        response = self.adapter.get(
            f"/v2/images/{image_id}/locations", raise_exc=False,
            timeout=self.timeout, connect_retries=0, log=False,
            headers={"Via": VIA, "Accept": "application/json"})
        return response.status_code, response.content


def _check_static(auth, values):
    """``admin_token`` takes any values at load and fails on the first
    request; its two are checked here instead.
    """
    if not isinstance(auth, token_endpoint.Token):
        return
    for name, value in (
            ("endpoint", auth.endpoint or values.endpoint_override),
            ("token", auth.token)):
        if not value:
            raise ServiceCredentialsError(
                f"[{options.AUTH_GROUP}] auth_type = admin_token: missing "
                f"required option {name}")


def load(conf, timeout):
    """The ``ServiceClient`` of ``conf``'s auth group, or None when it sets
    no ``auth_type``; raises ``ServiceCredentialsError`` naming the option
    when it cannot be loaded.
    """
    group = options.AUTH_GROUP
    register(conf)
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, group)
    except ks_exceptions.MissingRequiredOptions as exc:
        names = ", ".join(opt.dest for opt in exc.options)
        raise ServiceCredentialsError(
            f"[{group}] auth_type = {conf[group].auth_type}: missing "
            f"required option(s) {names}") from None
    except ks_exceptions.NoMatchingPlugin as exc:
        raise ServiceCredentialsError(
            f"Invalid value {exc.name!r} for option [{group}] auth_type: "
            "no such keystoneauth1 plugin; allowed: "
            f"{', '.join(sorted(ks_loading.get_available_plugin_names()))}"
        ) from None
    except (ks_exceptions.ClientException, ValueError) as exc:
        raise ServiceCredentialsError(
            f"[{group}]: cannot load the auth plugin: {exc}") from None
    if auth is None:
        return None
    _check_static(auth, conf[group])
    try:
        session = ks_loading.load_session_from_conf_options(conf, group,
                                                            auth=auth)
        adapter = ks_loading.load_adapter_from_conf_options(
            conf, group, session=session)
    except (ks_exceptions.ClientException, ValueError) as exc:
        raise ServiceCredentialsError(
            f"[{group}]: cannot load the session or adapter: {exc}") from None
    return ServiceClient(adapter, timeout)
