"""Real glance-api servers under uWSGI, configured as an operator would.

Glance 33 has no server of its own: ``glance.wsgi.api:application`` runs
under uWSGI. At import it reads ``glance-api.conf`` from
``$OS_GLANCE_CONFIG_DIR`` (default ``/etc/glance``) and the paste file beside
it. The filter, with ``oslo_config_project = glance`` and
``oslo_config_program = glance-api``, asks oslo.config to find
``glance-api.conf``, which looks in ``~/.glance/``, ``~/``, ``/etc/glance/``
and ``/etc/``. Each server here gets its own ``HOME`` with the files in
``$HOME/.glance`` and ``OS_GLANCE_CONFIG_DIR`` pointing there, so that both
read the same file, as both read ``/etc/glance/glance-api.conf`` in a
standard installation.

Several servers share one database, stores and staging area: they are one
Glance deployment, seen through differently configured API servers.
"""

import contextlib
import importlib.metadata
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from oslo_log import log as oslo_log
import requests

from tests.integration.conftest import COMMAND

FILTER_NAME = "location_strategy"

FACTORY = "loc_strategy_filter.middleware:LocationStrategyFilter.factory"

# The section our README tells operators to add to glance-api-paste.ini.
FILTER_SECTION = f"""
[filter:{FILTER_NAME}]
paste.filter_factory = {FACTORY}
oslo_config_project = glance
oslo_config_program = glance-api
"""

_CONTEXT_FILTERS = ("context", "unauthenticated-context")
_START_ATTEMPTS = 3
#: Where an ``orjson`` that cannot be imported waits (``without_orjson``).
WITHOUT_ORJSON = pathlib.Path(__file__).parent / "without_orjson"
# What uWSGI logs once a worker has loaded the app (each does: --lazy-apps).
_WORKER_READY = re.compile(r"^WSGI app 0 \(mountpoint=''\) ready in .* "
                           r"pid: (\d+)", re.MULTILINE)


class StartError(RuntimeError):
    """glance-api did not come up; the message holds its log."""


def venv_bin(name):
    """A program of the virtualenv the tests run in (the Glance venv)."""
    path = pathlib.Path(sys.prefix, "bin", name)
    if not os.access(path, os.X_OK):
        raise StartError(f"{path} is missing: this is {sys.executable}, "
                         f"not the Glance virtualenv's python. Run: {COMMAND}")
    return str(path)


def shipped_paste_ini():
    """The text of the glance-api-paste.ini that Glance itself installs."""
    try:
        files = importlib.metadata.distribution("glance").files or ()
    except importlib.metadata.PackageNotFoundError:
        raise StartError(f"Glance is not installed for {sys.executable}. "
                         f"Run: {COMMAND}") from None
    for file in files:
        if file.name == "glance-api-paste.ini":
            return pathlib.Path(file.locate()).read_text()
    raise StartError("Glance's installed files hold no glance-api-paste.ini")


def _edit_pipelines(paste_ini, edit):
    """``paste_ini`` with each pipeline line of ``[composite:api]`` (flavor
    = names) replaced by ``edit(flavor, names)``; returns the text and the
    flavors seen.
    """
    lines, section, flavors = [], None, []
    for line in paste_ini.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif (section == "composite:api" and "=" in line
              and not stripped.startswith("paste.")):
            flavor, names = (part.strip() for part in line.split("=", 1))
            line = f"{flavor} = {' '.join(edit(flavor, names.split()))}"
            flavors.append(flavor)
        lines.append(line)
    return "\n".join(lines) + "\n", flavors


def with_filter(paste_ini):
    """``paste_ini`` with the filter added as the README says: in every
    pipeline of ``[composite:api]``, after the context filter (and after
    ``cache``), right before ``rootapp``.
    """
    def insert(flavor, names):
        if names[-1] != "rootapp" or not set(names) & set(_CONTEXT_FILTERS):
            raise StartError(
                "Glance's glance-api-paste.ini has changed: pipeline "
                f"{flavor!r} of [composite:api] has no context filter or "
                "does not end with rootapp")
        return [*names[:-1], FILTER_NAME, names[-1]]

    text, flavors = _edit_pipelines(paste_ini, insert)
    if "default" not in flavors:
        raise StartError("Glance's glance-api-paste.ini has changed: no "
                         "'default' pipeline in [composite:api]")
    return text + FILTER_SECTION


def without_authtoken(paste_ini):
    """``paste_ini`` whose ``keystone`` pipelines have no ``authtoken``:
    their ``context`` filter trusts the identity headers authtoken would
    have set, which the tests send themselves.
    """
    def drop(flavor, names):
        if flavor.startswith("keystone"):
            return [name for name in names if name != "authtoken"]
        return names

    text, flavors = _edit_pipelines(paste_ini, drop)
    if "keystone" not in flavors:
        raise StartError("Glance's glance-api-paste.ini has changed: no "
                         "'keystone' pipeline in [composite:api]")
    return text


def render_ini(sections):
    """INI text from ``{section: {key: value}}``, in the given order."""
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n"
                                for key, value in values.items()) + "\n"
        for name, values in sections.items())


def merge_sections(*configs):
    merged = {}
    for config in configs:
        for section, values in config.items():
            merged.setdefault(section, {}).update(values)
    return merged


def write_policy(path, rules):
    """A policy file of ``{rule: check}`` lines."""
    path.write_text("".join(f'"{rule}": "{check}"\n'
                            for rule, check in rules.items()))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Deployment:
    """One Glance deployment: one database and its stores, any number of
    API servers with their own glance-api.conf and paste file.

    With ``file_stores`` (store ids) it is a multi-store Glance whose file
    stores each have their own directory, the first being the default one.
    With ``identity`` (the headers keystonemiddleware's authtoken sets) its
    servers run Glance's ``keystone`` pipeline without authtoken, so that
    Glance's ``context`` filter makes a project member of the caller, as it
    does behind authtoken; without it they run the ``default`` pipeline,
    whose ``unauthenticated-context`` has no project (so it cannot own the
    task of an image import). ``policy`` adds ``{rule: check}`` lines to
    its policy file. A server may run the other pipeline (``add(...,
    flavor=...)``) and add lines of its own to the policy file.
    """

    def __init__(self, name, root, mirror_ports, file_stores=(),
                 identity=None, policy=None, filter_log_level="DEBUG"):
        self.name = name
        #: Tests read which location served each download (DEBUG); a
        #: benchmark leaves it at INFO, as an operator would.
        self.filter_log_level = filter_log_level
        self.root = pathlib.Path(root)
        self.mirror_ports = list(mirror_ports)
        self.file_stores = tuple(file_stores)
        self.identity = dict(identity or {})
        self.images_dir = self.root / "images"
        self.servers = {}
        for folder in ("images", "staging", "tasks",
                       *(f"stores/{store}" for store in self.file_stores)):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        # Without Keystone, every caller must pass the admin rules of
        # Glance's (new, default) policies.
        self.policy = {"context_is_admin": "@", **(policy or {})}
        write_policy(self.root / "policy.yaml", self.policy)

    @property
    def flavor(self):
        """The ``[paste_deploy] flavor`` of its servers, by default."""
        return "keystone" if self.identity else ""

    @property
    def database(self):
        return self.root / "glance.sqlite"

    def store_dir(self, store):
        """The directory of file store ``store`` (multi-store)."""
        return self.root / "stores" / store

    def common_config(self):
        """What every server's glance-api.conf says, apart from the
        strategy lines.
        """
        ports = ", ".join(str(port) for port in self.mirror_ports)
        return merge_sections({
            "DEFAULT": {
                "show_multiple_locations": "True",
                "show_image_direct_url": "True",
                # Which location served a download that nothing failed over
                # is said at DEBUG.
                "default_log_levels": ", ".join([
                    *oslo_log.get_default_log_levels(),
                    f"loc_strategy_filter={self.filter_log_level}"]),
            },
            # The app is [composite:glance-api(-keystone)], whose pipeline
            # is the 'default' (or 'keystone') one.
            "paste_deploy": {"flavor": self.flavor},
            "database": {"connection": f"sqlite:///{self.database}"},
            "oslo_policy": {"policy_file": str(self.root / "policy.yaml")},
            # Glance checks a new http location (one HEAD) only on hosts
            # and ports allowed here.
            "import_filtering_opts": {
                "allowed_hosts": "[127.0.0.1]",
                "allowed_ports": f"[{ports}]",
            },
        }, self._store_config())

    def _store_config(self):
        if not self.file_stores:
            return {
                "DEFAULT": {
                    "node_staging_uri": f"file://{self.root / 'staging'}"},
                "glance_store": {
                    "stores": "file, http",
                    "default_store": "file",
                    "filesystem_store_datadir": str(self.images_dir),
                },
            }
        config = {
            "DEFAULT": {"enabled_backends": ", ".join(
                f"{store}:file" for store in self.file_stores)},
            "glance_store": {"default_backend": self.file_stores[0]},
            # Multi-store Glance stages imports in its reserved stores.
            "os_glance_staging_store": {
                "filesystem_store_datadir": str(self.root / "staging")},
            "os_glance_tasks_store": {
                "filesystem_store_datadir": str(self.root / "tasks")},
        }
        for store in self.file_stores:
            config[store] = {"filesystem_store_datadir":
                             str(self.store_dir(store))}
        return config

    def add(self, name, operator_config=None, filtered=True, flavor=None,
            policy=None, processes=1, identity=None, without_orjson=False):
        """A server whose glance-api.conf adds ``operator_config``
        (``{section: {key: value}}``, or a function returning it when the
        server starts, for a value known only then, such as another
        server's URL), with or without the filter.

        ``flavor`` (``"keystone"`` or ``""``, Glance's default pipeline) is
        the deployment's unless given; a server of the default pipeline
        gets no identity headers, one of the ``keystone`` pipeline the
        deployment's, or ``identity``. ``policy`` adds ``{rule: check}`` lines
        to the deployment's, in a policy file of the server's own.
        ``processes`` is the number of uWSGI workers, each loading Glance
        (and the filter) on its own. ``without_orjson`` hides orjson from
        the server: the filter's JSON is then the standard library's.
        """
        flavor = self.flavor if flavor is None else flavor
        home = self.root / name
        server_config = {"paste_deploy": {"flavor": flavor}}
        if policy:
            home.mkdir(parents=True, exist_ok=True)
            write_policy(home / "policy.yaml", {**self.policy, **policy})
            server_config["oslo_policy"] = {
                "policy_file": str(home / "policy.yaml")}

        def glance_api_conf():
            operator = (operator_config() if callable(operator_config)
                        else operator_config)
            return render_ini(merge_sections(
                self.common_config(), server_config, operator or {}))

        paste_ini = shipped_paste_ini()
        if flavor == "keystone":
            paste_ini = without_authtoken(paste_ini)
        server = GlanceApi(
            f"{self.name}/{name}", home, glance_api_conf=glance_api_conf,
            paste_ini=with_filter(paste_ini) if filtered else paste_ini,
            headers=(identity or self.identity) if flavor == "keystone"
            else {},
            processes=processes,
            python_path=[WITHOUT_ORJSON] if without_orjson else [])
        self.servers[name] = server
        return server

    def sync_database(self):
        server = next(iter(self.servers.values()))
        server.write_config()
        result = subprocess.run(
            [venv_bin("glance-manage"), "--config-file",
             str(server.config_path), "db", "sync"],
            env=server.environment(), cwd=server.home, capture_output=True,
            text=True, timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode:
            raise StartError("glance-manage db sync failed:\n"
                             + result.stdout + result.stderr)

    def start(self, timeout=90):
        start_all([self], timeout)

    def stop(self):
        stop_all([self])

    @contextlib.contextmanager
    def servers_for_a_while(self, configs, timeout=90):
        """Servers added to the running deployment (``{name: keyword
        arguments of add()}``), started at once and yielded by name, then
        stopped and removed: a test module's own, which the session's
        no-ERROR check and failure reports see while they run.
        """
        added = {name: self.add(name, **arguments)
                 for name, arguments in configs.items()}
        try:
            for server in added.values():
                server.start()
            deadline = time.monotonic() + timeout
            for server in added.values():
                server.wait_ready(deadline)
            yield added
        finally:
            for server in added.values():
                server.terminate()  # all at once: each takes about a second
            for name, server in added.items():
                server.stop()
                del self.servers[name]


def start_all(deployments, timeout=90):
    """Start every server of every deployment at once, and wait until all
    answer. The first deployment's new database is copied to the others
    (an empty schema: one ``db sync`` costs a second).
    """
    first, *others = deployments
    first.sync_database()
    for deployment in others:
        shutil.copyfile(first.database, deployment.database)
    servers = [server for deployment in deployments
               for server in deployment.servers.values()]
    for server in servers:
        server.start()
    deadline = time.monotonic() + timeout
    for server in servers:
        server.wait_ready(deadline)
    # A server that lost the race for its port came back on another one: a
    # configuration naming that port is written again, and its server
    # restarted.
    for server in servers:
        if server.config_is_stale():
            server.stop()
            server.start()
            server.wait_ready(deadline)


def stop_all(deployments):
    """Stop every server, all at once (each takes about a second)."""
    servers = [server for deployment in deployments
               for server in deployment.servers.values()]
    for server in servers:
        server.terminate()
    for server in servers:
        server.stop()


class GlanceApi:
    """One glance-api process under uWSGI, on 127.0.0.1 and a free port.

    ``glance_api_conf`` is the file's text, or a function returning it,
    called each time the server starts. ``processes`` uWSGI workers (two
    threads each) take its connections, whichever accepts first.
    """

    def __init__(self, name, home, glance_api_conf, paste_ini, headers=None,
                 processes=1, python_path=()):
        self.name = name
        self.processes = processes
        self.python_path = list(python_path)
        self.headers = dict(headers or {})
        self.home = pathlib.Path(home)
        self.config_dir = self.home / ".glance"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self._glance_api_conf = glance_api_conf
        (self.config_dir / "glance-api-paste.ini").write_text(paste_ini)
        self.log_path = self.home / "uwsgi.log"
        self.port = None
        self.process = None
        self._attempts = 0
        self._started_at = 0  # where the log of the running server starts

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self):
        return self.config_dir / "glance-api.conf"

    def _config_text(self):
        conf = self._glance_api_conf
        return conf() if callable(conf) else conf

    def write_config(self):
        self.config_path.write_text(self._config_text())

    def config_is_stale(self):
        """Whether the file differs from what the server would write now."""
        return self.config_path.read_text() != self._config_text()

    def environment(self):
        environment = dict(os.environ, HOME=str(self.home),
                           OS_GLANCE_CONFIG_DIR=str(self.config_dir))
        if self.python_path:
            environment["PYTHONPATH"] = os.pathsep.join(
                [*map(str, self.python_path),
                 *filter(None, [os.environ.get("PYTHONPATH")])])
        return environment

    def start(self):
        self._attempts += 1
        self.port = free_port()
        self.write_config()
        self._started_at = self.log_end()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [venv_bin("uwsgi"),
                 "--http-socket", f"127.0.0.1:{self.port}",
                 "--module", "glance.wsgi.api:application",
                 "--virtualenv", sys.prefix,
                 "--master", "--processes", str(self.processes),
                 "--threads", "2",
                 "--enable-threads", "--lazy-apps", "--need-app",
                 "--die-on-term", "--buffer-size", "65535",
                 # uWSGI's http-socket does not keep connections alive;
                 # saying so stops clients from reusing a closed one.
                 "--add-header", "Connection: close"],
                env=self.environment(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self, deadline):
        """Until an image list answers 200 and every worker has loaded
        Glance; anything else is an error.
        """
        self._wait_answering(deadline)
        while len(self.worker_pids()) < self.processes:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise StartError(self._failure(
                    f"has {len(self.worker_pids())} of its {self.processes} "
                    "workers ready"))
            time.sleep(0.1)

    def worker_pids(self):
        """The pids of the workers that have loaded Glance since the start."""
        return set(_WORKER_READY.findall(self.log(since=self._started_at)))

    def _wait_answering(self, deadline):
        while True:
            if self.process.poll() is not None:
                if (self._attempts < _START_ATTEMPTS
                        and "Address already in use" in self.log()):
                    self.start()  # lost the race for the free port
                    continue
                raise StartError(self._failure(
                    f"exited with status {self.process.returncode}"))
            # uWSGI's master accepts connections before its worker has
            # loaded Glance: on a cold machine, with every server loading at
            # once, the first answer may take many seconds.
            remaining = max(deadline - time.monotonic(), 1)
            try:
                response = requests.get(f"{self.url}/v2/images?limit=1",
                                        headers=self.headers,
                                        timeout=(1, remaining))
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise StartError(self._failure("did not answer in time"))
                time.sleep(0.1)
                continue
            if response.status_code != 200:
                raise StartError(self._failure(
                    f"answered an image list with {response.status_code}: "
                    f"{response.text[:500]}"))
            return

    def terminate(self):
        """Ask uWSGI (master and worker: the process group) to stop."""
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)

    def stop(self):
        """Stop and wait; kill what is still there after 15 seconds."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=15)

    def _signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def log(self, since=0):
        """The log, from byte ``since`` (a ``log_end()``) on."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def requests_logged(self, request, since, expected):
        """How many times uWSGI logged ``request`` (``GET /v2/...``) from
        byte ``since`` of the log on, once it shows ``expected`` of them or
        five seconds passed: uWSGI writes a request's line just after the
        answer's last byte, so the client may look before it is there.
        """
        deadline = time.monotonic() + (5.0 if expected else 0.3)
        while True:
            count = self.log(since=since).count(request)
            if (expected and count >= expected) or (
                    time.monotonic() > deadline):
                return count
            time.sleep(0.05)

    def log_end(self):
        """Where the log ends now."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def _failure(self, what):
        self.stop()
        return (f"glance-api '{self.name}' on port {self.port} {what}; "
                f"config in {self.config_dir}; last lines of "
                f"{self.log_path}:\n{self.log_tail()}")
