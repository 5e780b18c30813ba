from types import SimpleNamespace

import numpy as np
import pytest

from regqa.classifier import (
    SourceClassifier,
    aid_questions,
    fit,
    fit_classifiers,
    read_classifiers,
    write_classifiers,
)

MANIFEST = SimpleNamespace(embedding_model="m", embedding_sha256="a" * 64,
                           multilingual_model="e", chunking={"scheme": "x"})


def corpus_with(aids_3: tuple[str, ...], aids_4: tuple[str, ...] = ()) -> SimpleNamespace:
    articles = (SimpleNamespace(number=3, search_aids=aids_3),
                SimpleNamespace(number=4, search_aids=aids_4))
    return SimpleNamespace(regulations=(SimpleNamespace(id="toy", articles=articles),),
                           commentary=())


def test_aid_paragraphs_split_into_their_questions_in_each_language():
    corpus = corpus_with(("How fast must sellers refund? Is fourteen days the limit for a "
                          "broken robot?", "坏了的机器人要多久退款？ 销售者退款期限是几天"),
                         ("Who fines a seller without labels?",))
    assert aid_questions(corpus) == [
        ("How fast must sellers refund?", "toy#3", "en"),
        ("Is fourteen days the limit for a broken robot?", "toy#3", "en"),
        ("坏了的机器人要多久退款？", "toy#3", "zh"),
        ("销售者退款期限是几天", "toy#3", "zh"),
        ("Who fines a seller without labels?", "toy#4", "en")]


def test_rank_orders_sources_by_softmax_probability():
    model = SourceClassifier(("a", "b", "c"), np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
                             np.zeros(3))
    ranked = model.rank([2.0, -1.0])
    assert [source for source, _ in ranked] == ["a", "c", "b"]
    e = np.exp([2.0, -1.0, 0.0])
    np.testing.assert_allclose([p for _, p in ranked], (e / e.sum())[[0, 2, 1]])
    assert model.rank([2.0, -1.0], depth=1) == ranked[:1]


def test_a_fitted_classifier_sends_each_question_to_the_source_it_was_taught():
    vectors = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.8]])
    model = fit(vectors, ["toy#3", "toy#3", "toy#4", "toy#4"])
    assert model.rank([1.0, 0.0])[0][0] == "toy#3"
    assert model.rank([0.0, 1.0])[0][0] == "toy#4"


def test_fit_classifiers_learns_from_the_corpus_aids_with_the_embedder_given(fake_qa):
    corpus = corpus_with(("How fast must sellers refund a broken robot?",),
                         ("Who fines a seller of unlabelled robots?",))
    models = fit_classifiers(corpus, {"en": fake_qa.models.minilm})
    english = models["en"]
    assert english.classes == ("toy#3", "toy#4")
    vector = fake_qa.models.minilm.get_query_embedding("refund a broken robot")
    assert english.rank(vector)[0][0] == "toy#3"


def test_a_written_classifier_reads_back_for_the_same_models_and_aids(tmp_path):
    corpus = corpus_with(("How fast must sellers refund a broken robot?",))
    model = SourceClassifier(("toy#3", "toy#4"), np.array([[1.0, 0.0], [0.0, 1.0]]),
                             np.array([0.5, -0.5]))
    write_classifiers(tmp_path, MANIFEST, corpus, {"en": model})
    back = read_classifiers(tmp_path, MANIFEST, corpus)
    assert list(back) == ["en"]
    assert back["en"].classes == model.classes
    np.testing.assert_allclose(back["en"].weights, model.weights)
    np.testing.assert_allclose(back["en"].bias, model.bias)


def test_a_classifier_fitted_on_other_aids_or_models_is_ignored_and_says_how_to_refit(tmp_path):
    corpus = corpus_with(("How fast must sellers refund a broken robot?",))
    model = SourceClassifier(("toy#3", "toy#4"), np.eye(2), np.zeros(2))
    write_classifiers(tmp_path, MANIFEST, corpus, {"en": model})
    said = []
    edited = corpus_with(("How fast must sellers refund a broken toy?",))
    assert read_classifiers(tmp_path, MANIFEST, edited, log=said.append) == {}
    other = SimpleNamespace(**{**vars(MANIFEST), "embedding_sha256": "b" * 64})
    assert read_classifiers(tmp_path, other, corpus, log=said.append) == {}
    assert len(said) == 2 and all("regqa eval --fit-ranker" in line for line in said)


@pytest.mark.parametrize("content", [b"not a zip", b"", b"PK\x03\x04truncated"])
def test_a_damaged_classifier_file_is_ignored_with_a_reason(tmp_path, content):
    # Regression: an empty or truncated file crashed load() (EOFError, BadZipFile)
    (tmp_path / "classifier.npz").write_bytes(content)
    said = []
    assert read_classifiers(tmp_path, MANIFEST, corpus_with(()), log=said.append) == {}
    assert "ranking without the source classifier" in said[0]


def test_a_two_class_classifier_gives_the_logistic_probabilities():
    model = fit(np.array([[1.0], [2.0], [-1.0], [-2.0]]), ["b", "b", "a", "a"])
    (first, p), (_, q) = model.rank([3.0])
    assert first == "b" and p + q == pytest.approx(1.0) and p > 0.9
