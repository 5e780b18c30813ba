"""Names of regulations and article references in free text: one parser for users' questions
and for checking a language model's answer.

    regulation_spans(text, corpus)   -> [(start, end, regulation id)]  every name, in order
    regulation_mentions(text, corpus) -> [regulation id]               in order of first mention
    find_article_refs(text, corpus)   -> [ArticleRef]                  every article number

Names come from the corpus, never from code: each regulation's front-matter `aliases`, its
id, short title, title and Chinese title, matched case-insensitively (and width-insensitively:
full-width letters and digits count) with word boundaries on Latin text.

Article references understood: "Article 17", "art. 9", "art 9", "ARTICLE 99", "Articles 30
and 31", "Arts. 40-45" / "40–45" / "40 to 45" (ranges expand, capped at MAX_RANGE numbers),
"Articles 3, 5 and 7", English number words ("article ten", "twenty-four"), "第十七条",
"第 99 条", "第九十九條", "第１７条", "第17、18条", "第十七条至第二十条", "第十七条第一款"
(article 17). "art" alone counts only with a period or a digit right after it, so "state of
the art ten years old" is not a reference.

Each number is tied to a regulation named right before it (a short gap with no sentence break:
"deep synthesis art 16", "深度合成规定第十七条", "《…暂行办法》第七条", "Deep Synthesis
Provisions, Art. 16") or else to the nearest one named after it in the same sentence
("Article 17 of the deep synthesis provisions"), else to the nearest one before it, else the
nearest after it; None if the text names none.
Spans index the text as given (folding keeps every character in place).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .text import chinese_numeral

MAX_RANGE = 50  # "Articles 1-1000" expands to at most this many numbers (plus its end)
MAX_NUMBER = 10**12  # "Article 10000000" is read, and is no article of any regulation
NEAR_BEFORE = 12  # characters between a name and the reference that follows it

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
_ONES = "one|two|three|four|five|six|seven|eight|nine"
NUMBER_WORD = (rf"(?:(?:{'|'.join(TENS)})(?:[- ](?:{_ONES})(?![a-z]))?|"
               + "|".join(sorted(UNITS[1:], key=len, reverse=True)) + ")(?![a-z])")
# A list item has at most three digits ("Article 5, 2023 edition" is not Article 2023); the
# first number and a range's end may have four, so "Arts. 1-1000" is read (and checked) whole.
EN_NUMBER = rf"(?:\d{{1,3}}(?![0-9])|{NUMBER_WORD})"
EN_NUMBER_WIDE = rf"(?:\d{{1,12}}(?![0-9])|{NUMBER_WORD})"
# "article(s)", "art." / "arts." (period), "art"/"arts" only when a digit follows.
EN_KEYWORD = r"(?:articles?|arts?\.|arts?(?=\s*\d))"
EN_LIST = r"(?:\s*(?:,|;|&|\band\b|\bor\b)\s*)"
EN_RANGE = r"(?:\s*(?:\bto\b|\bthrough\b|\bthru\b|-|–|—|~)\s*)"
EN_REF = re.compile(
    rf"(?<![a-z0-9]){EN_KEYWORD}\s*{EN_NUMBER_WIDE}"
    rf"(?:{EN_LIST}(?:{EN_KEYWORD}\s*)?{EN_NUMBER}|{EN_RANGE}(?:{EN_KEYWORD}\s*)?{EN_NUMBER_WIDE})*")
# "the 17th article of …"
EN_ORDINAL = re.compile(r"(?<![a-z0-9])(\d{1,12})(?:st|nd|rd|th)\s+article(?![a-z])")
EN_PIECE = re.compile(rf"({EN_NUMBER_WIDE})|(-|–|—|~|\bto\b|\bthrough\b|\bthru\b)")

ZH_DIGITS = "零〇一二两兩三四五六七八九十百"
ZH_NUMBER = rf"(?:[{ZH_DIGITS}千]+|\d{{1,12}}(?![0-9]))"
ZH_SEPARATOR = r"(?:\s*[、,，和及与與或至到~\-—–－]\s*)"
ZH_REF = re.compile(
    rf"第\s*{ZH_NUMBER}(?:{ZH_SEPARATOR}第?\s*{ZH_NUMBER})*\s*[条條]"
    rf"(?:\s*[至到~\-—–]\s*第\s*{ZH_NUMBER}\s*[条條])?")
ZH_PIECE = re.compile(rf"({ZH_NUMBER})|([至到~\-—–－])")

# What may separate a name from the reference it governs ("deep synthesis art 16"): no
# sentence break and no conjunction; a comma only when nothing else stands between them.
BREAK = re.compile(r"[.;:?!。；：？！\n]|\b(?:and|or|with|vs|versus|than|compared)\b|[和与與或及]")

SENTENCE_END = re.compile(r"[.;?!。；？！\n](?:\s|$)|[。；？！\n]")


@dataclass(frozen=True)
class ArticleRef:
    regulation: str | None  # regulation id named for it, None if no regulation named
    article: int
    start: int  # span in the text: the whole phrase the number belongs to
    end: int    # ("Articles 30 and 31" for both 30 and 31)


def fold(text: str) -> str:
    """Lower case and NFKC per character, keeping every character in place (a character whose
    folded form is not one character is kept as it is), so spans in the folded text are spans
    in `text`."""
    if text.isascii():
        return text.lower()
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char).lower()
        out.append(folded if len(folded) == 1 else char.lower() if len(char.lower()) == 1
                   else char)
    return "".join(out)


def english_number(text: str) -> int:
    """'17' -> 17, 'ten' -> 10, 'twenty-four' / 'twenty four' -> 24."""
    text = fold(text).strip()
    if text.isdigit():
        return int(text)
    parts = re.split(r"[- ]+", text)
    value = TENS.get(parts[0], 0) or UNITS.index(parts[0])
    return value + (UNITS.index(parts[1]) if len(parts) > 1 else 0)


chinese_number = chinese_numeral  # the one implementation lives in text.py


# -- names of regulations ------------------------------------------------------------------

def _names(corpus) -> tuple[tuple[str, str, bool], ...]:
    """(folded name, regulation id, abbreviation?) for every name of every regulation; the
    first regulation to claim a name keeps it."""
    seen: dict[str, tuple[str, bool]] = {}
    for regulation in corpus.regulations:
        names = [(name, False) for name in (*getattr(regulation, "aliases", ()), regulation.id,
                                           regulation.short_title, regulation.title,
                                           regulation.title_zh)]
        names += [(name, True) for name in getattr(regulation, "abbreviations", ())]
        for name, short in names:
            name = " ".join(fold(name or "").split())
            if len(name) >= 2 and name not in seen:
                seen[name] = (regulation.id, short)
    return tuple((name, owner, short) for name, (owner, short) in seen.items())


# an abbreviation names a regulation only right before an article: "AR Art. 24", "DS 第17条"
# ("AR第三方SDK" is augmented reality: 第 only with a number and 条 after it)
BEFORE_ARTICLE = (r"(?=\s*[,，]?\s*(?:arts?\b|articles?\b|"
                  r"第\s*[0-9零〇一二两兩三四五六七八九十百千]+\s*[条條]))")


@lru_cache(maxsize=16)
def _name_pattern(names: tuple[tuple[str, str, bool], ...]) -> tuple[re.Pattern, dict[str, str]]:
    def pattern(name: str, short: bool) -> str:
        body = r"\s+".join(re.escape(word) for word in name.split(" "))
        head = r"(?<![a-z0-9])" if re.match(r"[a-z0-9]", name) else ""
        tail = r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", name) else ""
        return head + body + tail + (BEFORE_ARTICLE if short else "")

    ordered = sorted(names, key=lambda n: len(n[0]), reverse=True)  # longest name wins
    if not ordered:
        return re.compile(r"(?!x)x"), {}
    return (re.compile("|".join(f"(?:{pattern(n, short)})" for n, _, short in ordered)),
            {n: owner for n, owner, _ in names})


def regulation_spans(text: str, corpus) -> list[tuple[int, int, str]]:
    """(start, end, regulation id) of every name of a regulation in the text, in order; where
    names overlap the longest (leftmost) one counts."""
    folded = fold(text)
    pattern, owner = _name_pattern(_names(corpus))
    return [(m.start(), m.end(), owner[" ".join(m.group(0).split())])
            for m in pattern.finditer(folded)]


def regulation_mentions(text: str, corpus) -> list[str]:
    """Regulation ids named in the text, in order of first mention."""
    out: list[str] = []
    for _, _, regulation_id in regulation_spans(text, corpus):
        if regulation_id not in out:
            out.append(regulation_id)
    return out


# -- article references ----------------------------------------------------------------------

def _numbers(phrase: str, piece: re.Pattern, convert) -> list[int]:
    """The numbers of one reference phrase, ranges expanded."""
    numbers: list[int] = []
    pending_range = False
    for m in piece.finditer(phrase):
        if m.group(2):
            pending_range = bool(numbers)
            continue
        try:
            value = convert(m.group(1))
        except ValueError:
            continue
        if pending_range and numbers and numbers[-1] < value <= MAX_NUMBER:
            low = numbers[-1]
            span = range(low + 1, min(value, low + MAX_RANGE - 1) + 1)
            numbers.extend(span)
            if numbers[-1] != value:
                numbers.append(value)
        elif value <= MAX_NUMBER:
            numbers.append(value)
        pending_range = False
    return numbers


def _english_pieces(phrase: str) -> list[int]:
    # Drop the keywords so that "art" in "articles" is not read as anything.
    return _numbers(re.sub(rf"(?<![a-z]){EN_KEYWORD}", " ", phrase), EN_PIECE, english_number)


def _chinese_pieces(phrase: str) -> list[int]:
    return _numbers(phrase.replace("第", " ").replace("条", " ").replace("條", " "), ZH_PIECE,
                    chinese_number)


def _regulation_for(start: int, end: int, spans: list[tuple[int, int, str]],
                    folded: str) -> str | None:
    before = [s for s in spans if s[1] <= start]
    after = [s for s in spans if s[0] >= end]
    if before:
        _, name_end, regulation_id = before[-1]
        gap = folded[name_end:start]
        stripped = gap.strip(" \t》」』\"'”’)]）")
        if len(gap) <= NEAR_BEFORE and (stripped in ("", ",", "，", "的")
                                        or (not BREAK.search(gap) and not re.search("[,，]", gap))):
            return regulation_id
    # "Article 17 of the deep synthesis provisions": a name later in the same sentence; a name
    # in a later sentence only when no name comes before ("Article 12 applies. The deep
    # synthesis rules..." keeps Article 12 with the regulation named before it, if any).
    if after and not SENTENCE_END.search(folded[end:after[0][0]]):
        return after[0][2]
    if before:
        return before[-1][2]
    return after[0][2] if after else None


def find_article_refs(text: str, corpus) -> list[ArticleRef]:
    """Every article number in the text, in order, each tied to a regulation (see the module
    docstring); a phrase naming several numbers gives one ArticleRef per number, all with the
    phrase's span."""
    folded = fold(text)
    spans = regulation_spans(text, corpus)
    phrases = [(m.start(), m.end(), _english_pieces(m.group(0))) for m in EN_REF.finditer(folded)]
    phrases += [(m.start(), m.end(), _chinese_pieces(m.group(0))) for m in ZH_REF.finditer(folded)]
    phrases += [(m.start(), m.end(), [int(m.group(1))]) for m in EN_ORDINAL.finditer(folded)
                if int(m.group(1)) <= MAX_NUMBER]
    refs: list[ArticleRef] = []
    for start, end, numbers in sorted(phrases):
        regulation_id = _regulation_for(start, end, spans, folded)
        seen: set[int] = set()
        for number in numbers:
            if number not in seen:
                seen.add(number)
                refs.append(ArticleRef(regulation_id, number, start, end))
    return refs


def unique_refs(refs: list[ArticleRef]) -> list[tuple[str | None, int]]:
    """(regulation, article) pairs in order of first appearance."""
    out: list[tuple[str | None, int]] = []
    for ref in refs:
        if (ref.regulation, ref.article) not in out:
            out.append((ref.regulation, ref.article))
    return out


__all__ = ["ArticleRef", "chinese_number", "english_number", "find_article_refs", "fold",
           "regulation_mentions", "regulation_spans", "unique_refs"]
