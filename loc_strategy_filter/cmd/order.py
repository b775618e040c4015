"""Order the locations of an image as the filter would, client side.

Reads an image (JSON object with ``locations`` or ``direct_url``) or a list
of locations from a file or standard input and prints the URLs in strategy
order, then the best one.
"""

import json
import sys

from loc_strategy_filter import settings
from loc_strategy_filter.cmd.strategy_args import strategy_overrides

NAME = "order"
HELP = "order the locations of an image JSON document"


def add_arguments(parser):
    parser.add_argument("file", nargs="?", default="-",
                        help="image or locations JSON; - for standard input")
    parser.add_argument("--json", action="store_true",
                        help="print the ordered locations as JSON")


def locations_of(document):
    """The locations of an image document, or the document if a list."""
    if isinstance(document, dict):
        if "direct_url" in document and "locations" not in document:
            document = [{"url": document["direct_url"], "metadata": {}}]
        else:
            document = document.get("locations")
    if isinstance(document, list) and all(isinstance(location, dict)
                                          for location in document):
        return document
    raise ValueError("expected an image with 'locations' or 'direct_url', "
                     "or a list of locations")


def _read(path):
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def run(args):
    conf = settings.load_config(config_files=args.config_file,
                                overrides=strategy_overrides(args))
    chosen = settings.from_config(conf)
    try:
        ordered = chosen.order(locations_of(_read(args.file)))
    except (OSError, ValueError) as exc:
        print(f"loc-strategy-filter order: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(ordered, sys.stdout, indent=2)
        print()
        return 0
    print(f"strategy: {chosen.strategy}")
    for rank, location in enumerate(ordered, 1):
        print(f"{rank}. {location.get('url')}")
    print(f"best: {ordered[0].get('url') if ordered else '(none)'}")
    return 0
