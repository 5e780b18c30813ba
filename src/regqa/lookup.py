"""Explicit article references in a question: "Article 17 of the deep synthesis provisions",
"genai art. 9", "深度合成规定第十七条". They are answered by lookup, not by similarity."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corpus import Corpus, chinese_numeral

# Phrases users write for each regulation (lower case); a user-added regulation is also
# matched by its id and short title.
ALIASES: dict[str, tuple[str, ...]] = {
    "genai-2023": ("generative ai", "generative artificial intelligence", "genai", "gen ai",
                   "gai", "interim measures", "生成式人工智能", "生成式ai", "暂行办法"),
    "deep-synthesis-2022": ("deep synthesis", "deep-synthesis", "deepfake", "deep fake",
                            "深度合成"),
    "algorithmic-recommendation-2021": ("algorithmic recommendation", "algorithm recommendation",
                                        "recommendation algorithm", "algorithmic-recommendation",
                                        "recommendation provisions", "algorithm provisions",
                                        "算法推荐"),
}

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
NUMBER_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|"
               r"three|four|five|six|seven|eight|nine))?|" + "|".join(UNITS[1:][::-1]) + ")")
EN_ARTICLE = re.compile(rf"\b(?:article|art)\.?\s*(\d{{1,3}}|{NUMBER_WORD})\b", re.IGNORECASE)


def english_number(text: str) -> int:
    """'17' -> 17, 'ten' -> 10, 'twenty-four' -> 24."""
    text = text.lower()
    if text.isdigit():
        return int(text)
    parts = re.split(r"[- ]", text)
    value = TENS.get(parts[0], 0) or UNITS.index(parts[0])
    return value + (UNITS.index(parts[1]) if len(parts) > 1 else 0)
ZH_ARTICLE = re.compile(r"第\s*([零一二三四五六七八九十百]+|\d{1,3})\s*条")


@dataclass(frozen=True)
class ArticleRef:
    regulation: str | None  # None: the question names no regulation
    article: int


def _name_spans(question: str, corpus: Corpus) -> list[tuple[int, int, str]]:
    """(start, end, regulation id) of every name, alias or id of a regulation in the question."""
    lowered = question.lower()
    spans = []
    for regulation in corpus.regulations:
        names = (*ALIASES.get(regulation.id, ()), regulation.id, regulation.short_title.lower(),
                 regulation.title.lower(), regulation.title_zh)
        spans.extend((m.start(), m.end(), regulation.id) for name in names if name
                     for m in re.finditer(rf"(?<![a-z]){re.escape(name)}(?![a-z])", lowered))
    return spans


def regulation_mentions(question: str, corpus: Corpus) -> list[str]:
    """Regulation ids named in the question, in order of first mention."""
    first: dict[str, int] = {}
    for start, _, regulation_id in _name_spans(question, corpus):
        first[regulation_id] = min(start, first.get(regulation_id, start))
    return sorted(first, key=first.get)


def find_article_refs(question: str, corpus: Corpus) -> list[ArticleRef]:
    """Article numbers in the question, each tied to a regulation named right before it
    ("genai art. 9", "深度合成规定第十七条") or else to the nearest one named after it
    ("Article 17 of the deep synthesis provisions"), else the nearest before it. A number
    with no regulation named anywhere is returned with regulation None."""
    spans = _name_spans(question, corpus)
    numbers = [(m.start(), english_number(m.group(1))) for m in EN_ARTICLE.finditer(question)]
    for m in ZH_ARTICLE.finditer(question):
        raw = m.group(1)
        numbers.append((m.start(), int(raw) if raw.isdigit() else chinese_numeral(raw)))
    refs: list[ArticleRef] = []
    for position, number in sorted(numbers):
        ref = ArticleRef(_regulation_for(position, spans, question), number)
        if ref not in refs:
            refs.append(ref)
    return refs


def _regulation_for(position: int, spans: list[tuple[int, int, str]], question: str) -> str | None:
    before = [s for s in spans if s[1] <= position]
    after = [s for s in spans if s[0] > position]
    if before:
        start, end, regulation_id = max(before, key=lambda s: s[1])
        gap = question[end:position]
        # "deep synthesis art 16", "深度合成规定第十七条", "genai-2023 第3条"
        if len(gap) <= 12 and not re.search(r"[,;.?!，。；？]|\band\b|\bwith\b", gap):
            return regulation_id
    if after:
        return min(after, key=lambda s: s[0])[2]
    return max(before, key=lambda s: s[1])[2] if before else None


# Everyday words that point at one regulation's subject matter; used as a soft prior in
# ranking (never as a filter), so a question about "face-swap apps" prefers deep synthesis.
TOPICS: dict[str, tuple[str, ...]] = {
    "genai-2023": ("chatbot", "chat bot", "large language model", "llm", "generative",
                   "foundation model", "生成式", "大模型", "聊天机器人"),
    "deep-synthesis-2022": ("deepfake", "deep fake", "face swap", "face-swap", "voice clon",
                            "voice-clon", "synthetic media", "deep synthesis", "换脸", "深度合成",
                            "深度伪造"),
    "algorithmic-recommendation-2021": ("recommendation", "recommend", "news feed", "feeds",
                                        "personalised", "personalized", "推荐", "个性化"),
}
# Words that ask what someone argued. Not "opinion" (public opinion is a legal term here),
# "authorities" or "post" (users post content).
COMMENTARY_INTENT = re.compile(
    r"\b(argu(e|es|ed|ing|ment|ments)|commentar(y|ies|ator|ators)|commented|experts?|"
    r"analysts?|analysis|blog\w*|the post|this post|authors?|summar(y|ies|ise|ize|ised|ized)|"
    r"critics?|criticis\w*|told|writes|wrote|said that|views? of)\b"
    r"|认为|评论|专家|观点|看法|律师", re.IGNORECASE)


def regulation_topics(question: str, corpus: Corpus) -> list[str]:
    """Regulation ids the question is about, by name or by subject words."""
    lowered = question.lower()
    found = set(regulation_mentions(question, corpus))
    for regulation_id, words in TOPICS.items():
        if corpus.regulation(regulation_id) and any(w in lowered for w in words):
            found.add(regulation_id)
    return sorted(found)


def commentator_mentions(question: str, corpus: Corpus) -> list[str]:
    """Commentary ids whose author's surname or affiliation the question names."""
    lowered = question.lower()
    by_name, by_affiliation = [], []
    for doc in corpus.commentary:
        names = re.split(r",|\band\b|\(", doc.author)
        surnames = {n.strip().split()[-1].lower() for n in names if n.strip()} - {"analysis"}
        affiliation = {w.lower() for w in re.findall(r"[A-Z][a-z]{3,}", doc.affiliation)}
        affiliation -= {"analysis", "convergence", "endowment", "international", "peace",
                        "china", "law"}

        def named(keys: set[str]) -> bool:
            return any(re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", lowered) for k in keys)

        if named(surnames):
            by_name.append(doc.id)
        elif named(affiliation):
            by_affiliation.append(doc.id)
    return by_name + by_affiliation
