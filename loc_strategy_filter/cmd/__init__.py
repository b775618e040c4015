"""The ``loc-strategy-filter`` command: ``serve``, ``order`` and
``download``.
"""

import argparse
import logging
import sys

from loc_strategy_filter.cmd import download
from loc_strategy_filter.cmd import order
from loc_strategy_filter.cmd import serve
from loc_strategy_filter.cmd.strategy_args import add_strategy_arguments
from loc_strategy_filter.errors import ConfigurationError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="loc-strategy-filter",
        description="Image location strategies for the Glance image API.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (serve, order, download):
        sub = commands.add_parser(module.NAME, help=module.HELP,
                                  description=module.__doc__)
        module.add_arguments(sub)
        add_strategy_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except KeyboardInterrupt:  # what was written is cleaned up on the way
        return 130
    except ConfigurationError as exc:
        print(f"loc-strategy-filter: configuration error: {exc}",
              file=sys.stderr)
        return 2
