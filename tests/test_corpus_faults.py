"""Corpus faults found by fault injection: each is reported as `path:line: message` (never a
traceback), and what retrieval depends on is required."""

import os

import pytest

from regqa import CorpusError
from regqa.corpus import read_corpus
from regqa.validate import check_corpus, load_corpus

from .conftest import TOY_REGULATION, write_toy_corpus


def messages(root):
    return [str(p) for p in check_corpus(read_corpus(root))]


@pytest.fixture
def root(tmp_path):
    return write_toy_corpus(tmp_path / "corpus")


def test_the_toy_corpus_is_clean(root):
    assert messages(root) == []


@pytest.mark.parametrize("relative", ["regulations/toy-2024.md", "official-zh/toy-2024.md",
                                      "commentary/smith.md", "glossary.md"])
def test_non_utf8_bytes_name_the_file_and_line(root, relative):
    path = root / relative
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + b" caf\xe9"
    path.write_bytes(b"\n".join(lines))
    assert f"{path}:4: not valid UTF-8 (byte 0xe9); save the file as UTF-8" in messages(root)
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        load_corpus(root)


def test_a_byte_order_mark_is_stripped(root):
    path = root / "regulations" / "toy-2024.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert messages(root) == []
    assert load_corpus(root).regulation("toy-2024").title == "Provisions on Toy Robots"


def test_control_characters_are_reported(root):
    path = root / "regulations" / "toy-2024.md"
    path.write_text(path.read_text().replace("sold to the public", "sold\x07 to the public"))
    line = path.read_text().split("\n").index(next(
        x for x in path.read_text().split("\n") if "\x07" in x)) + 1
    assert f"{path}:{line}: control character U+0007; remove it" in messages(root)


def test_crlf_line_endings_are_fine(root):
    path = root / "commentary" / "smith.md"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert messages(root) == []


@pytest.mark.parametrize("date", ["2023-13-45", "2024-02-30", "yesterday", "2024-1-1"])
def test_bad_dates_are_reported_not_raised(root, date):
    path = root / "regulations" / "toy-2024.md"
    path.write_text(TOY_REGULATION.replace("promulgated: 2024-01-01", f"promulgated: {date}"))
    assert any(m.startswith(f"{path}:1: front matter field 'promulgated' must be an ISO date")
               for m in messages(root))


def test_good_dates_still_parse(root):
    assert load_corpus(root).regulation("toy-2024").promulgated == "2024-01-01"


def test_duplicate_yaml_keys_are_rejected(root):
    path = root / "regulations" / "toy-2024.md"
    path.write_text(TOY_REGULATION.replace("short_title: Toy Robot Provisions\n",
                                           "short_title: Toy Robot Provisions\n"
                                           "short_title: Something Else\n"))
    assert (f"{path}:5: invalid YAML front matter: duplicate key 'short_title' (first given on "
            "line 3 of the front matter)") in messages(root)


def test_a_folder_named_like_a_file(root):
    (root / "regulations" / "x.md").mkdir()
    (root / "commentary" / "y.md").mkdir()
    found = messages(root)
    assert f"{root}/regulations/x.md:1: is a folder, not a file; rename or remove it" in found
    assert f"{root}/commentary/y.md:1: is a folder, not a file; rename or remove it" in found


def test_broken_symlinks(root):
    os.symlink(root / "nowhere.md", root / "regulations" / "gone.md")
    (root / "official-zh" / "toy-2024.md").unlink()
    os.symlink(root / "nowhere-zh.md", root / "official-zh" / "toy-2024.md")
    found = messages(root)
    assert any(m.startswith(f"{root}/regulations/gone.md:1: broken symbolic link") for m in found)
    assert any(m.startswith(f"{root}/official-zh/toy-2024.md:1: broken symbolic link")
               for m in found)
    assert not any("has no article" in m for m in found)  # one problem, not one per article


def test_missing_official_chinese_text_is_required(root):
    (root / "official-zh" / "toy-2024.md").unlink()
    assert messages(root) == [f"{root}/official-zh/toy-2024.md:1: missing: every regulation "
                              "needs its official Chinese text (toy-2024.md has none)"]


def test_missing_search_aids_file_when_the_folder_exists(root):
    second = TOY_REGULATION.replace("id: toy-2024", "id: kite-2024").replace(
        "regulation: toy-2024", "regulation: kite-2024")
    (root / "regulations" / "kite-2024.md").write_text(second)
    (root / "official-zh" / "kite-2024.md").write_text(
        (root / "official-zh" / "toy-2024.md").read_text())
    (root / "search-aids").mkdir()
    (root / "search-aids" / "toy-2024.md").write_text("---\nid: toy-2024\n---\n\n### Article 3\n\n"
                                                      "Money back for broken toys.\n")
    assert messages(root) == [f"{root}/search-aids/kite-2024.md:1: missing: search-aids/ covers "
                              "the other regulations but not kite-2024.md"]


def test_glossary_is_required_and_not_empty(root):
    glossary = root / "glossary.md"
    glossary.write_text("| English | Chinese | Note |\n|---|---|---|\n")
    assert messages(root) == [f"{glossary}:1: the glossary has no terms: add rows "
                              "'| English | Chinese | note |'"]
    glossary.unlink()
    assert messages(root) == [f"{glossary}:1: missing: the glossary (English | Chinese | note "
                              "table) is required; see corpus/README.md"]


def test_the_real_corpus_is_clean():
    from regqa.api import project_root

    assert messages(project_root() / "corpus") == []


NOT_COVERED = """\
---
kind: not-covered
patterns:
  - 'Toy Safety Act'
  - 'recall (orders?'
---
"""


def test_a_not_covered_pattern_that_is_not_a_regular_expression_names_its_line(root):
    (root / "not-covered.md").write_text(NOT_COVERED)
    assert messages(root) == [f"{root / 'not-covered.md'}:5: pattern 'recall (orders?' is not a "
                              "valid regular expression: missing ), unterminated subpattern "
                              "at position 7"]


def test_not_covered_patterns_must_be_a_list(root):
    (root / "not-covered.md").write_text("---\nkind: not-covered\npatterns: Toy Safety Act\n---\n")
    assert messages(root) == [f"{root / 'not-covered.md'}:3: 'patterns' must be a list of "
                              "non-empty regular expressions in quotes"]
