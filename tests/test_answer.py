import pytest

from regqa.text import units


def test_offline_answer_quotes_the_cited_article_verbatim(toy_qa):
    answer = toy_qa.ask("How long does a seller have to refund a broken toy robot?")
    assert answer.status == "grounded"
    first = answer.citations[0]
    assert (first.number, first.hit.source_id) == (1, "toy-2024#3")
    assert first.quotes == ("Sellers shall refund customers within fourteen days when a toy "
                            "robot breaks.",)
    assert answer.text.startswith(f"Under Toy Robot Provisions, Art. 3: {first.quotes[0]} [1]")
    assert answer.source_nodes[0].node.node_id == first.hit.source_id


def test_unrelated_question_is_no_match_listing_the_closest(toy_qa):
    answer = toy_qa.ask("What is the capital of Peru and its population?")
    assert answer.status == "no_match"
    assert answer.citations == ()
    assert "could not find a provision" in answer.text and answer.reason
    assert answer.hits[0].label in answer.text


# "and the refund?" after a question on fines cited the refund article with the wheel's MiniLM
# and cites only the fine article with ours: folded into the previous turn, a follow-up that
# changes subject is outweighed by it (eval/analysis.md, eleventh session). It reads
# the previous turn (it is unanswerable without it). ("Who fines them?" cited the fine for
# a missing label, Art. 4, through the follow-up aspect rule, deleted in the sixteenth session
# when it stopped winning on held-out questions; Art. 4 fines no late refund either.)
@pytest.mark.parametrize(("turn", "article"), [("Within how many days?", "toy-2024#3")])
def test_follow_up_uses_the_previous_turn(toy_qa, turn, article):
    history = [{"role": "user", "content": "What must a seller do when a toy robot breaks?"},
               {"role": "assistant", "content": "..."}]
    answer = toy_qa.ask(turn, history=history)
    assert answer.status == "grounded"
    assert answer.citations[0].hit.source_id == article


def test_units_keep_numbered_items_whole():
    text = "Lead in:\n\n(1) first item; and\n\n(2) second item.\n\nOne. Two."
    assert units(text) == ["Lead in:", "(1) first item; and", "(2) second item.", "One.", "Two."]


@pytest.mark.parametrize("bad", ["", "  "])
def test_empty_question_to_ask_is_an_input_error(toy_qa, bad):
    from regqa import InputError

    with pytest.raises(InputError):
        toy_qa.ask(bad)


@pytest.mark.parametrize("question", [
    "What fines does the GDPR allow for a data breach?",
    "How does the EU AI Act classify high-risk systems?",
    "Under China's Personal Information Protection Law, how is consent withdrawn?",
    "数据出境标准合同怎么备案？",
])
def test_questions_about_other_laws_are_out_of_scope(fake_qa, question):
    assert fake_qa.analyse(question).out_of_scope is not None
    answer = fake_qa.ask(question)
    assert (answer.status, answer.citations) == ("no_match", ())
    why = ("不在本语料库中",) if answer.lang == "zh" else ("not in the corpus",
                                                           "only regulations of China")
    assert any(words in answer.reason for words in why)


@pytest.mark.parametrize("question", [
    "Does the toy robot provisions' fine apply to US sellers?",
    "Do Chinese rules on toy robots cover American brands sold in China?",
    "What does Smith think about the EU approach?",
])
def test_naming_a_corpus_regulation_china_or_a_commentator_keeps_it_in_scope(fake_qa, question):
    assert fake_qa.analyse(question).out_of_scope is None


def test_chat_rendering_escapes_corpus_text_and_keeps_warnings(toy_qa):
    from dataclasses import replace

    from regqa.ui import md_text

    answer = toy_qa.ask("How long does a seller have to refund a broken toy robot?")
    shown = answer.markdown(md_text)
    lead = "Sellers shall refund customers within fourteen days when a toy robot breaks\\. [1]"
    assert shown.startswith(f"Under Toy Robot Provisions, Art\\. 3: {lead}")
    assert shown.count(lead) == 1  # the answering sentence is not repeated as a quote
    fallback = replace(answer, status="llm_unavailable", flags=("the model timed out",))
    assert fallback.markdown(md_text).endswith("⚠️ the model timed out")
    llm_text = replace(answer, text="<b>Refund</b> in **14** days [1]")
    assert llm_text.markdown(md_text) == "&lt;b&gt;Refund&lt;/b&gt; in \\*\\*14\\*\\* days \\[1\\]"


def test_a_chinese_question_is_answered_in_chinese_quoting_the_official_text(toy_qa):
    answer = toy_qa.ask("玩具机器人坏了，销售者多少天内要退款？")
    assert (answer.status, answer.lang) == ("grounded", "zh")
    first = answer.citations[0]
    assert first.hit.source_id == "toy-2024#3"
    assert first.quotes_zh == ("玩具机器人损坏的，销售者应当在十四日内退款。",)
    assert answer.text.startswith("依据《玩具机器人规定》第三条：玩具机器人损坏的，销售者应当在十四日内退款。 [1]"
                                  "\n\n《玩具机器人规定》第三条：\n\n> *English (unofficial):* Sellers shall")


def test_an_english_answer_gives_the_official_chinese_beneath_our_unofficial_english(toy_qa):
    # Regression (fifth review): English answers quoted regqa's own translation as if it were
    # the law, with no Chinese and no word that the translation is unofficial
    from regqa.answer import UNOFFICIAL_EN

    answer = toy_qa.ask("How long does a seller have to refund a broken toy robot?")
    assert answer.citations[0].hit.source_id == "toy-2024#3"
    assert answer.text.splitlines()[-5:] == [
        "Toy Robot Provisions, Art. 3:", "",
        "> *Official Chinese:* 玩具机器人损坏的，销售者应当在十四日内退款。", "", UNOFFICIAL_EN]


def test_the_closing_date_article_is_not_cited_unless_dates_are_asked(qa):
    answer = qa.ask("Do generative AI providers have to label generated images?")
    assert "genai-2023#24" not in [c.hit.source_id for c in answer.citations]


def test_a_definition_question_leads_with_the_definition_asked_about(qa):
    # Regression (third review): the answer led with DS Art. 23's 沉浸式拟真场景 definition
    answer = qa.ask("深度合成技术是指什么？")
    assert answer.citations[0].hit.source_id == "deep-synthesis-2022#23"
    assert answer.citations[0].lead.startswith("本规定中下列用语的含义：深度合成技术，是指")


def test_a_named_regulation_stays_first_when_its_closing_article_is_dropped(qa):
    # Regression (bug hunt): "标识办法怎么说？" after a deep synthesis question ranked the Labeling
    # Measures' entry-into-force article first; the answer dropped it and cited DS Art. 16
    query = qa.analyse("标识办法怎么说？")
    hits = qa.retriever(k=5).hits_for(["labeling-measures-2025#14", "deep-synthesis-2022#16",
                                       "labeling-measures-2025#4"])
    assert [h.source_id for h in qa.answerer.choose(query, hits)][0] == "labeling-measures-2025#4"


def test_zh_number_writes_article_numbers_as_the_texts_do():
    from regqa.text import zh_number

    assert [zh_number(n) for n in (1, 10, 17, 20, 24, 35, 105)] == [
        "一", "十", "十七", "二十", "二十四", "三十五", "一百零五"]


def test_zh_number_writes_thousands():
    # Regression: "第1000条" raised IndexError while the refusal was being written
    from regqa.text import zh_number

    assert [zh_number(n) for n in (110, 1000, 1005, 1010, 1050, 1100, 1234, 9999)] == [
        "一百一十", "一千", "一千零五", "一千零一十", "一千零五十", "一千一百", "一千二百三十四",
        "九千九百九十九"]


def test_history_that_is_not_a_list_is_an_input_error(fake_qa):
    from regqa import InputError

    with pytest.raises(InputError, match="history must be a list"):
        fake_qa.ask("refund?", history=123)


def test_a_commentary_ranked_first_is_cited_alone_and_one_ranked_lower_is_not(fake_qa):
    # Regression: an intent regex ("think", "experts") put any retrieved commentary first,
    # even at rank 5, and dropped a commentary the ranker put first when the regex missed.
    commentary_first = fake_qa.retriever(k=5).hits_for(["commentary:smith", "toy-2024#3"])
    article_first = fake_qa.retriever(k=5).hits_for(["toy-2024#3", "commentary:smith"])
    unnamed = fake_qa.analyse("Is the refund rule too generous to customers?")
    opinion = fake_qa.analyse("What do experts think of the refund rule?")
    choose = fake_qa.answerer.choose
    assert [h.source_id for h in choose(unnamed, commentary_first)] == ["commentary:smith"]
    assert [h.source_id for h in choose(opinion, article_first)] == ["toy-2024#3"]


@pytest.mark.parametrize("question, reason", [
    ("玩具机器人规定第三十条是什么？", "《玩具机器人规定》共4条（第一条至第四条），没有第三十条"),
    ("第九十九条怎么说？", "语料库中没有哪部规定有第九十九条（条文最多的是《玩具机器人规定》，共4条）"),
    ("第1000条规定了什么？", "语料库中没有哪部规定有第一千条（条文最多的是《玩具机器人规定》，共4条）"),
    # Regression (bug hunt): a long range is read only in part, and "no 5–53, 1000" implied
    # that 54–999 exist
    ("玩具机器人规定第五条至第一千条是什么？", "《玩具机器人规定》共4条（第一条至第四条），没有第五条至第一千条"),
    ("玩具机器人规定第六条和第九十条是什么？", "《玩具机器人规定》共4条（第一条至第四条），没有第六条、第九十条"),
    ("欧盟对玩具有什么要求？", "问题涉及欧盟的规则，不在本语料库的范围内"),
    ("GDPR对玩具有什么要求？", "问题涉及GDPR的规则，不在本语料库的范围内"),
])
def test_a_chinese_question_is_told_in_chinese_why_it_is_refused(fake_qa, question, reason):
    # Regression: the reason inside the Chinese refusal was English
    answer = fake_qa.ask(question)
    assert (answer.status, answer.reason) == ("no_match", reason)
    assert f"（{reason}）" in answer.text


def test_a_list_is_quoted_whole_when_its_lead_in_or_an_item_is_the_best_unit():
    # Regression: a lone item (or a lead-in without its items) was quoted, which can say the
    # opposite of the article ("only services outside the list need a labelling function")
    from regqa.answer import _pick

    scored = [(1.0, "Providers of these services shall label:"), (0.5, "(1) chat;"),
              (2.0, "(2) faces."), (1.5, "Other providers shall offer a labelling function.")]
    assert _pick(scored) == tuple(u for _, u in scored)  # the list, and the second pick
    assert _pick([*scored[:3], (0.0, "Unrelated.")]) == tuple(u for _, u in scored[:3])
    assert _pick([(0.1, "Lead:"), (0.0, "(1) a;"), (0.0, "(2) b."), (3.0, "One."),
                  (2.0, "Two.")]) == ("One.", "Two.")
    # the second pick brings its list too, and with nothing matching a list opening is whole
    assert _pick([(0.5, "Lead:"), (0.0, "(1) a;"), (0.0, "(2) b."), (2.0, "Other.")]) == (
        "Lead:", "(1) a;", "(2) b.", "Other.")
    assert _pick([(0.0, "Lead:"), (0.0, "(1) a;"), (0.0, "(2) b.")]) == (
        "Lead:", "(1) a;", "(2) b.")


def test_the_lead_is_the_first_best_unit_and_a_lead_in_loses_only_when_nothing_matches():
    # Regression: "深度合成技术是指什么？" led with a later definition that tied with the
    # lead-in holding the one asked about
    from regqa.answer import _best_unit

    assert _best_unit([(2.0, "Terms: A means x, including:"), (1.0, "(1) y;"),
                  (2.0, "B means a use of A.")]) == "Terms: A means x, including:"
    assert _best_unit([(0.0, "Lead:"), (0.0, "(1) a;"), (0.0, "Other.")]) == "(1) a;"
    assert _best_unit([(0.5, "Other."), (3.0, "Best.")]) == "Best."
    assert _best_unit([]) == ""


def test_an_answer_led_by_an_item_still_quotes_its_whole_list(fake_qa):
    # Regression: the leading item was removed from the quotes, leaving a gap in the list
    from regqa.answer import UNOFFICIAL_EN, Answer, Citation, render

    hit = fake_qa.retriever(k=5).hits_for(["toy-2024#2"])[0]
    listed = ("Labels shall state:", "(1) the battery;", "(2) the age range.")
    answer = Answer("q", "", "grounded", (Citation(1, hit, listed, (), "(2) the age range."),))
    assert render(answer).splitlines() == [
        "Under Toy Robot Provisions, Art. 2: (2) the age range. [1]", "",
        "Toy Robot Provisions, Art. 2:", "", "> Labels shall state: [1]", "",
        "> (1) the battery; [1]", "", "> (2) the age range. [1]", "", UNOFFICIAL_EN]


def test_a_regulation_heading_is_printed_only_over_quotes(fake_qa):
    # Regression (bug hunt): with two regulations, the first one's heading stood alone when the
    # lead had already quoted its one-sentence article
    from dataclasses import replace

    from regqa.answer import UNOFFICIAL_EN, Answer, Citation, render

    toy = fake_qa.retriever(k=5).hits_for(["toy-2024#3"])[0]
    kite = replace(toy, source_id="kite-2024#2", regulation="kite-2024", label="Kite, Art. 2",
                   regulation_title="Kite Provisions")
    one = "Sellers shall refund customers within fourteen days when a toy robot breaks."
    answer = Answer("q", "", "grounded", (Citation(1, toy, (one,), (), one),
                                          Citation(2, kite, ("Kites fly.",))))
    assert render(answer).splitlines() == [
        f"Under Toy Robot Provisions, Art. 3: {one} [1]", "", "**Kite Provisions**", "",
        "Kite, Art. 2:", "", "> Kites fly. [2]", "", UNOFFICIAL_EN]


def test_a_named_commentator_stays_beside_a_bare_article_number(fake_qa):
    # Regression: "Smith on Article 3" lost Smith's commentary once commentary was cited only
    # when it ranked first
    hits = fake_qa.retriever(k=5).hits_for(["toy-2024#3", "commentary:smith"])
    query = fake_qa.analyse("What does Jane Smith argue about Article 3?")
    assert query.commentators == ("smith",) and query.references and not query.lookups
    assert [h.source_id for h in fake_qa.answerer.choose(query, hits)] == [
        "commentary:smith", "toy-2024#3"]


def test_the_chat_shows_a_comparison_as_the_table_the_text_has(qa):
    # Regression (bug hunt): Answer.markdown(), what the web chat renders, dropped the table
    answer = qa.ask("Compare the deep synthesis and generative AI rules on labelling")
    assert answer.comparison and "|---|" in answer.text
    table = [line for line in answer.text.splitlines() if line.startswith("|")]
    assert table and table == [line for line in answer.markdown().splitlines()
                               if line.startswith("|")]


def test_a_follow_ups_own_words_count_twice_in_choosing_the_lead(fake_qa):
    # Regression (fourth review): "音频呢？" after a question on labelling led with the
    # article's lead-in, which shares more words with the first turn than the audio item does
    history = [{"role": "user", "content": "What must the conspicuous label on toy robots show?"}]
    query = fake_qa.analyse("And the age range?", history)
    text = ("The conspicuous label on toy robots shall show the battery type. "
            "It shall also show the age range.")
    scored = fake_qa.answerer.unit_scores(query, text, "en")
    assert [round(score, 2) for score, _ in scored] == [4.5, 6.44]  # 3.22 for age and range, twice
    alone = fake_qa.analyse("What must the conspicuous label on toy robots show and the age range?")
    assert [round(s, 2) for s, _ in fake_qa.answerer.unit_scores(alone, text, "en")] == [4.5, 3.22]


def test_an_english_follow_ups_chinese_term_counts_twice_in_english(fake_qa):
    # Regression (review of this change): "And 显著标识?" was scored by its raw words, which
    # hold no English term, so the lead-in kept the lead that "And conspicuous label?" lost
    history = [{"role": "user", "content": "What must toy robots show for the age range?"}]
    text = "Toy robots shall show the age range. They shall carry a conspicuous label."
    typed = fake_qa.analyse("And conspicuous label?", history)
    quoted = fake_qa.analyse("And 显著标识?", history)
    assert quoted.own == "And conspicuous label ?" and typed.own == ""
    scores = [fake_qa.answerer.unit_scores(q, text, "en") for q in (typed, quoted)]
    assert scores[0] == scores[1] and scores[0][1][0] > scores[0][0][0]


def test_quotes_on_one_line_mark_the_text_left_out_between_them():
    # Regression (bug hunt): sentences 2 and 4 of an article were joined as one passage
    from regqa.answer import joined

    text = "One. Two. Three.\nFour."
    assert joined(("One.", "Two."), text) == "One. Two."
    assert joined(("Two.", "Four."), text) == "Two. … Four."
    assert joined(("One.", "Three.", "Four."), text) == "One. … Three. Four."
    assert joined(("甲。", "丙。"), "甲。乙。丙。") == "甲。 … 丙。"
    assert joined((), text) == ""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_comparison_table_gives_the_other_language_and_which_text_prevails(fake_qa, lang):
    # Regression (bug hunt): a Chinese table carried no English and no notice of which text
    # prevails; an English one no official Chinese
    from dataclasses import replace

    from regqa.answer import UNOFFICIAL_EN, UNOFFICIAL_ZH, Answer, Citation, render

    toy = fake_qa.retriever(k=5).hits_for(["toy-2024#3"])[0]
    kite = replace(toy, source_id="kite-2024#2", regulation="kite-2024", label="Kite, Art. 2",
                   regulation_title="Kite Provisions", regulation_title_zh="风筝规定",
                   text="Kites fly.", text_zh="风筝会飞。")
    answer = Answer("q", "", "grounded", (
        Citation(1, toy, (toy.text,), (toy.text_zh,)),
        Citation(2, kite, ("Kites fly.",), ("风筝会飞。",))), lang=lang)
    lines = render(answer, comparison=True).splitlines()
    if lang == "zh":
        assert "> *English (unofficial)* [2]: Kites fly." in lines
        assert lines[-1] == UNOFFICIAL_ZH
    else:
        assert "> *Official Chinese* [2]: 风筝会飞。" in lines
        assert lines[-1] == UNOFFICIAL_EN
