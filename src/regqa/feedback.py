"""👍/👎 feedback from the chat, appended to a local JSONL file (one object per line)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

_LOCK = threading.Lock()  # two sessions voting at once must not interleave partial lines


def feedback_path() -> Path:
    return Path(os.environ.get("REGQA_FEEDBACK", "feedback/feedback.jsonl"))


def record_feedback(rating: str, answer: dict, wrong_citation: bool = False, comment: str = "",
                    path: Path | None = None) -> Path:
    if rating not in ("up", "down"):
        raise ValueError(f"rating must be 'up' or 'down', got {rating!r}")
    path = path or feedback_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rating": rating,
             "wrong_citation": bool(wrong_citation), "comment": comment[:2000],
             "question": answer.get("question"), "status": answer.get("status"),
             "citations": [c["label"] for c in answer.get("citations", [])]}
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
    return path
