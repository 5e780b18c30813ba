"""Stage 4c: a small learned ranker that fuses the retrievers' evidence for one candidate.

Instead of hand-set fusion weights, each candidate source gets a feature vector (its
reciprocal rank in every retriever) and a logistic model, trained on our development
questions (`regqa eval --fit-ranker`), scores it: a fitted weighted reciprocal rank fusion.
The weights are stored beside the index they were fitted with (`index/ranker.json`).

A turn in a conversation is ranked once more by a second model of the same form, the
follow-up ranker (`index/followup-ranker.json`): its candidates are what the turn finds read in
the conversation and read alone, and its features say where each retriever ranked a candidate
for each reading. Folded into the previous question, a turn's own words are outnumbered; this
model learned from our development conversations how far to trust each reading.
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
# the follow-up ranker: the turn's place in regqa's ranking of it in context, then each
# retriever's rank of it in context and alone
FOLLOWUP_FILE = "followup-ranker.json"
FOLLOWUP_FEATURES = ("rr_regqa", *FEATURES, *(f"rr_alone_{r}" for r in RETRIEVERS))
FOLLOWUP_DEPTH = 20  # a rank below this counts as not retrieved


@dataclass(frozen=True)
class Ranker:
    weights: tuple[float, ...]
    bias: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Logit of relevance for each row of `features` (n x len(FEATURES))."""
        return features @ np.asarray(self.weights) + self.bias

    def to_dict(self, features: tuple[str, ...] = FEATURES) -> dict:
        return {"features": list(features), "weights": list(self.weights), "bias": self.bias}


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


def followup_features(candidates: list[str], regqa: list[str],
                      context: dict[str, list[str]], alone: dict[str, list[str]]) -> np.ndarray:
    """One row per candidate source id (FOLLOWUP_FEATURES): 1 / (1 + rank) in regqa's
    ranking of the turn in context, then in each retriever's ranking of the turn in context
    and alone (lists of source ids, best first); 0 when not in the first FOLLOWUP_DEPTH."""
    lists = [regqa, *(context.get(r, []) for r in RETRIEVERS),
             *(alone.get(r, []) for r in RETRIEVERS)]
    rows = np.zeros((len(candidates), len(lists)), dtype=np.float64)
    for column, ranking in enumerate(lists):
        position = {}
        for rank, src in enumerate(ranking[:FOLLOWUP_DEPTH]):
            position.setdefault(src, rank)
        for i, src in enumerate(candidates):
            if src in position:
                rows[i, column] = 1.0 / (1 + position[src])
    return rows


def read_ranker(index_dir: str | Path, manifest, log=None, file: str = FILE,
                features: tuple[str, ...] = FEATURES,
                fallback: str = "ranking by reciprocal rank fusion") -> Ranker | None:
    """The fitted ranker if it was fitted with these models and chunking, else None (the
    retriever then falls back, `fallback` says to what, and the log says why)."""
    from .calibration import fingerprint

    log = log or (lambda message: print(message, file=sys.stderr))
    path = Path(index_dir) / file
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != features:
            raise ValueError("its features differ from this version's")
        ranker = Ranker(tuple(float(w) for w in data["weights"]), float(data["bias"]))
    except (ValueError, KeyError, TypeError) as exc:
        log(f"regqa: ignoring {path} ({exc}); {fallback}")
        return None
    if data.get("fingerprint") != fingerprint(manifest):
        log(f"regqa: {path} was fitted with other models or chunking; {fallback} (run "
            "`regqa eval --fit-ranker` to refit)")
        return None
    return ranker


def write_ranker(index_dir: str | Path, manifest, ranker: Ranker, note: str,
                 file: str = FILE, features: tuple[str, ...] = FEATURES) -> Path:
    from .calibration import fingerprint

    path = Path(index_dir) / file
    path.write_text(json.dumps({**ranker.to_dict(features), "fingerprint": fingerprint(manifest),
                                "note": note}, indent=2) + "\n", encoding="utf-8")
    return path
