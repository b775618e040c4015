"""Time the filter against the stub image API and a bare JSON round trip.

Prints one table from one run: the median per-request time of an image show
(3 locations), an image list (1000 images x 3 locations) and a pass-through
request, for the stub alone, through the filter, and a bare
``json.loads`` + ``json.dumps`` of the same body. Targets (issue 3): the time
the filter adds is at most 2x the bare round trip for a show and 1.5x for a
list; a pass-through request gains at most 2 microseconds.

    python bench/bench_filter.py [--repeat N]
"""

import argparse
import io
import json
import statistics
import tempfile
import time

import webob

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI

LOCATIONS = ["file:///srv/images/{id}", "swift+https://swift/v1/c/{id}",
             "http://mirror.example.com/images/{id}"]
PATCH = "application/openstack-images-v2.1-json-patch"


def seed(stub, count):
    """``count`` images with three locations each; the last one's id."""
    for index in range(count):
        response = webob.Request.blank("/v2/images", method="POST", json={
            "name": f"image-{index}", "disk_format": "raw",
            "container_format": "bare"}).get_response(stub)
        image_id = response.json["id"]
        webob.Request.blank(
            f"/v2/images/{image_id}", method="PATCH", content_type=PATCH,
            json=[{"op": "replace", "path": "/locations",
                   "value": [{"url": url.format(id=image_id), "metadata": {}}
                             for url in LOCATIONS]}]).get_response(stub)
    return image_id


def environ_for(path, query="", **values):
    """A GET of ``path``; ``values`` add or replace CGI variables
    (``REMOTE_ADDR``)."""
    return {**{"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
            "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "9292", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False,
            "wsgi.version": (1, 0)}, **values}


def _start_response(status, headers, exc_info=None):
    return None


def request(app, path, query="", **values):
    """One full request: the body is consumed and closed, as a server does;
    ``values`` as ``environ_for`` takes them."""
    def run():
        body = app(environ_for(path, query, **values), _start_response)
        try:
            for _ in body:
                pass
        finally:
            getattr(body, "close", lambda: None)()
    return run


def body_of(app, path, query=""):
    chunks = app(environ_for(path, query), _start_response)
    return b"".join(chunks)


def json_round_trip(body):
    def run():
        json.dumps(json.loads(body))
    return run


def median_seconds(function, repeat, number):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    stub = StubImageAPI(data_dir=tempfile.mkdtemp(),
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    image_id = seed(stub, 1000)
    filtered = LocationStrategyFilter(stub, {
        "location_strategy": "store_type",
        "store_type_preference": "http, swift, file"})
    cases = [
        ("show, 3 locations", f"/v2/images/{image_id}", "", 2000, 2.0),
        ("list, 1000 images", "/v2/images", "limit=1000", 5, 1.5),
    ]
    print(f"{'request':<22}{'stub':>12}{'filter':>12}{'added':>12}"
          f"{'bare json':>12}{'added/json':>12}{'target':>9}")
    for name, path, query, number, target in cases:
        alone = median_seconds(request(stub, path, query), args.repeat, number)
        through = median_seconds(request(filtered, path, query), args.repeat,
                                 number)
        bare = median_seconds(json_round_trip(body_of(stub, path, query)),
                              args.repeat, number)
        added = through - alone
        ratio = added / bare
        print(f"{name:<22}{alone * 1e6:>10.1f}us{through * 1e6:>10.1f}us"
              f"{added * 1e6:>10.1f}us{bare * 1e6:>10.1f}us{ratio:>11.2f}x"
              f"{'<= ' + str(target) + 'x':>9}"
              f"{'' if ratio <= target else '  MISSED'}")
    path = "/versions"
    alone = median_seconds(request(stub, path), args.repeat, 5000)
    through = median_seconds(request(filtered, path), args.repeat, 5000)
    added = through - alone
    print(f"{'pass-through':<22}{alone * 1e6:>10.1f}us{through * 1e6:>10.1f}us"
          f"{added * 1e6:>10.2f}us{'':>12}{'':>12}{'<= 2us':>9}"
          f"{'' if added <= 2e-6 else '  MISSED'}")


if __name__ == "__main__":
    main()
