"""The reference parser shared by question lookup and LLM verification (refs.py), on a tiny
inline corpus: names come from the records' aliases and titles, never from code."""

import pytest

from regqa.corpus import Corpus, Regulation
from regqa.refs import (
    ArticleRef,
    chinese_number,
    english_number,
    find_article_refs,
    regulation_mentions,
    regulation_spans,
)


def regulation(id, title, short_title, title_zh, aliases=(), abbreviations=()):
    return Regulation(id=id, title=title, short_title=short_title, title_zh=title_zh,
                      issued_by="", promulgated="2020-01-01", effective="2020-01-01",
                      official_url="", translation="", articles=(), aliases=tuple(aliases),
                      abbreviations=tuple(abbreviations))


CORPUS = Corpus(root="", commentary=(), glossary=(), digest="", regulations=(
    regulation("genai-2023", "Interim Measures for the Management of Generative Artificial "
               "Intelligence Services", "Generative AI Measures", "生成式人工智能服务管理暂行办法",
               ("generative ai", "genai", "生成式人工智能")),
    regulation("deep-synthesis-2022", "Provisions on the Administration of Deep Synthesis of "
               "Internet Information Services", "Deep Synthesis Provisions",
               "互联网信息服务深度合成管理规定", ("deep synthesis", "deepfake", "深度合成")),
    regulation("algorithmic-recommendation-2021", "Provisions on the Administration of "
               "Algorithmic Recommendations for Internet Information Services",
               "Algorithmic Recommendation Provisions", "互联网信息服务算法推荐管理规定",
               ("algorithmic recommendation", "算法推荐"), ("ar",)),
))


def pairs(text):
    return [(r.regulation, r.article) for r in find_article_refs(text, CORPUS)]


@pytest.mark.parametrize("text, expected", [
    ("Article 17", [17]),
    ("art. 9", [9]),
    ("art.9", [9]),
    ("art 9", [9]),
    ("ARTICLE 99", [99]),
    ("article 99", [99]),
    ("Articles 30 and 31", [30, 31]),
    ("Arts. 40-45", [40, 41, 42, 43, 44, 45]),
    ("Arts. 40–45", [40, 41, 42, 43, 44, 45]),
    ("Articles 40 to 42", [40, 41, 42]),
    ("Articles 3, 5 and 7", [3, 5, 7]),
    ("Article 3 and Article 8", [3, 8]),
    ("article ten", [10]),
    ("Article Seventeen", [17]),
    ("article twenty-four", [24]),
    ("article twenty four", [24]),
    ("第十七条", [17]),
    ("第 99 条", [99]),
    ("第九十九條", [99]),
    ("第１７条", [17]),
    ("ＡＲＴＩＣＬＥ　１７", [17]),
    ("第17、18条", [17, 18]),
    ("第十七条、第十八条", [17, 18]),
    ("第十七条至第十九条", [17, 18, 19]),
    ("第十七条第一款", [17]),
    ("第一百零三条", [103]),
    ("state of the art ten years old", []),
    ("the art of labelling", []),
    ("twenty-four hours", []),
    ("Article 5, 2023 edition", [5]),
    ("particle 5", []),
])
def test_article_numbers(text, expected):
    assert [r.article for r in find_article_refs(text, CORPUS)] == expected


def test_ranges_are_capped():
    numbers = [r.article for r in find_article_refs("Arts. 1-1000", CORPUS)]
    assert len(numbers) == 51 and numbers[:3] == [1, 2, 3] and numbers[-2:] == [50, 1000]


@pytest.mark.parametrize("text, expected", [
    ("deep synthesis art 16", [("deep-synthesis-2022", 16)]),
    ("深度合成规定第十七条", [("deep-synthesis-2022", 17)]),
    ("《生成式人工智能服务管理暂行办法》第七条", [("genai-2023", 7)]),
    ("Article 17 of the deep synthesis provisions", [("deep-synthesis-2022", 17)]),
    ("Article 12 of the Algorithmic Recommendation Provisions [1]",
     [("algorithmic-recommendation-2021", 12)]),
    ("Compare deep synthesis art 16 with genai art 12",
     [("deep-synthesis-2022", 16), ("genai-2023", 12)]),
    ("Deep Synthesis Provisions, Art. 16 and Generative AI Measures, Art. 12",
     [("deep-synthesis-2022", 16), ("genai-2023", 12)]),
    ("Articles 30 and 31 of the GenAI measures", [("genai-2023", 30), ("genai-2023", 31)]),
    ("Under genai, what about Article 4? And the deep synthesis rules?", [("genai-2023", 4)]),
    ("What does Art. 17 say? I mean deep synthesis.", [("deep-synthesis-2022", 17)]),
    ("What does article 3 say?", [(None, 3)]),
    ("DEEPFAKE ARTICLE 6", [("deep-synthesis-2022", 6)]),
])
def test_numbers_are_tied_to_the_regulation_named(text, expected):
    assert pairs(text) == expected


def test_spans_index_the_original_text():
    text = "İ see ＡＲＴ. １７ of deepfake rules and Articles 30 and 31"
    refs = find_article_refs(text, CORPUS)
    assert [text[r.start:r.end] for r in refs] == ["ＡＲＴ. １７", "Articles 30 and 31",
                                                   "Articles 30 and 31"]
    assert refs[0] == ArticleRef("deep-synthesis-2022", 17, 6, 13)


def test_regulation_names_match_whole_words_case_insensitively():
    text = "GENAI and the Deep  Synthesis Provisions; degenaire; 算法推荐 and generative ai"
    spans = regulation_spans(text, CORPUS)
    assert [(text[s:e], r) for s, e, r in spans] == [
        ("GENAI", "genai-2023"), ("Deep  Synthesis Provisions", "deep-synthesis-2022"),
        ("算法推荐", "algorithmic-recommendation-2021"), ("generative ai", "genai-2023")]
    assert regulation_mentions(text, CORPUS) == ["genai-2023", "deep-synthesis-2022",
                                                 "algorithmic-recommendation-2021"]


def test_longest_name_wins():
    text = "the Generative AI Measures"
    assert [(text[s:e], r) for s, e, r in regulation_spans(text, CORPUS)] == [
        ("Generative AI Measures", "genai-2023")]


def test_no_regulation_no_names():
    empty = Corpus(root="", regulations=(), commentary=(), glossary=(), digest="")
    assert regulation_spans("genai", empty) == [] and pairs("Article 3") == [(None, 3)]


def test_number_words():
    assert english_number("twenty-four") == 24 and english_number("Ten") == 10
    assert [chinese_number(t) for t in ("十", "十七", "二十", "九十九", "一百零三", "两", "17")] \
        == [10, 17, 20, 99, 103, 2, 17]


@pytest.mark.parametrize("text, expected", [
    ("AR Art. 24", [("algorithmic-recommendation-2021", 24)]),
    ("ar, article 9 and genai art. 2", [("algorithmic-recommendation-2021", 9), ("genai-2023", 2)]),
    ("AR 第二十四条", [("algorithmic-recommendation-2021", 24)]),
])
def test_an_abbreviation_names_a_regulation_right_before_an_article(text, expected):
    assert pairs(text) == expected


@pytest.mark.parametrize("text", ["Must an AR game that generates virtual scenes label them?",
                                  "AR眼镜里的虚拟场景要标识吗？", "Is AR/VR content covered?",
                                  "使用AR第三方SDK生成虚拟场景要标识吗？"])
def test_an_abbreviation_alone_names_nothing(text):
    # Regression (bug hunt): "AR" alone was read as the Algorithmic Recommendation Provisions,
    # so a question about augmented reality was refused
    assert regulation_mentions(text, CORPUS) == []


@pytest.mark.parametrize("text, expected", [
    ("What does the 17th article of the deep synthesis rules say?", [("deep-synthesis-2022", 17)]),
    ("the 2nd article of genai", [("genai-2023", 2)]),
    ("Article 10000 of the deep synthesis rules", [("deep-synthesis-2022", 10000)]),
    ("Article 1000000 of the deep synthesis rules", [("deep-synthesis-2022", 1000000)]),
    ("第10000条", [(None, 10000)]),
])
def test_ordinal_and_five_digit_articles_are_read(text, expected):
    # Regression (bug hunt): neither was read, so the question was answered from another
    # article as grounded instead of looked up (or named as missing)
    assert pairs(text) == expected
