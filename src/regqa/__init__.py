"""regqa: answers questions about regulations and cites the exact article it rests on."""

__version__ = "0.1.0"

from .answer import Answer  # noqa: E402
from .api import RegQA, load  # noqa: E402
from .errors import (  # noqa: E402
    CorpusError,
    IndexCorruptError,
    IndexStaleError,
    InputError,
    RegQAError,
)
from .retrieval import Hit  # noqa: E402

__all__ = [
    "Answer",
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
