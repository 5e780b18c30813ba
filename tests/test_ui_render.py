"""Rendering helpers of the chat (no browser)."""

from pathlib import Path

from regqa.ui import citation_link, engine_history, export_markdown, mark_quotes, md_text


def test_markers_become_links_only_for_real_citations():
    offline = "Art\\. 17 \\[3\\] says [1] and [2]."  # \\[3\\] is corpus text, escaped
    linked = citation_link(offline, 4, {1})
    assert "[\\[1\\]](#regqa-a4-c1)" in linked and "[2]" in linked and "\\[3\\]" in linked
    prose = md_text("The model says [1] and [9].")  # an LLM's text is escaped as a whole
    linked = citation_link(prose, 0, {1})
    assert "(#regqa-a0-c1)" in linked and "\\[9\\]" in linked


def test_quotes_are_marked_and_everything_else_escaped():
    html = mark_quotes("First <b>one</b>. Second.\n\nThird.", ["Second.", "Third.", "absent"])
    assert html == ("<p>First &lt;b&gt;one&lt;/b&gt;. <mark class='regqa-quote'>Second.</mark></p>"
                    "<p><mark class='regqa-quote'>Third.</mark></p>")


def test_engine_history_is_raw_and_skips_refusals():
    turns = [{"question": "*raw*", "text": "A [1].", "status": "grounded"},
             {"question": " ", "text": "the question is empty", "status": None}]
    assert engine_history(turns) == [{"role": "user", "content": "*raw*"},
                                     {"role": "assistant", "content": "A [1]."}]


def test_export_of_an_empty_answer_list_still_has_the_notice():
    assert "Chinese text prevails" in export_markdown([])


def test_a_chinese_export_cites_in_chinese_and_an_english_one_in_english():
    # Regression (bug hunt): the Chinese export gave the English citation
    from regqa.ui import card_record

    from .ui_fakes import ALGO17

    turns = [{"question": "能关掉推荐吗？", "text": "可以 [1]。", "status": "grounded",
              "cards": [card_record(ALGO17, 1, ("Providers shall …",))]}]
    zh, en = export_markdown(turns, "zh"), export_markdown(turns, "en")
    assert "### 来源" in zh and "[1] 《互联网信息服务算法推荐管理规定》第十七条（" in zh
    assert "### Sources" in en and "[1] Provisions on the Administration of Algorithmic " in en


def test_a_chinese_full_citation_writes_the_article_number_as_the_answer_does():
    # Regression (bug hunt): "Copy citation" gave 《…》第12条 while answers say 第十二条
    from regqa.ui import full_citation

    from .ui_fakes import ALGO17

    assert full_citation(ALGO17, "zh").startswith("《互联网信息服务算法推荐管理规定》第十七条（")


def test_exports_over_an_hour_old_are_deleted_with_their_folder(tmp_path):
    # Regression: the sweep looked only at the top level, so every conversation stayed on disk
    import os
    import time

    from regqa.ui import write_export

    turns = [{"question": "q", "text": "a", "status": "grounded", "cards": []}]
    old = Path(write_export(turns, "en", root=tmp_path))
    os.utime(old, (time.time() - 7200,) * 2)
    os.utime(old.parent, (time.time() - 7200,) * 2)
    (tmp_path / "empty").mkdir()  # a failed write's folder is swept too
    os.utime(tmp_path / "empty", (time.time() - 7200,) * 2)
    new = Path(write_export(turns, "en", root=tmp_path))
    assert (old.exists(), old.parent.exists(), new.exists()) == (False, False, True)
    assert not (tmp_path / "empty").exists()
    assert oct(new.stat().st_mode & 0o777) == "0o600"
    assert oct(tmp_path.stat().st_mode & 0o777) == "0o700"
