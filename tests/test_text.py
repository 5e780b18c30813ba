import pytest

from regqa.text import counterpart, figures, paragraph_units, units, unset_figures

ZH = "第六条 提供者应当做到：\n\n（一）甲；\n\n（二）乙。\n\n丙。丁。"
EN = "Providers shall:\n\n(1) A;\n\n(2) B.\n\nC. D."


def test_units_drop_the_article_heading_even_before_a_lead_in():
    # Regression: "第六条 " stayed on a lead-in and was quoted twice beside the label
    assert units(ZH) == ["提供者应当做到：", "（一）甲；", "（二）乙。", "丙。", "丁。"]
    assert paragraph_units(EN) == [["Providers shall:"], ["(1) A;"], ["(2) B."], ["C.", "D."]]


def test_counterpart_renders_exactly_the_units_quoted_in_the_other_language():
    # Regression: the English under a Chinese quote was chosen on its own and could render
    # another item than the one quoted
    assert counterpart(["丁。", "（一）甲；"], ZH, EN) == ("(1) A;", "D.")
    assert counterpart(["(2) B."], EN, ZH) == ("（二）乙。",)


def test_counterpart_falls_back_to_the_paragraph_when_sentences_do_not_pair():
    assert counterpart(["丙。"], "甲：\n\n丙。丁。", "A:\n\nC and D.") == ("C and D.",)
    assert counterpart(["丙。"], "丙。\n\n丁。", "C and D.") == ()


def test_figures_are_read_with_their_units_in_both_languages():
    assert figures("算法备案要在三十个工作日内完成，罚五十万吗？") == [
        ("三十个工作日", 30.0, "working_day", 6), ("五十万", 500000.0, "yuan", 17)]
    assert [f[:3] for f in figures("处一万元以上十万元以下罚款，日志留存不少于六个月")] == [
        ("一万元", 10000.0, "yuan"), ("十万元", 100000.0, "yuan"), ("六个月", 6.0, "month")]
    assert [f[:3] for f in figures("within twenty-four hours, RMB 500,000, a 30-day window")] == [
        ("twenty-four hours", 24.0, "hour"), ("RMB 500,000", 500000.0, "yuan"),
        ("30-day", 30.0, "day")]
    assert [f[:3] for f in figures("罚款10,000元")] == [("10,000元", 10000.0, "yuan")]
    # regression (bug hunt): the fine word five characters before the sum
    assert [f[:3] for f in figures("罚款最高是50万吗？")] == [("50万", 500000.0, "yuan")]


def test_calendar_days_are_not_set_by_working_days():
    # Regression (fourth review): "算法备案需要在上线前30天提交" passed the premise check because
    # the filing article's "三十个工作日" was read as the same thirty days
    article = "材料齐全的，应当在三十个工作日内予以备案。Filed within thirty working days."
    assert unset_figures([("30天", 30.0, "day"), ("30 days", 30.0, "day")], [article]) == [
        "30天", "30 days"]
    assert unset_figures([("30个工作日", 30.0, "working_day"),
                          ("30 business days", 30.0, "working_day")], [article]) == []
    assert [f[2] for f in figures("30个工作日、30 business days、30天")] == [
        "working_day", "day", "working_day"]


def test_dates_article_numbers_counts_and_spans_are_not_figures():
    # Regressions from a review: "8块显卡" was read as yuan, "两三个月" as 23 months, and a
    # long run of numerals overflowed
    assert figures("2023年8月15日起施行，第三十一条，我们有500万用户，8块显卡") == []
    assert figures("Article 17 took effect in 2023 for 1,000 users") == []
    assert figures("两三个月、三四天、五十万用户") == []
    assert figures("一" * 400 + "天") == []


def test_a_clause_after_a_semicolon_stays_with_its_sentence():
    # Regression: "拒不改正的，处罚款" was its own unit, so a quote could keep the warning and
    # drop the fine, while the English beneath it (one sentence) showed the fine
    zh = "违反本规定的，给予警告；拒不改正的，处一万元罚款。构成犯罪的，依法追究刑事责任。"
    en = ("Violations get a warning; refusal to correct is fined 10,000 yuan. Crimes are "
          "prosecuted.")
    assert paragraph_units(zh) == [["违反本规定的，给予警告；拒不改正的，处一万元罚款。",
                                    "构成犯罪的，依法追究刑事责任。"]]
    assert counterpart(["违反本规定的，给予警告；拒不改正的，处一万元罚款。"], zh, en) == (
        "Violations get a warning; refusal to correct is fined 10,000 yuan.",)


@pytest.mark.parametrize("text, chinese", [
    ("Does 生成式人工智能服务管理暂行办法 apply to our internal tool?", False),
    ("What does 深度合成服务提供者 mean?", False),
    ("What does 第十一条 require?", False),
    ("Generative AI Measures对open source model有豁免吗？", True),
    ("我们的AI换脸App要备案吗", True),
    ("《生成式人工智能服务管理暂行办法》 Article 7?", False),
    ("深度合成", True),
    ("GenAI", False),
])
def test_a_question_is_in_the_language_of_its_grammar_not_of_the_names_it_quotes(text, chinese):
    # Regression (bug hunt): an English question quoting a Chinese title was answered in Chinese
    # from the wrong article, and a Chinese one using an English name in English
    from regqa.text import is_chinese

    assert is_chinese(text) is chinese


def test_the_tokenizer_knows_dictionary_and_user_words_not_its_guesses():
    from regqa.text import ChineseTokenizer

    tokenizer = ChineseTokenizer(["玩具机器人"])
    assert tokenizer.known("交钱") and tokenizer.known("玩具机器人")
    assert not tokenizer.known("没备")
