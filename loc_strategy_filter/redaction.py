"""Keeping credentials inside location URLs out of logs."""


def redact_url(url):
    """``url`` with any userinfo replaced by ``***``.

    The userinfo ends at the *last* ``@``: a secret may itself contain ``/``
    or ``@``, so the first ``/`` cannot be trusted to end the authority.
    """
    if not isinstance(url, str):
        return repr(url)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
