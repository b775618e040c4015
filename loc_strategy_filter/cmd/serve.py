"""Serve the filter in front of an image API on a local WSGI server.

Without ``--paste-config`` the pipeline is the filter in front of the
bundled stub image API, seeded with a demo image that has a file and an http
location, so that one ``curl`` shows the strategy at work.
"""

import logging
import os
import socketserver
from wsgiref import simple_server

from paste import deploy
import webob

from loc_strategy_filter.cmd.strategy_args import strategy_overrides
from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter.redaction import redact_text

NAME = "serve"
HELP = "run the filtered image API on a local WSGI server"
LOG = logging.getLogger(__name__)
DEMO_BYTES = b"loc-strategy-filter demo image\n" * 1024


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9292)
    parser.add_argument("--paste-config",
                        help="a paste.deploy file whose 'main' pipeline to "
                             "serve, e.g. etc/api-paste.ini.sample")
    parser.add_argument("--data-dir",
                        help="where the stub image API keeps image data "
                             "(default: a new temporary directory)")
    parser.add_argument("--hide-locations", action="store_const",
                        const="true", help="users see no locations")
    parser.add_argument("--no-demo", dest="demo", action="store_false",
                        help="do not create the demo image")


class _ThreadingWSGIServer(socketserver.ThreadingMixIn,
                           simple_server.WSGIServer):
    daemon_threads = True


class _RequestHandler(simple_server.WSGIRequestHandler):
    """Access log lines without query strings or userinfo: a location may
    point back at this server with a signature in its query.
    """

    def log_message(self, format, *args):
        super().log_message("%s", redact_text(format % args))


def _global_conf(args):
    conf = strategy_overrides(args)
    if args.config_file:
        conf["oslo_config_file"] = ",".join(args.config_file)
    if args.data_dir:
        conf["data_dir"] = args.data_dir
    return conf


def build_pipeline(args):
    """The WSGI application to serve."""
    conf = _global_conf(args)
    if args.paste_config:
        return deploy.loadapp(f"config:{os.path.abspath(args.paste_config)}",
                              global_conf=conf)
    # The test double, imported here only: every other command (and the
    # filter in a Glance process) runs without it.
    from loc_strategy_filter_stub import StubImageAPI
    stub = StubImageAPI(data_dir=conf.pop("data_dir", None),
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    return LocationStrategyFilter.factory({}, **conf)(stub)


def _call(app, method, path, **kwargs):
    request = webob.Request.blank(path, method=method, **kwargs)
    response = request.get_response(app)
    if response.status_int >= 300:
        raise RuntimeError(f"{method} {path}: {response.status}")
    return response


def create_demo_image(app, base_url):
    """An image with a file location (its upload) and an http location."""
    image = _call(app, "POST", "/v2/images", json={
        "name": "demo", "disk_format": "raw", "container_format": "bare"}).json
    path = f"/v2/images/{image['id']}"
    _call(app, "PUT", f"{path}/file", body=DEMO_BYTES,
          content_type="application/octet-stream")
    _call(app, "PATCH", path,
          content_type="application/openstack-images-v2.1-json-patch",
          json=[{"op": "add", "path": "/locations/-",
                 "value": {"url": f"{base_url}{path}/file", "metadata": {}}}])
    return image["id"]


def run(args):
    app = build_pipeline(args)
    server = simple_server.make_server(args.host, args.port, app,
                                       server_class=_ThreadingWSGIServer,
                                       handler_class=_RequestHandler)
    base_url = f"http://{args.host}:{server.server_port}"
    LOG.info("Serving the image API with the location strategy filter on %s",
             base_url)
    if args.demo:
        try:
            image_id = create_demo_image(app, base_url)
            LOG.info("Demo image: curl -s %s/v2/images/%s", base_url, image_id)
        except RuntimeError as exc:
            LOG.warning("No demo image: %s", exc)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
