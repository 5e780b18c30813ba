"""Stage 5a: the one place that decides whether to answer.

`decide` reads the `Query` and the hits in a fixed order: out of scope, then explicit
article references, then the strength of the evidence retrieval found and the scope model's
verdict (scope.py), then whether the articles found set the figures the question states (a
premise they do not bear out makes the answer `partial`). An article number with no regulation
named is answered `partial`: from each regulation that has it, saying which is assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .corpus import Corpus
from .query import Query
from .text import unset_figures, zh_number

STATUSES = ("grounded", "partial", "no_match", "llm_unavailable")
TOO_WEAK = "no provision in the corpus is close enough to the question"
TOO_WEAK_ZH = "最接近的条文与问题的相似度不足"
# shown inside parentheses ("… (reason), so it does not guess"): no parentheses of their own
OUTSIDE = "its subject looks like one these regulations do not govern"
OUTSIDE_ZH = "问题的主题看起来不在这几部规定的调整范围内"
PREMISE_DEPTH = 3  # a figure any of the first three articles sets is not flagged


@dataclass(frozen=True)
class Decision:
    status: str  # one of STATUSES (never llm_unavailable: that is the LLM path's)
    reason: str = ""  # shown to the user when not plainly grounded
    lookup: tuple[str, ...] = ()  # source ids to cite exactly, when the question named them
    # refused only because the evidence was weak (below the floor, or judged out of scope by
    # the scope model): a short turn is then retried in the conversation's context
    too_weak: bool = False


@dataclass(frozen=True)
class Evidence:
    """The no-match floor: the best dense similarity of the top hits must reach it. Fitted by
    cross-validation per language and stored beside the index (see regqa.devtools)."""

    en: float = 0.40
    zh: float = 0.80

    def floor(self, lang: str) -> float:
        return self.zh if lang == "zh" else self.en


def strength(hits: Sequence) -> float:
    """Best dense similarity among the top three hits: how close the corpus came."""
    return max((h.similarity for h in hits[:3]), default=0.0)


def _spans(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted numbers as runs of consecutive ones: [25, 26, 27, 30] -> [(25, 27), (30, 30)]."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [(a, b) for a, b in runs]


def _articles_named(numbers: Sequence[int], lang: str, last: int | None = None) -> str:
    """"Article 30", "Articles 25–100, 120" / "第三十条", "第二十五条至第一百条、第一百二十条".
    Numbers all past `last`, a regulation's last article, are one run: a long range was read
    only in part ("Articles 1–1000" → 36–50 and 1000), and "36–50, 1000" implied 51–999 exist."""
    runs = _spans(numbers)
    # merged only when they start right after the last article and are many: a range read in
    # part; "第二十六条和第九十条" stays two numbers
    if last is not None and min(numbers) == last + 1 and len(set(numbers)) > 2:
        runs = [(min(numbers), max(numbers))]
    if lang == "zh":
        return "、".join(f"第{zh_number(a)}条" + (f"至第{zh_number(b)}条" if b > a else "")
                        for a, b in runs)
    listed = ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in runs)
    return f"Article{'s' if len(runs) > 1 or runs[0][1] > runs[0][0] else ''} {listed}"


def _no_such_article(regulation_id: str | None, missing: Sequence[int], corpus: Corpus,
                     lang: str) -> str:
    last = (corpus.regulation(regulation_id).articles[-1].number if regulation_id is not None
            else max(r.articles[-1].number for r in corpus.regulations))
    named = _articles_named(missing, lang, last)
    plural = named.startswith("Articles")
    if regulation_id is not None:
        regulation = corpus.regulation(regulation_id)
        numbers = [a.number for a in regulation.articles]
        if lang == "zh":
            return (f"《{regulation.title_zh}》共{len(numbers)}条（第{zh_number(numbers[0])}条至"
                    f"第{zh_number(numbers[-1])}条），没有{named}")
        return (f"the {regulation.short_title} have articles {numbers[0]}–{numbers[-1]} "
                f"({len(numbers)} in all); there {'are no' if plural else 'is no'} {named}")
    longest = max(corpus.regulations, key=lambda r: r.articles[-1].number)
    if lang == "zh":
        return (f"语料库中没有哪部规定有{named}（条文最多的是"
                f"《{longest.title_zh}》，共{longest.articles[-1].number}条）")
    return (f"no regulation in the corpus has {named if plural else 'an ' + named} (the highest "
            f"is Art. {longest.articles[-1].number} of the {longest.short_title})")


def _ambiguous(ref, corpus: Corpus, lang: str) -> str:
    if lang == "zh":
        names = "、".join(corpus.regulation(reg).label_zh(n) for reg, n in ref.candidates)
        return f"多部规定都有第{zh_number(ref.article)}条（{names}），请说明指的是哪一部"
    names = "; ".join(corpus.regulation(reg).label(n) for reg, n in ref.candidates)
    return f"several regulations have an Article {ref.article} ({names}); say which one you mean"


def _only_one(ref, corpus: Corpus, lang: str) -> str:
    (reg, n), = ref.candidates
    if lang == "zh":
        return f"只有《{corpus.regulation(reg).title_zh}》有第{zh_number(n)}条，以下按该条回答"
    return f"only {corpus.regulation(reg).label(n)} has that number; the answer assumes it is meant"


def _outside_filter(refs: Sequence, regulations: Sequence[str], corpus: Corpus, lang: str) -> str:
    """A bare article number only regulations outside the filter have, or regulations the
    question names that the filter leaves out: say so, never "no regulation has it"."""
    if lang == "zh":
        names = "、".join([*(corpus.regulation(reg).label_zh(n) for ref in refs
                             for reg, n in ref.candidates),
                           *(f"《{corpus.regulation(reg).title_zh}》" for reg in regulations)])
        return f"{names}不在所选规定的范围内；清除筛选或选中它即可"
    names = "; ".join([*(corpus.regulation(reg).label(n) for ref in refs
                         for reg, n in ref.candidates),
                       *(f"the {corpus.regulation(reg).short_title}" for reg in regulations)])
    # "Provisions" and "Measures" are plural; one article is not
    single = not regulations and sum(len(ref.candidates) for ref in refs) == 1
    return (f"{names} {'is' if single else 'are'} outside the regulations selected; clear the "
            "filter or select it to see it")


def _not_addressed(named: Sequence[str], corpus: Corpus, lang: str) -> str:
    if lang == "zh":
        return f"{'、'.join(f'《{corpus.regulation(r).title_zh}》' for r in named)}的条文没有涉及这个问题"
    names = " or the ".join(corpus.regulation(r).short_title for r in named)
    return f"nothing in the {names} addresses it"


ASPECTS = {"penalties": ("penalties", "法律责任"), "filing": ("filing", "备案"),
           "dates": ("entry into force", "施行日期"), "scope": ("scope", "适用范围"),
           "purpose": ("purpose and legal basis", "立法目的和依据")}


def _in_general(query: Query) -> str:
    """What a user asking an aspect of the rules in general is told (Query.general)."""
    english, chinese = ASPECTS[query.general]  # every GENERAL_ROLES aspect (a test checks)
    if query.lang == "zh":
        return f"问题没有指明哪部规定，以下列出各部规定关于{chinese}的条文"
    return f"no regulation was named, so each regulation's articles on {english} follow"


def _unsupported(query: Query, articles: Sequence) -> list[str]:
    """The figures the question states that none of these articles sets, in either language
    ("算法备案的有效期是三年吧？" when the filing article sets no three years)."""
    if not query.figures:  # most questions state none: the articles need not be read
        return []
    return unset_figures(list(query.figures), [t for hit in articles for t in (hit.text, hit.text_zh)])


def _premise(unsupported: Sequence[str], lang: str) -> str:
    if lang == "zh":
        return f"检索到的条文没有规定问题中的{'、'.join(f'“{f}”' for f in unsupported)}，这一前提可能不成立"
    return (f"the provisions found set no {', '.join(f'“{f}”' for f in unsupported)}; the "
            "question's premise may not hold")


def decide(query: Query, hits: Sequence, corpus: Corpus, evidence: Evidence,
           outside: bool = False) -> Decision:
    """`outside`: the scope model judged the question out of scope (scope.py). It refuses
    only what no rule, lookup or reference has decided, like the floor."""
    if query.out_of_scope:
        return Decision("no_match", query.out_of_scope)
    zh = query.lang == "zh"
    # one sentence per regulation, not per number ("Articles 1-100" named 76 missing ones)
    absent: dict[str | None, list[int]] = {}
    for ref in query.references:
        if ref.status == "missing" and (ref.regulation or not query.regulations):
            absent.setdefault(ref.regulation, []).append(ref.article)
    missing = ("；" if zh else "; ").join(
        _no_such_article(regulation, numbers, corpus, query.lang)
        for regulation, numbers in absent.items())
    found = [f"{r.regulation}#{r.article}" for r in query.lookups]
    if found:  # "违反第十七条最高罚多少": the penalty article that enforces it, then the article
        found = [h.source_id for h in hits if "enforces" in h.via] + found
    named = [f"commentary:{doc}" for doc in query.commentators]
    if missing and not found:
        return Decision("no_match", missing)
    if found or named:
        # a named commentator's view stays beside the article asked for, and is the answer
        # when no article is ("What did Sheehan argue?" was refused by the floor)
        unsupported = _unsupported(query, [h for h in hits if h.source_id in found])
        if unsupported and not missing:
            return Decision("partial", _premise(unsupported, query.lang), tuple(named + found))
        return Decision("partial" if missing else "grounded", missing,
                        tuple(named + found))
    filtered = [r for r in query.references if r.status == "filtered"]
    others = [r for r in query.references if r.status not in ("filtered", "missing")]
    excluded = query.named and set(query.filtered_out) == set(query.named)
    if (filtered and not others) or excluded:
        return Decision("no_match", _outside_filter(filtered, query.filtered_out, corpus,
                                                    query.lang))
    # a number only one regulation has is answered from it when the turn asks nothing else:
    # "What does Article 30 of our employee handbook say?" is another document's
    ambiguous = [r for r in query.references
                 if r.status == "ambiguous" or (r.status == "unplaced" and query.bare)]
    if ambiguous and not query.regulations:
        # Regression (bug hunt): "What does Article 30 say?" was refused as "not close enough"
        # while "Art. 21", which three regulations have, was answered; a number that only one
        # regulation has is answered from it, `partial` because the regulation is assumed
        # every number asked for (bug hunt: "Articles 17 and 18" answered 17 and dropped 18)
        reason = ("；" if zh else "; ").join(
            (_ambiguous if ref.status == "ambiguous" else _only_one)(ref, corpus, query.lang)
            for ref in ambiguous)
        return Decision("partial", reason, tuple(dict.fromkeys(
            f"{reg}#{n}" for ref in ambiguous for reg, n in ref.candidates)))
    general = tuple(h.source_id for h in hits if "general" in h.via)
    if general:
        # an aspect asked of the rules in general ("罚款是多少？", "What's the effective
        # date?"): each regulation's key articles for it answer, whatever the floor or the scope
        # model make of so few words (a review found "How much are the fines?" refused as
        # off the subject)
        unsupported = _unsupported(query, [h for h in hits if h.source_id in general])
        if unsupported:
            return Decision("partial", _premise(unsupported, query.lang), general)
        if query.filtered_out:  # review: "AR and GenAI penalties?" with GenAI selected
            return Decision("partial", _outside_filter([], query.filtered_out, corpus,
                                                      query.lang), general)
        # (one regulation, when the filter selects one: then nothing is left to say)
        several = len({source.split("#")[0] for source in general}) > 1
        return Decision("grounded", _in_general(query) if several and not query.named else "",
                        general)
    if not hits:
        return Decision("no_match", "语料库中没有与问题匹配的内容" if zh
                        else "nothing in the corpus matched the question")
    if strength(hits) < evidence.floor(query.searched_in):  # the similarity's language
        return Decision("no_match", TOO_WEAK_ZH if zh else TOO_WEAK, too_weak=True)
    if outside:
        # a question about a regulation it names is not about another subject: what is true
        # is that the regulation does not address it (fifth review: "The algorithm rules
        # require an annual self-assessment report… What's the yearly deadline?" was told its
        # subject is one these regulations do not govern)
        reason = (_not_addressed(query.named, corpus, query.lang) if query.named
                  else OUTSIDE_ZH if zh else OUTSIDE)
        return Decision("no_match", reason, too_weak=True)
    # A figure the question states that the closest articles do not set is a premise the
    # rules may not bear out ("备案有效期是三年吧？"): answered, but `partial`, and the user is told
    unsupported = _unsupported(query, [h for h in hits if h.kind == "article"][:PREMISE_DEPTH])
    if unsupported:
        return Decision("partial", _premise(unsupported, query.lang))
    if query.filtered_out:  # a comparison of two regulations with one outside the selection
        return Decision("partial", _outside_filter([], query.filtered_out, corpus, query.lang))
    return Decision("grounded")
