from types import SimpleNamespace

import numpy as np

from regqa.ranker import FEATURES, Ranker, features_for, read_ranker, write_ranker

MANIFEST = SimpleNamespace(embedding_model="m", embedding_sha256="a" * 64,
                           multilingual_model="e", chunking={"scheme": "x"})


def test_features_are_one_over_one_plus_the_rank_from_zero_and_zero_when_not_found():
    runs = {"bm25": [("r#2", 9.0), ("r#1", 3.0)], "e5": [("r#1", 0.9)], "dense": [("r#3", 0.5)]}
    rows = features_for(["r#1", "r#2", "r#3"], runs)
    # MiniLM's dense ranking is not an input (see ranker.RETRIEVERS)
    assert FEATURES == ("rr_bm25", "rr_e5", "rr_bm25_zh", "rr_classifier")
    np.testing.assert_array_equal(rows, [[1 / 2, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])


def test_the_score_is_the_weighted_sum_plus_bias():
    ranker = Ranker((1.0, 2.0, 3.0, 4.0), -1.0)
    rows = np.array([[1.0, 0.5, 0.0, 0.25], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ranker.score(rows), [2.0, -1.0])


def test_a_written_ranker_reads_back_for_the_same_models(tmp_path):
    write_ranker(tmp_path, MANIFEST, Ranker((1.0, 2.0, 3.0, 4.0), -1.0), note="test")
    assert read_ranker(tmp_path, MANIFEST) == Ranker((1.0, 2.0, 3.0, 4.0), -1.0)


def test_a_ranker_fitted_with_other_models_is_ignored_and_says_how_to_refit(tmp_path):
    write_ranker(tmp_path, MANIFEST, Ranker((1.0, 2.0, 3.0, 4.0), -1.0), note="test")
    other = SimpleNamespace(**{**vars(MANIFEST), "embedding_sha256": "b" * 64})
    said = []
    assert read_ranker(tmp_path, other, log=said.append) is None
    assert "regqa eval --fit-ranker" in said[0]


def test_a_ranker_with_other_features_is_ignored(tmp_path):
    path = write_ranker(tmp_path, MANIFEST, Ranker((1.0, 2.0, 3.0, 4.0), -1.0), note="test")
    path.write_text(path.read_text().replace('"rr_bm25"', '"topic"'))
    said = []
    assert read_ranker(tmp_path, MANIFEST, log=said.append) is None
    assert "its features differ from this version's" in said[0]


def test_follow_up_features_are_ranks_in_context_then_alone_cut_at_the_depth():
    from regqa.ranker import FOLLOWUP_DEPTH, FOLLOWUP_FEATURES, followup_features

    assert FOLLOWUP_FEATURES == ("rr_regqa", "rr_bm25", "rr_e5", "rr_bm25_zh", "rr_classifier",
                                 "rr_alone_bm25", "rr_alone_e5", "rr_alone_bm25_zh",
                                 "rr_alone_classifier")
    deep = [f"x#{i}" for i in range(FOLLOWUP_DEPTH)] + ["r#3"]  # r#3 just below the depth
    rows = followup_features(["r#1", "r#2", "r#3"], ["r#2", "r#1"],
                             {"bm25": ["r#1", "r#1", "r#2"], "e5": deep},
                             {"bm25_zh": ["r#3"], "dense": ["r#1"]})
    np.testing.assert_array_equal(rows, [[1 / 2, 1, 0, 0, 0, 0, 0, 0, 0],
                                         [1, 1 / 3, 0, 0, 0, 0, 0, 0, 0],
                                         [0, 0, 0, 0, 0, 0, 0, 1, 0]])


def test_a_follow_up_ranker_reads_back_under_its_own_file_and_features(tmp_path):
    from regqa.ranker import FOLLOWUP_FEATURES, FOLLOWUP_FILE

    ranker = Ranker(tuple(float(i) for i in range(9)), 0.5)
    write_ranker(tmp_path, MANIFEST, ranker, note="test", file=FOLLOWUP_FILE,
                 features=FOLLOWUP_FEATURES)
    assert read_ranker(tmp_path, MANIFEST, file=FOLLOWUP_FILE,
                       features=FOLLOWUP_FEATURES) == ranker
    said = []  # the main ranker's file is another file: not there
    assert read_ranker(tmp_path, MANIFEST, log=said.append) is None and said == []
    said = []  # read as the main ranker, its features differ: ignored, and the fallback named
    (tmp_path / "ranker.json").write_text((tmp_path / FOLLOWUP_FILE).read_text())
    assert read_ranker(tmp_path, MANIFEST, log=said.append, fallback="keep it") is None
    assert said[0].endswith("(its features differ from this version's); keep it")
