"""Put first on a glance-api's ``PYTHONPATH``: orjson is then not
importable there, and the filter rewrites JSON with the standard library,
as it does where the ``fast-json`` extra is not installed.
"""

raise ImportError("orjson is hidden from this glance-api")
