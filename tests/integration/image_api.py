"""Plain HTTP calls to one glance-api, answers kept as they came.

The tests compare bodies byte for byte, so this client never parses or
retries anything: it returns the ``requests.Response``.
"""

import requests

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


class ImageApi:
    """The Glance v2 image calls the scenarios make, against ``url``."""

    def __init__(self, url):
        self.url = url
        self.session = requests.Session()

    def call(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url + path, **kwargs)

    def create(self, **fields):
        fields = {"disk_format": "raw", "container_format": "bare", **fields}
        return self.call("POST", "/v2/images", json=fields)

    def upload(self, image_id, data):
        return self.call("PUT", f"/v2/images/{image_id}/file", data=data,
                         headers={"Content-Type": "application/octet-stream"})

    def patch(self, image_id, *operations):
        return self.call("PATCH", f"/v2/images/{image_id}",
                         json=list(operations),
                         headers={"Content-Type": PATCH_TYPE})

    def add_location(self, image_id, url):
        return self.patch(image_id, {"op": "add", "path": "/locations/-",
                                     "value": {"url": url, "metadata": {}}})

    def show(self, image_id):
        return self.call("GET", f"/v2/images/{image_id}")

    def list(self, **params):
        return self.call("GET", "/v2/images", params=params)

    def download(self, image_id):
        return self.call("GET", f"/v2/images/{image_id}/file")

    def delete(self, image_id):
        return self.call("DELETE", f"/v2/images/{image_id}")
