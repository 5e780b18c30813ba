"""👍/👎 feedback from the chat, appended to a local JSONL file (one object per line).

Where: `REGQA_FEEDBACK` (a relative path is taken from the project root, never from the working
directory), else `<project root>/feedback/feedback.jsonl` (the project root is the checkout, or
`REGQA_HOME`).

Bounded: every field is cut to a fixed length (the comment to 1,000 characters); the file is
rotated when it would pass `REGQA_FEEDBACK_MAX_BYTES` (default 5 MB): feedback.jsonl becomes
feedback.jsonl.1, .1 becomes .2, and so on; the oldest beyond `ROTATE_KEEP` (3) is deleted. The
feedback on disk therefore never exceeds (1 + 3) × 5 MB = 20 MB. Each answer takes one vote.

Safe under concurrency: each entry is one `write` of a whole line to a file opened for append,
made under a thread lock and an exclusive `flock` on a lock file (so several app processes
sharing the folder do not interleave lines or rotate under each other).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

MAX_BYTES = 5_000_000
ROTATE_KEEP = 3
MAX_COMMENT = 1000
MAX_QUESTION = 4000
MAX_TEXT = 20_000
MAX_CITATIONS = 20
MAX_QUOTE = 2000
RATINGS = ("up", "down")

_LOCK = threading.Lock()
_VOTED: OrderedDict[str, None] = OrderedDict()  # answer ids already voted on (bounded)
_VOTED_MAX = 100_000


class AlreadyVoted(ValueError):
    """The answer already has a vote."""


def _root() -> Path:
    if os.environ.get("REGQA_HOME"):
        return Path(os.environ["REGQA_HOME"])
    return Path(__file__).resolve().parents[2]


def feedback_path() -> Path:
    configured = os.environ.get("REGQA_FEEDBACK")
    path = Path(configured) if configured else Path("feedback") / "feedback.jsonl"
    return path if path.is_absolute() else _root() / path


def max_bytes() -> int:
    try:
        return max(1000, int(os.environ.get("REGQA_FEEDBACK_MAX_BYTES", MAX_BYTES)))
    except ValueError:
        return MAX_BYTES


def clean(value: object, limit: int) -> str:
    """Text safe to store: a string, valid UTF-8 (a lone surrogate becomes '?'), cut to limit."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def _entry(rating: str, answer: dict, wrong_citation, comment: str, version: str) -> dict:
    citations = []
    for citation in list(answer.get("citations") or [])[:MAX_CITATIONS]:
        if not isinstance(citation, dict):
            continue
        citations.append({
            "number": citation.get("number") if isinstance(citation.get("number"), int) else None,
            "label": clean(citation.get("label"), 300),
            "source_id": clean(citation.get("source_id"), 300),
            "quotes": [clean(q, MAX_QUOTE) for q in list(citation.get("quotes") or [])[:5]],
        })
    wrong = None
    if isinstance(wrong_citation, dict):
        wrong = {"number": wrong_citation.get("number"),
                 "label": clean(wrong_citation.get("label"), 300)}
    elif wrong_citation:  # older callers passed a bare flag
        wrong = {"number": None, "label": ""}
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rating": rating,
        "answer_id": clean(answer.get("answer_id"), 64),
        "question": clean(answer.get("question"), MAX_QUESTION),
        "answer": clean(answer.get("text"), MAX_TEXT),
        "status": clean(answer.get("status"), 40),
        "citations": citations, "wrong_citation": wrong,
        "comment": clean(comment, MAX_COMMENT),
        "lang": clean(answer.get("lang"), 8) or None,
        "version": clean(version, 40),
    }


def _rotate(path: Path) -> None:
    path.with_name(f"{path.name}.{ROTATE_KEEP}").unlink(missing_ok=True)
    for n in range(ROTATE_KEEP - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.rename(path.with_name(f"{path.name}.{n + 1}"))
    if path.exists():
        path.rename(path.with_name(f"{path.name}.1"))


def record_feedback(rating: str, answer: dict, wrong_citation=None, comment: str = "",
                    path: Path | None = None, version: str | None = None) -> Path:
    """Append one vote. `answer` is the chat's record of the answer (question, text, status,
    citations, answer_id); `wrong_citation` is {number, label} of the citation flagged wrong.
    Raises AlreadyVoted when this answer_id was voted on before (one vote per answer)."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be 'up' or 'down', got {rating!r}")
    if version is None:
        from .version import __version__ as version
    path = path or feedback_path()
    entry = _entry(rating, answer, wrong_citation, comment, version)
    data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    answer_id = entry["answer_id"]
    with _LOCK:
        if answer_id and answer_id in _VOTED:
            raise AlreadyVoted(f"answer {answer_id} already has a vote")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                size = path.stat().st_size if path.exists() else 0
                if size and size + len(data) > max_bytes():
                    _rotate(path)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if answer_id:
            _VOTED[answer_id] = None
            while len(_VOTED) > _VOTED_MAX:
                _VOTED.popitem(last=False)
    return path
