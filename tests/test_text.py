from regqa.text import counterpart, paragraph_units, units

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
