"""Stage 4c: a small learned ranker that fuses the retrievers' evidence for one candidate.

Instead of hand-set fusion weights, each candidate source gets a feature vector (its
reciprocal rank in every retriever) and a logistic model, trained on our development
questions (`regqa eval --fit-ranker`), scores it: a fitted weighted reciprocal rank fusion.
The weights are stored beside the index they were fitted with (`index/ranker.json`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "ranker.json"
# "classifier": the source classifier's ranking (classifier.py). MiniLM's own dense ranking
# is not an input: beside the classifier over the same embedding it no longer won its
# ablation (eval/analysis.md); its similarity still feeds the no-match floor.
RETRIEVERS = ("bm25", "e5", "bm25_zh", "classifier")
# Once the search aids held users' questions (eval/analysis.md), the Query's signals as
# features (regulation topic, intent key article, bare reference, commentary wanted, closing
# date or purpose article unasked) no longer won on held-out or external questions: deleted,
# like raw retriever scores and retriever agreement before them.
FEATURES = tuple(f"rr_{r}" for r in RETRIEVERS)  # 1 / (1 + rank), 0 when not retrieved


@dataclass(frozen=True)
class Ranker:
    weights: tuple[float, ...]
    bias: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Logit of relevance for each row of `features` (n x len(FEATURES))."""
        return features @ np.asarray(self.weights) + self.bias

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias}


def features_for(candidates: list[str], rankings: dict[str, list[tuple[str, float]]]
                 ) -> np.ndarray:
    """One row per candidate source id. `rankings` maps a retriever name to its collapsed
    (source, score) list, best first (only the order is used)."""
    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
    for column, name in enumerate(RETRIEVERS):
        position = {src: rank for rank, (src, _) in enumerate(rankings.get(name, ()))}
        for i, src in enumerate(candidates):
            if src in position:
                rows[i, column] = 1.0 / (1 + position[src])
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
