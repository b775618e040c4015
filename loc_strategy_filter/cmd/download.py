"""Download an image the way a consumer (Nova, Cinder) would: from its best
location, read directly (``client.Client.download``).

The image record comes from the image API through openstacksdk, configured
as for every OpenStack command (``--os-cloud``/``OS_CLOUD`` and clouds.yaml,
or ``OS_*`` variables). Its locations are ordered by the filter's strategy
and configuration and read with the filter's readers, allow-lists and
checks; the image API's own download is the last resort, resumed at the byte
a broken direct read reached. A wrong image is never left behind: data goes
to ``FILE.<random>.part``, renamed to ``FILE`` only once its size and
checksums match the image's; on standard output the last chunk is held back
until then.

The locations are ordered for the client the image API sees: the one of
``--client-address``, or else the address this host reaches the image API's
endpoint from.
"""

import sys
import time

from loc_strategy_filter import client
from loc_strategy_filter.cmd import client_address
from loc_strategy_filter.cmd.interrupts import terminations_as_exits
from loc_strategy_filter.cmd.progress import progress_bar
from loc_strategy_filter.cmd.strategy_args import configured_settings
from loc_strategy_filter.errors import ConfigurationError
from loc_strategy_filter.errors import DownloadFailed

NAME = "download"
HELP = "download an image from its best location, as a client would"
_PROG = "loc-strategy-filter download"


def add_arguments(parser):
    parser.add_argument("image_id", metavar="IMAGE_ID")
    parser.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="the file to write; - (the default) for "
                             "standard output")
    client_address.add_client_address_argument(parser)
    cloud = parser.add_argument_group(
        "cloud", "the image API, found as every OpenStack command finds it: "
                 "a cloud of clouds.yaml, or else the OS_* environment "
                 "variables (OS_AUTH_URL, OS_USERNAME, ...; "
                 "OS_AUTH_TYPE=none with OS_ENDPOINT for an API without "
                 "authentication)")
    cloud.add_argument("--os-cloud", metavar="NAME",
                       help="a cloud of clouds.yaml (default: $OS_CLOUD)")
    cloud.add_argument("--os-region-name", metavar="NAME",
                       help="the region (default: $OS_REGION_NAME or the "
                            "cloud's)")


def _connection(openstack, args):
    """The openstacksdk connection clouds.yaml or ``OS_*`` describe."""
    # Installed with openstacksdk, which is optional: imported as late.
    from keystoneauth1 import exceptions as auth_errors
    region = ({"region_name": args.os_region_name} if args.os_region_name
              else {})
    try:
        return openstack.connect(cloud=args.os_cloud, **region)
    except (openstack.exceptions.ConfigException,
            auth_errors.AuthPluginException) as exc:
        raise ConfigurationError(f"cloud configuration: {exc}") from None


def run(args):
    if args.output == "-" and sys.stdout.isatty():
        print(f"{_PROG}: will not write an image to a terminal; use "
              "-o FILE or redirect standard output", file=sys.stderr)
        return 2
    settings = configured_settings(args)
    try:
        import openstack  # the optional extra "client"
    except ImportError:
        print(f"{_PROG}: openstacksdk is missing; install "
              "loc-strategy-filter[client]", file=sys.stderr)
        return 2
    started = time.monotonic()
    to_stdout = args.output == "-"
    try:
        images = client.Client(_connection(openstack, args),
                               settings=settings,
                               client_address=args.client_address)
        with terminations_as_exits(), progress_bar(sys.stderr) as progress:
            served = images.download(
                args.image_id, sys.stdout.buffer if to_stdout else args.output,
                progress=progress)
    except (DownloadFailed, OSError) as exc:
        print(f"{_PROG}: failed: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    name = "standard output" if to_stdout else args.output
    print(f"{_PROG}: image {args.image_id}: {served.size} bytes to {name} "
          f"from {served} in {seconds:.1f} s "
          f"({served.size / max(seconds, 1e-6) / 1e6:.1f} MB/s)",
          file=sys.stderr)
    return 0
