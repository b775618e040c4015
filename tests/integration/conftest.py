"""The integration tier: the filter inside the real Glance image API.

Run it with the Glance virtualenv's python:

    tools/glance-venv.sh && .cache/glance-venv/bin/python -m pytest tests/integration

One Glance deployment (one sqlite database, one file store) is served by four
glance-api processes under uWSGI that differ only in their paste pipeline and
in the strategy lines of their glance-api.conf:

- ``bare``: Glance's own glance-api-paste.ini, no filter;
- ``location_order``, ``store_type``, ``hidden``: Glance's paste file with
  the filter where our README puts it (right after the context filter,
  before ``rootapp``; in Glance 33 these pipelines are the lines of
  ``[composite:api]``), configured by the lines an operator writes in
  glance-api.conf.

So the same image can be fetched with and without the filter. A second
loopback HTTP server plays an http store (the "mirror").

Nothing here is skipped: if Glance cannot start, every test fails with its
log. A python without Glance that collects the whole tree (``pytest`` in the
dev venv) leaves this directory out and says so; asked for by path, the
tier fails instead.
"""

import importlib.util
import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
COMMAND = ("tools/glance-venv.sh && "
           ".cache/glance-venv/bin/python -m pytest tests/integration")

# The lines an operator writes in glance-api.conf, exactly.
LOCATION_ORDER = {"DEFAULT": {"location_strategy": "location_order"}}
STORE_TYPE = {
    "DEFAULT": {"location_strategy": "store_type"},
    "store_type_location_strategy": {"store_type_preference": "http, file"},
}
HIDE_LOCATIONS = {"location_strategy_filter": {"hide_locations": "true"}}

_DEPLOYMENT = pytest.StashKey()
_LEFT_OUT = pytest.StashKey()


def _glance_installed():
    return importlib.util.find_spec("glance") is not None


def _asked_for(config):
    """Whether the command line names this directory or something in it."""
    for arg in config.args:
        path = pathlib.Path(config.invocation_params.dir,
                            arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if _glance_installed() or _asked_for(config):
        return None
    config.stash[_LEFT_OUT] = True
    return True


def pytest_terminal_summary(terminalreporter, config):
    if config.stash.get(_LEFT_OUT, False):
        terminalreporter.write_line(
            "tests/integration left out: Glance is not installed for this "
            f"python. Run: {COMMAND}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the end of every glance-api log."""
    report = yield
    deployment = item.config.stash.get(_DEPLOYMENT, None)
    if report.failed and deployment is not None:
        for server in deployment.servers.values():
            report.sections.append(
                (f"glance-api '{server.name}' ({server.log_path})",
                 server.log_tail(40)))
    return report


@pytest.fixture(scope="session")
def mirror():
    """The loopback http store."""
    from tests.integration.mirror import Mirror

    server = Mirror().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def glance_deployment(tmp_path_factory, mirror, pytestconfig):
    """The running deployment: its servers by name, under ``servers``."""
    from tests.integration import glance_api

    deployment = glance_api.Deployment(tmp_path_factory.mktemp("glance"),
                                       mirror.port)
    pytestconfig.stash[_DEPLOYMENT] = deployment
    try:
        try:
            deployment.add("bare", filtered=False)
            deployment.add("location_order", LOCATION_ORDER)
            deployment.add("store_type", STORE_TYPE)
            deployment.add("hidden", glance_api.merge_sections(
                STORE_TYPE, HIDE_LOCATIONS))
            deployment.start()
        except glance_api.StartError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def glance(glance_deployment):
    """A client for each of the four servers, by name."""
    from tests.integration.image_api import ImageApi

    return {name: ImageApi(server.url)
            for name, server in glance_deployment.servers.items()}
