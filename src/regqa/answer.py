"""Stage 5b: a `Decision` and the hits -> an answer that quotes the cited articles verbatim.

The offline answer needs no LLM. It leads with the one sentence or numbered item of the
corpus that best answers the question, then the supporting quotes grouped by regulation.
It cites the best article and the best article of every other regulation the question
spans, never the closing "in force from" article unless dates are asked. A Chinese
question is answered in Chinese, quoting the official text, with our English beneath.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from llama_index.core.schema import NodeWithScore

from .chunking import key_sources
from .corpus import Corpus
from .decision import Decision
from .query import Query
from .retrieval import Hit, hit_node
from .text import ITEM, ChineseTokenizer, counterpart, en_terms, is_lead_in, units, zh_number

MAX_QUOTES = 2
UNOFFICIAL_ZH = "*以官方中文文本为准；英文为 regqa 的非官方译文。*"
UNOFFICIAL_EN = ("*The English quotes are regqa's unofficial translation; the official Chinese "
                 "text prevails.*")
def label_zh(hit: Hit) -> str:
    if hit.kind != "article":
        return f"评论：{hit.label.removeprefix('Commentary: ')}"
    return f"《{hit.regulation_title_zh}》第{zh_number(hit.article)}条"


@dataclass(frozen=True)
class Citation:
    number: int  # the [n] used in the text
    hit: Hit
    quotes: tuple[str, ...] = ()  # verbatim sentences or items of hit.text (our English)
    quotes_zh: tuple[str, ...] = ()  # verbatim sentences or items of hit.text_zh (official)
    lead: str = ""  # the unit that best answers, in the question's language (one of the quotes)

    @property
    def label(self) -> str:
        return self.hit.label

    @property
    def label_zh(self) -> str:
        return label_zh(self.hit)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    status: str  # grounded | partial | no_match | llm_unavailable
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...] = ()  # everything retrieved, cited or not (the "closest" on no_match)
    flags: tuple[str, ...] = ()  # e.g. unsupported references removed from an LLM answer
    relevance: float = 0.0
    reason: str = ""  # why not plainly grounded (out of scope, no such article, …)
    lang: str = "en"
    offline_text: str = ""  # the offline rendering, kept when an LLM rewrites the text
    comparison: bool = False  # rendered with a table: one row per regulation

    def markdown(self, escape: Callable[[str], str] = str) -> str:
        """The answer as Markdown for display; every piece of corpus or model text goes through
        `escape` (the chat passes one that shows Markdown and HTML literally)."""
        offline = self.text == (self.offline_text or self.text)
        if self.citations and offline and self.status in ("grounded", "partial"):
            body = render(self, escape=escape, comparison=self.comparison)
        else:
            body = escape(self.text)
        if self.flags and offline:
            body += "\n\n⚠️ " + escape(" ".join(self.flags))
        return body

    @property
    def source_nodes(self) -> list[NodeWithScore]:
        """llama-index's record of what the answer rests on: the cited sources."""
        return [hit_node(c.hit) for c in self.citations]

    def to_dict(self) -> dict:
        return {
            "question": self.question, "status": self.status, "text": self.text,
            "reason": self.reason, "lang": self.lang,
            "relevance": round(self.relevance, 4), "flags": list(self.flags),
            "citations": [{"number": c.number, "label": c.label, "label_zh": c.label_zh,
                           "source_id": c.hit.source_id, "regulation": c.hit.regulation,
                           "article": c.hit.article, "kind": c.hit.kind,
                           "quotes": list(c.quotes), "quotes_zh": list(c.quotes_zh)}
                          for c in self.citations],
            "closest": [h.label for h in self.hits[:3]],
        }


class Answerer:
    """Builds the offline answer. Term weights come from the corpus it is given."""

    def __init__(self, corpus: Corpus, tokenizer: ChineseTokenizer | None = None) -> None:
        self.corpus = corpus
        self.tokenizer = tokenizer
        articles = [a for r in corpus.regulations for a in r.articles]
        self._idf_en = _idf([set(en_terms(a.text)) for a in articles])
        self._idf_zh = _idf([set(self._zh(a.text_zh)) for a in articles if a.text_zh])
        self._dates = set(key_sources(corpus, "dates"))

    def _zh(self, text: str) -> list[str]:
        if self.tokenizer is None:
            from .lexical import corpus_tokenizer

            self.tokenizer = corpus_tokenizer(self.corpus)
        return self.tokenizer(text)  # words and bigrams, as the Chinese retriever reads them

    # -- evidence ----------------------------------------------------------------------------
    def unit_scores(self, query: Query, text: str, lang: str) -> list[tuple[float, str]]:
        """(score, unit) for each quotable unit of `text`: idf-weighted overlap with the
        question's terms (Chinese words for Chinese text, English terms otherwise). A
        follow-up's own words count twice: read with the turn before it, that turn's words
        outnumber them, and "音频呢？" after a question on labelling led with the lead-in."""
        same = query.lang == lang
        if lang == "zh":
            wanted = set(self._zh(query.standalone))
            idf, tokenize = self._idf_zh, self._zh
        else:
            source = query.standalone if same else " ".join(query.glossary_en)
            wanted = set(en_terms(source))
            idf, tokenize = self._idf_en, en_terms
        own = set(tokenize(query.own or query.text)) if query.followup and same else set()

        def score(unit: str) -> float:
            found = set(tokenize(unit))
            return sum(idf.get(t, 0.0) for t in wanted & found) + sum(
                idf.get(t, 0.0) for t in own & found)

        return [(score(u), u) for u in units(text)]

    def citation(self, number: int, query: Query, hit: Hit) -> Citation:
        """The [number] citation of a chosen source: an article's best units in the
        question's language, the same units in the other language, and the one that leads;
        a commentary's matched paragraph."""
        if hit.kind != "article":
            return Citation(number, hit, (hit.matched.split("\n", 1)[-1],))
        if query.lang == "zh" and hit.text_zh:
            scored = self.unit_scores(query, hit.text_zh, "zh")
            quotes_zh = _pick(scored)
            quotes = counterpart(quotes_zh, hit.text_zh, hit.text)
        else:
            scored = self.unit_scores(query, hit.text, "en")
            quotes = _pick(scored)
            quotes_zh = counterpart(quotes, hit.text, hit.text_zh) if hit.text_zh else ()
        return Citation(number, hit, quotes, quotes_zh, _best_unit(scored))

    def choose(self, query: Query, hits: Sequence[Hit]) -> list[Hit]:
        """Sources to cite, best first: the best hit and the best article of every other
        regulation the question spans; a commentary alone when it is the best hit or its
        author is named."""
        commentary = [h for h in hits if h.kind == "commentary"]
        named = [h for h in commentary if h.source_id.split(":", 1)[1] in query.commentators]
        chosen = self._articles(query, hits)
        if named and query.references:  # "Sheehan on Article 28": his view, then the article
            return [named[0], *chosen]
        if not query.references:
            # "what did Sheehan argue?", or a commentary the ranker put first (it learned
            # which questions ask what someone argued; an intent regex that put commentary
            # first lost to it on held-out questions, eval/analysis.md): the commentary is
            # the answer, and an article beside it would be padding
            if named:
                return [named[0]]
            if hits and hits[0].kind == "commentary":
                return [hits[0]]
        return chosen

    def _articles(self, query: Query, hits: Sequence[Hit]) -> list[Hit]:
        """The best article and the best article of every other regulation the question
        spans."""
        # the closing "in force from" article is padding unless dates are asked
        articles = [h for h in hits if h.kind == "article"
                    and (h.source_id not in self._dates or query.wants("dates"))]
        if not articles:
            return []
        # a regulation the turn names keeps its place first once its closing article is gone
        # (regression: "标识办法怎么说？" ranked the Labeling Measures' date article first, and the
        # answer then cited a Deep Synthesis article)
        named = [h for h in articles if h.regulation in query.named]
        if named and articles[0].regulation not in query.named:
            articles = [named[0], *(h for h in articles if h is not named[0])]
        # The best article, then each other regulation the question spans. Runner-ups that are
        # merely similar were padding: citing them (at any relevance threshold tried on the
        # development sets) cost more precision than it gained recall. Following the corpus's
        # cross-references from the cited articles lost on the held-out questions too.
        chosen = [articles[0]]
        if "enforces" in articles[0].via:  # the sanction asked, then the duty it enforces
            chosen += [h for h in articles if "enforces" not in h.via][:1]
        for regulation_id in query.spans:
            if all(c.regulation != regulation_id for c in chosen):
                chosen += [h for h in articles if h.regulation == regulation_id][:1]
        return chosen

    def _name(self, source_id: str, lang: str) -> str:
        """An article's name as the answer writes it ("Generative AI Measures, Art. 21")."""
        regulation_id, number = source_id.split("#")
        regulation = self.corpus.regulation(regulation_id)
        return (regulation.label_zh if lang == "zh" else regulation.label)(int(number))

    # -- the answer --------------------------------------------------------------------------
    def offline(self, query: Query, hits: Sequence[Hit], decision: Decision,
                relevance: float = 0.0) -> Answer:
        lang = query.lang
        if decision.status == "no_match":
            return Answer(query.text, no_match_text(decision.reason, hits, lang, self.corpus),
                          "no_match", (), tuple(hits), relevance=relevance,
                          reason=decision.reason, lang=lang)
        if decision.lookup:
            by_id = {h.source_id: h for h in hits}
            absent = [s for s in decision.lookup if s not in by_id and not s.startswith("commentary:")]
            if absent:  # the regulation filter left the named article out
                names = [self._name(source, lang) for source in absent]
                reason = (f"{'、'.join(names)}不在所选规定的范围内；清除筛选即可看到" if lang == "zh"
                          else f"{'; '.join(names)} {'is' if len(names) == 1 else 'are'} outside "
                          f"the regulations selected; clear the filter to see "
                          f"{'it' if len(names) == 1 else 'them'}")
                return Answer(query.text, no_match_text(reason, hits, lang, self.corpus),
                              "no_match", (), tuple(hits), relevance=relevance, reason=reason,
                              lang=lang)
            picked = [by_id[s] for s in decision.lookup if s in by_id]
            # an article asked for by number is quoted whole
            citations = tuple(
                Citation(n, hit, tuple(units(hit.text)), tuple(units(hit.text_zh)))
                if hit.kind == "article" else self.citation(n, query, hit)
                for n, hit in enumerate(picked, start=1))
        else:
            citations = tuple(self.citation(n, query, hit)
                              for n, hit in enumerate(self.choose(query, hits), start=1))
        if not citations:
            reason = "检索到的内容无法引用" if lang == "zh" else "nothing retrieved can be quoted"
            return Answer(query.text, no_match_text(reason, hits, lang, self.corpus),
                          "no_match", (), tuple(hits), relevance=relevance, reason=reason,
                          lang=lang)
        # an aspect asked of the rules in general is answered like a comparison: a row for
        # each regulation's article on it
        comparison = ((query.wants("comparison") and len(query.spans) >= 2)
                      or bool(query.general and decision.lookup))
        answer = Answer(query.text, "", decision.status, citations, tuple(hits),
                        relevance=relevance, reason=decision.reason, lang=lang,
                        comparison=comparison)
        text = render(answer, comparison=comparison)
        return replace(answer, text=text, offline_text=text)


def _idf(documents: Sequence[set[str]]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for document in documents:
        for term in document:
            counts[term] = counts.get(term, 0) + 1
    return {t: math.log(1 + len(documents) / c) for t, c in counts.items()}


def _best_unit(scored: list[tuple[float, str]]) -> str:
    """The unit that best answers; the first of equals. Only when nothing matches at all is a
    bare lead-in passed over: a lead-in that matches can hold the answer itself ("下列用语的含义：
    深度合成技术，是指…" for "深度合成技术是指什么？" lost a tie to a later definition)."""
    if not scored:
        return ""
    return max(scored, key=lambda pair: (pair[0], pair[0] > 0 or not is_lead_in(pair[1])))[1]


def _pick(scored: list[tuple[float, str]]) -> tuple[str, ...]:
    """The best units (at most MAX_QUOTES), in the article's own order. A list is quoted
    whole (its lead-in and every item) when its lead-in or an item is picked: an item cut
    from its list, or a lead-in without its items, can say the opposite of the article.
    An article of one or two units is quoted whole; with no unit matching, its opening."""
    if len(scored) <= MAX_QUOTES:
        return tuple(u for _, u in scored)
    texts = [u for _, u in scored]
    ranked = sorted(range(len(scored)), key=lambda i: (-scored[i][0], i))
    picked = ranked[:MAX_QUOTES] if scored[ranked[0]][0] > 0 else [0]
    keep = {j for i in picked for j in (_list_around(texts, i) or [i])}
    return tuple(texts[i] for i in sorted(keep))


def _list_around(texts: list[str], i: int) -> list[int]:
    """Indices of the list (a lead-in ending in a colon and the numbered items after it)
    that unit i belongs to; [] when it is not part of one."""
    def is_item(j: int) -> bool:
        return 0 <= j < len(texts) and bool(ITEM.match(texts[j]))

    def opens_list(j: int) -> bool:
        return 0 <= j < len(texts) and is_lead_in(texts[j])

    if not (is_item(i) or (opens_list(i) and is_item(i + 1))):
        return []
    start = i
    while is_item(start):
        start -= 1
    first = start if opens_list(start) else start + 1
    end = max(i, start) + 1
    while is_item(end):
        end += 1
    return list(range(first, end))


def no_match_text(reason: str, hits: Sequence[Hit], lang: str, corpus: Corpus) -> str:
    closest = [h for h in hits[:3]]
    if lang == "zh":
        names = "、".join(label_zh(h) for h in closest) or "无"
        held = "、".join(f"《{r.title_zh}》" for r in corpus.regulations)
        return (f"语料库中没有能回答这个问题的条文（{reason}），因此不作猜测。最接近的条文是：{names}。"
                f"本工具收录：{held}。")
    names = ", ".join(h.label for h in closest) or "none"
    held = "; ".join(r.short_title for r in corpus.regulations)
    return (f"I could not find a provision in the corpus that answers this question ({reason}), "
            f"so I will not guess. The closest sources are: {names}. The corpus holds: {held}.")


def render(answer: Answer, escape: Callable[[str], str] = str, comparison: bool = False) -> str:
    """The offline answer in Markdown: the lead, then quotes grouped by regulation (or a
    table for a comparison), in the question's language. `escape` is applied to every piece
    of corpus text."""
    zh = answer.lang == "zh"
    law = [c for c in answer.citations if c.hit.kind == "article"]
    commentary = [c for c in answer.citations if c.hit.kind == "commentary"]
    lines: list[str] = []
    if answer.status in ("partial", "grounded") and answer.reason:
        lines.append(("注意：" if zh else "Note: ") + escape(answer.reason) + ("。" if zh else "."))
    for citation in commentary:
        hit = citation.hit
        who = escape(hit.author) + (f" ({escape(hit.affiliation)})" if hit.affiliation else "")
        when = f", {escape(hit.published)}" if hit.published else ""
        lines.append(f"*{'评论，非法律条文' if zh else 'Commentary, not law'}* — {who}{when}:")
        lines.extend(f"\n> {escape(q)} [{citation.number}]" for q in citation.quotes)
    if law:
        first = law[0]
        lead = _lead(first, zh)
        label = first.label_zh if zh else first.label
        opening = f"依据{escape(label)}：" if zh else f"Under {escape(label)}: "
        lines.append(f"{opening}{escape(lead)} [{first.number}]" if lead else escape(label))
    if comparison and len({c.hit.regulation for c in law}) >= 2:
        header = "| 规定 | 条文 | 规则 |" if zh else "| Regulation | Article | Rule |"
        lines += ["", header, "|---|---|---|"]
        for c in law:
            title = c.hit.regulation_title_zh if zh else c.hit.regulation_title
            quote = (joined(c.quotes_zh, c.hit.text_zh) if zh and c.quotes_zh
                     else joined(c.quotes, c.hit.text))
            cell = escape(quote).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {escape(title)} | {escape(c.label_zh if zh else c.label)} | "
                         f"{cell} [{c.number}] |")
        # each row's other language beneath the table, as beneath quotes (bug hunt: a Chinese
        # table carried no English and did not say which text prevails)
        for c in law:
            if c.quotes_zh:
                other = joined(c.quotes, c.hit.text) if zh else joined(c.quotes_zh, c.hit.text_zh)
                lines.append(f"\n> *{'English (unofficial)' if zh else 'Official Chinese'}* "
                             f"[{c.number}]: {escape(other)}")
        lines.append(f"\n{UNOFFICIAL_ZH if zh else UNOFFICIAL_EN}")
        return "\n".join(lines)
    groups: dict[str, list[Citation]] = {}
    for citation in law:
        groups.setdefault(citation.hit.regulation, []).append(citation)
    for group in groups.values():
        heading = len(groups) > 1
        for citation in group:
            quotes = citation.quotes_zh if zh and citation.quotes_zh else citation.quotes
            if citation is law[0] and not (ITEM.match(lead) or is_lead_in(lead)):
                # its answering sentence is already the first line (a list stays whole)
                quotes = tuple(q for q in quotes if q != lead)
            # the other language beneath: our English under the official Chinese, or the
            # official Chinese under our English (a lawyer cannot sign an unofficial quote alone)
            other = ((joined(citation.quotes, citation.hit.text) if zh
                      else joined(citation.quotes_zh, citation.hit.text_zh))
                     if citation.quotes_zh else "")
            if not quotes and not other:
                continue
            if heading:  # only over quotes (regression: a heading stood alone when the lead
                # had quoted its one article whole)
                title = group[0].hit.regulation_title_zh if zh else group[0].hit.regulation_title
                lines.append(f"\n**{escape(title)}**")
                heading = False
            lines.append(f"\n{escape(citation.label_zh if zh else citation.label)}{'：' if zh else ':'}")
            lines.extend(f"\n> {escape(q)} [{citation.number}]" for q in quotes)
            if other:
                lines.append(f"\n> *{'English (unofficial)' if zh else 'Official Chinese'}:* "
                             f"{escape(other)}")
    if law:  # (a commentary is our English summary: there is no official text)
        lines.append(f"\n{UNOFFICIAL_ZH if zh else UNOFFICIAL_EN}")
    return "\n".join(lines)


def joined(quotes: Sequence[str], text: str) -> str:
    """Quotes of one article on one line, with " … " where the article has text between two
    of them (regression, bug hunt: sentences 2 and 4 of an article were run together as if
    one passage)."""
    out, end = "", None
    for quote in quotes:
        start = text.find(quote, end or 0)
        if out:
            adjacent = start >= 0 and end is not None and not text[end:start].strip()
            out += " " if adjacent else " … "
        out += quote
        end = start + len(quote) if start >= 0 else None
    return out


def _lead(citation: Citation, zh: bool) -> str:
    if citation.lead:
        return citation.lead
    quotes = citation.quotes_zh if zh and citation.quotes_zh else citation.quotes
    return quotes[0] if quotes else ""  # an article asked for by number: its opening


__all__ = ["Answer", "Answerer", "Citation", "joined", "render"]
