"""Plain HTTP calls to one glance-api, answers kept as they came.

The tests compare bodies byte for byte, so this client never parses or
retries anything: it returns the ``requests.Response``.
"""

import time

import requests
from requests import adapters

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


class _SourceAddressAdapter(adapters.HTTPAdapter):
    """Connections made from ``source_address`` (an IP address of this
    host), so that the server sees the client there.
    """

    def __init__(self, source_address):
        self._source_address = source_address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source_address, 0)
        super().init_poolmanager(*args, **kwargs)


class ImageApi:
    """The Glance v2 image calls the scenarios make, against ``url``, with
    ``headers`` (the caller's identity, where the server wants one).

    With ``source_address`` (``"127.0.0.2"``: all of 127.0.0.0/8 is this
    host's on Linux) every connection leaves from that address, which is
    the peer address (``REMOTE_ADDR``) the server sees.
    """

    def __init__(self, url, headers=None, source_address=None):
        self.url = url
        self.source_address = source_address
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        if source_address is not None:
            adapter = _SourceAddressAdapter(source_address)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    def as_caller(self, headers):
        """A client of the same server, whose caller's headers are
        ``headers`` over these (``{"X-Roles": "member"}``).
        """
        return ImageApi(self.url, {**self.session.headers, **headers},
                        self.source_address)

    def from_address(self, source_address):
        """A client of the same server, with the same headers, whose
        connections leave from ``source_address``.
        """
        return ImageApi(self.url, dict(self.session.headers), source_address)

    def through(self, url):
        """A client with the same headers and source address, of the server
        at ``url`` (a proxy in front of this one).
        """
        return ImageApi(url, dict(self.session.headers), self.source_address)

    def call(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url + path, **kwargs)

    def create(self, **fields):
        fields = {"disk_format": "raw", "container_format": "bare", **fields}
        return self.call("POST", "/v2/images", json=fields)

    def upload(self, image_id, data, store=None):
        headers = {"Content-Type": "application/octet-stream"}
        if store is not None:
            headers["X-Image-Meta-Store"] = store
        return self.call("PUT", f"/v2/images/{image_id}/file", data=data,
                         headers=headers)

    def patch(self, image_id, *operations):
        return self.call("PATCH", f"/v2/images/{image_id}",
                         json=list(operations),
                         headers={"Content-Type": PATCH_TYPE})

    def add_location(self, image_id, url, metadata=None):
        return self.patch(image_id, {"op": "add", "path": "/locations/-",
                                     "value": {"url": url,
                                               "metadata": metadata or {}}})

    def show(self, image_id):
        return self.call("GET", f"/v2/images/{image_id}")

    def list(self, **params):
        return self.call("GET", "/v2/images", params=params)

    def download(self, image_id, byte_range=None, **params):
        """``GET .../file``; ``byte_range`` is a ``Range`` value, and
        ``params`` the query (``prefer="slow"``).
        """
        headers = {"Range": byte_range} if byte_range else {}
        return self.call("GET", f"/v2/images/{image_id}/file",
                         headers=headers, params=params)

    def copy_to_stores(self, image_id, *stores):
        """Start the ``copy-image`` import (multi-store)."""
        return self.call("POST", f"/v2/images/{image_id}/import", json={
            "method": {"name": "copy-image"}, "stores": list(stores)})

    def wait_for_stores(self, image_id, *stores, timeout=30):
        """The image record, once it lists ``stores`` and its import is over
        (Glance drops the import's lock, ``os_glance_import_task``, after
        adding the last store); AssertionError with the record if an import
        fails or it takes too long.
        """
        deadline = time.monotonic() + timeout
        while True:
            image = self.show(image_id).json()
            if (set(stores) <= set(image.get("stores", "").split(","))
                    and "os_glance_import_task" not in image):
                return image
            if image.get("os_glance_failed_import") or (
                    time.monotonic() > deadline):
                raise AssertionError(f"image {image_id} is not in stores "
                                     f"{stores}: {image}")
            time.sleep(0.05)

    def delete(self, image_id):
        return self.call("DELETE", f"/v2/images/{image_id}")
