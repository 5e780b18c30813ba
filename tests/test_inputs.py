"""Input checks (inputs.py): bounded work whatever the input, InputError for wrong types."""

import time
import tracemalloc
from types import SimpleNamespace

import pytest

from regqa import InputError
from regqa.api import RegQA
from regqa.api import clean_question as api_clean_question
from regqa.inputs import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    check_k,
    check_names,
    clean_history,
    clean_question,
)


def test_api_reexports_the_same_function():
    assert api_clean_question is clean_question


@pytest.mark.parametrize("size", [3_000_000, 10_000_000])
def test_huge_question_costs_bounded_memory_and_time(size):
    question = "ｒｅｆｕｎｄ for a broken toy robot？ " * (size // 32)  # full width: NFKC work
    tracemalloc.start()
    started = time.perf_counter()
    cleaned = clean_question(question)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(cleaned) == MAX_QUESTION_CHARS and cleaned.startswith("refund for a broken")
    assert peak < 1_000_000, f"{peak} bytes for a {size}-character question"
    assert elapsed < 0.5


def test_cut_happens_before_normalisation():
    # A lone surrogate far past the limit is never looked at; one inside it is refused.
    assert clean_question("ok " * 10_000 + "\ud800").startswith("ok ok")
    with pytest.raises(InputError, match="invalid Unicode"):
        clean_question("ok \ud800")


def test_normalisation_still_applies():
    assert clean_question("  ｒｅｆｕｎｄ\x00\x1b  for\n\ttoys ") == "refund for toys"


@pytest.mark.parametrize("bad", [123, 1.5, b"bytes", {"a": 1}, ["x"], None])
def test_question_must_be_text(bad):
    with pytest.raises(InputError, match="must be text"):
        clean_question(bad)


@pytest.mark.parametrize("k", [True, 2.0, "3", None])
def test_k_must_be_a_whole_number(k):
    with pytest.raises(InputError, match="k must be a whole number"):
        check_k(k)


@pytest.mark.parametrize("value", [123, 1.5, {"toy-2024": 1}, b"toy-2024", object()])
def test_filters_must_be_names_or_lists_of_names(value):
    with pytest.raises(InputError, match="regulations must be a name or a list of names"):
        check_names(value, "regulations")


def test_filter_items_must_be_text():
    with pytest.raises(InputError, match=r"must be names \(text\), got 5"):
        check_names(["toy-2024", 5], "regulations")
    with pytest.raises(InputError, match="at most 100 names"):
        check_names(["x"] * 101, "kinds")
    assert check_names("toy-2024", "regulations") == ["toy-2024"]
    assert check_names(("a", "b"), "kinds") == ["a", "b"]
    assert check_names(None, "kinds") is None


def test_check_filters_uses_the_same_checks():
    fake = SimpleNamespace(size=5, corpus=SimpleNamespace(regulation_ids=("toy-2024",)))
    assert RegQA._check_filters(fake, 500, "toy-2024", None) == (5, ["toy-2024"], None)
    for regulations in (123, {"toy-2024": True}):
        with pytest.raises(InputError, match="must be a name or a list of names"):
            RegQA._check_filters(fake, 3, regulations, None)
    with pytest.raises(InputError, match="kinds must be a name or a list"):
        RegQA._check_filters(fake, 3, None, 7)


@pytest.mark.parametrize("history", [123, "hello", {"role": "user", "content": "x"}, b"x"])
def test_history_must_be_a_list_of_turns(history):
    with pytest.raises(InputError, match="history must be a list of turns"):
        clean_history(history)


@pytest.mark.parametrize("turn", ["Do generative AI services need filing?", 7, None, [], (3, "x")])
def test_a_history_turn_of_no_known_form_is_an_input_error_not_skipped(turn):
    # Regression (bug hunt): a list of plain strings was skipped turn by turn, and the
    # follow-up was answered as if it had no history
    with pytest.raises(InputError, match="each history turn must be"):
        clean_history([{"role": "user", "content": "Who must file?"}, turn])


def test_history_turns_in_every_known_form_are_kept():
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
             SimpleNamespace(role="user", content="c"), ("d", "e"), ["f", None]]
    assert clean_history(turns) == turns


def test_history_is_bounded():
    history = [{"role": "user", "content": f"q{i}"} for i in range(5000)]
    kept = clean_history(history)
    assert len(kept) == MAX_HISTORY_TURNS and kept[-1]["content"] == "q4999"
    assert clean_history(None) is None and clean_history(()) == []


def test_a_history_turn_with_invalid_unicode_is_an_input_error(fake_qa):
    # Regression (bug hunt): a lone surrogate in an earlier turn raised a TypeError deep in the
    # embedder, and the web API answered {"error": null}
    with pytest.raises(InputError, match="a turn of the history contains invalid Unicode"):
        fake_qa.ask("and for video?", history=[{"role": "user", "content": "\ud800 labels"}])


def test_history_turns_are_normalised_like_questions(fake_qa):
    query = fake_qa.analyse("and the refund?", history=[
        {"role": "user", "content": "What is the fine\x00 for an  unlabelled ｔｏｙ robot?"}])
    assert query.standalone == "What is the fine for an unlabelled toy robot? and the refund?"
    blank = fake_qa.analyse("and the refund?", history=[{"role": "user", "content": " \x01 "}])
    assert (blank.followup, blank.standalone) == (False, "and the refund?")
