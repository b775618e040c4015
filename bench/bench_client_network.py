"""Time client_network against store_id, and 1 network against 1000.

Through the filter in front of the stub image API (1000 images, 3 locations
each, in stores central, edge1 and edge2, in that order): an image show and
a 1000-image list, every request from ``REMOTE_ADDR`` 10.1.244.7, under

- ``store_id``: ``store_id_preference = edge1, edge2, central``;
- ``client_network, 1000``: 1000 networks, 10.0.0.0/8, 4 /16s, 8 /20s,
  971 distinct /24s and 16 /28s inside other /24s; the client's network is
  10.1.244.0/24, the 501st entry, mapped to ``edge1 edge2 central`` (so the
  lookup tries the /28s before it finds the /24), and the default
  preference is ``central``;
- ``client_network, 1``: only 10.1.244.0/24, the same preference.

All three order every image alike (checked before timing). Targets: the
client_network time over the store_id time is at most 1.2x for the show and
for the list; the 1000-network time over the 1-network time shows whether
the cost grows with the networks (a prefix lookup: it should not). Cases are
interleaved over the rounds so that a slow moment of the machine costs every
case alike; the table gives medians.

    python bench/bench_client_network.py [--rounds N] [--show-number N]
                                         [--list-number N]
"""

import argparse
import json
import statistics
import tempfile
import time

from loc_strategy_filter.middleware import LocationStrategyFilter
from loc_strategy_filter_stub import StubImageAPI

from bench_filter import environ_for
from bench_filter import request

IMAGES = 1000
STORES = ("central", "edge1", "edge2")
CLIENT = "10.1.244.7"
CLIENT_NETWORK = "10.1.244.0/24"
PREFERENCE = ("edge1", "edge2", "central")
TARGET = 1.2
STORE_ID = {"location_strategy": "store_id",
            "store_id_preference": ", ".join(PREFERENCE)}


def seeded_stub(count):
    """``count`` images with a location in each of ``STORES``; the last
    one's id.
    """
    stub = StubImageAPI(data_dir=tempfile.mkdtemp(),
                        show_multiple_locations=True,
                        show_image_direct_url=True)
    for index in range(count):
        image_id = stub.create_image(
            name=f"image-{index}", disk_format="raw",
            container_format="bare")["id"]
        for store in STORES:
            stub.add_location(image_id,
                              f"http://{store}.example.com/images/{image_id}",
                              {"store": store})
    return stub, image_id


def networks(count):
    """``count`` ``network_preferences`` entries, nested prefixes among
    them, ``CLIENT_NETWORK`` the 501st (of 1000) with ``PREFERENCE``; for
    one, ``CLIENT_NETWORK`` alone.
    """
    if count == 1:
        return f"{CLIENT_NETWORK}: {' '.join(PREFERENCE)}"
    nested = ["10.0.0.0/8: central"]
    nested += [f"10.{second}.0.0/16: edge2 central" for second in range(4)]
    nested += [f"10.2.{third}.0/20: edge2 central"
               for third in range(0, 128, 16)]
    # /28s inside /24s that are listed too, but not inside the client's.
    nested += [f"10.3.{third}.16/28: edge2" for third in range(16)]
    slash24s = count - len(nested)
    entries = []
    for index in range(slash24s):
        network = f"10.{index // 256}.{index % 256}.0/24"
        if network == CLIENT_NETWORK:
            entries.append(f"{network}: {' '.join(PREFERENCE)}")
        else:
            entries.append(f"{network}: edge2 central")
    entries[600:600] = nested
    assert len(entries) == count, len(entries)
    assert any(entry.startswith(CLIENT_NETWORK) for entry in entries)
    return ";\n".join(entries)


def client_network(count):
    return {"location_strategy": "client_network",
            "network_preferences": networks(count),
            "default_preference": "central",
            "prefer_by": "store_id"}


def _start_response(status, headers, exc_info=None):
    return None


def stores_in_order(app, path, query=""):
    """The stores of each image's locations, in the order the app shows."""
    body = json.loads(b"".join(app(
        environ_for(path, query, REMOTE_ADDR=CLIENT), _start_response)))
    images = body.get("images", [body])
    return [[location["metadata"]["store"] for location in image["locations"]]
            for image in images]


def check_alike(filters, path, query=""):
    """Every filter shows every image's locations in ``PREFERENCE``."""
    expected = None
    for name, app in filters.items():
        order = stores_in_order(app, path, query)
        assert all(stores == list(PREFERENCE) for stores in order), (
            name, order[:3])
        assert expected is None or order == expected, name
        expected = order


def timed(function, number):
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--show-number", type=int, default=300,
                        help="image shows per case and round")
    parser.add_argument("--list-number", type=int, default=5,
                        help="image lists per case and round")
    args = parser.parse_args()

    stub, image_id = seeded_stub(IMAGES)
    filters = {"store_id": LocationStrategyFilter(stub, STORE_ID),
               "client_network, 1000": LocationStrategyFilter(
                   stub, client_network(1000)),
               "client_network, 1": LocationStrategyFilter(
                   stub, client_network(1))}
    show = (f"/v2/images/{image_id}", "")
    listing = ("/v2/images", f"limit={IMAGES}")
    check_alike(filters, *show)
    check_alike(filters, *listing)
    cases = {}
    for name, app in filters.items():
        cases[("show", name)] = (request(app, *show, REMOTE_ADDR=CLIENT),
                                 args.show_number)
        cases[("list", name)] = (request(app, *listing, REMOTE_ADDR=CLIENT),
                                 args.list_number)
    samples = {case: [] for case in cases}
    for _ in range(args.rounds):
        for case, (run, number) in cases.items():
            samples[case].append(timed(run, number))
    report({case: statistics.median(times)
            for case, times in samples.items()}, args)


def report(medians, args):
    print(f"through the filter, stub image API, client {CLIENT}; "
          f"{args.rounds} rounds x {args.show_number} shows / "
          f"{args.list_number} lists, medians")
    print(f"{'request':<26}{'store_id':>12}{'cn, 1 net':>12}"
          f"{'cn, 1000':>12}{'1000/store_id':>15}{'target':>9}"
          f"{'':>8}{'1000/1 net':>12}")
    for request_name, label, unit, scale in (
            ("show", "show, 3 locations", "us", 1e6),
            ("list", f"list, {IMAGES} images x 3", "ms", 1e3)):
        store_id = medians[(request_name, "store_id")]
        one = medians[(request_name, "client_network, 1")]
        thousand = medians[(request_name, "client_network, 1000")]
        ratio = thousand / store_id
        verdict = "MET" if ratio <= TARGET else "MISSED"
        print(f"{label:<26}{store_id * scale:>10.2f}{unit}"
              f"{one * scale:>10.2f}{unit}{thousand * scale:>10.2f}{unit}"
              f"{ratio:>14.2f}x{'<= ' + str(TARGET) + 'x':>9}{verdict:>8}"
              f"{thousand / one:>11.2f}x")


if __name__ == "__main__":
    main()
