"""The integration tier: the filter inside the real Glance image API.

Run it with the Glance virtualenv's python:

    tools/glance-venv.sh &&
        .cache/glance-venv/bin/python -m pytest tests/integration

Three Glance deployments, each one database and its stores, are served by
glance-api processes under uWSGI that differ only in their paste pipeline
and in the strategy lines of their glance-api.conf.

``glance``, single-store (one file store), with Glance's ``default``
pipeline (``unauthenticated-context``):

- ``bare``: Glance's own glance-api-paste.ini, no filter;
- ``location_order``, ``store_type``, ``hidden``, ``steer``, ``serve``,
  ``off``: Glance's paste file with the filter where our README puts it
  (after the context filter, right before ``rootapp``; in Glance 33 these
  pipelines are the lines of ``[composite:api]``), configured by the lines
  an operator writes in glance-api.conf. ``store_type`` (``download_mode =
  auto``), ``serve`` and ``off`` prefer http and may read the mirror.
- ``mirror_only``: serves, may read the mirrors but not Glance's files
  (``file_dirs`` is another directory), and gives up on a slow mirror
  within a second or two.

Glance answers its location API (``GET /v2/images/{id}/locations``) to the
callers its ``fetch_image_location`` policy allows: in ``glance`` the policy
file lets the tests' caller (who has no roles there) stand for a service;
in ``multistore`` the policy is Glance's default, so the ``X-Roles`` a test
sends decide (``service`` or ``admin`` may, ``member`` may not).

``multistore``, two file stores ``fast`` (the default) and ``slow``, with
Glance's ``keystone`` pipeline minus ``authtoken`` (the tests send the
identity headers authtoken would set; an image import needs a project):

- ``bare``: no filter;
- ``location_order``: the filter, by default (``download_mode = auto``);
- ``store_id``, ``store_id_auto``, ``store_id_serve``, ``store_id_off``:
  the filter, ``store_id_preference = slow, fast``, with ``download_mode``
  ``steer``, ``auto``, ``serve`` and ``off``; ``store_id_hidden``: the
  same preference with ``hide_locations``.
- ``direct_url``, ``direct_url_serve``, ``direct_url_auth``: the blueprint's
  own configuration, ``show_multiple_locations = False`` and
  ``show_image_direct_url = True`` (users see ``direct_url``, never
  ``locations``), with the same preference and ``download_mode`` ``steer``,
  ``serve`` and ``auto``. The filter learns an image's locations from the
  location API: as the caller, in process, when the caller may read it
  (``X-Roles: service``); ``direct_url_auth`` also holds service
  credentials (``[location_strategy_filter_auth] auth_type =
  admin_token``, a static token and ``endpoint`` = ``service_endpoint``)
  for a caller who may not (``member``); the other two hold none.
- ``service_endpoint``: Glance's ``default`` pipeline, no filter; the
  endpoint of ``direct_url_auth``'s service credentials. It stands in for
  Glance behind authtoken receiving a service user's token: there is no
  Keystone to validate a token, so this server's ``unauthenticated-context``
  makes every caller an admin without a project (who sees every image) and
  its own policy file adds ``service_api: @`` (every caller passes the rule
  ``fetch_image_location`` asks for), which is what Keystone would
  establish for the service user's token. The filter reaches it over HTTP,
  a process of its own, as a real filter reaches Glance's internal
  endpoint; the tests read it only as Glance alone in this configuration.

``sites``, three file stores ``central`` (the default), ``edge1`` and
``edge2``, one per site, with the ``keystone`` pipeline minus
``authtoken`` as in ``multistore``; its servers order by who asks
(``location_strategy = client_network``): clients in 127.0.0.2/32 prefer
``edge1 central``, in 127.0.0.3/32 ``edge2 central``, anyone else
``central``; peers in 127.0.0.9/32 are trusted proxies, whose
``X-Forwarded-For`` names the client. The tests' clients bind those
loopback addresses (all of 127.0.0.0/8 is local on Linux), and their
proxies are loopback servers of the tests (``proxy.ForwardingProxy``):

- ``bare``: no filter;
- ``client_network``: the filter, ``download_mode = auto`` (steers to
  the client's preferred store);
- ``client_network_serve``: the same, ``download_mode = serve``, reading
  the client's preferred copy itself (``file_dirs``: the three stores).

Every test also checks that no glance-api logged an ERROR or a traceback
while it ran (``glance_logged_no_error``); a test that provokes an error of
the filter's on purpose names it with ``@pytest.mark.filter_errors``.

So the same image can be fetched with and without the filter. Loopback
HTTP servers play http stores ("mirrors").

Nothing here is skipped: if Glance cannot start, every test fails with its
log. A python without Glance that collects the whole tree (``pytest`` in the
dev venv) leaves this directory out and says so; asked for by path, the
tier fails instead.
"""

import dataclasses
import importlib.util
import pathlib
import re
import uuid

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
READ_THE_MIRRORS = {
    "location_strategy_filter": {"http_allowed_hosts": "127.0.0.1"}}
STEER = {"location_strategy_filter": {"download_mode": "steer"}}
SERVE = {"location_strategy_filter": {"download_mode": "serve"}}
OFF = {"location_strategy_filter": {"download_mode": "off"}}
# A mirror slower than 1 KiB/s over a second, or whose headers take over a
# second, has failed.
IMPATIENT = {"location_strategy_filter": {
    "http_header_timeout": "1", "http_min_rate": "1024",
    "http_rate_window": "1"}}
FILE_STORES = ("fast", "slow")
STORE_ID = {
    "DEFAULT": {"location_strategy": "store_id"},
    "store_id_location_strategy": {"store_id_preference": "slow, fast"},
}
# The blueprint's test case: users see direct_url, never locations.
DIRECT_URL_ONLY = {"DEFAULT": {"show_multiple_locations": "False",
                               "show_image_direct_url": "True"}}
AUTO = {"location_strategy_filter": {"download_mode": "auto"}}
# The sites deployment: a store per site, a network per edge site.
SITE_STORES = ("central", "edge1", "edge2")
EDGE1_CLIENT, EDGE2_CLIENT = "127.0.0.2", "127.0.0.3"
TRUSTED_PROXY, UNTRUSTED_PROXY = "127.0.0.9", "127.0.0.8"
CLIENT_NETWORK = {
    "DEFAULT": {"location_strategy": "client_network"},
    "client_network_location_strategy": {
        "network_preferences": f"{EDGE1_CLIENT}/32: edge1 central; "
                               f"{EDGE2_CLIENT}/32: edge2 central",
        "default_preference": "central",
        "prefer_by": "store_id",
    },
    "location_strategy_filter": {"trusted_proxies": f"{TRUSTED_PROXY}/32"},
}
# The service token of direct_url_auth, valid on service_endpoint only.
SERVICE_TOKEN = "service-token-of-the-tests"
# service_endpoint's own policy line: every caller is a service.
EVERY_CALLER_A_SERVICE = {"service_api": "@"}


def service_credentials(endpoint):
    """The lines of glance-api.conf giving the filter service credentials
    (keystoneauth1's ``admin_token``) against ``endpoint``'s URL.
    """
    return {"location_strategy_filter_auth": {
        "auth_type": "admin_token", "endpoint": endpoint.url,
        "token": SERVICE_TOKEN}}


# The policy line that lets the single-store deployment's caller, who has no
# roles, read the location API (Glance's default: role:service or role:admin).
LOCATION_API_FOR_ALL = {"fetch_image_location": "@"}
# What keystonemiddleware's authtoken tells Glance's context filter.
IDENTITY = {"X-Identity-Status": "Confirmed", "X-User-Id": "tester",
            "X-Project-Id": "tests", "X-Roles": "admin,member,reader"}

DATA = bytes(range(256)) * 256
# The headers of a download that describe its body.
DOWNLOAD_HEADERS = ("Content-Type", "Content-Length", "Content-MD5",
                    "Content-Range")


def headers_of(answer):
    """The headers of a download that describe its body."""
    return {name: answer.headers.get(name) for name in DOWNLOAD_HEADERS}


def served_by(log, image_id, index, store_type):
    """Whether ``log`` says location ``index`` (of ``store_type``) served
    image ``image_id``: streamed, as a file's first download in a worker
    is, or by the server's file wrapper, as it is once verified.
    """
    return re.search(rf"Image {re.escape(image_id)}: (bytes \d+ to \d+ )?"
                     rf"served by location {index} \({store_type} store\)",
                     log) is not None


def assert_same_download(answer, glance_answer):
    assert answer.status_code == glance_answer.status_code
    assert headers_of(answer) == headers_of(glance_answer)
    assert answer.content == glance_answer.content


_DEPLOYMENT = pytest.StashKey()  # the deployments, for failure reports
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
    deployments = item.config.stash.get(_DEPLOYMENT, ())
    if report.failed:
        for server in (server for deployment in deployments
                       for server in deployment.servers.values()):
            report.sections.append(
                (f"glance-api '{server.name}' ({server.log_path})",
                 server.log_tail(40)))
    return report


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "filter_errors(*texts): ERROR records of the filter's "
        "that the test provokes on purpose, each containing one of texts")


# oslo.log starts every line of a record, a traceback's too, with this.
_RECORD_PREFIX = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+) ")


def _records(log):
    """The records of ``log``: lines sharing a time and pid are one, and a
    line without the prefix (uWSGI's own) belongs to the one before.
    """
    records, key = [], None
    for line in log.splitlines():
        match = _RECORD_PREFIX.match(line)
        if records and (match is None or match[1] == key):
            records[-1] += "\n" + line
        else:
            records.append(line)
            key = match[1] if match else None
    return records


def _unexpected_errors(log, expected):
    """The ERROR and CRITICAL records and tracebacks in ``log``, but for
    those of the filter's own that contain one of the ``expected`` texts.
    """
    return [record for record in _records(log)
            if any(mark in record
                   for mark in (" ERROR ", " CRITICAL ", "Traceback"))
            and not ("loc_strategy_filter" in record
                     and any(text in record for text in expected))]


@pytest.fixture(autouse=True)
def glance_logged_no_error(request, glance_deployments):
    """No glance-api logs an ERROR or a traceback during the test."""
    servers = [server for deployment in glance_deployments.values()
               for server in deployment.servers.values()]
    starts = {server.name: server.log_end() for server in servers}
    yield
    marker = request.node.get_closest_marker("filter_errors")
    expected = marker.args if marker else ()
    found = {server.name: errors for server in servers
             if (errors := _unexpected_errors(
                 server.log(since=starts[server.name]), expected))}
    assert not found, f"glance-api logged errors: {found}"


def unique_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def mirror():
    """The loopback http store."""
    from tests.integration.mirror import Mirror

    with Mirror() as server:
        yield server


@pytest.fixture(scope="session")
def doomed_mirror():
    """A second http store, for the test that stops it."""
    from tests.integration.mirror import Mirror

    with Mirror() as server:
        yield server


@pytest.fixture(scope="session")
def glance_deployments(tmp_path_factory, mirror, doomed_mirror, pytestconfig):
    """The running deployments, by name; all their servers start at once."""
    from tests.integration import glance_api

    mirror_ports = [mirror.port, doomed_mirror.port]
    single = glance_api.Deployment(
        "glance", tmp_path_factory.mktemp("glance"), mirror_ports,
        policy=LOCATION_API_FOR_ALL)
    multi = glance_api.Deployment(
        "multistore", tmp_path_factory.mktemp("multistore"), mirror_ports,
        file_stores=FILE_STORES, identity=IDENTITY)
    sites = glance_api.Deployment(
        "sites", tmp_path_factory.mktemp("sites"), mirror_ports,
        file_stores=SITE_STORES, identity=IDENTITY)
    deployments = [single, multi, sites]
    pytestconfig.stash[_DEPLOYMENT] = deployments
    try:
        try:
            single.add("bare", filtered=False)
            single.add("location_order", LOCATION_ORDER)
            single.add("store_type", glance_api.merge_sections(
                STORE_TYPE, READ_THE_MIRRORS))
            single.add("hidden", glance_api.merge_sections(
                STORE_TYPE, HIDE_LOCATIONS))
            single.add("store_type_stdlib_json", STORE_TYPE,
                       without_orjson=True)
            single.add("hidden_stdlib_json", glance_api.merge_sections(
                STORE_TYPE, HIDE_LOCATIONS), without_orjson=True)
            single.add("steer", glance_api.merge_sections(STORE_TYPE, STEER))
            single.add("serve", glance_api.merge_sections(
                STORE_TYPE, READ_THE_MIRRORS, SERVE))
            single.add("off", glance_api.merge_sections(
                STORE_TYPE, READ_THE_MIRRORS, OFF))
            elsewhere = single.root / "elsewhere"
            elsewhere.mkdir()
            single.add("mirror_only", glance_api.merge_sections(
                STORE_TYPE, READ_THE_MIRRORS, SERVE, IMPATIENT,
                {"location_strategy_filter": {"file_dirs": str(elsewhere)}}))
            multi.add("bare", filtered=False)
            multi.add("location_order", LOCATION_ORDER)
            multi.add("store_id", glance_api.merge_sections(STORE_ID, STEER))
            multi.add("store_id_auto", STORE_ID)
            multi.add("store_id_serve", glance_api.merge_sections(
                STORE_ID, SERVE))
            multi.add("store_id_off", glance_api.merge_sections(
                STORE_ID, OFF))
            multi.add("store_id_hidden", glance_api.merge_sections(
                STORE_ID, HIDE_LOCATIONS))
            endpoint = multi.add("service_endpoint", DIRECT_URL_ONLY,
                                 filtered=False, flavor="",
                                 policy=EVERY_CALLER_A_SERVICE)
            multi.add("direct_url", glance_api.merge_sections(
                DIRECT_URL_ONLY, STORE_ID, STEER))
            multi.add("direct_url_serve", glance_api.merge_sections(
                DIRECT_URL_ONLY, STORE_ID, SERVE))
            # The endpoint's port is chosen when it starts, before this one.
            multi.add("direct_url_auth", lambda: glance_api.merge_sections(
                DIRECT_URL_ONLY, STORE_ID, AUTO,
                service_credentials(endpoint)))
            sites.add("bare", filtered=False)
            sites.add("client_network", glance_api.merge_sections(
                CLIENT_NETWORK, AUTO))
            sites.add("client_network_serve", glance_api.merge_sections(
                CLIENT_NETWORK, SERVE, {"location_strategy_filter": {
                    "file_dirs": ", ".join(str(sites.store_dir(store))
                                           for store in SITE_STORES)}}))
            glance_api.start_all(deployments)
        except glance_api.StartError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield {deployment.name: deployment for deployment in deployments}
    finally:
        glance_api.stop_all(deployments)


@pytest.fixture(scope="session")
def glance_deployment(glance_deployments):
    """The single-store deployment: its servers by name, under ``servers``."""
    return glance_deployments["glance"]


@pytest.fixture(scope="session")
def multistore_deployment(glance_deployments):
    return glance_deployments["multistore"]


@pytest.fixture(scope="session")
def sites_deployment(glance_deployments):
    return glance_deployments["sites"]


def _clients(deployment):
    from tests.integration.image_api import ImageApi

    return {name: ImageApi(server.url, server.headers)
            for name, server in deployment.servers.items()}


@pytest.fixture(scope="session")
def glance(glance_deployment):
    """A client for each single-store server, by name."""
    return _clients(glance_deployment)


@pytest.fixture(scope="session")
def multistore(multistore_deployment):
    """A client for each multi-store server, by name."""
    return _clients(multistore_deployment)


@pytest.fixture(scope="session")
def sites(sites_deployment):
    """A client for each server of the sites deployment, by name (from
    127.0.0.1, in no site's network).
    """
    return _clients(sites_deployment)


@dataclasses.dataclass
class OriginalCase:
    """An image with a file location (from its upload) and then an http
    one, made through the ``store_type`` server.
    """

    name: str
    image_id: str
    file_url: str
    file_path: pathlib.Path
    mirror_path: str
    mirror_url: str
    mirror_requests: list
    created: object
    located: object


@pytest.fixture(scope="session")
def original_case(glance, glance_deployment, mirror):
    """The original Glance test case: create, upload, add the mirror."""
    api = glance["store_type"]
    name = unique_name("original")
    created = api.create(name=name)
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    uploaded = api.upload(image_id, DATA)
    assert uploaded.status_code == 204, uploaded.text
    mirror_path = f"/images/{image_id}"
    mirror_url = mirror.publish(mirror_path, DATA)
    located = api.add_location(image_id, mirror_url)
    assert located.status_code == 200, located.text
    file_path = glance_deployment.images_dir / image_id
    return OriginalCase(
        name=name, image_id=image_id, file_url=f"file://{file_path}",
        file_path=file_path, mirror_path=mirror_path, mirror_url=mirror_url,
        mirror_requests=mirror.requests_for(mirror_path),
        created=created, located=located)


def sdk_connection(api):
    """An openstacksdk connection to ``api``'s server, without auth."""
    import openstack

    return openstack.connect(auth_type="none", auth={"endpoint": api.url},
                             load_yaml_config=False, load_envvars=False)


@pytest.fixture(scope="module")
def copies(multistore, multistore_deployment):
    """An image of the multi-store deployment, uploaded to ``fast`` and
    copied to ``slow`` (one per test module).
    """
    from tests.integration.test_multistore import copy_to_both_stores

    return copy_to_both_stores(multistore, multistore_deployment)
