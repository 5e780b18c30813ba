"""The Python API: `qa = regqa.load(); qa.retrieve(...); qa.ask(...)`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .answer import Answer, Answerer
from .calibration import read_calibration
from .classifier import SourceClassifier, read_classifiers
from .corpus import Corpus
from .decision import Decision, Evidence, decide, strength
from .index import IndexParts, open_index
from .inputs import MAX_QUESTION_CHARS as MAX_QUESTION_CHARS  # re-exported
from .inputs import check_choices, check_k, check_names, clean_history, clean_question
from .models import Models
from .query import Query, analyse
from .ranker import FOLLOWUP_FEATURES, FOLLOWUP_FILE, Ranker, read_ranker
from .retrieval import Hit, HybridRetriever, SearchSettings
from .scope import LEANS_OUT, ScopeModel, read_scope, scope_tokens
from .validate import load_corpus

KINDS = ("article", "commentary")
# Sources an answer draws on: the best of each regulation a comparison spans must be among
# them, and the closest ones are listed when nothing answers.
ASK_DEPTH = 12


def project_root() -> Path:
    """The checkout's root (where corpus/ and index/ live); REGQA_HOME overrides."""
    if os.environ.get("REGQA_HOME"):
        return Path(os.environ["REGQA_HOME"])
    return Path(__file__).resolve().parents[2]


class RegQA:
    """A loaded corpus and index, with the retriever and answerer built on them."""

    def __init__(self, corpus: Corpus, parts: IndexParts, models: Models,
                 llm=None, evidence: Evidence | None = None, ranker: Ranker | None = None,
                 classifiers: dict[str, SourceClassifier] | None = None,
                 scope: dict[str, ScopeModel] | None = None,
                 followups: Ranker | None = None) -> None:
        self.corpus, self.parts, self.models = corpus, parts, models
        self.followups = followups
        self.llm = llm
        self.evidence = evidence or Evidence()
        self.ranker = ranker
        self.classifiers = classifiers or {}
        self.scope = scope or {}
        self.answerer = Answerer(corpus, tokenizer=parts.bm25_zh.tokenizer)
        # a short turn refused alone is not read in context when it is off the subject (the
        # eval switches this off for its ablation)
        self.guard_context = True

    @property
    def size(self) -> int:
        """Number of distinct sources (articles and commentary documents)."""
        return sum(len(r.articles) for r in self.corpus.regulations) + len(self.corpus.commentary)

    def _check_filters(self, k: int, regulations, kinds) -> tuple[int, list | None, list | None]:
        k = min(check_k(k), self.size)  # documented clamp: there are no more sources than this
        regulations = check_names(regulations, "regulations")
        check_choices(regulations, self.corpus.regulation_ids, "regulation id(s)")
        kinds = check_names(kinds, "kinds")
        check_choices(kinds, KINDS, "kind(s)")
        return k, regulations, kinds

    def retriever(self, k: int = 5, regulations: Sequence[str] | None = None,
                  kinds: Sequence[str] | None = None,
                  settings: SearchSettings | None = None,
                  embeddings: dict | None = None) -> HybridRetriever:
        k, regulations, kinds = self._check_filters(k, regulations, kinds)
        return HybridRetriever(self.corpus, self.parts, k=k, regulations=regulations,
                               kinds=kinds, settings=settings, ranker=self.ranker,
                               classifiers=self.classifiers, embeddings=embeddings,
                               followups=self.followups)

    def analyse(self, question: str, history: Sequence | None = None) -> Query:
        """The frozen analysis every later stage reads (see regqa.query)."""
        return analyse(clean_question(question), self.corpus, clean_history(history))

    def retrieve(self, question: str | Query, k: int = 5,
                 regulations: Sequence[str] | None = None,
                 kinds: Sequence[str] | None = None,
                 settings: SearchSettings | None = None) -> list[Hit]:
        """The k best distinct sources for the question, best first.

        k is clamped to the number of sources in the corpus; k <= 0 raises InputError.
        """
        retriever = self.retriever(k, regulations, kinds, settings)
        query = question if isinstance(question, Query) else self.analyse(question)
        return retriever.search(query)

    def ask(self, question: str, history: Sequence | None = None,
            regulations: Sequence[str] | None = None) -> Answer:
        """A grounded answer whose every citation is a retrieved, existing article.

        The question is analysed once; retrieval, the decision to answer, the offline answer
        and the LLM check all read that analysis."""
        return self.answer(self.analyse(question, history), regulations)

    def answer(self, query: Query, regulations: Sequence[str] | None = None) -> Answer:
        """The answer to an analysed question (what `ask` returns)."""
        query, hits, decision = self.read(query, regulations)
        relevance = strength(hits)
        found = {h.source_id for h in hits}
        missing = [s for s in decision.lookup if s not in found]
        if missing:  # an ambiguous article number's candidates that ranked low: listed anyway
            hits = [*hits, *self.retriever(ASK_DEPTH, regulations).hits_for(missing)]
        offline = self.answerer.offline(query, hits, decision, relevance=relevance)
        if self.llm is None or offline.status != "grounded":
            return offline
        from .llm import synthesise

        return synthesise(self.llm, offline, self.corpus)

    def read(self, query: Query, regulations: Sequence[str] | None = None
             ) -> tuple[Query, list[Hit], Decision]:
        """The reading the answer is built from, its hits and the decision: the turn's own,
        or, when that finds too little, the turn read in the conversation's context."""
        embeddings: dict = {}
        retriever = self.retriever(ASK_DEPTH, regulations, embeddings=embeddings)
        query = query.within(sorted(retriever.regulations or ()))
        hits = retriever.search(query)
        decision = decide(query, hits, self.corpus, self.evidence,
                          outside=self.outside(query, embeddings))
        if (decision.too_weak and query.in_context is not None
                and not (self.guard_context and self.off_subject(query, embeddings))):
            # too little alone, but it may continue the conversation: search it as a follow-up.
            # An unrelated short question ("How do I bake bread?") then gets the previous
            # subject's article; requiring that article among the turn's own hits won on
            # development but lost three follow-ups held-out (eval/analysis.md), so it is not here
            return self.read(query.in_context, regulations)
        return query, hits, decision

    def off_subject(self, query: Query, embeddings: dict | None = None) -> bool:
        """Whether a turn read alone is off the conversation's subject: the scope model leans
        towards out of scope (above LEANS_OUT, a lower bar than the refusal thresholds fitted so
        far) and the turn uses a word no chunk uses ("备案要交钱吗？", "Any tax forms?" after a
        question on filing). Read in the previous turn's context, such a turn was answered from
        that turn's article; in elliptical in-scope follow-ups ("没备的话罚多少", "Record
        retention period?") every word is one the corpus uses (eval/analysis.md, twelfth
        session). A turn the Query reads as a follow-up (a marker: "那…", "and …") has no
        reading of its own and is not judged here."""
        probability = self._scope_probability(query, embeddings)
        return (probability is not None and probability > LEANS_OUT
                and bool(self.parts.unfamiliar(query.standalone)))

    def outside(self, query: Query, embeddings: dict | None = None) -> bool:
        """Whether the scope model judges the question out of scope (False without one). It
        reads what retrieval read, a follow-up with the turn before it: judged by its own
        words, follow-ups won development but refused 9 more of 96 held-out in-scope
        follow-ups ("要公示吗？", eval/analysis.md). The model is the one of the language of
        that text ("What about audio?" after a Chinese question is mostly Chinese)."""
        probability = self._scope_probability(query, embeddings)
        return probability is not None and probability > self.scope[query.searched_in].threshold

    def _scope_probability(self, query: Query, embeddings: dict | None) -> float | None:
        """The scope model's probability that what retrieval read is out of scope (None
        without a model). `embeddings`: what retrieval already computed, by (language, text)."""
        text = query.standalone
        lang = query.searched_in  # the language retrieval read `text` in
        model = self.scope.get(lang)
        if model is None or not text.strip():
            return None
        vector = (embeddings or {}).get((lang, text))
        if vector is None:
            vector = self.parts.embedder(lang).get_query_embedding(text)
        return model.probability(vector, scope_tokens(self.parts.bm25_zh.tokenizer, text))


def load(corpus_dir: str | Path | None = None, index_dir: str | Path | None = None,
         rebuild: bool = False, progress: bool = True, llm=None,
         models: Models | None = None) -> RegQA:
    """Load the corpus and its index (building the index if it is missing or stale)."""
    root = project_root()
    corpus = load_corpus(corpus_dir or root / "corpus")
    models = models or Models()
    parts = open_index(corpus, index_dir or root / "index", models, rebuild=rebuild,
                       progress=progress)
    if llm is None:
        from .llm import llm_from_env

        llm = llm_from_env()
    evidence = read_calibration(index_dir or root / "index", parts.manifest)
    ranker = read_ranker(index_dir or root / "index", parts.manifest)
    followups = read_ranker(index_dir or root / "index", parts.manifest, file=FOLLOWUP_FILE,
                            features=FOLLOWUP_FEATURES,
                            fallback="conversation turns keep regqa's ranking")
    classifiers = read_classifiers(index_dir or root / "index", parts.manifest, corpus)
    if ranker is not None and not classifiers:
        # the ranker learned to lean on the classifier's ranking; without it, plain fusion
        # of every retriever ranks better than that ranker does
        print("regqa: no source classifier for the fitted ranker; ranking by reciprocal rank "
              "fusion (run `regqa eval --fit-ranker` to refit both)", file=sys.stderr)
        ranker = None
    scope = read_scope(index_dir or root / "index", parts.manifest, corpus,
                       parts.bm25_zh.tokenizer)
    return RegQA(corpus, parts, models, llm=llm, evidence=evidence, ranker=ranker,
                 classifiers=classifiers, scope=scope,
                 # it learned on the ranker's rankings: without the ranker they are not those
                 followups=followups if ranker is not None else None)

