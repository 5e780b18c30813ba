"""Every error regqa raises on purpose derives from RegQAError, so callers can catch one type."""


class RegQAError(Exception):
    """Base class for errors with a message meant for the user."""


class CorpusError(RegQAError):
    """The corpus folder is missing or malformed; the message lists each problem with file:line."""


class IndexStaleError(RegQAError):
    """The saved index was built from another corpus, model or version."""


class IndexCorruptError(RegQAError):
    """A saved index file cannot be read."""


class InputError(RegQAError, ValueError):
    """A question, k or filter the caller passed is unusable."""
