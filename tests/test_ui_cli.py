"""`regqa chat`: loads once, answers follow-ups with the raw history."""

import io

from regqa import cli

from .ui_fakes import FakeQA


def test_chat_loads_once_and_passes_the_raw_history(monkeypatch, capsys):
    qa, loads = FakeQA(), []
    monkeypatch.setattr(cli, "_load", lambda args: loads.append(args) or qa)
    monkeypatch.setattr("sys.stdin", io.StringIO(
        "Can users *switch off* recommendations?\nand for minors?\nnew\n"
        "Must deepfakes be labelled?\n   \n"))
    assert cli.main(["chat"]) == 0
    assert len(loads) == 1
    first, follow_up, fresh = qa.calls
    assert first["history"] == []
    assert follow_up["history"] == [
        {"role": "user", "content": "Can users *switch off* recommendations?"},
        {"role": "assistant", "content": "Yes [1]."}]
    assert fresh["history"] == []  # 'new' starts over
    out = capsys.readouterr().out
    assert out.count("[status: grounded]") == 3


def test_chat_reports_bad_input_and_carries_on(monkeypatch, capsys):
    qa = FakeQA()
    monkeypatch.setattr(cli, "_load", lambda args: qa)
    monkeypatch.setattr("sys.stdin", io.StringIO("\x00\x01 \nMust deepfakes be labelled?\n"))
    assert cli.main(["chat"]) == 0
    captured = capsys.readouterr()
    assert "regqa: the question is empty" in captured.err
    assert [c["question"] for c in qa.calls] == ["Must deepfakes be labelled?"]


def test_a_bad_k_or_regulation_is_refused_before_the_models_load(monkeypatch, capsys):
    # Regression (bug hunt): both were refused only after about ten seconds of model loading
    loads = []
    monkeypatch.setattr(cli, "_load", lambda args: loads.append(args) or FakeQA())
    assert cli.main(["retrieve", "labels", "-k", "0"]) == 2
    assert cli.main(["ask", "labels", "--regulation", "bogus"]) == 2
    # regression (bug hunt): chat loaded, refused every question, then exited 0
    assert cli.main(["chat", "--regulation", "bogus"]) == 2
    assert loads == []
    err = capsys.readouterr().err
    assert "regqa: error: k must be at least 1, got 0" in err
    assert "regqa: error: unknown regulation id(s) ['bogus']; choose from " in err


def test_a_missing_corpus_folder_names_the_command_line_option(tmp_path, capsys):
    assert cli.main(["ask", "labels", "--corpus-dir", str(tmp_path)]) == 2
    assert "point corpus_dir= (--corpus-dir on the command line) at a folder" in \
        capsys.readouterr().err


def test_a_bad_question_file_is_refused_before_fine_tuning_or_loading(monkeypatch, tmp_path,
                                                                      capsys):
    # Regression (review of the fine-tune): `eval --fine-tune` trained for ten minutes before
    # it read the question files
    from regqa.devtools import finetune

    calls = []
    monkeypatch.setattr(cli, "_load", lambda args: calls.append("load") or FakeQA())
    monkeypatch.setattr(finetune, "fine_tune", lambda *a, **k: calls.append("fine_tune"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    assert cli.main(["eval", "--fine-tune", "--questions", str(bad)]) == 2
    assert calls == []
    assert f"regqa: error: {bad}:1: not a question record" in capsys.readouterr().err
