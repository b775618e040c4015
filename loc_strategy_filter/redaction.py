"""Keeping credentials inside location URLs out of logs."""


def redact_url(url):
    """``url`` with any userinfo and query string replaced by ``***``.

    The userinfo ends at the *last* ``@``: a secret may itself contain ``/``,
    ``?`` or ``@``, so neither can be trusted to end the authority (an ``@``
    in the path or query redacts more than needed, never less). A
    query string may carry a signature (S3 pre-signed or Swift temporary
    URLs), so it is never shown either.
    """
    if not isinstance(url, str):
        return repr(url)
    scheme, sep, rest = url.partition("://")
    head, rest = (f"{scheme}://", rest) if sep else ("", url)
    if sep and "@" in rest:  # before the query: a secret may contain "?"
        head, rest = f"{head}***@", rest.rpartition("@")[2]
    rest, query, _ = rest.partition("?")
    return f"{head}{rest}?***" if query else f"{head}{rest}"
