"""Stage 1: read `corpus/` into frozen records.

Layout (see corpus/README.md): `regulations/*.md` (our English rendering, one file per
regulation), `official-zh/*.md` (the official Chinese text, same ids), `commentary/*.md`
(attributed commentary in our words) and `glossary.md` (English | Chinese | note table).
Parsing is lenient and records problems with file and line so `regqa corpus check` can
report all of them at once; `validate.load_corpus` refuses a corpus with any problem.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import CorpusError
from .text import chinese_numeral, zh_number

SEARCH_AIDS_HEADING = "## Search aids"
CHAPTER_RE = re.compile(r"^## Chapter (\d+): (.+?)\s*$")
ARTICLE_RE = re.compile(r"^### Article (\d+)\s*$")
ZH_ARTICLE_RE = re.compile(r"^第([零一二三四五六七八九十百]+)条[\s　]*(.*)$")
ZH_CHAPTER_RE = re.compile(r"^## (第[零一二三四五六七八九十]+章.*)$")

REGULATION_FIELDS = (
    "id", "title", "short_title", "title_zh", "issued_by",
    "promulgated", "effective", "official_url", "translation",
)
COMMENTARY_FIELDS = (
    "id", "author", "affiliation", "source_title", "source_url", "published", "regulations",
)
DATE_FIELDS = ("promulgated", "effective")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Reference:
    """Article `from_article` of one regulation points at another regulation or article."""

    from_article: int
    regulation: str
    article: int | None
    line: int = 0


@dataclass(frozen=True)
class Article:
    regulation: str
    number: int
    chapter: str
    text: str
    text_zh: str = ""
    line: int = 0
    search_aids: tuple[str, ...] = ()  # our plain-language paraphrases; indexed, never quoted

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(p for p in self.text.split("\n\n") if p.strip())


@dataclass(frozen=True)
class Regulation:
    id: str
    title: str
    short_title: str
    title_zh: str
    issued_by: str
    promulgated: str
    effective: str
    official_url: str
    translation: str
    articles: tuple[Article, ...]
    references: tuple[Reference, ...] = ()
    path: str = ""
    # What users call it, what its subject words are, where it applies, and which articles
    # hold its scope, definitions, penalties, filing and dates: corpus knowledge, kept in the
    # front matter so that a regulation a user adds works like ours.
    jurisdiction: str = ""
    aliases: tuple[str, ...] = ()
    # short names that name it only right before an article ("AR Art. 24", "DS 第17条"): alone,
    # "AR" is augmented reality and "DS" often DeepSeek
    abbreviations: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    key_articles: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # False for a regulation with no official Chinese text (`official_zh: false` in the front
    # matter, e.g. a foreign law in English only): official-zh/<id>.md is then not required.
    official_zh: bool = True

    def key(self, role: str) -> tuple[int, ...]:
        """Article numbers that play `role` ("scope", "definitions", "penalties", ...)."""
        return dict(self.key_articles).get(role, ())

    def article(self, number: int) -> Article | None:
        if 1 <= number <= len(self.articles) and self.articles[number - 1].number == number:
            return self.articles[number - 1]
        return next((a for a in self.articles if a.number == number), None)

    def label(self, number: int) -> str:
        return f"{self.short_title}, Art. {number}"

    def label_zh(self, number: int) -> str:
        return f"《{self.title_zh}》第{zh_number(number)}条"


@dataclass(frozen=True)
class Commentary:
    id: str
    title: str
    author: str
    affiliation: str
    source_title: str
    source_url: str
    published: str
    regulations: tuple[str, ...]
    paragraphs: tuple[str, ...]
    path: str = ""
    search_aids: tuple[str, ...] = ()  # our phrasing for search (both languages); never quoted

    @property
    def label(self) -> str:
        return f"Commentary: {self.title}"

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class GlossaryTerm:
    english: str
    chinese: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Corpus:
    root: str
    regulations: tuple[Regulation, ...]
    commentary: tuple[Commentary, ...]
    glossary: tuple[GlossaryTerm, ...]
    digest: str
    problems: tuple[Problem, ...] = field(default=(), compare=False)
    # regular expressions naming instruments and subjects no regulation here holds
    # (`not-covered.md`); a question naming one, and no regulation of the corpus, is out of scope
    not_covered: tuple[str, ...] = ()

    def regulation(self, regulation_id: str) -> Regulation | None:
        return next((r for r in self.regulations if r.id == regulation_id), None)

    def article(self, regulation_id: str, number: int) -> Article | None:
        regulation = self.regulation(regulation_id)
        return regulation.article(number) if regulation else None

    @property
    def regulation_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.regulations)


class FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text (checked by _text_field, so '2023-13-45' is reported
    with its file instead of raising inside PyYAML) and rejects duplicate keys."""


FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _mapping_without_duplicates(loader: FrontMatterLoader, node: yaml.MappingNode) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {seen[key] + 1} of the "
                            "front matter)", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=True)


FrontMatterLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                  _mapping_without_duplicates)


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """A corpus file's text, or None with a `path:line: message` problem: a folder or broken
    link where a file should be, unreadable bytes, bytes that are not UTF-8. A UTF-8 byte
    order mark is dropped; control characters (other than tab and CR) are reported."""
    rel = str(path)
    if path.is_symlink() and not path.exists():
        problems.append(Problem(rel, 1, f"broken symbolic link (to {_link_target(path)}); "
                                        "remove it or point it at a file"))
        return None
    if path.is_dir():
        problems.append(Problem(rel, 1, "is a folder, not a file; rename or remove it"))
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(rel, 1, f"cannot be read ({exc.strerror or exc})"))
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.append(Problem(rel, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
                                           "save the file as UTF-8"))
        return None
    if "\ufeff" in text:
        line = text[:text.index("\ufeff")].count("\n") + 1
        problems.append(Problem(rel, line, "byte order mark (U+FEFF) inside the text; remove it"))
    for lineno, line in enumerate(text.split("\n"), start=1):
        bad = next((ch for ch in line if ch not in "\t\r"
                    and unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            problems.append(Problem(rel, lineno, f"control character U+{ord(bad):04X}; "
                                                 "remove it"))
    return text


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def _present(path: Path) -> bool:
    """There is something at path (a file, a folder, or even a broken link) to read or report."""
    return path.exists() or path.is_symlink()


def split_front_matter(text: str, path: str, problems: list[Problem]) -> tuple[dict, int, list[str]]:
    """Return (front matter, line number where the body starts, body lines)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.append(Problem(path, 1, "missing YAML front matter: the file must start with '---'"))
        return {}, 1, lines
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.append(Problem(path, 1, "front matter is not closed by a '---' line"))
        return {}, 1, lines
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark else 1
        detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(path, line, f"invalid YAML front matter: {detail}"))
        return {}, end + 2, lines[end + 1:]
    except (ValueError, TypeError, RecursionError) as exc:
        problems.append(Problem(path, 2, f"invalid YAML front matter: {exc}"))
        return {}, end + 2, lines[end + 1:]
    if not isinstance(meta, dict):
        problems.append(Problem(path, 2, "front matter must be a mapping of field: value"))
        meta = {}
    return meta, end + 2, lines[end + 1:]


def _text_field(meta: dict, name: str, path: str, problems: list[Problem], line: int = 1) -> str:
    value = meta.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(Problem(path, line, f"front matter field '{name}' is missing or empty"))
        return ""
    if name in DATE_FIELDS or name == "published":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            problems.append(Problem(path, line, f"front matter field '{name}' must be an ISO date "
                                                f"(YYYY-MM-DD), got {value!r}"))
            return str(value)
    return str(value).strip()


def _paragraphs(lines: list[str]) -> str:
    blocks, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return "\n\n".join(blocks)


def parse_regulation(path: Path, problems: list[Problem]) -> Regulation | None:
    rel = str(path)
    text = read_text(path, problems)
    if text is None:
        return None
    meta, body_start, body = split_front_matter(text, rel, problems)
    if not meta:
        return None
    values = {name: _text_field(meta, name, rel, problems) for name in REGULATION_FIELDS}
    if values["id"] and values["id"] != path.stem:
        problems.append(Problem(rel, 2, f"id '{values['id']}' must equal the file name '{path.stem}'"))

    articles: list[Article] = []
    chapter, number, start, text_lines = "", None, 0, []

    def close() -> None:
        if number is None:
            return
        text = _paragraphs(text_lines)
        if not text:
            problems.append(Problem(rel, start, f"Article {number} is empty"))
        articles.append(Article(values["id"], number, chapter, text, line=start))

    for offset, line in enumerate(body):
        lineno = body_start + offset
        if m := CHAPTER_RE.match(line):
            close()
            number, text_lines = None, []
            chapter = f"Chapter {m.group(1)}: {m.group(2)}"
        elif m := ARTICLE_RE.match(line):
            close()
            number, start, text_lines = int(m.group(1)), lineno, []
            # Numbers need not be contiguous (an excerpt of Arts. 50-52 is valid), but they
            # must rise: a lookup of "Article N" has to mean one article.
            if any(a.number == number for a in articles):
                problems.append(Problem(rel, lineno, f"duplicate Article {number}"))
            elif articles and number < articles[-1].number:
                problems.append(Problem(rel, lineno, f"Article {number} out of sequence: it "
                                                     f"follows Article {articles[-1].number}"))
        elif line.startswith("### ") or line.startswith("## "):
            problems.append(Problem(rel, lineno, f"unrecognised heading {line.strip()!r}: use "
                                                 "'## Chapter N: Title' or '### Article N'"))
        elif number is not None:
            text_lines.append(line)
    close()
    if not articles:
        problems.append(Problem(rel, body_start, "no '### Article N' headings found"))

    references = []
    raw_refs = meta.get("references") or []
    if not isinstance(raw_refs, list):
        problems.append(Problem(rel, 2, "front matter 'references' must be a list"))
        raw_refs = []
    for item in raw_refs:
        if not isinstance(item, dict) or "from" not in item or "regulation" not in item:
            problems.append(Problem(rel, 2, f"reference {item!r} needs 'from', 'regulation' "
                                            "and optional 'article'"))
            continue
        try:
            target = item.get("article")
            references.append(Reference(int(item["from"]), str(item["regulation"]),
                                        None if target is None else int(target)))
        except (TypeError, ValueError):
            problems.append(Problem(rel, 2, f"reference {item!r}: article numbers must be integers"))
    official_zh = meta.get("official_zh", True)
    if not isinstance(official_zh, bool):
        problems.append(Problem(rel, _field_line(text, "official_zh"), "front matter "
                                f"'official_zh' must be true or false, got {official_zh!r}"))
        official_zh = True
    return Regulation(articles=tuple(articles), references=tuple(references), path=rel,
                      official_zh=official_zh, jurisdiction=str(meta.get("jurisdiction") or "").strip(),
                      aliases=_word_list(meta, "aliases", rel, problems),
                      abbreviations=_word_list(meta, "abbreviations", rel, problems),
                      topics=_word_list(meta, "topics", rel, problems),
                      key_articles=_key_articles(meta, rel, problems), **values)


def _field_line(text: str, name: str) -> int:
    """The line of front matter field `name` (1-based), or 2 if it cannot be found."""
    for lineno, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip() == "---":
            break
        if line.startswith(f"{name}:"):
            return lineno
    return 2


def _word_list(meta: dict, name: str, path: str, problems: list[Problem]) -> tuple[str, ...]:
    value = meta.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        problems.append(Problem(path, 2, f"front matter '{name}' must be a list of phrases"))
        return ()
    return tuple(str(v).strip().lower() for v in value if str(v).strip())


KEY_ROLES = ("purpose", "scope", "definitions", "penalties", "filing", "dates")


def _key_articles(meta: dict, path: str, problems: list[Problem]) -> tuple:
    value = meta.get("key_articles") or {}
    if not isinstance(value, dict):
        problems.append(Problem(path, 2, "front matter 'key_articles' must map a role "
                                         f"({', '.join(KEY_ROLES)}) to a list of article numbers"))
        return ()
    out = []
    for role, numbers in value.items():
        if role not in KEY_ROLES:
            problems.append(Problem(path, 2, f"key_articles: unknown role {role!r}; choose from "
                                             f"{', '.join(KEY_ROLES)}"))
            continue
        numbers = numbers if isinstance(numbers, list) else [numbers]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            problems.append(Problem(path, 2, f"key_articles.{role} must list article numbers"))
            continue
        out.append((role, tuple(numbers)))
    return tuple(out)


def parse_official_zh(path: Path, problems: list[Problem]) -> dict[int, str]:
    """Article number -> official Chinese text (paragraphs joined by blank lines)."""
    rel = str(path)
    text = read_text(path, problems)
    if text is None:
        return {}
    _, body_start, body = split_front_matter(text, rel, problems)
    texts: dict[int, list[str]] = {}
    current = None
    for offset, line in enumerate(body):
        if m := ZH_ARTICLE_RE.match(line.strip()):
            current = chinese_numeral(m.group(1))
            if current in texts:
                problems.append(Problem(rel, body_start + offset, f"duplicate 第{m.group(1)}条"))
            texts[current] = [line.strip()]
        elif line.startswith("#"):
            current = None
        elif current is not None and line.strip():
            texts[current].append(line.strip())
    return {n: "\n\n".join(parts) for n, parts in texts.items()}


def parse_search_aids(path: Path, problems: list[Problem]) -> dict[int, tuple[str, ...]]:
    """Article number -> paragraphs of `search-aids/<id>.md` (same `### Article N` headings)."""
    rel = str(path)
    text = read_text(path, problems)
    if text is None:
        return {}
    meta, body_start, body = split_front_matter(text, rel, problems)
    if meta and meta.get("id") != path.stem:
        problems.append(Problem(rel, 2, f"id {meta.get('id')!r} must equal the file name "
                                        f"'{path.stem}'"))
    aids: dict[int, list[str]] = {}
    current = None
    for offset, line in enumerate(body):
        if m := ARTICLE_RE.match(line):
            current = int(m.group(1))
            if current in aids:
                problems.append(Problem(rel, body_start + offset, f"duplicate Article {current}"))
            aids[current] = []
        elif current is not None:
            aids[current].append(line)
    return {n: tuple(p for p in _paragraphs(lines).split("\n\n") if p)
            for n, lines in aids.items()}


def parse_commentary(path: Path, problems: list[Problem]) -> Commentary | None:
    rel = str(path)
    text = read_text(path, problems)
    if text is None:
        return None
    meta, body_start, body = split_front_matter(text, rel, problems)
    if not meta:
        return None
    values = {name: _text_field(meta, name, rel, problems) for name in COMMENTARY_FIELDS
              if name not in ("regulations", "affiliation")}
    regulations = meta.get("regulations")
    if not isinstance(regulations, list):
        problems.append(Problem(rel, 2, "front matter field 'regulations' must be a list of "
                                        "regulation ids (may be empty: [])"))
        regulations = []
    title = next((line[2:].strip() for line in body if line.startswith("# ")), values["id"])
    # Paragraphs after "## Search aids" are our search phrasing (indexed, never quoted as the
    # commentator's words).
    cut = next((i for i, line in enumerate(body) if line.strip() == SEARCH_AIDS_HEADING),
               len(body))
    text_lines = [line for line in body[:cut] if not line.startswith("#")]
    paragraphs = tuple(p for p in _paragraphs(text_lines).split("\n\n") if p)
    aids = tuple(p for p in _paragraphs(body[cut + 1:]).split("\n\n") if p)
    if not paragraphs:
        problems.append(Problem(rel, body_start, "commentary has no text"))
    return Commentary(title=title, affiliation=str(meta.get("affiliation") or ""),
                      regulations=tuple(str(r) for r in regulations),
                      paragraphs=paragraphs, path=rel, search_aids=aids, **values)


def parse_glossary(path: Path, problems: list[Problem]) -> tuple[GlossaryTerm, ...]:
    """The English | Chinese | note table; required (Chinese questions are matched through it)
    and must hold at least one term."""
    if not _present(path):
        problems.append(Problem(str(path), 1, "missing: the glossary (English | Chinese | note "
                                              "table) is required; see corpus/README.md"))
        return ()
    text = read_text(path, problems)
    if text is None:
        return ()
    terms = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.lstrip().startswith("|") or set(cells[0]) <= set("-: "):
            continue
        if cells[0].lower() == "english":
            continue
        chinese = tuple(t.strip() for t in re.split(r"[;/、]", cells[1]) if t.strip())
        terms.append(GlossaryTerm(cells[0], chinese, cells[2] if len(cells) > 2 else ""))
    if not terms:
        problems.append(Problem(str(path), 1, "the glossary has no terms: add rows "
                                              "'| English | Chinese | note |'"))
    return tuple(terms)


def parse_not_covered(path: Path, problems: list[Problem]) -> tuple[str, ...]:
    """The `patterns` list of `not-covered.md` (optional): each must compile as a regular
    expression."""
    if not _present(path):
        return ()
    text = read_text(path, problems)
    if text is None:
        return ()
    meta, _, _ = split_front_matter(text, str(path), problems)
    patterns = meta.get("patterns") if meta else None
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        problems.append(Problem(str(path), _field_line(text, "patterns"), "'patterns' must be a "
                                "list of non-empty regular expressions in quotes"))
        return ()
    good = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            line = next((n for n, row in enumerate(text.splitlines(), start=1)
                         if pattern in row), 1)
            problems.append(Problem(str(path), line, f"pattern {pattern!r} is not a valid "
                                                     f"regular expression: {exc}"))
            continue
        good.append(pattern)
    return tuple(good)


def corpus_digest(root: Path) -> str:
    """Hash of every file the index is built from (not README.md, nor not-covered.md, which
    only query analysis reads): any edit makes the index stale."""
    digest = hashlib.sha256()
    files = [*root.glob("regulations/*.md"), *root.glob("official-zh/*.md"),
             *root.glob("search-aids/*.md"),
             *root.glob("commentary/*.md"), *root.glob("glossary.md")]
    for path in sorted(files):
        if not path.is_file():  # a folder or broken link: reported by read_corpus
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_corpus(root: str | Path) -> Corpus:
    """Parse the corpus, keeping every problem found; never raises for content problems."""
    root = Path(root)
    if not (root / "regulations").is_dir():
        raise CorpusError(f"{root}: no 'regulations/' folder; point corpus_dir= (--corpus-dir "
                          "on the command line) at a folder laid out as described in "
                          "corpus/README.md")
    problems: list[Problem] = []
    regulations = []
    for path in sorted((root / "regulations").glob("*.md")):
        regulation = parse_regulation(path, problems)
        if regulation is None:
            continue
        zh_path = root / "official-zh" / path.name
        if not regulation.official_zh:
            if _present(zh_path):
                problems.append(Problem(str(path), _field_line(
                    read_text(path, []) or "", "official_zh"), f"front matter says "
                    f"'official_zh: false' but {zh_path} exists: remove one of them"))
        elif not _present(zh_path):
            # Retrieval, Chinese questions and answers all read it: never drop it silently.
            problems.append(Problem(str(zh_path), 1, f"missing: every regulation needs its "
                                                     f"official Chinese text ({path.name} has "
                                                     "none)"))
        else:
            zh = parse_official_zh(zh_path, problems)
            unreadable = not zh and any(p.path == str(zh_path) for p in problems)
            for article in () if unreadable else regulation.articles:
                if article.number not in zh:
                    problems.append(Problem(str(zh_path), 1, f"official Chinese text has no "
                                                             f"article {article.number}"))
            extra = sorted(set(zh) - {a.number for a in regulation.articles})
            if extra:
                problems.append(Problem(str(zh_path), 1, f"official Chinese text has articles "
                                                         f"{extra} missing from {path.name}"))
            articles = tuple(Article(a.regulation, a.number, a.chapter, a.text,
                                     zh.get(a.number, ""), a.line) for a in regulation.articles)
            regulation = Regulation(**{**regulation.__dict__, "articles": articles})
        aids_path = root / "search-aids" / path.name
        if (root / "search-aids").is_dir() and not _present(aids_path):
            problems.append(Problem(str(aids_path), 1, f"missing: search-aids/ covers the other "
                                                       f"regulations but not {path.name}"))
        elif _present(aids_path):
            aids = parse_search_aids(aids_path, problems)
            numbers = {a.number for a in regulation.articles}
            for number in sorted(set(aids) - numbers):
                problems.append(Problem(str(aids_path), 1, f"search aids for Article {number}, "
                                                           f"which {path.name} does not have"))
            articles = tuple(Article(**{**a.__dict__, "search_aids": aids.get(a.number, ())})
                             for a in regulation.articles)
            regulation = Regulation(**{**regulation.__dict__, "articles": articles})
        regulations.append(regulation)
    commentary = []
    commentary_dir = root / "commentary"
    if commentary_dir.is_dir():
        for path in sorted(commentary_dir.glob("*.md")):
            if (doc := parse_commentary(path, problems)) is not None:
                commentary.append(doc)
    glossary = parse_glossary(root / "glossary.md", problems)
    not_covered = parse_not_covered(root / "not-covered.md", problems)
    return Corpus(str(root), tuple(regulations), tuple(commentary), glossary,
                  corpus_digest(root), tuple(problems), not_covered)
