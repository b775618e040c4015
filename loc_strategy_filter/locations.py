"""The vocabulary of image locations: what a location URL and its metadata
say, and which locations an image shows.

Pure functions over Glance-shaped locations (dicts with ``url`` and
``metadata``), with no server, file or network behind them, shared by the
strategies, the filter, the downloads and the client, so that all of them
read a location alike.
"""

from loc_strategy_filter.redaction import redact_url

# URL schemes of each store type, as glance_store's drivers register them.
STORE_TYPE_SCHEMES = {
    "file": ("file", "filesystem"),
    "http": ("http", "https"),
    "rbd": ("rbd",),
    "swift": ("swift", "swift+http", "swift+https", "swift+config"),
    "s3": ("s3", "s3+http", "s3+https"),
    "cinder": ("cinder",),
    "vmware": ("vsphere",),
}
# Historic Glance names for the same store types.
STORE_TYPE_ALIASES = {"filesystem": "file", "vmware_datastore": "vmware"}

_TYPE_OF_SCHEME = {scheme: store_type
                   for store_type, schemes in STORE_TYPE_SCHEMES.items()
                   for scheme in schemes}
#: Every name ``store_type_named`` knows, for messages.
STORE_TYPE_NAMES = tuple(sorted([*STORE_TYPE_SCHEMES, *STORE_TYPE_ALIASES]))


def url_of(location):
    """A location's URL, or None when it has none that is a string."""
    url = location.get("url") if isinstance(location, dict) else None
    return url if isinstance(url, str) else None


def scheme_of(url):
    """The lower-case URL scheme of ``url``, or None when it has none."""
    if not isinstance(url, str):
        return None
    scheme, sep, _ = url.partition(":")
    return scheme.strip().lower() if sep else None


def scheme_of_location(location):
    """``scheme_of(url_of(location))`` in one call: strategies rank every
    location of every answer by it.
    """
    if not isinstance(location, dict):
        return None
    return scheme_of(location.get("url"))


def store_type_of(url):
    """The store type a location URL belongs to, or None if unknown."""
    return _TYPE_OF_SCHEME.get(scheme_of(url))


def store_type_named(name):
    """The store type ``name`` (any case, an alias allowed) names, or None
    when it names none.
    """
    name = name.casefold()
    store_type = STORE_TYPE_ALIASES.get(name, name)
    return store_type if store_type in STORE_TYPE_SCHEMES else None


def store_of(location):
    """The store a location names in ``metadata["store"]``, trimmed but in
    its own case (as Glance's ``?prefer=`` wants it), or None.
    """
    metadata = (location.get("metadata")
                if isinstance(location, dict) else None)
    store = metadata.get("store") if isinstance(metadata, dict) else None
    return store.strip() or None if isinstance(store, str) else None


def store_id_of(location):
    """The store identifier a location names, casefolded, or None."""
    store = store_of(location)
    return store.casefold() if store else None


def shown_locations(image):
    """The locations an image record shows, in its order: its
    ``locations`` or, when it shows none, its ``direct_url`` as the only
    one. Entries without a string URL are left out.
    """
    locations = image.get("locations") if isinstance(image, dict) else None
    if locations is None and isinstance(image, dict):
        direct_url = image.get("direct_url")
        if isinstance(direct_url, str):
            locations = [{"url": direct_url, "metadata": {}}]
    if not isinstance(locations, list):
        return []
    return [location for location in locations if url_of(location)]


def describe(index, location):
    """``location`` for a log or a message, its URL redacted:
    ``location 0 (http store 'edge1', http://***@host/x)``.
    """
    url = url_of(location)
    store = store_of(location)
    kind = f"{store_type_of(url) or 'unknown'} store"
    return (f"location {index} ({kind}{f' {store!r}' if store else ''}, "
            f"{redact_url(url)})")


def ordered_stores(stores, locations):
    """Glance's ``stores`` value of an image (store ids joined by commas, in
    the order of its locations) in the order of ``locations``, or ``stores``
    itself when it is not a string of non-empty ids.

    Glance joins each location's ``metadata["store"]`` in turn, repeats
    included; so does this, but it takes only ids that ``stores`` lists, as
    many times as it lists them, and puts the listed ids no location names
    last, in their order: it never adds or drops an id.
    """
    if not isinstance(stores, str) or not stores:
        return stores
    listed = stores.split(",")
    if "" in listed:
        return stores
    left = dict.fromkeys(listed, 0)
    for store in listed:
        left[store] += 1
    ordered = []
    for location in locations:
        store = _raw_store(location)
        if left.get(store):
            left[store] -= 1
            ordered.append(store)
    # The ids left over: the last listings of each, in their order.
    skipped = {store: listed.count(store) - count
               for store, count in left.items()}
    for store in listed:
        if skipped[store]:
            skipped[store] -= 1
        else:
            ordered.append(store)
    return ",".join(ordered)


def _raw_store(location):
    """``metadata["store"]`` as Glance joins it into ``stores`` (untrimmed),
    or None when it is no string.
    """
    metadata = location.get("metadata") if isinstance(location, dict) else None
    store = metadata.get("store") if isinstance(metadata, dict) else None
    return store if isinstance(store, str) else None
