"""Stage 5b: a model of which questions the corpus cannot answer.

The scope rules (`corpus/not-covered.md`) catch a question that names another instrument;
the no-match floor catches one no provision comes close to. Neither catches the near miss: a
question about AI, data or platforms in China that these four texts simply do not govern
("AI公司能享受高新技术企业税收优惠吗？", "who heads the CAC?"), which retrieval matches well
enough. A logistic model per question language reads what retrieval already computed, the
question's embedding (MiniLM for English, e5 for Chinese), beside its words (the Chinese
lexical retriever's tokens, tf-idf weighted, without English stop words): the words carry the
subjects the corpus never governs, the embedding the register. A follow-up is judged by its
own words (api.py).

It learns from our development questions (in and out of scope) and from the search aids'
questions (in scope), and its threshold is set by cross-validation so that it refuses at
most BUDGET of the development questions that the floor lets through. `regqa eval
--calibrate` fits it with the floors; it is stored beside the index (`index/scope.npz`) with
the fingerprint of the models, the search aids and the tokenizer's words, and ignored, with a
message, when they change.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .calibration import fingerprint
from .classifier import aids_hash
from .corpus import Corpus
from .storage import read_fitted, write_fitted

FILE = "scope.npz"
LANGS = ("en", "zh")
C = 10.0  # inverse regularisation (development cross-validation; eval/analysis.md)
BUDGET = 0.01  # development in-scope questions the floor lets through that it may refuse
MIN_COUNT = 2  # a word is a feature when at least this many training questions hold it
# above even odds the model leans out of scope: with a word no chunk uses, enough to keep a
# short turn's refusal instead of reading it in the conversation's context (api.off_subject;
# set on development before any held-out run)
LEANS_OUT = 0.5


def scope_tokens(tokenizer, text: str) -> list[str]:
    """The words the model reads: the Chinese retriever's tokens (jieba words and character
    bigrams; English words lowercased) without scikit-learn's English stop words. With them,
    "how", "many", "any" and "in" were among the strongest signs of "out of scope" (our
    out-of-scope questions ask for numbers more often), and dropping them caught more
    out-of-scope development questions at the same budget (eval/analysis.md)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [t for t in tokenizer(text) if not (t.isascii() and t in ENGLISH_STOP_WORDS)]


def tfidf(tokens: Sequence[str], vocabulary: dict[str, int], idf: np.ndarray) -> np.ndarray:
    """Sublinear tf-idf, L2-normalised (scikit-learn's TfidfVectorizer with sublinear_tf);
    tokens outside the vocabulary are ignored."""
    row = np.zeros(len(idf), dtype=np.float64)
    for word, count in Counter(t for t in tokens if t in vocabulary).items():
        row[vocabulary[word]] = (1.0 + np.log(count)) * idf[vocabulary[word]]
    norm = np.linalg.norm(row)
    return row / norm if norm else row


@dataclass(frozen=True, eq=False)
class ScopeModel:
    words: tuple[str, ...]
    idf: np.ndarray
    weights: np.ndarray  # embedding dimensions, then one per word
    bias: float
    threshold: float  # probability of being out of scope above which a question is refused
    vocabulary: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.idf) != len(self.words) or len(self.weights) <= len(self.words):
            raise ValueError(f"{len(self.words)} words, {len(self.idf)} idf values and "
                             f"{len(self.weights)} weights do not fit together")
        if not (np.isfinite(self.weights).all() and np.isfinite(self.idf).all()
                and np.isfinite([self.bias, self.threshold]).all()):
            raise ValueError("its weights or threshold are not finite numbers")
        object.__setattr__(self, "vocabulary", {w: i for i, w in enumerate(self.words)})

    @property
    def dims(self) -> int:
        """Dimensions of the embedding it reads."""
        return len(self.weights) - len(self.words)

    def probability(self, vector: Sequence[float], tokens: Sequence[str]) -> float:
        """How likely the question is one the corpus cannot answer."""
        x = np.concatenate([np.asarray(vector, dtype=np.float64),
                            tfidf(tokens, self.vocabulary, self.idf)])
        return float(1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias))))

    def outside(self, vector: Sequence[float], tokens: Sequence[str]) -> bool:
        return self.probability(vector, tokens) > self.threshold


def _fit_once(vectors: np.ndarray, tokens: Sequence[Sequence[str]], outside: np.ndarray,
              c: float) -> ScopeModel:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(analyzer=list, min_df=MIN_COUNT, sublinear_tf=True)
    lexical = words.fit_transform(tokens)
    features = hstack([csr_matrix(vectors), lexical]).tocsr()
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features, outside)
    return ScopeModel(tuple(words.get_feature_names_out()), words.idf_.astype(np.float64),
                      model.coef_[0].astype(np.float64), float(model.intercept_[0]), 0.5)


def fit_scope(vectors: np.ndarray, tokens: Sequence[Sequence[str]], outside: Sequence[bool],
              counted: Sequence[bool], c: float = C, budget: float = BUDGET, folds: int = 5,
              seed: int = 0) -> ScopeModel:
    """Fit on every row; set the threshold so that, by cross-validation, at most `budget` of
    the `counted` rows (in-scope questions the floor lets through) would be refused."""
    from sklearn.model_selection import StratifiedKFold

    vectors, outside = np.asarray(vectors, dtype=np.float64), np.asarray(outside, dtype=bool)
    counted = np.asarray(counted, dtype=bool)
    if counted.sum() == 0 or outside.sum() < folds or (~outside).sum() < folds:
        raise ValueError("the scope model needs in- and out-of-scope questions (at least "
                         f"{folds} of each) and some in-scope development questions to count")
    held = np.zeros(len(outside))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            vectors, outside):
        model = _fit_once(vectors[train], [tokens[i] for i in train], outside[train], c)
        held[test] = [model.probability(vectors[i], tokens[i]) for i in test]
    threshold = float(np.quantile(held[counted], 1.0 - budget))
    model = _fit_once(vectors, tokens, outside, c)
    return ScopeModel(model.words, model.idf, model.weights, model.bias, threshold)


def _fingerprint(manifest, corpus: Corpus, tokenizer) -> dict:
    words = "\0".join(getattr(tokenizer, "user_words", ()))
    return {**fingerprint(manifest), "search_aids": aids_hash(corpus, LANGS),
            "tokenizer": hashlib.sha256(words.encode("utf-8")).hexdigest()}


def write_scope(index_dir: str | Path, manifest, corpus: Corpus, tokenizer,
                models: dict[str, ScopeModel], note: str = "") -> Path:
    arrays = {"note": np.array(note)}
    for lang, model in models.items():
        arrays[f"{lang}_words"] = np.array(model.words)
        arrays[f"{lang}_idf"] = model.idf.astype(np.float32)
        arrays[f"{lang}_weights"] = model.weights.astype(np.float32)
        arrays[f"{lang}_bias_threshold"] = np.array([model.bias, model.threshold])
    return write_fitted(Path(index_dir) / FILE, _fingerprint(manifest, corpus, tokenizer), arrays)


def read_scope(index_dir: str | Path, manifest, corpus: Corpus, tokenizer, log=None
               ) -> dict[str, ScopeModel]:
    """The stored scope models if they were fitted with these models, search aids and words,
    else {} (questions are then refused by the rules and the floor alone, and a message says
    why)."""
    def build(data: dict) -> dict[str, ScopeModel]:
        out = {}
        for lang in LANGS:
            if f"{lang}_words" not in data:
                continue
            bias, threshold = (float(x) for x in data[f"{lang}_bias_threshold"])
            out[lang] = ScopeModel(tuple(str(w) for w in data[f"{lang}_words"]),
                                   data[f"{lang}_idf"].astype(np.float64),
                                   data[f"{lang}_weights"].astype(np.float64), bias, threshold)
            dims = manifest.multilingual_dims if lang == "zh" else manifest.embedding_dims
            if out[lang].dims != dims:
                raise ValueError(f"its {lang} model reads {out[lang].dims} dimensions, the "
                                 f"embedder gives {dims}")
        return out

    return read_fitted(Path(index_dir) / FILE, lambda: _fingerprint(manifest, corpus, tokenizer),
                       build, fitted_with="models, search aids or words",
                       without="deciding scope by the rules and the floor alone",
                       refit="regqa eval --calibrate", log=log)
