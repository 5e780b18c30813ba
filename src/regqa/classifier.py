"""Stage 4b: a classifier from a question's embedding to the source that answers it.

Our search aids (`corpus/search-aids/`) hold, for every article and commentary, questions in
users' words. Split into single questions, they are training examples: a linear model learns
which source an English question's MiniLM embedding points to. It reads the embedding the
dense retriever already computed, so it costs no second embedding. Its ranking is one more
input to the learned ranker (ranker.py).

It is fitted with the ranker (`regqa eval --fit-ranker`) and stored beside the index
(`index/classifier.npz`) with the fingerprint of the models and of the search aids it learned
from; a changed corpus or model makes it stale, and retrieval then runs without it and says why.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import article_source_id, commentary_source_id
from .corpus import Corpus
from .storage import read_fitted, write_fitted
from .text import CJK

FILE = "classifier.npz"
# English only: a Chinese one over e5 (trained on every aid question) did not win held-out
# Chinese questions (0.867 -> 0.873) and lost four external ones (eval/analysis.md)
LANGS = ("en",)
C = 10.0  # inverse regularisation of the logistic model (eval/analysis.md)
DEPTH = 30  # sources a classifier ranks for the ranker
ZH_QUESTION = re.compile(r"(?<=[？?。])\s*|\s+")
EN_QUESTION = re.compile(r"(?<=[?.!])\s+")


def aid_questions(corpus: Corpus) -> list[tuple[str, str, str]]:
    """(question, source id, language) for every question of every search-aid paragraph."""
    out = []

    def add(source: str, aids: Sequence[str]) -> None:
        for aid in aids:
            if CJK.search(aid):
                out.extend((q, source, "zh") for q in ZH_QUESTION.split(aid) if len(q) >= 6)
            else:
                out.extend((q.strip(), source, "en") for q in EN_QUESTION.split(aid)
                           if len(q.strip()) >= 15)

    for regulation in corpus.regulations:
        for article in regulation.articles:
            add(article_source_id(regulation.id, article.number), article.search_aids)
    for doc in corpus.commentary:
        add(commentary_source_id(doc.id), doc.search_aids)
    return out


@dataclass(frozen=True, eq=False)
class SourceClassifier:
    """Multinomial logistic model: classes x dims weights, one bias per class."""

    classes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def rank(self, vector: Sequence[float], depth: int = DEPTH) -> list[tuple[str, float]]:
        """The `depth` most probable sources for an embedding, with their probabilities."""
        logits = self.weights @ np.asarray(vector, dtype=np.float64) + self.bias
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        order = np.argsort(-probabilities, kind="stable")[:depth]
        return [(self.classes[i], float(probabilities[i])) for i in order]


def fit(vectors: np.ndarray, labels: Sequence[str], c: float = C) -> SourceClassifier:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000).fit(vectors, list(labels))
    # two classes: sklearn keeps one logit z for the second; softmax([0, z]) = sigmoid(z)
    weights = model.coef_ if len(model.classes_) > 2 else np.vstack(
        [np.zeros_like(model.coef_), model.coef_])
    bias = model.intercept_ if len(model.classes_) > 2 else np.array([0.0, model.intercept_[0]])
    return SourceClassifier(tuple(model.classes_), np.asarray(weights, dtype=np.float64),
                            np.asarray(bias, dtype=np.float64))


def fit_classifiers(corpus: Corpus, embedders: dict, c: float = C
                    ) -> dict[str, SourceClassifier]:
    """One classifier per language of LANGS, over that language's embedder (`embedders[lang]`,
    a llama-index embedding), trained on the aid questions in that language."""
    questions = aid_questions(corpus)
    out = {}
    for lang in LANGS:
        rows = [(q, source) for q, source, language in questions if language == lang]
        if len({source for _, source in rows}) < 2:
            continue
        embed = embedders[lang]
        vectors = np.asarray([embed.get_query_embedding(q) for q, _ in rows], dtype=np.float64)
        out[lang] = fit(vectors, [source for _, source in rows], c)
    return out


def aids_hash(corpus: Corpus, langs: Sequence[str] = LANGS) -> str:
    """Of the aid questions in these languages (an edit to others does not stale a model
    that learned from these)."""
    text = "\0".join(f"{q}\t{s}" for q, s, lang in aid_questions(corpus) if lang in langs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fingerprint(manifest, corpus: Corpus) -> dict:
    from .calibration import fingerprint

    return {**fingerprint(manifest), "search_aids": aids_hash(corpus)}


def write_classifiers(index_dir: str | Path, manifest, corpus: Corpus,
                      classifiers: dict[str, SourceClassifier]) -> Path:
    arrays = {}
    for lang, model in classifiers.items():
        arrays[f"{lang}_classes"] = np.array(model.classes)
        arrays[f"{lang}_weights"] = model.weights.astype(np.float32)
        arrays[f"{lang}_bias"] = model.bias.astype(np.float32)
    return write_fitted(Path(index_dir) / FILE, _fingerprint(manifest, corpus), arrays)


def read_classifiers(index_dir: str | Path, manifest, corpus: Corpus, log=None
                     ) -> dict[str, SourceClassifier]:
    """The stored classifiers if they were fitted with these models and search aids, else {}
    (retrieval runs without them, and says why)."""
    def build(data: dict) -> dict[str, SourceClassifier]:
        return {lang: SourceClassifier(tuple(str(c) for c in data[f"{lang}_classes"]),
                                       data[f"{lang}_weights"].astype(np.float64),
                                       data[f"{lang}_bias"].astype(np.float64))
                for lang in LANGS if f"{lang}_classes" in data}

    return read_fitted(Path(index_dir) / FILE, lambda: _fingerprint(manifest, corpus), build,
                       fitted_with="models or search aids",
                       without="ranking without the source classifier",
                       refit="regqa eval --fit-ranker", log=log)
