"""The stub image API: a WSGI app answering an honest subset of Glance v2.

Images live in memory and uploaded data in a directory. Locations are shown
as Glance's ``show_multiple_locations`` and ``show_image_direct_url``
show them, which is what a location strategy filter in front rewrites. The
app may be mounted at the root (it routes ``/v2/images...``) or below a
``SCRIPT_NAME`` ending in ``/v2`` (it routes ``/images...``). As in Glance,
whose root maps only ``/v2`` to the image API, images are found nowhere else:
``/images/...`` at the root is not an image route, so it cannot show locations
past a filter that acts on ``/v2/images...`` only.

The location API (``GET /v2/images/{id}/locations``) shows every location
whatever the switches, as Glance's does, to the callers Glance's default
``fetch_image_location`` policy allows: the stub models no policy file and
no owner, only the roles of the ``X-Roles`` header (``service`` or
``admin``); without them it answers 403. With ``service_token`` set, a
request whose ``X-Auth-Token`` is that token has the ``service`` role, as
keystonemiddleware would give a service user's token: so the stub can play
the image endpoint a service client (keystoneauth1's ``admin_token``) calls.
"""

import io
import re
import tempfile
import urllib.parse

from oslo_serialization import jsonutils
from paste.deploy import converters
import webob
import webob.dec
from webob import exc

from loc_strategy_filter_stub import catalog
from loc_strategy_filter_stub import download
from loc_strategy_filter_stub import images
from loc_strategy_filter_stub import locations
from loc_strategy_filter_stub import patch
from loc_strategy_filter_stub import upload as upload_mod

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
OCTET_STREAM = "application/octet-stream"
_SWITCHES = ("show_multiple_locations", "show_image_direct_url", "multi_store")

_ROUTES = tuple((re.compile(pattern), methods) for pattern, methods in (
    (r"/", {"GET": "_choose_version"}),
    (r"/versions", {"GET": "_versions"}),
    (r"/v2/images", {"GET": "_index", "POST": "_create"}),
    (r"/v2/images/([^/]+)",
     {"GET": "_show", "PATCH": "_update", "DELETE": "_delete"}),
    (r"/v2/images/([^/]+)/file", {"GET": "_download", "PUT": "_upload"}),
    (r"/v2/images/([^/]+)/locations", {"GET": "_locations"}),
))
# Who Glance's default fetch_image_location policy lets read the location
# API (its rule service_api: role:service or role:admin).
LOCATION_READERS = frozenset(("service", "admin"))


def _routed_path(req):
    """The path as seen from the root: below a ``/v2`` mount every path is
    one of the v2 API's, as in Glance's v2 router (no versions there).
    """
    path = req.path_info or "/"
    if req.script_name.endswith("/v2"):
        return "/v2" + path
    return path


def _json(body, status=200):
    # Set whole: webob would drop the charset Glance sends with JSON.
    return webob.Response(
        body=jsonutils.dumps(body).encode("utf-8"), status=status,
        headerlist=[("Content-Type", "application/json; charset=UTF-8")])


def _decoded_body(req):
    try:
        return jsonutils.loads(req.body)
    except ValueError as error:
        raise exc.HTTPBadRequest(
            explanation=f"Malformed JSON in request body: {error}") from None


def _require_content_type(req, expected):
    if req.content_type != expected:
        raise exc.HTTPUnsupportedMediaType(
            explanation=f"Content type {req.content_type or 'none'} is not "
                        f"supported here; use {expected}.")


def _roles(req, service_token=None):
    """The caller's roles, as keystonemiddleware hands them to Glance."""
    roles = {role.strip().lower()
             for role in req.headers.get("X-Roles", "").split(",")}
    if service_token and req.headers.get("X-Auth-Token") == service_token:
        roles.add("service")
    return roles


def _limit(req):
    text = req.GET.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()):
        raise exc.HTTPBadRequest(
            explanation="limit param must be a non-negative integer")
    return min(int(text), MAX_LIMIT)


class StubImageAPI:
    """An in-memory Glance v2 image API to run the filter against.

    ``data_dir`` holds uploaded data (a new temporary directory when None);
    the two ``show_*`` switches are Glance's; with ``multi_store`` an
    upload's location names its store in ``metadata["store"]``;
    ``service_token`` is the token of a service user (see the module).
    """

    def __init__(self, data_dir=None, show_multiple_locations=False,
                 show_image_direct_url=False, multi_store=False,
                 service_token=None):
        self.data_dir = locations.DataDirectory(
            data_dir or tempfile.mkdtemp(prefix="stub-image-api-"))
        self.show_multiple_locations = show_multiple_locations
        self.show_image_direct_url = show_image_direct_url
        self.multi_store = multi_store
        self.service_token = service_token
        self.catalog = catalog.Catalog()

    @classmethod
    def factory(cls, global_conf, **local_conf):
        """Paste app factory; keys other than the constructor's are ignored."""
        conf = {**global_conf, **local_conf}
        return cls(data_dir=conf.get("data_dir") or None,
                   service_token=conf.get("service_token") or None,
                   **{key: converters.asbool(conf.get(key, False))
                      for key in _SWITCHES})

    # Helpers for seeding images from Python; the HTTP handlers use them too.

    def create_image(self, /, **fields):
        """Create a queued image; the image as a response shows it."""
        record = images.new_image(fields)
        self.catalog.add(record)
        return self._shown(record)

    def add_location(self, image_id, url, metadata=None):
        """Append a location, under the rules a PATCH follows (but allowed
        whatever ``show_multiple_locations`` is).
        """
        value = {"url": url, "metadata": {} if metadata is None else metadata}
        return self._patch(image_id, [patch.Change("add", ["locations", "-"],
                                                   value)])

    def upload(self, image_id, data):
        """Store ``data`` (bytes or a binary file) as a queued image's data."""
        if isinstance(data, (bytes, bytearray)):
            data = io.BytesIO(data)
        return self._shown(upload_mod.upload(
            self.catalog, self.data_dir, image_id, data, self.multi_store))

    def _patch(self, image_id, changes):
        return self._shown(self.catalog.update(
            image_id, lambda record: patch.apply(record, changes)))

    def _shown(self, record):
        return images.to_json(record, self.show_multiple_locations,
                              self.show_image_direct_url, self.multi_store)

    @webob.dec.wsgify
    def __call__(self, req):
        path = _routed_path(req)
        for pattern, methods in _ROUTES:
            match = pattern.fullmatch(path)
            if match:
                break
        else:
            raise exc.HTTPNotFound()
        method = "GET" if req.method == "HEAD" else req.method
        if method not in methods:
            allowed = sorted(methods) + (["HEAD"] if "GET" in methods else [])
            raise exc.HTTPMethodNotAllowed(
                headers={"Allow": ", ".join(allowed)})
        return getattr(self, methods[method])(req, *match.groups())

    @staticmethod
    def _versions_document(req):
        return {"versions": [{
            "id": "v2.1", "status": "CURRENT", "links": [{
                "rel": "self",
                "href": f"{req.host_url}{req.script_name}/v2/"}]}]}

    def _choose_version(self, req):
        return _json(self._versions_document(req), status=300)

    def _versions(self, req):
        return _json(self._versions_document(req))

    def _index(self, req):
        records, more = self.catalog.page(_limit(req), req.GET.get("marker"))
        params = [(key, value) for key, value in req.GET.items()
                  if key != "marker"]
        query = urllib.parse.urlencode(params)
        body = {"images": [self._shown(record) for record in records],
                "first": f"/v2/images?{query}" if query else "/v2/images",
                "schema": "/v2/schemas/images"}
        if more and records:
            body["next"] = "/v2/images?" + urllib.parse.urlencode(
                params + [("marker", records[-1]["id"])])
        return _json(body)

    def _create(self, req):
        fields = _decoded_body(req)
        if not isinstance(fields, dict):
            raise exc.HTTPBadRequest(explanation="An image is a JSON object.")
        image = self.create_image(**fields)
        created = _json(image, status=201)
        created.location = image["self"]
        return created

    def _show(self, req, image_id):
        return _json(self._shown(self.catalog.get(image_id)))

    def _update(self, req, image_id):
        _require_content_type(req, patch.MEDIA_TYPE)
        changes = patch.parse(_decoded_body(req))
        if (patch.touches_locations(changes)
                and not self.show_multiple_locations):
            raise exc.HTTPForbidden(explanation="It's not allowed to update "
                                    "locations if locations are invisible.")
        return _json(self._patch(image_id, changes))

    def _locations(self, req, image_id):
        """The location API (Glance 2.17+): every location, whatever the
        show switches, to the callers the policy allows; 404 comes first.
        """
        record = self.catalog.get(image_id)
        if not _roles(req, self.service_token) & LOCATION_READERS:
            raise exc.HTTPForbidden(explanation="You are not authorized to "
                                    "complete fetch_image_location action.")
        return _json(record["locations"])

    def _delete(self, req, image_id):
        self.catalog.remove(image_id, check=images.refuse_delete)
        upload_mod.discard(self.data_dir, image_id)
        return webob.Response(status=204)

    def _upload(self, req, image_id):
        _require_content_type(req, OCTET_STREAM)
        self.upload(image_id, req.body_file)
        return webob.Response(status=204)

    def _download(self, req, image_id):
        return download.response(self.catalog.get(image_id), self.data_dir,
                                 req, self.multi_store)
