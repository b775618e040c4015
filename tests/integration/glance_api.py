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

Several servers share one database, file store and staging area: they are
one Glance deployment, seen through differently configured API servers.
"""

import importlib.metadata
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import requests

from tests.integration.conftest import COMMAND

FILTER_NAME = "location_strategy"

# The section our README tells operators to add to glance-api-paste.ini.
FILTER_SECTION = f"""
[filter:{FILTER_NAME}]
paste.filter_factory = loc_strategy_filter.middleware:LocationStrategyFilter.factory
oslo_config_project = glance
oslo_config_program = glance-api
"""

_CONTEXT_FILTERS = ("context", "unauthenticated-context")
_START_ATTEMPTS = 3


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


def with_filter(paste_ini):
    """``paste_ini`` with the filter added as the README says: in every
    pipeline of ``[composite:api]``, right after the context filter."""
    lines, section, inserted = [], None, []
    for line in paste_ini.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif section == "composite:api" and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            names = value.split()
            context = [name for name in names if name in _CONTEXT_FILTERS]
            if context:
                names.insert(names.index(context[0]) + 1, FILTER_NAME)
                line = f"{key} = {' '.join(names)}"
                inserted.append(key)
        lines.append(line)
    if "default" not in inserted:
        raise StartError("Glance's glance-api-paste.ini has changed: no "
                         "'default' pipeline with a context filter in "
                         "[composite:api]")
    return "\n".join(lines) + "\n" + FILTER_SECTION


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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Deployment:
    """One Glance deployment: shared database and stores, any number of
    API servers with their own glance-api.conf and paste file."""

    def __init__(self, root, mirror_port):
        self.root = pathlib.Path(root)
        self.mirror_port = mirror_port
        self.images_dir = self.root / "images"
        self.servers = {}
        for folder in ("images", "staging"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        # No Keystone: every caller gets Glance's unauthenticated context,
        # which is flagged admin but has no roles; this lets it pass the
        # admin rules of Glance's (new, default) policies.
        (self.root / "policy.yaml").write_text('"context_is_admin": "@"\n')

    def common_config(self):
        """What every server's glance-api.conf says, apart from the
        strategy lines."""
        return {
            "DEFAULT": {
                "show_multiple_locations": "True",
                "show_image_direct_url": "True",
                "node_staging_uri": f"file://{self.root / 'staging'}",
            },
            # Empty flavor: the app is [composite:glance-api], whose
            # pipeline is the 'default' one, with unauthenticated-context.
            "paste_deploy": {"flavor": ""},
            "database": {
                "connection": f"sqlite:///{self.root / 'glance.sqlite'}"},
            "glance_store": {
                "stores": "file, http",
                "default_store": "file",
                "filesystem_store_datadir": str(self.images_dir),
            },
            "oslo_policy": {"policy_file": str(self.root / "policy.yaml")},
            # Glance checks a new http location (one HEAD) only on hosts
            # and ports allowed here.
            "import_filtering_opts": {
                "allowed_hosts": "[127.0.0.1]",
                "allowed_ports": f"[{self.mirror_port}]",
            },
        }

    def add(self, name, operator_config=None, filtered=True):
        """A server whose glance-api.conf adds ``operator_config``
        (``{section: {key: value}}``), with or without the filter."""
        paste_ini = shipped_paste_ini()
        server = GlanceApi(
            name, self.root / name,
            glance_api_conf=render_ini(merge_sections(
                self.common_config(), operator_config or {})),
            paste_ini=with_filter(paste_ini) if filtered else paste_ini)
        self.servers[name] = server
        return server

    def sync_database(self):
        server = next(iter(self.servers.values()))
        result = subprocess.run(
            [venv_bin("glance-manage"), "--config-file",
             str(server.config_dir / "glance-api.conf"), "db", "sync"],
            env=server.environment(), cwd=server.home, capture_output=True,
            text=True, timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode:
            raise StartError("glance-manage db sync failed:\n"
                             + result.stdout + result.stderr)

    def start(self, timeout=90):
        """Start every server at once, and wait until all answer."""
        self.sync_database()
        for server in self.servers.values():
            server.start()
        deadline = time.monotonic() + timeout
        for server in self.servers.values():
            server.wait_ready(deadline)

    def stop(self):
        """Stop every server, all at once (each takes about a second)."""
        for server in self.servers.values():
            server.terminate()
        for server in self.servers.values():
            server.stop()


class GlanceApi:
    """One glance-api process under uWSGI, on 127.0.0.1 and a free port."""

    def __init__(self, name, home, glance_api_conf, paste_ini):
        self.name = name
        self.home = pathlib.Path(home)
        self.config_dir = self.home / ".glance"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "glance-api.conf").write_text(glance_api_conf)
        (self.config_dir / "glance-api-paste.ini").write_text(paste_ini)
        self.log_path = self.home / "uwsgi.log"
        self.port = None
        self.process = None
        self._attempts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def environment(self):
        return dict(os.environ, HOME=str(self.home),
                    OS_GLANCE_CONFIG_DIR=str(self.config_dir))

    def start(self):
        self._attempts += 1
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [venv_bin("uwsgi"),
                 "--http-socket", f"127.0.0.1:{self.port}",
                 "--module", "glance.wsgi.api:application",
                 "--virtualenv", sys.prefix,
                 "--master", "--processes", "1", "--threads", "2",
                 "--enable-threads", "--lazy-apps", "--need-app",
                 "--die-on-term", "--buffer-size", "65535",
                 # uWSGI's http-socket does not keep connections alive;
                 # saying so stops clients from reusing a closed one.
                 "--add-header", "Connection: close"],
                env=self.environment(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self, deadline):
        """Until an image list answers 200; anything else is an error."""
        while True:
            if self.process.poll() is not None:
                if (self._attempts < _START_ATTEMPTS
                        and "Address already in use" in self.log()):
                    self.start()  # lost the race for the free port
                    continue
                raise StartError(self._failure(
                    f"exited with status {self.process.returncode}"))
            try:
                response = requests.get(f"{self.url}/v2/images?limit=1",
                                        timeout=5)
            except requests.ConnectionError:
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

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def _failure(self, what):
        self.stop()
        return (f"glance-api '{self.name}' on port {self.port} {what}; "
                f"config in {self.config_dir}; last lines of "
                f"{self.log_path}:\n{self.log_tail()}")
