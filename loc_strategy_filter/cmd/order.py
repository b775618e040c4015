"""Order the locations of an image as the filter would, client side.

Reads an image (JSON object with ``locations`` or ``direct_url``) or a list
of locations from a file or standard input and prints the URLs in strategy
order, then the best one: the order the filter gives a request from
``--client-address``, or from this host when ``--image-api-url`` names the
image API it would be sent to (nothing is sent to it).
"""

import argparse
import json
import os
import sys

from loc_strategy_filter.client import address
from loc_strategy_filter.client import Client
from loc_strategy_filter.cmd import client_address
from loc_strategy_filter.cmd.strategy_args import configured_settings

NAME = "order"
HELP = "order the locations of an image JSON document"


def add_arguments(parser):
    parser.add_argument("file", nargs="?", default="-",
                        help="image or locations JSON; - for standard input")
    parser.add_argument("--json", action="store_true",
                        help="print the ordered locations as JSON")
    parser.add_argument("--client-address", metavar="ADDRESS",
                        type=client_address.client_address_argument,
                        help="order for a client at this IP address, as the "
                             "filter orders for a request from it "
                             "(client_network); default: this host's address "
                             "towards --image-api-url, else none")
    parser.add_argument("--image-api-url", metavar="URL",
                        type=client_address.endpoint_argument,
                        default=_image_api_from_environment(),
                        help="the image API endpoint, e.g. "
                             "http://glance.example:9292: without "
                             "--client-address, order for the local address "
                             "this host reaches it from (found without "
                             "sending anything); default: $OS_IMAGE_URL or "
                             "$OS_ENDPOINT (order never authenticates to "
                             "find it in a catalog)")


def _image_api_from_environment():
    """The image endpoint the environment names, as glanceclient
    (``OS_IMAGE_URL``) and openstacksdk without auth (``OS_ENDPOINT``)
    read it; None when it names none, or one that is not a URL.
    """
    for name in ("OS_IMAGE_URL", "OS_ENDPOINT"):
        value = os.environ.get(name)
        if value:
            try:
                return client_address.endpoint_argument(value)
            except argparse.ArgumentTypeError:
                return None
    return None


def _image_in(document):
    """The image document; a list is read as the ``locations`` of an
    image.
    """
    if isinstance(document, list) and all(isinstance(location, dict)
                                          for location in document):
        document = {"locations": document}
    if isinstance(document, dict) and ("locations" in document
                                       or "direct_url" in document):
        return document
    raise ValueError("expected an image with 'locations' or 'direct_url', "
                     "or a list of locations")


def _read(path):
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def run(args):
    settings = configured_settings(args)
    requester, whence = address.requester_for(args.client_address,
                                              args.image_api_url)
    try:
        ordered = Client(settings=settings).ordered(
            _image_in(_read(args.file)), requester.client_address)
    except (OSError, ValueError) as exc:
        print(f"loc-strategy-filter order: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(ordered, sys.stdout, indent=2)
        print()
        return 0
    print(f"strategy: {settings.strategy}")
    if requester.client_address is not None:
        print(f"client address: {requester.client_address} ({whence})")
    for rank, location in enumerate(ordered, 1):
        print(f"{rank}. {location.get('url')}")
    print(f"best: {ordered[0].get('url') if ordered else '(none)'}")
    return 0
