"""The exceptions a consumer of the package may catch: one family.

``LocationStrategyError`` is the root, so ``except
errors.LocationStrategyError`` catches whatever the library, the filter's
start-up or the commands raise of their own. Under it:

- ``ConfigurationError``: configuration nothing can start with (an option,
  its value and what is allowed are named). It is a ``ValueError`` too.
- ``DownloadFailed``: an image could not be read whole and verified, and
  its kinds: ``NoImageData``, ``NoReadableLocation``, ``VerificationFailed``,
  ``LocationsExhausted``.
"""


class LocationStrategyError(Exception):
    """The root of every exception this package raises of its own."""


class ConfigurationError(LocationStrategyError, ValueError):
    """Configuration the filter or a client cannot start with."""


class DownloadFailed(LocationStrategyError):
    """An image could not be read whole and verified."""


class NoImageData(DownloadFailed):
    """The image has no bytes to read: not ``active``, or no size."""


class NoReadableLocation(DownloadFailed):
    """No location could be opened; nothing has been read yet."""


class VerificationFailed(DownloadFailed):
    """The bytes read are not the image's (size or checksum): whatever was
    read must not be used.
    """


class LocationsExhausted(DownloadFailed):
    """Every location left failed part way through the image."""
