"""Checks on what callers pass in (the Python API, the CLI and the app all go through these).

Every check is bounded by the limit, not by the input: a question is cut to a few times
MAX_QUESTION_CHARS *before* any normalisation, so a 10 MB question costs no more than a 10 kB
one; a history keeps its last MAX_HISTORY_TURNS turns; filters must be a name or a list of
names. Anything unusable raises InputError saying what to send instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from .errors import InputError

MAX_QUESTION_CHARS = 2000  # longer input is cut (the UI says so); real questions are far shorter
# Raw characters looked at: NFKC may shrink text (and dropped control characters and collapsed
# spaces shrink it more), so take a margin, but never the whole input.
MAX_RAW_CHARS = 4 * MAX_QUESTION_CHARS
MAX_HISTORY_TURNS = 20  # only the last user turn is read; a few more keep the context
MAX_FILTER_NAMES = 100


def clean_question(question: object) -> str:
    """Normalise a question or raise InputError saying what to do.

    The raw text is cut to MAX_RAW_CHARS first; then lone surrogates (invalid Unicode) are
    rejected, the text is NFKC-normalised, control characters (except newlines and tabs) are
    dropped, runs of white space become one space, and the result is cut to
    MAX_QUESTION_CHARS.
    """
    if not isinstance(question, str):
        raise InputError(f"the question must be text, not {type(question).__name__}")
    question = _clean(question, "the question")
    if not question:
        raise InputError("the question is empty: type a question about the regulations, "
                         "e.g. 'Must AI-generated images be labelled?'")
    return question


def clean_turn(text: str) -> str:
    """An earlier user turn, normalised like a question (empty if nothing is left); invalid
    Unicode raises InputError, as in the question itself."""
    return _clean(text, "a turn of the history")


def _clean(text: str, what: str) -> str:
    text = text[:MAX_RAW_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} contains invalid Unicode (a lone surrogate); "
                         "send it as valid UTF-8 text") from exc
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise InputError(f"k must be a whole number, got {_short(k)}")
    if k <= 0:
        raise InputError(f"k must be at least 1, got {k}")
    return k


def check_names(value: object, what: str) -> list[str] | None:
    """None, one name, or a list/tuple/set of names -> a list of names (InputError otherwise:
    a number, a dict or bytes is not a list of names)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) or not isinstance(value, list | tuple | set | frozenset):
        raise InputError(f"{what} must be a name or a list of names, not "
                         f"{type(value).__name__}")
    if len(value) > MAX_FILTER_NAMES:
        raise InputError(f"{what}: at most {MAX_FILTER_NAMES} names, got {len(value)}")
    names = list(value)
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise InputError(f"{what} must be names (text), got {_short(wrong[0])}")
    return names


def clean_history(history: object) -> list | None:
    """The last MAX_HISTORY_TURNS turns of a chat history (a list or tuple of turns; a string,
    a dict or a number is not a history). Turns are kept as they are: readers skip turns they
    do not understand."""
    if history is None:
        return None
    if isinstance(history, str | bytes | dict) or not isinstance(history, Sequence):
        raise InputError("history must be a list of turns ({'role': 'user', 'content': …} "
                         f"or (user, assistant) pairs), not {type(history).__name__}")
    kept = list(history[-MAX_HISTORY_TURNS:])
    for turn in kept:
        # a turn of no known form was skipped, so a follow-up silently lost its subject
        # (regression, bug hunt: history=["Do generative AI services need filing?", "yes"])
        message = isinstance(turn, dict) or getattr(turn, "role", None) is not None
        pair = isinstance(turn, list | tuple) and bool(turn) and isinstance(turn[0], str)
        if not (message or pair):
            raise bad_turn(turn)
    return kept


def bad_turn(turn: object) -> InputError:
    """The error for a history turn of no accepted form (the Python API's and the web API's)."""
    return InputError("each history turn must be {'role': 'user', 'content': …} or a "
                      f"(user, assistant) pair, not {type(turn).__name__} {_short(turn)}")


def check_choices(names: list[str] | None, choices: Sequence[str], what: str) -> None:
    """InputError listing the valid choices when any of `names` is not one ("unknown
    regulation id(s) ['bogus']; choose from …")."""
    unknown = [name for name in names or () if name not in choices]
    if unknown:
        raise InputError(f"unknown {what} {unknown}; choose from {', '.join(choices)}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


__all__ = ["MAX_HISTORY_TURNS", "MAX_QUESTION_CHARS", "MAX_RAW_CHARS", "bad_turn", "check_choices",
           "check_k", "check_names", "clean_history", "clean_question", "clean_turn"]
