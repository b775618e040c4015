"""Keeping credentials inside location URLs out of logs."""


def redact_url(url):
    """``url`` with any userinfo and query string replaced by ``***``.

    The userinfo ends at the *last* ``@``: a secret may itself contain ``/``
    or ``@``, so the first ``/`` cannot be trusted to end the authority. A
    query string may carry a signature (S3 pre-signed or Swift temporary
    URLs), so it is never shown either.
    """
    if not isinstance(url, str):
        return repr(url)
    url, query, _ = url.partition("?")
    if query:
        url += "?***"
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
