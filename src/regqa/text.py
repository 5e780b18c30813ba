"""Text helpers shared by every stage: the CJK test, Chinese numerals, quotable units of an
article, and the tokenisers that the lexical retrievers and the quote scorer use."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

CJK = re.compile(r"[\u3400-\u9fff]")
ITEM = re.compile(r"^(\(\d+\)|（[一二三四五六七八九十]+）)")
# Units end at full stops only: a clause after a semicolon continues its sentence's rule
# ("…责令限期改正；拒不改正或者情节严重的，…并处一万元以上十万元以下罚款"), and quoted alone it
# dropped the fine the question asked about (a reviewer's finding)
EN_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z(])")
ZH_SENTENCE = re.compile(r"(?<=[。！？])")
ZH_HEADING = re.compile(r"^第[零一二三四五六七八九十百]+条[\s　]*")
WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its me my of "
    "on or should so than that the their them there these they this to under use used was "
    "what when where which who whose why will with would you your must may any about into "
    "not no shall other such we our us".split())
ZH_STOP = frozenset("的 了 吗 呢 吧 啊 是 在 和 与 或 及 等 要 会 能 可以 我们 你们 他们 我 你 这 那 "
                    "什么 怎么 哪些 如何 是否 需要 有 没有 一个 个 就 也 都 还 又 但 对 把 被 给".split())
# Words a user wraps any question in ("请问一下要多久", "could you please…"), and number words: not
# a subject of their own, so not a sign that a turn leaves the corpus (index.unfamiliar)
FILLERS = frozenset("请问 一下 麻烦 看看 帮忙 帮我 谢谢 感谢 您好 你好 的话 请教 咨询 想问 问问 了解 "
                    "please thanks thank could would hello hi hey ok okay sorry just quick question "
                    "hundred thousand million billion".split())
ZH_NUMBER_CHARS = frozenset("零〇一二三四五六七八九十百千万亿两")
DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}


LATIN_WORD = re.compile(r"[A-Za-z]+")


# Grammar words of each language: a question's language is the language of its grammar, not
# of the names it quotes ("Does 生成式人工智能服务管理暂行办法 apply to us?" is English, "Generative AI
# Measures对开源模型有豁免吗？" Chinese). Counting characters against words read both wrongly.
EN_GRAMMAR = re.compile(
    r"\b(the|a|an|is|are|was|were|do|does|did|can|could|must|should|shall|will|would|what|which|"
    r"who|whom|whose|when|where|why|how|our|we|my|i|you|your|their|they|it|its|this|that|these|"
    r"those|of|to|for|in|on|with|under|about|from|by|and|or|if|any|apply|need|have|has)\b", re.I)
ZH_GRAMMAR = re.compile(r"[吗呢吧嘛的了是有要在对把被和与或就都还也么哪啥谁怎什]")
QUOTED_TITLE = re.compile(r"《[^》]*》")


def is_chinese(text: str) -> bool:
    """A question is Chinese when its Chinese grammar words outnumber its English ones (titles
    in 《》 aside); with neither, when its Chinese characters outnumber its Latin words: "What
    does 第十一条 require?" is English, "我们的AI换脸App要备案吗" is Chinese."""
    bare = QUOTED_TITLE.sub(" ", text)
    english, chinese = len(EN_GRAMMAR.findall(bare)), len(ZH_GRAMMAR.findall(bare))
    if english or chinese:
        return chinese > english
    bare = bare if bare.strip() else text
    return len(CJK.findall(bare)) > len(LATIN_WORD.findall(bare))


def chinese_numeral(text: str) -> int:
    """'十七' -> 17, '九十九' -> 99, '一百零三' -> 103, '两' -> 2, '17' -> 17."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        if char in DIGITS:
            current = current * 10 + DIGITS[char] if char in "零〇" or current else DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char in "百千":
            total += (current or 1) * (100 if char == "百" else 1000)
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


def is_lead_in(unit: str) -> bool:
    """A unit that introduces a list ("…的，应当遵守下列规定：")."""
    return unit.endswith((":", "："))


def units(text: str) -> list[str]:
    """Quotable pieces of an article, English or Chinese: numbered items whole, a lead-in
    ending in a colon whole, other paragraphs by sentence. Each is a verbatim substring."""
    return [unit for paragraph in paragraph_units(text) for unit in paragraph]


def paragraph_units(text: str) -> list[list[str]]:
    """`units`, paragraph by paragraph (the two languages of an article have the same
    paragraphs, so a Chinese unit's English rendering is found by its place)."""
    out = []
    for paragraph in text.split("\n\n"):
        # the article's own "第六条 " heading is not part of what it says
        paragraph = ZH_HEADING.sub("", paragraph.strip())
        if not paragraph:
            continue
        if ITEM.match(paragraph) or is_lead_in(paragraph):
            out.append([paragraph])
        elif is_chinese(paragraph):
            out.append([s for s in ZH_SENTENCE.split(paragraph) if s.strip()])
        else:
            out.append([s for s in EN_SENTENCE.split(paragraph) if s])
    return out


def counterpart(quoted: Iterable[str], source: str, target: str) -> tuple[str, ...]:
    """The units of `target` (the same article in the other language) that render the
    `quoted` units of `source`: the unit in the same place when the paragraph splits into as
    many units in both languages, else the whole paragraph; in the target's order, once."""
    mine, theirs = paragraph_units(source), paragraph_units(target)
    if len(mine) != len(theirs):
        return ()
    wanted: list[tuple[int, int]] = []
    for unit in quoted:
        for p, paragraph in enumerate(mine):
            if unit in paragraph:
                i = paragraph.index(unit)
                same = len(paragraph) == len(theirs[p])
                wanted += [(p, i)] if same else [(p, j) for j in range(len(theirs[p]))]
                break
    return tuple(theirs[p][i] for p, i in sorted(set(wanted)))


def en_terms(text: str) -> list[str]:
    """Content words of English text, crudely stemmed to six letters."""
    return [w[:6] for w in WORD.findall(text.lower()) if w not in STOPWORDS]


class ChineseTokenizer:
    """jieba words (with the corpus's glossary terms as user words) plus character bigrams.

    Words catch the statute's own terms (备案, 服务提供者); bigrams catch colloquial variants
    that jieba splits differently. A private jieba.Tokenizer keeps the user words out of
    jieba's global state."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()  # jieba initialises lazily and is not thread-safe then
        self.user_words = tuple(sorted({w for w in user_words if len(w) >= 2}))
        for word in self.user_words:
            self._jieba.add_word(word, freq=20000)

    def words(self, text: str) -> list[str]:
        with self._lock:
            pieces = self._jieba.lcut(text)
        return [w.lower() for w in pieces if w.strip() and (CJK.search(w) or w.isalnum())
                and w not in ZH_STOP]

    def known(self, word: str) -> bool:
        """Whether jieba's dictionary (or a user word) holds `word`: a fragment it only
        guessed ("没备" in "没备的话罚多少") is not."""
        with self._lock:
            self._jieba.check_initialized()
            return self._jieba.FREQ.get(word, 0) > 0

    def __call__(self, text: str) -> list[str]:
        tokens = self.words(text)
        for run in re.findall(r"[\u3400-\u9fff]+", text):
            tokens.extend(run[i:i + 2] for i in range(len(run) - 1))
        return tokens


ZH_NUMERALS = "零一二三四五六七八九"


def zh_number(n: int) -> str:
    """17 -> 十七, 24 -> 二十四, 105 -> 一百零五, 1010 -> 一千零一十 (article numbers as the texts
    write them). Beyond 9999, which no reference can name, Arabic digits."""
    if n < 0 or n > 9999:
        return str(n)
    if n < 10:
        return ZH_NUMERALS[n]
    if n < 20:
        return "十" + (ZH_NUMERALS[n % 10] if n % 10 else "")
    if n < 100:
        return ZH_NUMERALS[n // 10] + "十" + (ZH_NUMERALS[n % 10] if n % 10 else "")
    unit, head = ("百", n // 100) if n < 1000 else ("千", n // 1000)
    rest = n % (100 if n < 1000 else 1000)
    # a gap of one place or more is read as 零; a ten after a gap keeps its 一 (一百一十, 一千零一十)
    gap = rest and rest < (10 if n < 1000 else 100)
    tail = "" if not rest else (("零" if gap else "") + ("一" if 10 <= rest < 20 else "")
                                + zh_number(rest))
    return ZH_NUMERALS[head] + unit + tail


# -- figures: durations, ages, sums and shares written in a text ------------------------------
# a working day is its own unit: "30天" is not set by "三十个工作日" (AR Art. 25)
ZH_UNITS = {"工作日": "working_day", "天": "day", "日": "day", "小时": "hour", "钟头": "hour",
            "星期": "week", "周": "week", "月": "month", "年": "year", "周岁": "age", "岁": "age",
            "元": "yuan", "%": "percent", "％": "percent"}
ZH_FIGURE = re.compile(
    r"(?<![0-9,零〇一二两三四五六七八九十百千第])([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+(?:\.[0-9]+)?|"
    r"[零〇一二两三四五六七八九十百千]+)\s*(万)?\s*(?:个)?(工作日|小时|钟头|星期|周岁|天|日|周|月|年|岁|元|%|％)?")
# "两三个月", "三四天": a span of numbers, not a figure
ZH_SPAN = re.compile(r"[一二两三四五六七八九]{2}")
EN_ONES = "one two three four five six seven eight nine".split()
EN_WORDS = {w: i for i, w in enumerate(["zero", *EN_ONES, "ten", "eleven", "twelve"])} | {
    "fifteen": 15} | {f"{t}-{o}": v + i + 1 for t, v in (("twenty", 20), ("thirty", 30),
                                                         ("forty", 40), ("sixty", 60))
                      for i, o in enumerate(EN_ONES)} | {
    "twenty": 20, "thirty": 30, "forty": 40, "sixty": 60, "ninety": 90}
EN_UNITS = {"working day": "working_day", "business day": "working_day", "day": "day", "hour": "hour",
            "week": "week", "month": "month", "year": "year", "yuan": "yuan", "rmb": "yuan",
            "percent": "percent", "per cent": "percent"}
EN_FIGURE = re.compile(
    r"(?<![\w.,-])(rmb|cny|¥|￥)?\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|"
    + "|".join(sorted(EN_WORDS, key=len, reverse=True)) + r")(?![0-9a-jl-z_])\s*(k|thousand|million)?"
    r"[\s-]*(working days?|business days?|days?|hours?|weeks?|months?|years?|yuan|rmb|percent|"
    r"per cent)?(?![a-z])", re.IGNORECASE)
SCALE = {"万": 10_000, "k": 1_000, "thousand": 1_000, "million": 1_000_000}


def figures(text: str) -> list[tuple[str, float, str, int]]:
    """(as written, value, unit, where) for each duration, age, sum of money or share in
    `text`: "三十个工作日" -> 30 working_day, "一万元" -> 10000 yuan, "RMB 500,000" -> 500000 yuan,
    "48 hours" -> 48 hour. A bare number ("Article 17", "1,000 users") is not a figure, nor is a
    date ("2023年", "8月15日") or a span ("两三个月"). "五十万" with no unit is a sum right
    after a word for a fine ("罚五十万")."""
    found = []
    for match in ZH_FIGURE.finditer(text):
        number, scale, unit = match.groups()
        # (six characters: "罚款最高是50万吗？" was not read as a fine: bug hunt)
        fine = "罚" in text[max(0, match.start() - 6):match.start()]
        if (unit is None and not (scale and fine)) or ZH_SPAN.search(number) or len(number) > 12:
            continue
        try:
            value = float(number.replace(",", "")) if number[0].isdigit() \
                else float(chinese_numeral(number))
        except (ValueError, OverflowError):
            continue
        kind = ZH_UNITS.get(unit or "元", "yuan")
        before = text[max(0, match.start() - 1):match.start()]
        if (kind == "year" and value >= 1900) or (unit == "日" and before == "月") \
                or (unit == "月" and "个" not in match.group(0)):
            continue  # a date, not a length of time
        found.append((match.group(0).strip(), value * (SCALE[scale] if scale else 1), kind,
                      match.start()))
    for match in EN_FIGURE.finditer(text):
        currency, number, scale, unit = match.groups()
        if not (unit or currency) or len(number) > 15:
            continue
        raw = number.lower()
        value = float(EN_WORDS[raw]) if raw in EN_WORDS else float(raw.replace(",", ""))
        kind = "yuan" if currency else EN_UNITS[unit.lower().rstrip("s")]
        if kind == "year" and value >= 1900:
            continue
        found.append((match.group(0).strip(" -"), value * (SCALE[scale.lower()] if scale else 1),
                      kind, match.start()))
    return found


def unset_figures(stated: list[tuple[str, float, str]], texts: list[str]) -> list[str]:
    """The figures of `stated` ((as written, value, unit)) that none of `texts` sets, as written.
    A sum inside a range a text sets ("一万元以上十万元以下") is set by it."""
    held, ranges = set(), []
    for text in texts:
        found = [(value, unit) for _, value, unit, _ in figures(text)]
        held |= set(found)
        sums = [value for value, unit in found if unit == "yuan"]
        if sums:
            ranges.append((min(sums), max(sums)))

    def set_by_them(value: float, unit: str) -> bool:
        return (value, unit) in held or (unit == "yuan" and any(
            low <= value <= high for low, high in ranges))

    return list(dict.fromkeys(written for written, value, unit in stated
                              if not set_by_them(value, unit)))
