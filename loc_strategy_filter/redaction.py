"""Keeping credentials inside location URLs out of logs.

Two layers. Our own messages name a URL only through ``redact_url``, and
quote no piece of one (a netloc, a port) that might hold a secret. And
every record of the loggers ``redact_logs_of`` names, ours and the
libraries' we call (urllib3 logs request lines and whole URLs), passes
through ``RedactingFilter``, which redacts whatever looks like userinfo or
a query string in the formatted message and traceback; the filter's
start-up (``settings.from_config``, and the filter's constructor for ready
``Settings``) and ``stores.load_readers`` put it on the
``FILTERED_LOGGERS``.
The second layer cannot see a secret that no longer looks like one (half a
netloc), which is why the first exists.
"""

import logging
import re

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_WORD = re.compile(r"\S+")
# What may surround an already redacted piece: "(http://***@h/x?***)".
_OPENING = "([{<'\""
_CLOSING = ")]}>'\",;:."
_REDACTED = "***"
# An Authorization header quoted in a message ("Authorization: Basic ..."),
# as a peer may echo the request back.
_AUTHORIZATION = re.compile(
    r"((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
    r"(?:[A-Za-z][A-Za-z0-9-]* +)?[^\s'\",|]+", re.IGNORECASE)


def redact_url(url):
    """``url`` with any userinfo and query string replaced by ``***``.

    The userinfo ends at the *last* ``@``: a secret may itself contain ``/``,
    ``?`` or ``@``, so neither can be trusted to end the authority (an ``@``
    in the path or query redacts more than needed, never less). A
    query string may carry a signature (S3 pre-signed or Swift temporary
    URLs), so it is never shown either. When a ``?`` comes before that
    ``@``, the ``@`` may be the query's and what follows it the signature's
    end, so nothing after the scheme is shown.
    """
    if not isinstance(url, str):
        return repr(url)
    scheme, sep, rest = url.partition("://")
    head, rest = (f"{scheme}://", rest) if sep else ("", url)
    if sep and "@" in rest:  # before the query: a secret may contain "?"
        userinfo, _, rest = rest.rpartition("@")
        if "?" in userinfo:
            return f"{head}***"
        head = f"{head}***@"
    rest, query, _ = rest.partition("?")
    return f"{head}{rest}?***" if query else f"{head}{rest}"


def redact_text(text):
    """``text`` with everything in it that looks like userinfo or a query
    string redacted, word by word (a word ends at white space).

    In a word, everything up to its last ``@`` is userinfo, and everything
    after a ``?`` that follows something is a query (``?prefer=x`` alone is
    left); a ``?`` before that ``@`` hides the whole word. The value of a
    quoted ``Authorization`` header is redacted too. It redacts more than
    ``redact_url`` would, never less, and is idempotent: what it or
    ``redact_url`` wrote stays as it is.
    """
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTHORIZATION.sub(rf"\g<1>{_REDACTED}", text)
    if "@" not in text and "?" not in text:
        return text
    return _WORD.sub(lambda match: _redact_word(match[0]), text)


def _redact_word(word):
    scheme = _SCHEME.search(word)
    if scheme:
        head = _redact_word(word[:scheme.start()]) + scheme[0]
        rest = word[scheme.end():]
    else:
        head, rest = "", word
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        if "?" in userinfo:  # the "@" may be the query's: see redact_url
            return f"{head}{_REDACTED}"
        kept = userinfo.lstrip(_OPENING) == _REDACTED
        head += (userinfo if kept else _REDACTED) + "@"
    before, mark, query = rest.partition("?")
    if query and (before or head):
        kept = query.rstrip(_CLOSING) == _REDACTED
        rest = f"{before}?{query if kept else _REDACTED}"
    return head + rest


class RedactingFilter(logging.Filter):
    """Redacts userinfo and query strings in every record it sees.

    The message is formatted here and its arguments dropped, so a handler
    can no longer format them unredacted; a traceback that needed
    redaction is kept only as redacted text (``exc_text``).
    """

    _formatter = logging.Formatter()

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # logging would print msg and args as they are
            message = f"{record.msg} {record.args!r}"
        redacted = redact_text(str(message))
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(
                record.exc_info)
        if record.exc_text:
            redacted = redact_text(record.exc_text)
            if redacted != record.exc_text:
                record.exc_text, record.exc_info = redacted, None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_FILTER = RedactingFilter()
# Ours, and the libraries' that see location URLs: urllib3 logs request
# lines; keystoneauth logs requests and response bodies (the location API's
# holds every location URL of an image).
FILTERED_LOGGERS = ("loc_strategy_filter", "urllib3", "keystoneauth")
# Loggers those libraries create only on their first request, which may
# come after start-up: made now, so that they have the filter from the
# first record on.
_LATE_LOGGERS = ("keystoneauth.session", "keystoneauth.session.request",
                 "keystoneauth.session.response", "keystoneauth.session.body",
                 "keystoneauth.session.request-id", "keystoneauth.discover",
                 "urllib3.connectionpool")


def redact_logs_of(*names):
    """Put ``RedactingFilter`` on the loggers ``names`` and on every logger
    below them that exists now or that their libraries make on a first
    request; idempotent.

    A logger's filters see only the records logged to it, not those that
    propagate from its children, so each module's logger gets its own:
    call this once the modules that log are imported.
    """
    for name in names:
        logging.getLogger(name).addFilter(_FILTER)
    prefixes = tuple(f"{name}." for name in names)
    for name in _LATE_LOGGERS:
        if name.startswith(prefixes):
            logging.getLogger(name)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(prefixes):
            logger.addFilter(_FILTER)
