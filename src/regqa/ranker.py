"""Stage 4c: a small learned ranker that fuses the retrievers' evidence for one candidate.

Instead of hand-set fusion weights and priors, each candidate source gets a feature vector
(its reciprocal rank in every retriever, whether its regulation is the one the
question is about, whether it holds the asked intent, whether it is commentary …) and a
logistic model, trained on our development questions (`regqa eval --fit-ranker`), scores it.
The weights are stored beside the index they were fitted with (`index/ranker.json`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "ranker.json"
RETRIEVERS = ("dense", "bm25", "e5", "bm25_zh")
# Each kept because removing it (or its group: the Query's signals, from "topic" on) lost
# on the held-out questions in a paired test (eval/analysis.md). Raw retriever scores and
# retriever agreement were tried and did not win: deleted.
FEATURES = (
    *(f"rr_{r}" for r in RETRIEVERS),  # 1 / (1 + rank), 0 when not retrieved
    "topic", "off_topic", "intent_key", "reference",
    "commentary", "commentary_wanted", "dates_unasked", "purpose_unasked", "zh",
)


@dataclass(frozen=True)
class Ranker:
    weights: tuple[float, ...]
    bias: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Logit of relevance for each row of `features` (n x len(FEATURES))."""
        return features @ np.asarray(self.weights) + self.bias

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias}


def features_for(candidates: list[str], rankings: dict[str, list[tuple[str, float]]],
                 *, topics: set[str], intent_keys: set[str], references: set[str],
                 wants_commentary: bool, dates: set[str], dates_asked: bool,
                 purposes: set[str] = frozenset(), purpose_asked: bool = False, zh: bool
                 ) -> np.ndarray:
    """One row per candidate source id. `rankings` maps a retriever name to its collapsed
    (source, score) list, best first (only the order is used)."""
    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
    column = {name: i for i, name in enumerate(FEATURES)}
    for name in (r for r in RETRIEVERS if r in rankings):
        position = {src: rank for rank, (src, _) in enumerate(rankings[name])}
        for i, src in enumerate(candidates):
            if src in position:
                rows[i, column[f"rr_{name}"]] = 1.0 / (1 + position[src])
    for i, src in enumerate(candidates):
        commentary = src.startswith("commentary:")
        regulation = None if commentary else src.split("#")[0]
        rows[i, column["topic"]] = float(bool(topics) and regulation in topics)
        rows[i, column["off_topic"]] = float(bool(topics) and regulation not in topics)
        rows[i, column["intent_key"]] = float(src in intent_keys)
        rows[i, column["reference"]] = float(src in references)
        rows[i, column["commentary"]] = float(commentary)
        rows[i, column["commentary_wanted"]] = float(commentary and wants_commentary)
        rows[i, column["dates_unasked"]] = float(src in dates and not dates_asked)
        rows[i, column["purpose_unasked"]] = float(src in purposes and not purpose_asked)
        rows[i, column["zh"]] = float(zh)
    return rows


def read_ranker(index_dir: str | Path, manifest, log=None) -> Ranker | None:
    """The fitted ranker if it was fitted with these models and chunking, else None (the
    retriever then falls back to reciprocal rank fusion and says why)."""
    from .calibration import fingerprint

    log = log or (lambda message: print(message, file=sys.stderr))
    path = Path(index_dir) / FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError("its features differ from this version's")
        ranker = Ranker(tuple(float(w) for w in data["weights"]), float(data["bias"]))
    except (ValueError, KeyError, TypeError) as exc:
        log(f"regqa: ignoring {path} ({exc}); ranking by reciprocal rank fusion")
        return None
    if data.get("fingerprint") != fingerprint(manifest):
        log(f"regqa: {path} was fitted with other models or chunking; ranking by reciprocal "
            "rank fusion (run `regqa eval --fit-ranker` to refit)")
        return None
    return ranker


def write_ranker(index_dir: str | Path, manifest, ranker: Ranker, note: str) -> Path:
    from .calibration import fingerprint

    path = Path(index_dir) / FILE
    path.write_text(json.dumps({**ranker.to_dict(), "fingerprint": fingerprint(manifest),
                                "note": note}, indent=2) + "\n", encoding="utf-8")
    return path
