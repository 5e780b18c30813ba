"""regqa: answers questions about regulations and cites the exact article it rests on.

Names are imported on first use, so that `import regqa.ui` serves the web page before the
engine (llama-index, sentence-transformers, FAISS) has finished importing."""

from importlib import import_module

from .errors import CorpusError, IndexCorruptError, IndexStaleError, InputError, RegQAError
from .version import __version__

_LAZY = {"Answer": "answer", "Citation": "answer", "RegQA": "api", "load": "api",
         "Decision": "decision", "Query": "query", "Hit": "retrieval"}

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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'regqa' has no attribute {name!r}")
