"""regqa: answers questions about regulations and cites the exact article it rests on."""

from .answer import Answer, Citation
from .api import RegQA, load
from .decision import Decision
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexStaleError,
    InputError,
    RegQAError,
)
from .query import Query
from .retrieval import Hit
from .version import __version__

__all__ = [
    "Answer",
    "Citation",
    "CorpusError",
    "Decision",
    "Hit",
    "IndexCorruptError",
    "IndexStaleError",
    "InputError",
    "Query",
    "RegQA",
    "RegQAError",
    "__version__",
    "load",
]
