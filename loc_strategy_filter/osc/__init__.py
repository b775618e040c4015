"""The ``openstack`` command's plugin: ``image location order`` and
``image fetch``, over ``loc_strategy_filter.client``."""
