import json
from dataclasses import replace

import pytest

from regqa.devtools.evaluation import (
    METRICS,
    bootstrap_ci,
    fit_floor,
    load_questions,
    paired_p,
    per_query,
    render_pooled,
)
from regqa.errors import InputError


def test_metrics_match_hand_computed_values():
    gold = {"q1": ["a"], "q2": ["b", "c"], "q3": ["z"]}
    ranked = {"q1": ["a", "x"], "q2": ["x", "c", "y", "b"], "q3": ["x"]}
    scores = per_query(gold, ranked)
    assert scores["hit_rate@1"] == {"q1": 1.0, "q2": 0.0, "q3": 0.0}
    assert scores["recall@5"] == {"q1": 1.0, "q2": 1.0, "q3": 0.0}
    assert scores["mrr@10"] == {"q1": 1.0, "q2": 0.5, "q3": 0.0}


def test_floor_keeps_false_abstention_within_bound_and_needs_enough_examples():
    strengths = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05] * 2
    assert fit_floor(strengths, [True] * 20, bound=0.05) == 0.05
    assert fit_floor(strengths, [True] * 20, bound=0.0) == 0.05  # the weakest in scope
    assert fit_floor(strengths, [True] * 20, bound=0.1) == 0.1  # two of 20 may be refused
    assert fit_floor([0.5] * 5, [True] * 5) is None  # too few to fit


def test_paired_test_separates_a_real_gain_from_noise():
    assert paired_p([1.0] * 30, [0.0] * 30) < 0.001
    assert paired_p([1.0, 0.0] * 15, [0.0, 1.0] * 15) > 0.5
    assert paired_p([1.0] * 5, [1.0] * 5) == 1.0


def test_bootstrap_interval_brackets_the_mean():
    low, high = bootstrap_ci([0.0, 1.0] * 50)
    assert low < 0.5 < high and high - low < 0.25
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)


def test_question_files_are_checked_line_by_line(fake_qa, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "refund?", "gold": [
        {"regulation": "toy-2024", "article": 3}]}) + "\n{not json\n")
    with pytest.raises(InputError, match=r"q.jsonl:2: not a question record"):
        load_questions(path, fake_qa.corpus)
    path.write_text("")
    with pytest.raises(InputError, match="holds no questions"):
        load_questions(path, fake_qa.corpus)
    with pytest.raises(InputError, match="no such question file"):
        load_questions(tmp_path / "missing.jsonl", fake_qa.corpus)


def test_gold_in_a_regulation_the_corpus_lacks_counts_as_out_of_scope(fake_qa, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "label?", "history": ["earlier"],
                                "gold": [{"regulation": "labeling-measures-2025", "article": 4}]}))
    (question,) = load_questions(path, fake_qa.corpus)
    assert (question.gold, question.history) == ((), ("earlier",))


def test_questions_are_also_measured_after_an_unrelated_turn(fake_qa):
    from regqa.devtools.evaluation import Question, after_unrelated_turn

    questions = [Question("a", "lay", "Within what time must sellers refund customers for a "
                          "broken toy robot?", ("toy-2024#3",)),
                 Question("b", "lay", "Which label stating the battery type must toy robots carry?",
                          ("toy-2024#2",)),
                 Question("c", "oos", "What does the GDPR say about consent?", ()),
                 Question("d", "followup", "And the fine?", ("toy-2024#4",), history=("x",))]
    result = after_unrelated_turn(fake_qa, questions)
    # the follow-up is skipped; a and b are each asked after the other, c after one of them
    assert result["hit1"]["n"] == 2 and result["refused"]["n"] == 1
    assert result["hit1"]["alone"] == result["hit1"]["after"] == 1.0
    assert result["refused"]["alone"] == result["refused"]["after"] == 1.0
    # a short question may be read as a follow-up of the turn before, and then it can lose
    short = [replace(questions[0], question="Must sellers refund a broken robot?"),
             *questions[1:]]
    assert after_unrelated_turn(fake_qa, short)["hit1"] == {"n": 2, "alone": 1.0, "after": 0.5,
                                                            "p": 1.0}


def test_scope_models_are_fitted_per_language_on_the_development_questions(fake_qa, tmp_path):
    from regqa.devtools.evaluation import fit_scope_models

    inside = ["Must sellers refund a broken toy robot?", "Do toy robots carry a battery label?",
              "How fast must a seller refund a toy robot?", "Who is fined without the label?",
              "Does the label state the age range?", "Is a refund due when the robot breaks?"]
    outside = ["What is the income tax rate for toy shops?", "Do I need a visa to sell toys?",
               "How much tax does a toy importer pay?", "Which visa lets me import robots?",
               "Is toy shop income taxed twice?", "Can a tourist visa holder sell toys?"]
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"q{i}", "question": q, "kind": "lay", "gold": (
        [{"regulation": "toy-2024", "article": 3}] if q in inside else [])})
        for i, q in enumerate(inside + outside)) + "\n", encoding="utf-8")
    said = []
    models = fit_scope_models(fake_qa, [path], log=said.append)
    assert list(models) == ["en"] and said == [
        "no zh scope model: the scope model needs in- and out-of-scope questions (at least 5 of "
        "each) and some in-scope development questions to count"]
    vector = fake_qa.parts.embedder("en").get_query_embedding
    question = "Is the income tax on toy robots due by visa holders?"
    assert models["en"].probability(vector(question), question.lower().split()) > 0.5


def test_lead_accuracy_counts_labelled_leads_and_skips_stale_labels(fake_qa, tmp_path):
    from regqa.devtools.evaluation import lead_accuracy, read_leads

    path = tmp_path / "dev.jsonl"
    questions = ["Must sellers refund a broken toy robot?", "Who is fined without a label?",
                 "What must the label state?"]
    path.write_text("\n".join(json.dumps({"id": f"q{i}", "question": q, "kind": "lay", "gold": [
        {"regulation": "toy-2024", "article": 3}]}) for i, q in enumerate(questions)) + "\n")
    folder = tmp_path / "leads"
    folder.mkdir()
    labels = [{"file": "dev.jsonl", "id": "q0", "article": "toy-2024#3", "lang": "en",
               "units": 1, "best": [0]},
              {"file": "dev.jsonl", "id": "q1", "article": "toy-2024#4", "lang": "en",
               "units": 1, "best": [1]},  # labelled a unit the lead is not
              {"file": "dev.jsonl", "id": "q2", "article": "toy-2024#2", "lang": "en",
               "units": 3, "best": [0]},  # made on another text of the article
              {"file": "other.jsonl", "id": "q0", "article": "toy-2024#2", "lang": "en",
               "units": 1, "best": [0]}]
    (folder / "a.jsonl").write_text("\n".join(json.dumps(row) for row in labels) + "\n")
    read = read_leads(folder)
    assert sorted(read) == [("dev.jsonl", "q0"), ("dev.jsonl", "q1"), ("dev.jsonl", "q2"),
                            ("other.jsonl", "q0")]
    mine = {i: row for (f, i), row in read.items() if f == "dev.jsonl"}
    result = lead_accuracy(fake_qa, load_questions(path, fake_qa.corpus), mine)
    assert result == {"right": [True, False], "zh": [], "en": [True, False], "stale": 1}


def test_an_ablation_switches_one_part_off_and_restores_it_even_on_error():
    from types import SimpleNamespace

    from regqa.devtools.evaluation import Question, _ablation, _refused_without

    class FakeQA:
        guard_context = True

        def answer(self, query):
            if query == "boom":
                raise RuntimeError(query)
            refused = query == "off-topic" or not self.guard_context
            return SimpleNamespace(status="no_match" if refused else "grounded")

    qa = FakeQA()
    questions = [Question("a", "", "in scope", ("x#1",)), Question("b", "", "off", ())]
    queries = {"a": "in scope", "b": "off-topic"}
    answers = {q.id: qa.answer(queries[q.id]) for q in questions}
    without = _refused_without(qa, "guard_context", False, questions, queries)
    assert without == {"a": True, "b": True} and qa.guard_context is True
    assert _ablation(questions, answers, without) == {"right_with": [True, True],
                                                      "right_without": [False, True]}
    with pytest.raises(RuntimeError):
        _refused_without(qa, "guard_context", False, questions, {"a": "boom", "b": "boom"})
    assert qa.guard_context is True


def test_the_pooled_report_tests_held_out_and_external_questions_together_too():
    def result(name, ours, without):
        return {"file": f"eval/{name}", "per_query": {
                    "regqa": {m: dict(enumerate(ours)) for m in METRICS},
                    "- a rule": {m: dict(enumerate(without)) for m in METRICS}},
                "scope_ablation": {"right_with": [1], "right_without": [0]},
                "guard_ablation": {"right_with": [], "right_without": []},
                "leads": {"right": []}}

    held = [result("holdout-a.jsonl", [1, 1, 0], [0, 1, 0])]
    report = render_pooled(held, [result("external-dev.jsonl", [1, 1], [0, 1])])
    pooled, together = report.split("## Held-out and external questions together")
    assert "(3 in scope: `holdout-a.jsonl`)" in pooled
    assert "| - a rule | 0.333 | 0.333 | 0.333 |" in pooled
    assert together.startswith(" (5 in scope)")
    assert "| regqa | 0.800 | 0.800 | 0.800 |" in together
    assert "| - a rule | 0.400 | 0.400 | 0.400 |" in together
    assert "## Held-out and external" not in render_pooled(held)
