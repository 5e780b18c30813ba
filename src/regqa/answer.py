"""Stage 5: hits -> an answer that quotes the cited articles verbatim.

The default answerer needs no LLM: it names the governing articles, then quotes the
sentences or numbered items of each that best match the question, each followed by its
[n] citation. When nothing is similar enough it says so (status "no_match") and lists the
closest articles instead of answering. An optional LLM (see llm.py) may write the prose;
its citations are verified against the retrieved sources and the corpus.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from .corpus import Corpus
from .retrieval import CJK, Hit, glossary_terms, spanned_regulations
from .scope import out_of_scope_reason

STATUSES = ("grounded", "no_match", "llm_unavailable")
WORD = re.compile(r"[a-z0-9]+")
ITEM = re.compile(r"^\(\d+\)")
SENTENCE = re.compile(r"(?<=[.;?!])\s+(?=[A-Z(])")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its me my of "
    "on or should so than that the their them there these they this to under use used was "
    "what when where which who whose why will with would you your must may any about into "
    "not no shall other such".split())
FOLLOW_UP = re.compile(r"^(and|also|or|but|what about|how about|what if|then|so)\b|^(那|还有|那么)",
                       re.IGNORECASE)
MAX_ARTICLES = 4
MAX_QUOTES = 3


@dataclass(frozen=True)
class Citation:
    number: int  # the [n] used in the text
    hit: Hit
    quotes: tuple[str, ...] = ()  # verbatim sentences from hit.text

    @property
    def label(self) -> str:
        return self.hit.label


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    status: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...] = ()  # everything retrieved, cited or not (the "closest" on no_match)
    flags: tuple[str, ...] = ()  # e.g. unsupported references removed from an LLM answer
    relevance: float = 0.0

    def markdown(self, escape: Callable[[str], str] = str) -> str:
        """The answer as Markdown for display; every piece of corpus or model text goes through
        `escape` (the chat passes one that shows Markdown and HTML literally)."""
        if not (self.citations and self.text == render(self.citations)):
            return escape(self.text)  # an LLM's prose or a no_match message
        body = render(self.citations, escape=escape)
        if self.flags:
            body += "\n\n⚠️ " + escape(" ".join(self.flags))
        return body

    @property
    def source_nodes(self) -> tuple[Hit, ...]:
        """llama-index's name for what an answer rests on."""
        return tuple(c.hit for c in self.citations)

    def to_dict(self) -> dict:
        return {
            "question": self.question, "status": self.status, "text": self.text,
            "relevance": round(self.relevance, 4), "flags": list(self.flags),
            "citations": [{"number": c.number, "label": c.label, "source_id": c.hit.source_id,
                           "regulation": c.hit.regulation, "article": c.hit.article,
                           "kind": c.hit.kind, "quotes": list(c.quotes)} for c in self.citations],
            "closest": [h.label for h in self.hits[:3]],
        }


def load_thresholds() -> dict:
    """no_match thresholds written by `regqa eval --calibrate` (see eval/report.md)."""
    with resources.files("regqa").joinpath("calibration.json").open() as handle:
        return json.load(handle)


def units(text: str) -> list[str]:
    """Quotable pieces of an article: numbered items whole, other paragraphs by sentence."""
    out = []
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if ITEM.match(paragraph) or paragraph.endswith(":"):
            out.append(paragraph)
        else:
            out.extend(s for s in SENTENCE.split(paragraph) if s)
    return out


def terms(text: str) -> list[str]:
    return [w[:6] for w in WORD.findall(text.lower()) if w not in STOPWORDS]  # crude stem


class Answerer:
    def __init__(self, corpus: Corpus, llm=None, thresholds: dict | None = None) -> None:
        self.corpus = corpus
        self.llm = llm
        self.thresholds = thresholds or load_thresholds()
        documents = [set(terms(a.text)) for r in corpus.regulations for a in r.articles]
        counts: dict[str, int] = {}
        for document in documents:
            for term in document:
                counts[term] = counts.get(term, 0) + 1
        self._idf = {t: math.log(1 + len(documents) / c) for t, c in counts.items()}

    # -- retrieval helpers -------------------------------------------------------------------
    def contextualise(self, question: str, history: Sequence | None) -> str:
        """Fold the previous user turn into a follow-up ("and what about minors?")."""
        previous = last_user_turn(history)
        if previous and (FOLLOW_UP.search(question) or len(question.split()) <= 4):
            return f"{previous} {question}"
        return question

    def relevance(self, question: str, hits: Sequence[Hit]) -> float:
        return max((h.similarity for h in hits[:3]), default=0.0)

    def is_match(self, question: str, hits: Sequence[Hit], out_of_scope: str | None) -> bool:
        if any("lookup" in h.via for h in hits):
            return True
        if out_of_scope:
            return False
        language = "zh" if CJK.search(question) else "en"
        return self.relevance(question, hits) >= self.thresholds[language]

    # -- offline answer ----------------------------------------------------------------------
    def select_quotes(self, question: str, hit: Hit) -> tuple[str, ...]:
        pieces = units(hit.text)
        if len(pieces) <= MAX_QUOTES:
            return tuple(pieces)
        query = set(terms(question))
        if CJK.search(question):
            query |= set(terms(" ".join(glossary_terms(question, self.corpus))))
        scored = [(sum(self._idf.get(t, 0.0) for t in query & set(terms(p))), i)
                  for i, p in enumerate(pieces)]
        best = sorted(i for _, i in sorted(scored, key=lambda s: (-s[0], s[1]))[:MAX_QUOTES])
        if pieces[0].endswith(":") and any(ITEM.match(pieces[i]) for i in best) and 0 not in best:
            best = [0, *best[: MAX_QUOTES - 1]]
        return tuple(pieces[i] for i in sorted(best))

    def choose(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        """Articles to cite: lookups, the best article, and close runners-up (one per regulation
        named in the question), then at most one piece of commentary."""
        articles = [h for h in hits if h.kind == "article"]
        if not articles:
            return [h for h in hits if h.kind == "commentary"][:2]
        chosen = [h for h in articles if "lookup" in h.via]
        floor = self.thresholds["en" if not CJK.search(question) else "zh"]
        best = max(h.similarity for h in articles)
        for hit in articles:
            if len(chosen) >= MAX_ARTICLES:
                break
            close = hit.similarity >= max(floor, best - self.thresholds.get("margin", 0.08))
            if hit not in chosen and (not chosen or close):
                chosen.append(hit)
        chosen += self.referenced(chosen, articles)[: max(0, MAX_ARTICLES - len(chosen))]
        # A comparative question gets the best retrieved article of each regulation it spans.
        for regulation_id in spanned_regulations(question, self.corpus):
            if len(chosen) < MAX_ARTICLES + 1 and all(h.regulation != regulation_id for h in chosen):
                best_of = next((h for h in articles if h.regulation == regulation_id), None)
                chosen += [best_of] if best_of is not None else []
        commentary = [h for h in hits if h.kind == "commentary" and h.similarity >= floor]
        return chosen + commentary[:1]

    def referenced(self, chosen: Sequence[Hit], candidates: Sequence[Hit]) -> list[Hit]:
        """Follow the corpus's cross-references from the first chosen article: a named article
        if it was retrieved, or the best retrieved article of a named regulation (the GenAI
        Measures defer to the deep synthesis rules on labelling, for instance)."""
        if not chosen or chosen[0].kind != "article":
            return []
        regulation = self.corpus.regulation(chosen[0].regulation)
        extra: list[Hit] = []
        for ref in regulation.references:
            if ref.from_article != chosen[0].article or ref.regulation == regulation.id:
                continue
            match = next((h for h in candidates if h.regulation == ref.regulation
                          and (ref.article is None or h.article == ref.article)), None)
            if match is not None and match not in chosen and match not in extra:
                extra.append(match)
        return extra

    def offline(self, question: str, hits: Sequence[Hit]) -> Answer:
        relevance = self.relevance(question, hits)
        reason = out_of_scope_reason(question, self.corpus)
        if not hits or not self.is_match(question, hits, reason):
            closest = ", ".join(h.label for h in hits[:3]) or "none"
            text = ("I could not find a provision in the corpus that answers this question"
                    + (f" ({reason})" if reason else "") + ", so I will not guess. "
                    "The closest sources I found are: " + closest + ". "
                    "Try rephrasing, or ask about generative AI services, deep synthesis, or "
                    "algorithmic recommendation.")
            return Answer(question, text, "no_match", (), tuple(hits), relevance=relevance)
        chosen = self.choose(question, hits)
        citations = [Citation(n, hit, self.select_quotes(question, hit))
                     for n, hit in enumerate(chosen, start=1)]
        return Answer(question, render(citations), "grounded", tuple(citations), tuple(hits),
                      relevance=relevance)

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        offline = self.offline(question, hits)
        if self.llm is None or offline.status != "grounded":
            return offline
        from .llm import synthesise

        return synthesise(self.llm, offline, self.corpus)


def last_user_turn(history: Sequence | None) -> str:
    """History in Gradio's messages format ({role, content}) or as (user, bot) pairs."""
    for turn in reversed(list(history or [])):
        if isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            return content if isinstance(content, str) else ""
        if isinstance(turn, list | tuple) and turn and isinstance(turn[0], str):
            return turn[0]
    return ""


def render(citations: Sequence[Citation], escape: Callable[[str], str] = str) -> str:
    """The offline answer in Markdown. `escape` is applied to every piece of corpus text (the
    chat passes one that shows Markdown and HTML literally)."""
    law = [c for c in citations if c.hit.kind == "article"]
    commentary = [c for c in citations if c.hit.kind == "commentary"]
    lines = []
    if law:
        names = "; ".join(f"{escape(c.label)} [{c.number}]" for c in law)
        lines.append(f"The governing provision{'s are' if len(law) > 1 else ' is'} {names}.")
    groups: dict[str, list[Citation]] = {}
    for citation in law:
        groups.setdefault(citation.hit.regulation_title, []).append(citation)
    for title, group in groups.items():
        if len(groups) > 1:
            lines.append(f"\n**{escape(title)}**")
        for citation in group:
            lines.append(f"\n{escape(citation.label)} says:")
            lines.extend(f"\n> {escape(quote)} [{citation.number}]" for quote in citation.quotes)
    for citation in commentary:
        lines.append(f"\n*Commentary, not law* — {escape(citation.hit.author)}:")
        quote = citation.hit.matched.split("\n", 1)[-1]
        lines.append(f"\n> {escape(quote)} [{citation.number}]")
    return "\n".join(lines)


__all__ = ["STATUSES", "Answer", "Answerer", "Citation"]
