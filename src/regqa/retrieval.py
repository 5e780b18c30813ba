"""Stage 4: question -> article-level hits.

Four retrievers (MiniLM dense and BM25 over the English text; multilingual e5 dense over
English and official Chinese; character BM25 over the Chinese) each rank chunks. Every
ranking is collapsed to sources (an article, or a commentary document) and the rankings are
fused by weighted reciprocal rank fusion. Articles named explicitly in the question
("Art. 17 of the deep synthesis provisions") go first, by lookup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.retrievers.bm25 import BM25Retriever

from .chunking import Chunk, article_source_id, commentary_source_id
from .corpus import Corpus
from .index import IndexParts
from .lookup import COMMENTARY_INTENT, commentator_mentions, find_article_refs, regulation_topics

RRF_K = 60
ARTICLE_TEXT_CHUNK = re.compile(r"/\d+$")
MULTI_REGULATION = re.compile(
    r"\b(three (rules|regulations|laws|sets)|all three|each of|both|across|differ\w*|compar\w*)\b"
    r"|三部|三个规定|分别|各自|都要|比较", re.IGNORECASE)
CJK = re.compile(r"[\u3400-\u9fff]")
DEPTH = 60  # chunks taken from each retriever before fusion; the corpus has a few hundred


@dataclass(frozen=True)
class Hit:
    """One source: an article (with its full text) or a commentary document."""

    source_id: str
    kind: str  # "article" | "commentary"
    regulation: str | None
    article: int | None
    label: str
    score: float  # fused score; comparable only within one result list
    similarity: float  # best dense cosine of the question to this source's chunks
    text: str  # the full article (or commentary) text
    matched: str  # the chunk that matched
    chapter: str = ""
    author: str = ""
    text_zh: str = ""
    regulation_title: str = ""
    effective: str = ""
    official_url: str = ""
    via: tuple[str, ...] = ()  # which retrievers found it ("lookup", "dense", ...)

    @property
    def citation(self) -> str:
        return self.label


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None,
                           k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted RRF: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1. Ties keep the order
    in which items were first seen, so results are deterministic."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


def collapse(nodes: Sequence[NodeWithScore]) -> list[tuple[str, str, float]]:
    """Chunk ranking -> (source id, best chunk id, its score), first occurrence wins."""
    seen: dict[str, tuple[str, str, float]] = {}
    for item in nodes:
        source = item.node.metadata["source_id"]
        if source not in seen:
            seen[source] = (source, item.node.node_id, float(item.score or 0.0))
    return list(seen.values())


def spanned_regulations(question: str, corpus: Corpus) -> list[str]:
    """The regulations a comparative question spans ("how do the three rules differ on
    labelling?", "deep synthesis and algorithm rules on filing"); empty if it spans one."""
    topics = regulation_topics(question, corpus)
    if len(topics) >= 2:
        return topics
    return list(corpus.regulation_ids) if MULTI_REGULATION.search(question) else []


def glossary_terms(question: str, corpus: Corpus) -> list[str]:
    """English glossary terms whose Chinese form occurs in the question (longest first)."""
    pairs = sorted(((zh, term.english) for term in corpus.glossary for zh in term.chinese if zh),
                   key=lambda pair: -len(pair[0]))
    found, rest = [], question
    for zh, english in pairs:
        if zh in rest:
            found.append(english)
            rest = rest.replace(zh, " ")
    return found


@dataclass(frozen=True)
class SearchSettings:
    """Which retrievers run and how much each counts (eval baselines switch them off)."""

    dense: float = 1.0
    bm25: float = 1.0
    e5: float = 1.5  # the only retriever that reads Chinese questions well
    e5_for_english: bool = False  # measured: no better for English, and twice as slow
    bm25_zh: float = 1.0
    lookup: bool = True
    glossary: bool = True
    # Most questions want the law: commentary counts for less unless the question asks what
    # someone argued. Articles of regulations the question is not about count for less too.
    commentary_weight: float = 0.5
    off_topic_weight: float = 0.7
    diversify: bool = True


class HybridRetriever(BaseRetriever):
    """llama-index retriever over the fused, article-level ranking."""

    def __init__(self, corpus: Corpus, parts: IndexParts, k: int = 5,
                 regulations: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
                 settings: SearchSettings | None = None) -> None:
        super().__init__()
        self.corpus, self.parts, self.k = corpus, parts, k
        self.regulations = set(regulations) if regulations else None
        self.kinds = set(kinds) if kinds else None
        self.settings = settings or SearchSettings()

    def _allowed(self, chunk: Chunk) -> bool:
        if self.kinds and chunk.kind not in self.kinds:
            return False
        if self.regulations is None:
            return True
        if chunk.kind == "commentary":
            doc = next(d for d in self.corpus.commentary
                       if commentary_source_id(d.id) == chunk.source_id)
            return bool(self.regulations & set(doc.regulations))
        return chunk.regulation in self.regulations

    def _ranked(self, retriever, query: str, depth: int = DEPTH) -> list[NodeWithScore]:
        nodes = retriever.retrieve(query)
        chunks = self.parts.chunks
        # A BM25 score of 0 means no shared term: not a match. A dense ranking is kept whole.
        lexical = isinstance(retriever, BM25Retriever)
        return [n for n in nodes[:depth]
                if (not lexical or (n.score or 0) > 0) and self._allowed(chunks[n.node.node_id])]

    def search(self, question: str) -> list[Hit]:
        s, parts = self.settings, self.parts
        chinese = bool(CJK.search(question))
        english_query = question
        if chinese and s.glossary:
            english_query = " ".join(glossary_terms(question, self.corpus))
        rankings, weights, names = [], [], []
        similarity: dict[str, float] = {}

        def add(name: str, weight: float, nodes: list[NodeWithScore], dense: bool) -> None:
            if weight <= 0:
                return
            collapsed = collapse(nodes)
            rankings.append(collapsed)
            weights.append(weight)
            names.append(name)
            if dense:
                for source, _, score in collapsed:
                    similarity[source] = max(similarity.get(source, 0.0), score)

        if english_query.strip():
            if s.dense:
                retriever = parts.minilm.as_retriever(similarity_top_k=DEPTH)
                add("dense", s.dense, self._ranked(retriever, english_query), dense=not chinese)
            if s.bm25:
                add("bm25", s.bm25, self._ranked(parts.bm25_en, english_query), dense=False)
        if s.e5 and (chinese or s.e5_for_english):
            retriever = parts.e5.as_retriever(similarity_top_k=DEPTH)
            add("e5", s.e5, self._ranked(retriever, question), dense=chinese)
        if chinese and s.bm25_zh:
            add("bm25_zh", s.bm25_zh, self._ranked(parts.bm25_zh, question), dense=False)

        best_chunk: dict[str, str] = {}
        found_by: dict[str, list[str]] = {}
        for name, ranking in zip(names, rankings, strict=True):
            for source, chunk_id, _ in ranking:
                found_by.setdefault(source, []).append(name)
                # show the article's own English text, never a search aid or the Chinese
                if source not in best_chunk and ARTICLE_TEXT_CHUNK.search(chunk_id):
                    best_chunk[source] = chunk_id
        fused = reciprocal_rank_fusion([[src for src, _, _ in r] for r in rankings], weights)
        scores = self._adjust(question, dict(fused))

        looked_up = self._lookups(question) if s.lookup else []
        if s.lookup:
            looked_up += [commentary_source_id(doc_id) for doc_id in
                          commentator_mentions(question, self.corpus)
                          if commentary_source_id(doc_id) in scores]
        ranked = sorted(scores, key=lambda src: -scores[src])
        if s.diversify:
            ranked = self._diversify(question, ranked)
        order = looked_up + [src for src in ranked if src not in looked_up]
        top = max(scores.values(), default=1.0)
        hits = []
        for source in order[: self.k]:
            via = tuple(["lookup"] if source in looked_up else []) + tuple(found_by.get(source, ()))
            score = top + 1.0 if source in looked_up else scores[source]
            hits.append(self._hit(source, best_chunk.get(source), score,
                                  similarity.get(source, 0.0), via))
        return hits

    def _diversify(self, question: str, ranked: list[str]) -> list[str]:
        """For a question spanning regulations ("how do the three rules differ on labelling?"),
        lift the best article of each regulation concerned to the top, in rank order."""
        wanted = spanned_regulations(question, self.corpus)
        if not wanted:
            return ranked
        if self.regulations:
            wanted = [r for r in wanted if r in self.regulations]
        lifted = []
        for regulation_id in wanted:
            best = next((src for src in ranked if src.split("#")[0] == regulation_id), None)
            if best is not None:
                lifted.append(best)
        lifted.sort(key=ranked.index)
        return lifted + [src for src in ranked if src not in lifted]

    def _adjust(self, question: str, scores: dict[str, float]) -> dict[str, float]:
        s = self.settings
        topics = set(regulation_topics(question, self.corpus))
        wants_commentary = bool(COMMENTARY_INTENT.search(question))
        about_law = {commentary_source_id(d.id) for d in self.corpus.commentary if d.regulations}
        adjusted = {}
        for source, score in scores.items():
            if source.startswith("commentary:") and wants_commentary:
                score /= s.commentary_weight
            elif source in about_law:
                score *= s.commentary_weight
            elif topics and source.split("#")[0] not in topics:
                score *= s.off_topic_weight
            adjusted[source] = score
        return adjusted

    def _lookups(self, question: str) -> list[str]:
        sources = []
        for ref in find_article_refs(question, self.corpus):
            targets = ([ref.regulation] if ref.regulation else
                       sorted(self.regulations) if self.regulations else
                       list(self.corpus.regulation_ids))
            for regulation_id in targets:
                if self.regulations and regulation_id not in self.regulations:
                    continue
                if self.kinds and "article" not in self.kinds:
                    continue
                if self.corpus.article(regulation_id, ref.article) is not None:
                    source = article_source_id(regulation_id, ref.article)
                    if source not in sources:
                        sources.append(source)
        return sources

    def _hit(self, source: str, chunk_id: str | None, score: float, similarity: float,
             via: tuple[str, ...]) -> Hit:
        chunks = self.parts.chunks
        if source.startswith("commentary:"):
            doc = next(d for d in self.corpus.commentary if commentary_source_id(d.id) == source)
            matched = chunks[chunk_id].text if chunk_id else doc.paragraphs[0]
            return Hit(source, "commentary", None, None, doc.label, score, similarity, doc.text,
                       matched, author=doc.author, via=via)
        regulation_id, number = source.split("#")
        regulation = self.corpus.regulation(regulation_id)
        article = regulation.article(int(number))
        matched = chunks[chunk_id].text if chunk_id else chunks[f"{source}/0"].text
        return Hit(source, "article", regulation_id, article.number,
                   regulation.label(article.number), score, similarity, article.text, matched,
                   chapter=article.chapter, text_zh=article.text_zh,
                   regulation_title=regulation.title, effective=regulation.effective,
                   official_url=regulation.official_url, via=via)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(id_=hit.source_id, text=hit.text,
                                            metadata={"label": hit.label, "kind": hit.kind}),
                              score=hit.score)
                for hit in self.search(query_bundle.query_str)]
