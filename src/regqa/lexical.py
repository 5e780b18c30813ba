"""Stage 3b: BM25 over the Chinese chunks, tokenised by jieba words plus character bigrams.

llama-index's BM25Retriever only takes a regex token pattern (one token per Han character
at best), so this retriever calls bm25s directly with our tokenizer. It persists with bm25s
and is rebuilt with the same tokenizer on load: a query must be tokenised like the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .corpus import Corpus
from .text import ChineseTokenizer

IDS = "node_ids.json"


def corpus_tokenizer(corpus: Corpus) -> ChineseTokenizer:
    """jieba with the corpus's own Chinese terms (glossary, aliases, topics) as words."""
    words = [zh for term in corpus.glossary for zh in term.chinese]
    for regulation in corpus.regulations:
        words += [w for w in (*regulation.aliases, *regulation.topics, regulation.title_zh)
                  if not w.isascii()]
    return ChineseTokenizer(words)


class ChineseBM25Retriever(BaseRetriever):
    def __init__(self, bm25: bm25s.BM25, node_ids: Sequence[str], texts: dict[str, str],
                 tokenizer: ChineseTokenizer, top_k: int = 60) -> None:
        super().__init__()
        self.bm25, self.node_ids, self.texts = bm25, list(node_ids), texts
        self.tokenizer, self.top_k = tokenizer, top_k

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], tokenizer: ChineseTokenizer,
              top_k: int = 60) -> ChineseBM25Retriever:
        bm25 = bm25s.BM25()
        bm25.index([tokenizer(t) or ["<empty>"] for t in texts], show_progress=False)
        return cls(bm25, ids, dict(zip(ids, texts, strict=True)), tokenizer, top_k)

    def persist(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.bm25.save(str(folder))
        (folder / IDS).write_text(json.dumps(self.node_ids, ensure_ascii=False))

    @classmethod
    def load(cls, folder: str | Path, texts: dict[str, str], tokenizer: ChineseTokenizer,
             top_k: int = 60) -> ChineseBM25Retriever:
        folder = Path(folder)
        node_ids = json.loads((folder / IDS).read_text(encoding="utf-8"))
        return cls(bm25s.BM25.load(str(folder)), node_ids, texts, tokenizer, top_k)

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every chunk, in node_ids order (0 where no term is shared)."""
        vocab = self.bm25.vocab_dict
        tokens = [t for t in self.tokenizer(text) if t in vocab]
        if not tokens:
            return np.zeros(len(self.node_ids), dtype=np.float32)
        return self.bm25.get_scores(tokens)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        scores = self.scores(query_bundle.query_str)
        order = np.argsort(-scores, kind="stable")[: self.top_k]
        return [NodeWithScore(node=TextNode(id_=self.node_ids[i], text=self.texts[self.node_ids[i]]),
                              score=float(scores[i])) for i in order if scores[i] > 0]
