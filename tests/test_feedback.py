"""The feedback log: exact records, one vote per answer, bounded fields and file, safe appends."""

import json
import threading
import uuid

import pytest

from regqa import feedback
from regqa.feedback import AlreadyVoted, feedback_path, record_feedback


def answer(question="Must deepfakes be labelled?", **extra):
    return {"answer_id": uuid.uuid4().hex, "question": question, "text": "Yes [1].",
            "status": "grounded", "lang": "en",
            "citations": [{"number": 1, "label": "Deep Synthesis Provisions, Art. 17",
                           "source_id": "deep-synthesis-2022#17", "quotes": ["Label it."]}],
            **extra}


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_vote_records_the_exact_question_answer_citations_status_and_version(tmp_path):
    path = tmp_path / "f.jsonl"
    record = answer("  Must *deepfakes* be labelled?  ")
    record_feedback("down", record, wrong_citation={"number": 1, "label": "Deep Synthesis "
                    "Provisions, Art. 17"}, comment="wrong article", path=path, version="9.9")
    (entry,) = lines(path)
    assert entry["question"] == "  Must *deepfakes* be labelled?  "
    assert entry["answer"] == "Yes [1]." and entry["status"] == "grounded"
    assert entry["citations"][0]["source_id"] == "deep-synthesis-2022#17"
    assert entry["citations"][0]["quotes"] == ["Label it."]
    assert entry["wrong_citation"] == {"number": 1, "label": "Deep Synthesis Provisions, Art. 17"}
    assert entry["comment"] == "wrong article" and entry["version"] == "9.9"
    assert entry["rating"] == "down" and entry["answer_id"] == record["answer_id"]


def test_one_vote_per_answer(tmp_path):
    path = tmp_path / "f.jsonl"
    record = answer()
    record_feedback("up", record, path=path)
    with pytest.raises(AlreadyVoted):
        record_feedback("down", record, path=path)
    assert len(lines(path)) == 1


def test_fields_are_bounded(tmp_path):
    path = tmp_path / "f.jsonl"
    record = answer("q" * 100_000, citations=[{"number": n, "label": "L" * 10_000,
                                                "quotes": ["x" * 10_000] * 50}
                                               for n in range(500)])
    record["text"] = "t" * 1_000_000
    record_feedback("up", record, comment="c" * 100_000, path=path)
    (entry,) = lines(path)
    assert len(entry["comment"]) == feedback.MAX_COMMENT
    assert len(entry["question"]) == feedback.MAX_QUESTION
    assert len(entry["answer"]) == feedback.MAX_TEXT
    assert len(entry["citations"]) == feedback.MAX_CITATIONS
    assert path.stat().st_size < 500_000


def test_a_lone_surrogate_in_a_comment_is_stored_not_an_error(tmp_path):
    """Regression: a lone surrogate (invalid Unicode a browser can send) raised on write."""
    path = tmp_path / "f.jsonl"
    record_feedback("down", answer("why \ud800?"), comment="bad \udc00 text", path=path)
    (entry,) = lines(path)
    assert entry["comment"] == "bad ? text" and entry["question"] == "why ??"


def test_file_rotates_at_the_size_cap_and_keeps_a_bounded_number(tmp_path, monkeypatch):
    monkeypatch.setenv("REGQA_FEEDBACK_MAX_BYTES", "5000")
    path = tmp_path / "f.jsonl"
    for _ in range(200):
        record_feedback("up", answer(), comment="c" * 500, path=path)
    files = sorted(tmp_path.glob("f.jsonl*"))
    names = {f.name for f in files}
    assert names == {"f.jsonl", "f.jsonl.1", "f.jsonl.2", "f.jsonl.3", "f.jsonl.lock"}
    for f in files:
        assert f.stat().st_size <= 5000
        if f.suffix != ".lock":
            assert all(e["rating"] == "up" for e in lines(f))  # only whole lines


def test_concurrent_votes_never_interleave(tmp_path):
    path = tmp_path / "f.jsonl"
    records = [answer(f"question {i} " + "字" * 3000) for i in range(64)]
    threads = [threading.Thread(target=record_feedback, args=("up", r),
                                kwargs={"comment": "z" * 900, "path": path}) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = lines(path)  # every line parses: no interleaving
    assert sorted(e["answer_id"] for e in entries) == sorted(r["answer_id"] for r in records)


def test_default_path_is_under_the_project_root_not_the_working_directory(tmp_path, monkeypatch):
    """Regression: the path was relative to the working directory."""
    monkeypatch.delenv("REGQA_FEEDBACK", raising=False)
    monkeypatch.setenv("REGQA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert feedback_path() == tmp_path / "home" / "feedback" / "feedback.jsonl"
    monkeypatch.setenv("REGQA_FEEDBACK", "votes/f.jsonl")
    assert feedback_path() == tmp_path / "home" / "votes" / "f.jsonl"
    monkeypatch.setenv("REGQA_FEEDBACK", str(tmp_path / "abs.jsonl"))
    assert feedback_path() == tmp_path / "abs.jsonl"
