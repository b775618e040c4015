"""The osc-lib plugin module that python-openstackclient loads for every
``openstack`` command (entry point ``openstack.cli.extension``).

Its client is a factory of ``loc_strategy_filter.client.Client`` on the
command's own openstacksdk connection, so ``--os-cloud``, clouds.yaml and
``OS_*`` reach the image API as for every other command.
"""

import logging

from osc_lib import utils

LOG = logging.getLogger(__name__)

API_NAME = "location_strategy"
API_VERSION_OPTION = "os_location_strategy_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "loc_strategy_filter.client.Client"}


def make_client(instance):
    """A factory: ``factory(settings=..., client_address=...)`` is a
    ``Client`` on ``instance``'s connection.
    """
    # Imported here, not at the top: this module is imported by every
    # openstack command, and the library's import costs tens of
    # milliseconds that only these commands should pay.
    from loc_strategy_filter.client import Client

    def factory(**config):
        return Client(instance.sdk_connection, **config)

    LOG.debug("Location strategy client initialized")
    return factory


def build_option_parser(parser):
    """The plugin's API version option, as every OSC plugin adds one."""
    parser.add_argument(
        "--os-location-strategy-api-version",
        metavar="<location-strategy-api-version>",
        default=utils.env("OS_LOCATION_STRATEGY_API_VERSION"),
        help="Location strategy plugin version, default=%s "
             "(Env: OS_LOCATION_STRATEGY_API_VERSION)" % DEFAULT_API_VERSION)
    return parser
