"""``openstack image location order`` and ``openstack image fetch``: the
consumer library (``loc_strategy_filter.client``) as OpenStack commands.

The image is found by name or ID through OSC's image proxy; the locations
are ordered, and read, by the strategy and configuration given with the
same options as ``loc-strategy-filter order`` and ``download``.

cliff imports this module for every ``openstack`` command, to list them:
only what OSC has imported already is imported at the top, and the library
(the filter's settings, readers and their dependencies) only by these two
commands' parsers and actions.
"""

import sys
import time

from cliff import columns
from keystoneauth1 import exceptions as auth_errors
from openstack import exceptions as sdk_errors
from osc_lib.command import command
from osc_lib import exceptions


class URLColumn(columns.FormattableColumn):
    """Location URLs: one a line in a table, a list in JSON or YAML."""

    def human_readable(self):
        return "\n".join(self._value)

    def machine_readable(self):
        return list(self._value)


def _add_common_arguments(parser):
    from loc_strategy_filter.cmd import client_address
    from loc_strategy_filter.cmd import strategy_args

    parser.add_argument("image", metavar="<image>",
                        help="Image (name or ID)")
    client_address.add_client_address_argument(parser, "<address>")
    strategy_args.add_strategy_arguments(parser)


class _LocationCommand(command.ShowOne):
    """A command on one image's locations, through ``Client``."""

    def _client(self, parsed_args):
        """The library's client, as configured by the command line."""
        from loc_strategy_filter.cmd import strategy_args
        from loc_strategy_filter import errors

        try:
            settings = strategy_args.configured_settings(parsed_args)
        except errors.ConfigurationError as exc:
            raise exceptions.CommandError(f"configuration error: {exc}")
        return self.app.client_manager.location_strategy(
            settings=settings, client_address=parsed_args.client_address)

    def _image(self, name_or_id):
        """The openstacksdk image ``name_or_id`` names."""
        try:
            return self.app.client_manager.image.find_image(
                name_or_id, ignore_missing=False)
        except (sdk_errors.SDKException, auth_errors.ClientException) as exc:
            raise exceptions.CommandError(f"image {name_or_id}: {exc}")


class OrderLocations(_LocationCommand):
    """Order an image's locations by a location strategy, best first"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_common_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        from loc_strategy_filter import errors

        client = self._client(parsed_args)
        image = self._image(parsed_args.image)
        try:
            requester = client.requester()
            urls = [location.get("url")
                    for location in client.ordered(image)]
        except errors.LocationStrategyError as exc:
            raise exceptions.CommandError(str(exc))
        address = requester.client_address
        return (("id", "name", "strategy", "client_address", "locations",
                 "best"),
                (image.id, image.name, client.settings.strategy,
                 None if address is None else str(address), URLColumn(urls),
                 urls[0] if urls else None))


class FetchImage(_LocationCommand):
    """Download an image from its best location, as a consumer would"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_common_arguments(parser)
        parser.add_argument("--file", metavar="<filename>", required=True,
                            help="The file to write; written as "
                                 "<filename>.<random>.part until its size and "
                                 "checksums are verified")
        return parser

    def take_action(self, parsed_args):
        from loc_strategy_filter.cmd.interrupts import terminations_as_exits
        from loc_strategy_filter.cmd.progress import progress_bar
        from loc_strategy_filter import errors

        if parsed_args.file == "-":
            raise exceptions.CommandError(
                "--file -: image fetch writes a file; for standard output, "
                "loc-strategy-filter download -o -")
        client = self._client(parsed_args)
        image = self._image(parsed_args.image)
        started = time.monotonic()
        try:
            with terminations_as_exits(), progress_bar(
                    sys.stderr) as progress:
                served = client.download(image, parsed_args.file,
                                         progress=progress)
        except (errors.DownloadFailed, OSError) as exc:
            raise exceptions.CommandError(f"download failed: {exc}")
        seconds = time.monotonic() - started
        return (("id", "size", "file", "served_by", "seconds"),
                (image.id, served.size, parsed_args.file, str(served),
                 round(seconds, 3)))
