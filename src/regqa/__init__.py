"""regqa: answers questions about regulations and cites the exact article it rests on."""

__version__ = "0.1.0"

from .answer import Answer
from .api import RegQA, load
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexStaleError,
    InputError,
    RegQAError,
)
from .retrieval import Hit

__all__ = [
    "Answer",
    "Citation",
    "CorpusError",
    "Hit",
    "IndexCorruptError",
    "IndexStaleError",
    "InputError",
    "RegQA",
    "RegQAError",
    "__version__",
    "load",
]
