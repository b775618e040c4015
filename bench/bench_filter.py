"""Time the filter against the stub image API and a bare JSON round trip.

Prints two tables from one run.

1. Issue 3: the median per-request time of an image show (3 locations), an
   image list (1000 images x 3 locations) and a pass-through request, for
   the stub alone, through the filter, and a bare ``json.loads`` +
   ``json.dumps`` of the same body. Targets: the time the filter adds is at
   most 2x the bare round trip for a show and 1.5x for a list; a
   pass-through request gains at most 2 microseconds.
2. Issue 13: the time the filter adds to an image show and a 200-image list
   (two locations each, the file first, ``store_type`` preferring http),
   with orjson and with the standard library's json (orjson switched off in
   process, as the tests do), rounds interleaved, medians of the time
   added, and that time against ``--glance-show-ms`` / ``--glance-list-ms``
   (what real Glance takes, from ``bench/bench_glance_load.py``; targets
   < 1 % and < 2 %).

    python bench/bench_filter.py [--repeat N] [--rounds N]
        [--glance-show-ms MS] [--glance-list-ms MS]
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

try:
    from loc_strategy_filter import json_codec
except ImportError:  # a tree from before the orjson backend
    json_codec = None

LOCATIONS = ["file:///srv/images/{id}", "swift+https://swift/v1/c/{id}",
             "http://mirror.example.com/images/{id}"]
# As bench_glance_load's images: the upload's file, then an http mirror.
TWO_LOCATIONS = ["file:///var/lib/glance/images/{id}",
                 "http://mirror.example.com/images/{id}"]
PATCH = "application/openstack-images-v2.1-json-patch"


def seed(stub, count, urls=LOCATIONS):
    """``count`` images with a location for each of ``urls``; the last
    one's id.
    """
    for index in range(count):
        response = webob.Request.blank("/v2/images", method="POST", json={
            "name": f"image-{index}", "disk_format": "raw",
            "container_format": "bare"}).get_response(stub)
        image_id = response.json["id"]
        webob.Request.blank(
            f"/v2/images/{image_id}", method="PATCH", content_type=PATCH,
            json=[{"op": "replace", "path": "/locations",
                   "value": [{"url": url.format(id=image_id), "metadata": {}}
                             for url in urls]}]).get_response(stub)
    return image_id


def environ_for(path, query="", **values):
    """A GET of ``path``; ``values`` add or replace CGI variables
    (``REMOTE_ADDR``).
    """
    return {**{"REQUEST_METHOD": "GET", "PATH_INFO": path,
               "QUERY_STRING": query, "SCRIPT_NAME": "",
               "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "9292", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
               "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
               "wsgi.multiprocess": False, "wsgi.run_once": False,
               "wsgi.version": (1, 0)}, **values}


def _start_response(status, headers, exc_info=None):
    return None


def request(app, path, query="", **values):
    """One full request: the body is consumed and closed, as a server does;
    ``values`` as ``environ_for`` takes them.
    """
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


class Backend:
    """The JSON library the filter uses while the block runs: ``orjson``,
    or ``stdlib`` (orjson switched off in process).
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.saved = getattr(json_codec, "orjson", None)
        if json_codec is not None and self.name == "stdlib":
            json_codec.orjson = None

    def __exit__(self, *exc_info):
        if json_codec is not None:
            json_codec.orjson = self.saved


def backends():
    """The backends this tree and environment can run."""
    if json_codec is None:
        return ["stdlib"]  # the tree from before: no choice
    return ["orjson", "stdlib"] if json_codec.available() else ["stdlib"]


def issue_13(args):
    """The time the filter adds to a show and a 200-image list, rounds
    interleaved (stub alone, then the filter with each backend), against
    what real Glance takes.
    """
    stub = StubImageAPI(data_dir=tempfile.mkdtemp(),
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    image_id = seed(stub, 200, TWO_LOCATIONS)
    filtered = LocationStrategyFilter(stub, {
        "location_strategy": "store_type",
        "store_type_preference": "http, file"})
    listed = json.loads(body_of(filtered, "/v2/images", "limit=200"))
    assert len(listed["images"]) == 200
    assert all(image["locations"][0]["url"].startswith("http://")
               for image in listed["images"]), "not in strategy order"
    cases = [("show, 2 locations", f"/v2/images/{image_id}", "", 500,
              args.glance_show_ms, 1.0),
             ("list, 200 images", "/v2/images", "limit=200", 10,
              args.glance_list_ms, 2.0)]
    names = backends()
    samples = {(case[0], variant): [] for case in cases
               for variant in ["stub", *names]}
    for _ in range(args.rounds):
        for name, path, query, number, _, _ in cases:
            samples[name, "stub"].append(
                median_seconds(request(stub, path, query), 1, number))
            for backend in names:
                with Backend(backend):
                    samples[name, backend].append(median_seconds(
                        request(filtered, path, query), 1, number))
    print(f"\nissue 13: {args.rounds} interleaved rounds, medians; "
          f"added = filtered - stub")
    print(f"{'request':<20}{'backend':<9}{'stub':>11}{'filtered':>11}"
          f"{'added':>11}{'of Glance':>11}{'target':>8}")
    for name, _, _, _, glance_ms, target in cases:
        alone = statistics.median(samples[name, "stub"])
        for backend in names:
            added = statistics.median(
                through - stub for through, stub
                in zip(samples[name, backend], samples[name, "stub"]))
            share = added * 1e3 / glance_ms * 100
            through = statistics.median(samples[name, backend])
            print(f"{name:<20}{backend:<9}{alone * 1e6:>9.1f}us"
                  f"{through * 1e6:>9.1f}us{added * 1e6:>9.1f}us"
                  f"{share:>10.2f}%{'< ' + str(target) + '%':>8}"
                  f"{'' if share < target else '  MISSED'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=15,
                        help="interleaved rounds of the issue 13 table")
    parser.add_argument("--glance-show-ms", type=float, default=8.0,
                        help="real Glance's image show, for the issue 13 "
                             "table (bench/bench_glance_load.py)")
    parser.add_argument("--glance-list-ms", type=float, default=80.0,
                        help="real Glance's 200-image list")
    parser.add_argument("--only-issue-13", action="store_true")
    args = parser.parse_args()
    issue_13(args)
    if args.only_issue_13:
        return

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
