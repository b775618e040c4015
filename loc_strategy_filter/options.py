"""The oslo.config options of the filter and of every registered strategy.

``[DEFAULT] location_strategy`` and the ``[<name>_location_strategy]`` groups
keep the historic Glance names, so an operator's old ``glance-api.conf``
lines work unchanged. The filter's own switches live in
``[location_strategy_filter]``.
"""

from oslo_config import cfg

from loc_strategy_filter import strategies

FILTER_GROUP = "location_strategy_filter"

DEFAULT_OPTS = (
    cfg.StrOpt(
        "location_strategy",
        default=strategies.DEFAULT_STRATEGY,
        help="""
The strategy that orders image locations, best first.

The filter reorders the ``locations`` of image responses by this strategy
and points ``direct_url`` at the first of them.

Possible values:
    * location_order: the order the image owner or admin gave.
    * store_type: by store type, see ``[store_type_location_strategy]``.
    * store_id: by store identifier, see ``[store_id_location_strategy]``.
    * The name of any other strategy registered under the entry-point group
      ``loc_strategy_filter.strategies``.

Related options:
    * ``[store_type_location_strategy] store_type_preference``
    * ``[store_id_location_strategy] store_id_preference``
"""),
)

FILTER_OPTS = (
    cfg.BoolOpt(
        "hide_locations",
        default=False,
        help="""
Remove ``locations`` from image responses after using them.

The filter chooses ``direct_url`` from the locations the image API shows it,
then removes them, so that end users see the best location's URL (if the
image API shows ``direct_url``) but never the list.

Possible values:
    * True: users never see ``locations``.
    * False: users see ``locations`` in strategy order whenever the image API
      shows them.

Related options:
    * Glance's ``show_multiple_locations`` and ``show_image_direct_url``.

Security note:
    Location URLs can reveal a deployment's storage back ends and, for some
    stores, credentials (OSSN-0065, OSSN-0090). Where the image API must show
    locations for the filter to order them, set this option so that users
    do not see them.
"""),
)


def list_opts():
    """Every option, by group, for ``oslo-config-generator``."""
    groups = [("DEFAULT", list(DEFAULT_OPTS)), (FILTER_GROUP, list(FILTER_OPTS))]
    for name in strategies.available_strategies():
        strategy = strategies.load_strategy(name)
        if strategy.options:
            groups.append((strategy.config_group, list(strategy.options)))
    return groups
