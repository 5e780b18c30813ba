from pathlib import Path

import pytest

from regqa.corpus import chinese_numeral, read_corpus
from regqa.errors import CorpusError
from regqa.validate import check_corpus, load_corpus

from .conftest import ROOT, TOY_COMMENTARY, TOY_REGULATION, write_toy_corpus


def messages(root: Path) -> list[str]:
    return [str(p) for p in check_corpus(read_corpus(root))]


def test_real_corpus_has_every_article_of_the_four_regulations():
    corpus = load_corpus(ROOT / "corpus")
    counts = {r.id: [a.number for a in r.articles] for r in corpus.regulations}
    assert counts == {"algorithmic-recommendation-2021": list(range(1, 36)),
                      "deep-synthesis-2022": list(range(1, 26)),
                      "genai-2023": list(range(1, 25)),
                      "labeling-measures-2025": list(range(1, 15))}
    assert all(a.text and a.text_zh for r in corpus.regulations for a in r.articles)


def test_real_corpus_records_the_cross_references_between_regulations():
    corpus = load_corpus(ROOT / "corpus")
    genai = {(r.from_article, r.regulation, r.article) for r in corpus.regulation("genai-2023").references}
    assert (12, "deep-synthesis-2022", None) in genai
    assert (17, "algorithmic-recommendation-2021", 24) in genai  # filing follows AR Art. 24
    ds = {(r.from_article, r.regulation, r.article) for r in corpus.regulation("deep-synthesis-2022").references}
    assert (19, "algorithmic-recommendation-2021", 24) in ds


@pytest.mark.parametrize(("numeral", "value"), [("一", 1), ("十", 10), ("十七", 17),
                                                ("二十", 20), ("三十五", 35), ("一百零二", 102)])
def test_chinese_numerals(numeral, value):
    assert chinese_numeral(numeral) == value


def test_toy_corpus_is_valid(tmp_path):
    assert messages(write_toy_corpus(tmp_path)) == []


def test_missing_front_matter_is_reported_with_file_and_line(tmp_path):
    root = write_toy_corpus(tmp_path, regulation=TOY_REGULATION.split("---\n", 2)[2])
    assert messages(root)[0] == (f"{root}/regulations/toy-2024.md:1: missing YAML front "
                                 "matter: the file must start with '---'")


def test_invalid_date_and_missing_field(tmp_path):
    broken = TOY_REGULATION.replace("effective: 2024-02-01", "effective: next spring")
    broken = broken.replace("short_title: Toy Robot Provisions\n", "")
    got = messages(write_toy_corpus(tmp_path, regulation=broken))
    assert any("field 'short_title' is missing or empty" in m for m in got)
    assert any("'effective' must be an ISO date (YYYY-MM-DD), got 'next spring'" in m for m in got)


def test_duplicate_and_out_of_sequence_articles(tmp_path):
    broken = TOY_REGULATION.replace("### Article 3", "### Article 2").replace(
        "### Article 4", "### Article 1")
    got = messages(write_toy_corpus(tmp_path, regulation=broken))
    assert any(m.endswith(":37: duplicate Article 2") for m in got), got
    assert any("duplicate Article 1" in m for m in got), got


def test_article_numbers_may_skip_but_must_rise(tmp_path):
    excerpt = TOY_REGULATION.replace("### Article 3", "### Article 50").replace(
        "### Article 4", "### Article 52")
    from regqa.corpus import read_corpus

    corpus = read_corpus(write_toy_corpus(tmp_path / "a", regulation=excerpt))
    numbers = [a.number for a in corpus.regulations[0].articles]
    assert numbers == [1, 2, 50, 52]
    disorder = TOY_REGULATION.replace("### Article 3", "### Article 50")
    got = messages(write_toy_corpus(tmp_path / "b", regulation=disorder))
    assert any("Article 4 out of sequence: it follows Article 50" in m for m in got), got


def test_empty_article(tmp_path):
    broken = TOY_REGULATION.replace(
        "Sellers shall refund customers within fourteen days when a toy robot breaks.\n", "")
    got = messages(write_toy_corpus(tmp_path, regulation=broken))
    assert any(m.endswith(":37: Article 3 is empty") for m in got), got


def test_reference_to_unknown_regulation_or_article(tmp_path):
    broken = TOY_REGULATION.replace("    regulation: toy-2024\n    article: 2",
                                    "    regulation: toy-2099\n    article: 2\n"
                                    "  - from: 1\n    regulation: toy-2024\n    article: 9")
    got = messages(write_toy_corpus(tmp_path, regulation=broken))
    assert any("reference from Article 4 to unknown regulation 'toy-2099' (known: toy-2024)" in m
               for m in got), got
    assert any("to toy-2024 Article 9, which does not exist (it has 4 articles)" in m
               for m in got), got


def test_commentary_naming_unknown_regulation(tmp_path):
    broken = TOY_COMMENTARY.replace("regulations: [toy-2024]", "regulations: [eu-ai-act]")
    got = messages(write_toy_corpus(tmp_path, commentary=broken))
    assert got == [f"{tmp_path}/commentary/smith.md:2: commentary names unknown regulation "
                   "'eu-ai-act' (known: toy-2024)"]


def test_load_corpus_refuses_a_broken_corpus_listing_every_problem(tmp_path):
    broken = TOY_REGULATION.replace("### Article 4", "### Article 2")
    with pytest.raises(CorpusError, match="duplicate Article 2") as info:
        load_corpus(write_toy_corpus(tmp_path, regulation=broken))
    assert "regqa corpus check" in str(info.value)


def test_official_chinese_must_have_the_same_articles(tmp_path):
    from .conftest import TOY_ZH

    root = write_toy_corpus(tmp_path, zh=TOY_ZH.replace("第四条", "第五条"))
    got = messages(root)
    assert any("official Chinese text has no article 4" in m for m in got), got
    assert any("official Chinese text has articles [5] missing from toy-2024.md" in m
               for m in got), got


SEARCH_AIDS = """\
---
id: toy-2024
kind: search-aids
---

### Article 3

Money back for a broken robot toy: how fast must the shop pay?

坏了的机器人玩具多久退钱？
"""


def test_search_aids_attach_to_their_article(tmp_path):
    root = write_toy_corpus(tmp_path)
    (root / "search-aids").mkdir()
    (root / "search-aids" / "toy-2024.md").write_text(SEARCH_AIDS)
    corpus = load_corpus(root)
    assert corpus.article("toy-2024", 3).search_aids == (
        "Money back for a broken robot toy: how fast must the shop pay?", "坏了的机器人玩具多久退钱？")
    assert corpus.article("toy-2024", 2).search_aids == ()


def test_search_aids_for_a_missing_article_are_reported(tmp_path):
    root = write_toy_corpus(tmp_path)
    (root / "search-aids").mkdir()
    (root / "search-aids" / "toy-2024.md").write_text(SEARCH_AIDS.replace("Article 3", "Article 9"))
    assert messages(root) == [f"{root}/search-aids/toy-2024.md:1: search aids for Article 9, "
                              "which toy-2024.md does not have"]


def test_commentary_search_aids_are_indexed_but_not_the_commentators_words(tmp_path):
    from regqa.chunking import chunk_corpus
    from regqa.corpus import read_corpus

    from .conftest import TOY_COMMENTARY

    with_aids = TOY_COMMENTARY + "\n## Search aids\n\n有专家认为玩具退款规则对顾客太宽松，这是谁的观点？\n"
    corpus = read_corpus(write_toy_corpus(tmp_path, commentary=with_aids))
    doc = corpus.commentary[0]
    assert doc.paragraphs == ("Smith argues that the refund rule for broken toy robots is too "
                              "generous to customers.",)
    assert doc.search_aids == ("有专家认为玩具退款规则对顾客太宽松，这是谁的观点？",)
    chunks = [c for c in chunk_corpus(corpus, lambda text: len(text.split()))
              if c.source_id == "commentary:smith"]
    assert [(c.id, c.lang) for c in chunks] == [("commentary:smith/0", "en"),
                                                ("commentary:smith/aid0", "zh")]


@pytest.mark.parametrize("question, article", [
    # regression: "the algorithm rules" and "算法规定" were not read as naming the regulation, so
    # a named article was taken as ambiguous and the question was refused
    ("What does Article 16 of the algorithm rules require providers to disclose?", 16),
    ("算法规定第三十一条罚款是多少？", 31),
])
def test_common_short_names_of_the_algorithm_rules_make_a_lookup(question, article):
    from regqa.query import analyse

    query = analyse(question, load_corpus(ROOT / "corpus"))
    assert [(r.regulation, r.article) for r in query.lookups] == [
        ("algorithmic-recommendation-2021", article)]


def test_a_penalty_article_enforces_the_articles_it_refers_to(fake_qa):
    from regqa.chunking import enforcers

    assert enforcers(fake_qa.corpus) == {"toy-2024#2": ["toy-2024#4"]}


def test_a_penalty_reference_to_the_whole_regulation_reaches_every_other_article(fake_qa):
    # "违反本办法规定的…": a breach of any article, so each but the penalty article itself
    from dataclasses import replace

    from regqa.chunking import enforcers
    from regqa.corpus import Corpus, Reference

    corpus = fake_qa.corpus
    whole = replace(corpus.regulations[0], references=(Reference(4, "toy-2024", None),))
    assert enforcers(Corpus(corpus.root, (whole,), (), corpus.glossary, "x")) == {
        "toy-2024#1": ["toy-2024#4"], "toy-2024#2": ["toy-2024#4"],
        "toy-2024#3": ["toy-2024#4"]}
