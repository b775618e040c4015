"""What the filter takes from Glance's own configuration.

Where Glance finds ``glance-api.conf``, so the filter reads the same file,
and the directories Glance's file stores write to: the natural default for
the directories the filter may read ``file://`` locations from.
"""

import os

from oslo_config import cfg

# glance_store's default, used when Glance's file store names no directory.
GLANCE_STORE_DEFAULT_DIR = "/var/lib/glance/images"

_DIR_OPTS = (cfg.StrOpt("filesystem_store_datadir"),
             cfg.MultiStrOpt("filesystem_store_datadirs", default=[]))
_BACKENDS_OPT = cfg.DictOpt("enabled_backends", default={})
# glance_store's single-store list of stores, with its default.
_STORES_OPTS = (cfg.ListOpt("stores", default=["file", "http"]),)


def files_glance_reads(project, program):
    """The config file Glance itself reads under a WSGI server, when
    ``OS_GLANCE_CONFIG_DIR`` points elsewhere than oslo.config looks.
    """
    config_dir = os.environ.get("OS_GLANCE_CONFIG_DIR")
    if project != "glance" or not config_dir:
        return []
    path = os.path.join(config_dir, f"{program or 'glance-api'}.conf")
    return [path] if os.path.isfile(path) else []


def register(conf):
    """Register the Glance options read here on a private ``ConfigOpts``."""
    conf.register_opt(_BACKENDS_OPT)
    conf.register_opts(_DIR_OPTS, group="glance_store")
    conf.register_opts(_STORES_OPTS, group="glance_store")


def _dirs_of_group(group):
    dirs = ([group.filesystem_store_datadir]
            if group.filesystem_store_datadir else [])
    for entry in group.filesystem_store_datadirs:
        # "path:priority", the priority being optional.
        path, sep, priority = entry.rpartition(":")
        dirs.append(path if sep and priority.strip().isdigit() else entry)
    return dirs


def file_store_dirs(conf, project):
    """The directories of Glance's file stores, or () if none is configured."""
    dirs = []
    for name, store_type in conf.enabled_backends.items():
        if store_type.strip() == "file":
            conf.register_opts(_DIR_OPTS, group=name)
            dirs.extend(_dirs_of_group(conf[name])
                        or [GLANCE_STORE_DEFAULT_DIR])
    store = conf.glance_store
    single_store_file = "file" in [name.strip() for name in store.stores]
    if not conf.enabled_backends and single_store_file:
        dirs.extend(_dirs_of_group(store)
                    or ([GLANCE_STORE_DEFAULT_DIR] if project == "glance"
                        else []))
    return tuple(dict.fromkeys(dirs))
