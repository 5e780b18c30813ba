"""Compare our English renderings with the official Chinese texts they were translated from.

Why this exists: `regqa corpus check` only proves that each file is well formed and that the
English and the copy in corpus/official-zh/ have the same article numbers. It cannot tell
whether a translator dropped a numbered item, merged two paragraphs, left out a sentence or
drifted away from the glossary's wording. This script compares each
corpus/regulations/<id>.md with the Chinese source text <zh-dir>/<id>.md and reports, per
regulation:

  * chapter count and the number of articles in each chapter  (structural)
    (a regulation without chapters, such as labeling-measures-2025, has 0 on both sides)
  * article count and article numbers                         (structural)
  * the `chapters:` and `articles:` counts that the Chinese file declares in its front
    matter, against the headings and 第X条 lines actually found     (structural)
  * per article, numbered items （一）… against (1)…          (structural)
  * per article, paragraph count                              (warning)
  * per article, sentence count, Chinese 。；？！ against
    English . ; ? !, as an English/Chinese ratio              (warning)

and, across regulations, a terminology check: for the key Chinese terms in KEY_TERMS, the
articles whose Chinese text contains the term while the English has none of the English
forms the glossary (corpus/glossary.md) gives for it. Plural and verb forms are accepted
("label", "labels", "labelled", "labeling"). These are warnings: a term can legitimately be
rendered by a pronoun or a shorter phrase, so a human reads the list.

Exit status: 1 if any structural count differs, 0 otherwise (warnings never fail the run),
2 if the inputs cannot be read.

The Chinese source folder (default ../shared/sources/zh relative to the repository root,
override with --zh-dir) is a maintainer resource that is NOT shipped to users; users of the
chatbot have corpus/official-zh/, which holds the same texts, and can point --zh-dir there.

Standalone on purpose (standard library + PyYAML): it must not depend on how the regqa
package parses the corpus, so it is an independent second reading of the files.

    .venv/bin/python scripts/check_translation.py [--zh-dir DIR] [--corpus-dir DIR] [-v]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from regqa.text import chinese_numeral  # run with the project's venv (make check-corpus)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZH_DIR = REPO_ROOT.parent / "shared" / "sources" / "zh"
DEFAULT_CORPUS_DIR = REPO_ROOT / "corpus"

EN_CHAPTER = re.compile(r"^## Chapter (\d+): (.+?)\s*$")
EN_ARTICLE = re.compile(r"^### Article (\d+)\s*$")
EN_ITEM = re.compile(r"^\(\d+\)")
ZH_CHAPTER = re.compile(r"^## (第[零一二三四五六七八九十]+章.*)$")
ZH_ARTICLE = re.compile(r"^第([零一二三四五六七八九十百]+)条[\s　]*(.*)$")
ZH_ITEM = re.compile(r"^（[零一二三四五六七八九十]+）")

ZH_SENTENCE_END = re.compile(r"[。；？！]")
# A full stop, semicolon, question or exclamation mark that ends a sentence: followed by
# whitespace or the end of the paragraph (so "3.5" or "cac.gov.cn" do not count).
EN_SENTENCE_END = re.compile(r"[.;?!](?=\s|$)")
# Abbreviations whose full stop does not end a sentence.
EN_ABBREVIATIONS = re.compile(r"\b(?:etc|No|Nos|Art|Arts|e\.g|i\.e|Co|Ltd|Inc)\.(?=\s)")

# Sentence counts are only flagged when the English/Chinese ratio leaves this band and the
# counts differ by at least MIN_SENTENCE_GAP (one split sentence in a short article is normal).
SENTENCE_RATIO_BAND = (0.75, 1.5)
MIN_SENTENCE_GAP = 2

# Key Chinese terms for the terminology check; their English forms come from the glossary row
# that lists the term. Terms chosen because they carry legal meaning and recur across the
# regulations (a drifting rendering of one of them confuses both readers and search). The last
# group is the vocabulary of the 2025 labelling measures.
KEY_TERMS = (
    "生成式人工智能", "深度合成", "技术支持者", "算法推荐", "显著标识", "备案", "安全评估",
    "网信部门", "社会主义核心价值观", "违法和不良信息", "虚假信息", "个人信息", "生物识别信息",
    "训练数据", "数据标注", "服务协议", "真实身份信息认证", "辟谣机制", "主体责任",
    "算法机制机理", "用户标签", "个性化推荐", "防沉迷", "未成年人", "老年人", "科技伦理",
    "知识产权", "应用程序分发平台", "具有舆论属性或者社会动员能力", "责令改正", "通报批评",
    "暂停信息更新", "社会公共利益", "合法权益", "监督检查", "社会监督", "整改",
    "人工智能生成合成内容", "生成合成内容", "显式标识", "隐式标识", "文件元数据",
    "网络信息内容传播服务",
)


@dataclass
class Article:
    number: int
    chapter: int  # 1-based position of the chapter heading above it (0: none)
    chinese: bool
    paragraphs: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Paragraphs that start with a numbered-item marker: （一） or (1)."""
        pattern = ZH_ITEM if self.chinese else EN_ITEM
        return sum(1 for p in self.paragraphs if pattern.match(p))

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def sentences(self) -> int:
        if self.chinese:
            return len(ZH_SENTENCE_END.findall(self.text))
        return sum(len(EN_SENTENCE_END.findall(EN_ABBREVIATIONS.sub("ABBR", p)))
                   for p in self.paragraphs)


@dataclass
class Document:
    path: Path
    chapters: list[str]
    articles: dict[int, Article]
    meta: dict = field(default_factory=dict)

    def articles_per_chapter(self) -> list[int]:
        counts = [0] * len(self.chapters)
        for article in self.articles.values():
            if 1 <= article.chapter <= len(counts):
                counts[article.chapter - 1] += 1
        return counts


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_front_matter(path: Path) -> tuple[dict, list[str]]:
    """YAML front matter (between the first two '---' lines) and the body lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, lines
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return {}, lines
    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    return (meta if isinstance(meta, dict) else {}), lines[end + 1:]


def parse_english(path: Path) -> Document:
    """`## Chapter N: Title`, `### Article N`, paragraphs separated by blank lines."""
    _, body = split_front_matter(path)
    chapters: list[str] = []
    articles: dict[int, Article] = {}
    current: Article | None = None
    block: list[str] = []

    def flush() -> None:
        if current is not None and block:
            current.paragraphs.append(" ".join(block))
        block.clear()

    for line in body:
        if m := EN_CHAPTER.match(line):
            flush()
            chapters.append(m.group(2))
            current = None
        elif m := EN_ARTICLE.match(line):
            flush()
            number = int(m.group(1))
            current = articles.setdefault(number, Article(number, len(chapters), False))
        elif line.startswith("#"):
            flush()
            current = None
        elif line.strip():
            block.append(line.strip())
        else:
            flush()
    flush()
    return Document(path, chapters, articles)


def parse_chinese(path: Path) -> Document:
    """`## 第X章 …` headings; each article starts on a line `第X条 …`; every non-empty line
    is one paragraph (款) or numbered item (项)."""
    meta, body = split_front_matter(path)
    chapters: list[str] = []
    articles: dict[int, Article] = {}
    current: Article | None = None
    for line in body:
        line = line.strip()
        if m := ZH_CHAPTER.match(line):
            chapters.append(m.group(1))
            current = None
        elif m := ZH_ARTICLE.match(line):
            number = chinese_numeral(m.group(1))
            current = articles.setdefault(number, Article(number, len(chapters), True))
            current.paragraphs.append(line)
        elif line.startswith("#"):
            current = None
        elif line and current is not None:
            current.paragraphs.append(line)
    return Document(path, chapters, articles, meta)


def compare_structure(en: Document, zh: Document, report: Report) -> None:
    """Chapters, articles per chapter, article numbers and numbered items: must match; so
    must the chapter and article counts the Chinese file declares (`chapters: 0` for a
    regulation without chapters)."""
    for name, found in (("chapters", len(zh.chapters)), ("articles", len(zh.articles))):
        declared = zh.meta.get(name)
        if declared is None:
            continue
        try:
            declared = int(declared)
        except (TypeError, ValueError):
            report.errors.append(f"Chinese front matter '{name}: {declared}' is not a number")
            continue
        if declared != found:
            report.errors.append(f"Chinese front matter declares {name}: {declared}, "
                                 f"the text has {found}")
    if len(en.chapters) != len(zh.chapters):
        report.errors.append(f"chapters: English {len(en.chapters)}, Chinese {len(zh.chapters)}")
    elif en.articles_per_chapter() != zh.articles_per_chapter():
        report.errors.append(f"articles per chapter: English {en.articles_per_chapter()}, "
                             f"Chinese {zh.articles_per_chapter()}")
    if len(en.articles) != len(zh.articles):
        report.errors.append(f"articles: English {len(en.articles)}, Chinese {len(zh.articles)}")
    only_en = sorted(set(en.articles) - set(zh.articles))
    only_zh = sorted(set(zh.articles) - set(en.articles))
    if only_en:
        report.errors.append(f"articles only in English: {only_en}")
    if only_zh:
        report.errors.append(f"articles only in Chinese: {only_zh}")
    for number in sorted(set(en.articles) & set(zh.articles)):
        en_items, zh_items = en.articles[number].items, zh.articles[number].items
        if en_items != zh_items:
            report.errors.append(f"Article {number}: numbered items English {en_items}, "
                                 f"Chinese {zh_items}")


def compare_text(en: Document, zh: Document, report: Report) -> tuple[int, int]:
    """Paragraph and sentence counts per article (warnings). Returns total sentences."""
    total_en = total_zh = 0
    low, high = SENTENCE_RATIO_BAND
    for number in sorted(set(en.articles) & set(zh.articles)):
        en_article, zh_article = en.articles[number], zh.articles[number]
        en_paras, zh_paras = len(en_article.paragraphs), len(zh_article.paragraphs)
        if en_paras != zh_paras:
            report.warnings.append(f"Article {number}: paragraphs English {en_paras}, "
                                   f"Chinese {zh_paras}")
        en_sent, zh_sent = en_article.sentences, zh_article.sentences
        total_en += en_sent
        total_zh += zh_sent
        ratio = en_sent / zh_sent if zh_sent else float("inf")
        if abs(en_sent - zh_sent) >= MIN_SENTENCE_GAP and not low <= ratio <= high:
            report.warnings.append(f"Article {number}: sentences English {en_sent}, "
                                   f"Chinese {zh_sent} (ratio {ratio:.2f})")
    return total_en, total_zh


def parse_glossary(path: Path) -> dict[str, list[str]]:
    """Chinese term -> the English forms in its row (cells split on ';', '/', '、').
    "generative artificial intelligence (generative AI)" gives both the long and short form."""
    terms: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0].lower() == "english":
            continue
        english: list[str] = []
        for form in re.split(r"[;/]", cells[0]):
            english.extend(f.strip() for f in re.split(r"[()]", form) if f.strip())
        for chinese in re.split(r"[;/、]", cells[1]):
            if chinese.strip():
                terms.setdefault(chinese.strip(), []).extend(english)
    return terms


def stem(word: str) -> str:
    """A deliberately crude stemmer: enough to equate label/labels/labelled/labeling,
    file/filed/filing, user/users, conspicuous/conspicuously, party/parties."""
    word = word.lower().removesuffix("'s")
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    if word.endswith("ly") and len(word) > 5:
        word = word[:-2]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif (word.endswith("ed") and len(word) > 4) or word.endswith(("sses", "ches", "shes", "xes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] in "lpt":
        word = word[:-1]  # labell(ed) -> label
    return word.removesuffix("e") if len(word) > 3 else word


def stems(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[A-Za-z']+", text)]


def contains_phrase(text_stems: list[str], phrase: str, max_gap: int = 8) -> bool:
    """True if the phrase's words occur in order and adjacent; '...' in the phrase (as in
    "order ... to make corrections") allows up to max_gap words in between."""
    parts = [stems(p) for p in phrase.split("...") if stems(p)]
    if not parts:
        return False

    def find(part: list[str], start: int, stop: int) -> int:
        for i in range(start, min(stop, len(text_stems) - len(part) + 1)):
            if text_stems[i:i + len(part)] == part:
                return i + len(part)
        return -1

    for i in range(len(text_stems)):
        position = find(parts[0], i, i + 1)
        for part in parts[1:]:
            if position < 0:
                break
            position = find(part, position, position + max_gap + 1)
        if position >= 0:
            return True
    return False


def check_terminology(pairs: list[tuple[str, Document, Document]], glossary: dict[str, list[str]]
                      ) -> tuple[list[str], list[str], int]:
    """Per key term, the articles whose Chinese has it while the English has no glossary form.
    Returns (warning lines, terms missing from the glossary, (term, article) pairs checked)."""
    warnings, unknown, checked = [], [], 0
    for term in KEY_TERMS:
        english = glossary.get(term)
        if not english:
            unknown.append(term)
            continue
        hits, misses = 0, []
        for regulation_id, en, zh in pairs:
            for number, zh_article in sorted(zh.articles.items()):
                if term not in zh_article.text or number not in en.articles:
                    continue
                hits += 1
                text_stems = stems(en.articles[number].text)
                if not any(contains_phrase(text_stems, form) for form in english):
                    misses.append(f"{regulation_id} Art. {number}")
        checked += hits
        if misses:
            forms = " / ".join(f'"{f}"' for f in dict.fromkeys(english))
            warnings.append(f"{term} -> {forms}: missing in {len(misses)} of {hits} articles: "
                            + ", ".join(misses))
    return warnings, unknown, checked


def print_report(regulation_id: str, en: Document, zh: Document, report: Report,
                 sentences: tuple[int, int], verbose: bool) -> None:
    status = "MISMATCH" if report.errors else "ok, structurally complete"
    total_en, total_zh = sentences
    ratio = total_en / total_zh if total_zh else 0.0
    en_items = sum(a.items for a in en.articles.values())
    zh_items = sum(a.items for a in zh.articles.values())
    en_paras = sum(len(a.paragraphs) for a in en.articles.values())
    zh_paras = sum(len(a.paragraphs) for a in zh.articles.values())
    print(f"== {regulation_id}: {status}")
    print(f"   chapters {len(en.chapters)}/{len(zh.chapters)}, articles "
          f"{len(en.articles)}/{len(zh.articles)}, numbered items {en_items}/{zh_items}, "
          f"paragraphs {en_paras}/{zh_paras}, sentences {total_en}/{total_zh} "
          f"(ratio {ratio:.2f})   [English/Chinese]")
    for line in report.errors:
        print(f"   ERROR   {line}")
    paragraph_warnings = [w for w in report.warnings if "paragraphs" in w]
    other_warnings = [w for w in report.warnings if "paragraphs" not in w]
    if paragraph_warnings and not verbose:
        numbers = [w.split(":")[0].removeprefix("Article ") for w in paragraph_warnings]
        print(f"   warning paragraph count differs in {len(numbers)} article(s): "
              f"{', '.join(numbers)} (-v for details)")
    else:
        for line in paragraph_warnings:
            print(f"   warning {line}")
    for line in other_warnings:
        print(f"   warning {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zh-dir", type=Path, default=DEFAULT_ZH_DIR,
                        help=f"folder of official Chinese texts <id>.md (default {DEFAULT_ZH_DIR})")
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS_DIR,
                        help="corpus folder holding regulations/ and glossary.md")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every paragraph-count difference")
    args = parser.parse_args(argv)

    regulation_dir = args.corpus_dir / "regulations"
    if not args.zh_dir.is_dir() or not regulation_dir.is_dir():
        missing = args.zh_dir if not args.zh_dir.is_dir() else regulation_dir
        print(f"error: {missing} is not a folder. The Chinese sources are a maintainer "
              "resource; pass --zh-dir corpus/official-zh to use the corpus copy.",
              file=sys.stderr)
        return 2

    pairs: list[tuple[str, Document, Document]] = []
    structural = 0
    for en_path in sorted(regulation_dir.glob("*.md")):
        zh_path = args.zh_dir / en_path.name
        if not zh_path.exists():
            print(f"== {en_path.stem}: skipped (no {zh_path})")
            continue
        en, zh = parse_english(en_path), parse_chinese(zh_path)
        report = Report()
        compare_structure(en, zh, report)
        sentences = compare_text(en, zh, report)
        print_report(en_path.stem, en, zh, report, sentences, args.verbose)
        structural += len(report.errors)
        pairs.append((en_path.stem, en, zh))

    glossary_path = args.corpus_dir / "glossary.md"
    if glossary_path.exists() and pairs:
        warnings, unknown, checked = check_terminology(pairs, parse_glossary(glossary_path))
        print(f"== terminology: {len(KEY_TERMS)} key glossary terms, {checked} (term, article) "
              f"pairs checked, {len(warnings)} term(s) missing the glossary rendering somewhere")
        for line in warnings:
            print(f"   warning {line}")
        for term in unknown:
            print(f"   warning {term} is in KEY_TERMS but not in {glossary_path}")

    print(f"summary: {len(pairs)} regulation(s) compared, {structural} structural mismatch(es)")
    return 1 if structural else 0


if __name__ == "__main__":
    sys.exit(main())
