"""Command-line options that override the strategy configuration."""

from loc_strategy_filter import settings

OVERRIDABLE = ("location_strategy", "store_type_preference",
               "store_id_preference", "network_preferences",
               "default_preference", "prefer_by", "hide_locations")


def add_strategy_arguments(parser):
    group = parser.add_argument_group(
        "strategy", "override the configuration (config files)")
    group.add_argument("--strategy", dest="location_strategy",
                       help="location strategy name, e.g. store_type")
    group.add_argument("--store-type-preference",
                       help='store types, best first, e.g. "http, file"')
    group.add_argument("--store-id-preference",
                       help='store identifiers, best first, e.g. "fast, slow"')
    group.add_argument("--network-preferences",
                       help="client_network: client networks and their "
                            'stores, best first, e.g. "10.1.0.0/16: edge1 '
                            'central; 10.2.0.0/16: edge2 central"')
    group.add_argument("--default-preference",
                       help="client_network: the stores of a client in no "
                            'listed network or of no known address, e.g. '
                            '"central"')
    group.add_argument("--prefer-by",
                       help="client_network: what the store names are, "
                            "store_id (the default) or store_type")
    group.add_argument("--config-file", action="append", default=[],
                       help="an oslo.config file to read, such as "
                            "glance-api.conf (repeatable)")


def strategy_overrides(args):
    """The option values given on the command line."""
    return {name: getattr(args, name) for name in OVERRIDABLE
            if getattr(args, name, None) is not None}


def configured_settings(args):
    """The settings, as the filter builds them, with its readers."""
    return settings.from_config(settings.load_config(
        config_files=args.config_file, overrides=strategy_overrides(args)))
