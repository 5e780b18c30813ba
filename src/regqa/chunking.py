"""Stage 2: corpus records -> chunks that fit the embedding window.

One chunk per article when it fits; a longer article is cut at paragraph or item boundaries
and every piece repeats the article's label and lead-in so it stands alone. A chunk never
straddles two articles. Commentary is cut by paragraph. The official Chinese text of each
article is one more chunk (language "zh") for the multilingual retrievers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

from llama_index.core.schema import TextNode

from .corpus import Article, Commentary, Corpus, Regulation
from .text import CJK

CHUNK_TOKENS = 240  # all-MiniLM-L6-v2 reads 256 tokens; the rest is headroom for [CLS]/[SEP].
SENTENCE_END = re.compile(r"(?<=[.;:?!])\s+(?=[A-Z(\"“])")


@dataclass(frozen=True)
class Chunk:
    id: str
    source_id: str  # article "deep-synthesis-2022#17" or commentary "commentary:sheehan"
    kind: str  # "article" | "commentary"
    regulation: str | None
    article: int | None
    label: str
    chapter: str
    author: str
    lang: str  # "en" | "zh"
    text: str

    def to_node(self) -> TextNode:
        metadata = {k: v for k, v in asdict(self).items() if k not in ("id", "text")}
        metadata = {k: ("" if v is None else v) for k, v in metadata.items()}
        return TextNode(id_=self.id, text=self.text, metadata=metadata,
                        excluded_embed_metadata_keys=list(metadata),
                        excluded_llm_metadata_keys=list(metadata))


def article_source_id(regulation: str, article: int) -> str:
    return f"{regulation}#{article}"


def commentary_source_id(doc_id: str) -> str:
    return f"commentary:{doc_id}"


def key_sources(corpus: Corpus, role: str, regulations: Iterable[str] | None = None) -> list[str]:
    """Source ids of the articles that play `role` (the front matter's `key_articles`), in
    corpus order; only of `regulations` when given."""
    wanted = None if regulations is None else set(regulations)
    return [article_source_id(r.id, n) for r in corpus.regulations
            if wanted is None or r.id in wanted for n in r.key(role)]


def enforcers(corpus: Corpus) -> dict[str, list[str]]:
    """Article source id -> the penalty articles (`key_articles: penalties`) whose text
    refers to it (the front matter's `references`), in corpus order. A reference to a whole
    regulation ("违反本办法规定的") reaches each of its articles but its penalty articles."""
    out: dict[str, list[str]] = {}
    for regulation in corpus.regulations:
        penalties = set(regulation.key("penalties"))
        for ref in regulation.references:
            target = corpus.regulation(ref.regulation)
            if ref.from_article not in penalties or target is None:
                continue
            own_penalties = set(target.key("penalties"))
            numbers = [ref.article] if ref.article is not None else [
                a.number for a in target.articles if a.number not in own_penalties]
            for number in numbers:
                out.setdefault(article_source_id(target.id, number), []).append(
                    article_source_id(regulation.id, ref.from_article))
    return out


def _pack(header: str, lead: str, pieces: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Greedily join pieces under header(+lead) while the result fits the window."""
    out, current = [], []
    for piece in pieces:
        candidate = "\n".join([header, *([lead] if lead and (current or out) else []),
                               *current, piece])
        if current and not fits(candidate):
            out.append(current)
            current = [piece]
        else:
            current.append(piece)
    if current:
        out.append(current)
    texts = []
    for index, group in enumerate(out):
        prefix = [header] + ([lead] if lead and index > 0 else [])
        texts.append("\n".join(prefix + group))
    return texts


def _split_long(paragraph: str, budget: Callable[[str], bool], header: str) -> list[str]:
    if budget(f"{header}\n{paragraph}"):
        return [paragraph]
    return [s for s in SENTENCE_END.split(paragraph) if s]


def article_chunks(regulation: Regulation, article: Article,
                   fits: Callable[[str], bool]) -> Iterator[Chunk]:
    label = regulation.label(article.number)
    header = f"{label} ({article.chapter})"
    paragraphs = list(article.paragraphs)
    lead = paragraphs[0] if len(paragraphs) > 1 and paragraphs[0].endswith(":") else ""
    pieces = [s for p in paragraphs for s in _split_long(p, fits, header)]
    if fits("\n".join([header, *paragraphs])):
        texts = ["\n".join([header, *paragraphs])]
    else:
        texts = _pack(header, lead, pieces[1:] if lead else pieces, fits)
        if lead:
            texts = [t.replace(header, f"{header}\n{lead}", 1) if i == 0 else t
                     for i, t in enumerate(texts)]
    source = article_source_id(regulation.id, article.number)
    for index, text in enumerate(texts):
        yield Chunk(f"{source}/{index}", source, "article", regulation.id, article.number,
                    label, article.chapter, "", "en", text)
    for index, aid in enumerate(article.search_aids):
        lang = "zh" if CJK.search(aid) else "en"
        yield Chunk(f"{source}/aid{index}", source, "article", regulation.id, article.number,
                    label, article.chapter, "", lang, f"{label}\n{aid}")
    if article.text_zh:
        yield Chunk(f"{source}/zh", source, "article", regulation.id, article.number, label,
                    article.chapter, "", "zh", f"{regulation.title_zh}\n{article.text_zh}")


def commentary_chunks(doc: Commentary, corpus: Corpus,
                      fits: Callable[[str], bool]) -> Iterator[Chunk]:
    names = [r.short_title for r in corpus.regulations if r.id in doc.regulations]
    about = f" on the {', '.join(names)}" if names else ""
    header = f"Commentary by {doc.author}{f' ({doc.affiliation})' if doc.affiliation else ''}{about}"
    source = commentary_source_id(doc.id)
    pieces = [s for p in doc.paragraphs for s in _split_long(p, fits, header)]
    for index, paragraph in enumerate(pieces):
        yield Chunk(f"{source}/{index}", source, "commentary", None, None, doc.label,
                    "", doc.author, "en", f"{header}\n{paragraph}")
    for index, aid in enumerate(doc.search_aids):
        lang = "zh" if CJK.search(aid) else "en"
        yield Chunk(f"{source}/aid{index}", source, "commentary", None, None, doc.label,
                    "", doc.author, lang, f"{header}\n{aid}")


def chunk_corpus(corpus: Corpus, count_tokens: Callable[[str], int],
                 max_tokens: int = CHUNK_TOKENS) -> list[Chunk]:
    def fits(text: str) -> bool:
        return count_tokens(text) <= max_tokens

    chunks: list[Chunk] = []
    for regulation in corpus.regulations:
        for article in regulation.articles:
            chunks.extend(article_chunks(regulation, article, fits))
    for doc in corpus.commentary:
        chunks.extend(commentary_chunks(doc, corpus, fits))
    return chunks
