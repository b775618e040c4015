"""The commands' arguments that name a client address or the image API's
endpoint, refused naming the value (the finding is
``client.address``'s).
"""

import argparse

from loc_strategy_filter.client import address
from loc_strategy_filter import requester


def client_address_argument(text):
    """``--client-address``: an IP address, refused naming the value."""
    try:
        return requester.parsed_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IP address (such as 10.1.2.3 or "
            "fd00:1::5)") from None


def endpoint_argument(text):
    """``--image-api-url``: an http(s) URL with a host."""
    try:
        address.host_and_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return text


def add_client_address_argument(parser, metavar="ADDRESS"):
    """``--client-address``, as every command that orders takes it."""
    parser.add_argument("--client-address", metavar=metavar,
                        type=client_address_argument,
                        help="order the locations for a client at this IP "
                             "address, as the filter orders for a request "
                             "from it (client_network); default: the local "
                             "address this host reaches the image API from, "
                             "else none")
