from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from regqa.decision import OUTSIDE, OUTSIDE_ZH, TOO_WEAK, Decision, Evidence, decide
from regqa.scope import ScopeModel, fit_scope, read_scope, scope_tokens, tfidf, write_scope
from regqa.storage import read_arrays, write_arrays

MANIFEST = SimpleNamespace(embedding_model="m", embedding_sha256="a" * 64, embedding_dims=2,
                           multilingual_model="e", multilingual_dims=2, chunking={"scheme": "x"})
TOKENIZER = SimpleNamespace(user_words=("机器人",))


def corpus_with(aids: tuple[str, ...]) -> SimpleNamespace:
    article = SimpleNamespace(number=3, search_aids=aids)
    return SimpleNamespace(regulations=(SimpleNamespace(id="toy", articles=(article,)),),
                           commentary=())


def test_tfidf_matches_scikit_learns_sublinear_l2_vectors():
    documents = [["robot", "refund", "refund", "label"], ["robot", "tax"], ["label", "label"],
                 ["tax", "visa", "robot"]]
    oracle = TfidfVectorizer(analyzer=list, sublinear_tf=True).fit(documents)
    vocabulary = {w: i for i, w in enumerate(oracle.get_feature_names_out())}
    query = ["refund", "refund", "refund", "tax", "unseen"]
    np.testing.assert_allclose(tfidf(query, vocabulary, oracle.idf_),
                               oracle.transform([query]).toarray()[0])
    assert not tfidf(["unseen"], vocabulary, oracle.idf_).any()


def test_probability_is_the_logistic_of_embedding_and_words():
    model = ScopeModel(("tax",), np.array([2.0]), np.array([1.0, -1.0, 3.0]), -0.5, 0.5)
    # embedding [0.2, 0.1] gives 0.1; the lone word "tax" is 1 after normalisation: +3
    assert model.probability([0.2, 0.1], ["tax"]) == pytest.approx(1 / (1 + np.exp(-2.6)))
    assert model.probability([0.2, 0.1], ["robot"]) == pytest.approx(1 / (1 + np.exp(0.4)))
    assert model.outside([0.2, 0.1], ["tax"]) and not model.outside([0.2, 0.1], ["robot"])


def toy_training(n: int = 40):
    """In-scope questions about robots and refunds, out-of-scope ones about tax and visas;
    the embedding (two dimensions) says nothing."""
    rng = np.random.default_rng(0)
    inside = [["robot", "refund", w] for w in ("how", "when", "must", "days")] * (n // 4)
    outside = [["tax", "visa", w] for w in ("how", "when", "must", "days")] * (n // 4)
    vectors = rng.standard_normal((2 * n, 2)) * 0.01
    return vectors, inside + outside, [False] * n + [True] * n


def test_a_fitted_model_refuses_subjects_only_out_of_scope_questions_hold():
    vectors, tokens, outside = toy_training()
    model = fit_scope(vectors, tokens, outside, counted=[not o for o in outside])
    assert model.outside([0.0, 0.0], ["what", "tax", "visa"])
    assert not model.outside([0.0, 0.0], ["robot", "refund", "what"])


def test_the_threshold_refuses_at_most_the_budget_of_counted_questions_in_cross_validation():
    vectors, tokens, outside = toy_training()
    # one in-scope question that looks out of scope: counted, the budget must let it through
    tokens[0] = ["tax", "visa", "robot"]
    counted = [not o for o in outside]
    model = fit_scope(vectors, tokens, outside, counted, budget=0.0)
    assert not model.outside(vectors[0], tokens[0])
    strict = fit_scope(vectors, tokens, outside, counted, budget=0.1)
    assert strict.threshold < model.threshold
    # not counted (the floor refuses it anyway), it does not hold the threshold up
    uncounted = fit_scope(vectors, tokens, outside, [False, *counted[1:]], budget=0.0)
    assert uncounted.threshold < model.threshold
    assert uncounted.outside(vectors[0], tokens[0])


def test_fitting_without_enough_of_either_kind_says_what_is_missing():
    vectors, tokens, outside = toy_training(4)
    with pytest.raises(ValueError, match="needs in- and out-of-scope questions"):
        fit_scope(vectors[:6], tokens[:6], outside[:6], [True] * 6)


def test_a_written_scope_model_reads_back_for_the_same_models_aids_and_words(tmp_path):
    corpus = corpus_with(("Must sellers refund a broken robot?", "机器人坏了要退款吗？"))
    model = ScopeModel(("robot", "tax"), np.array([1.5, 2.0]), np.array([0.1, 0.2, -1.0, 2.0]),
                       -0.3, 0.7)
    write_scope(tmp_path, MANIFEST, corpus, TOKENIZER, {"zh": model}, note="toy")
    back = read_scope(tmp_path, MANIFEST, corpus, TOKENIZER)
    assert list(back) == ["zh"]
    assert back["zh"].words == model.words and back["zh"].threshold == pytest.approx(0.7)
    assert back["zh"].probability([1.0, 1.0], ["tax"]) == pytest.approx(
        model.probability([1.0, 1.0], ["tax"]), rel=1e-6)


def test_a_scope_model_fitted_on_other_aids_models_or_words_is_ignored_with_how_to_refit(
        tmp_path):
    corpus = corpus_with(("机器人坏了要退款吗？",))
    model = ScopeModel(("tax",), np.array([1.0]), np.array([0.0, 0.0, 1.0]), 0.0, 0.5)
    write_scope(tmp_path, MANIFEST, corpus, TOKENIZER, {"zh": model})
    said = []
    assert read_scope(tmp_path, MANIFEST, corpus_with(("玩具坏了要退款吗？",)), TOKENIZER,
                      log=said.append) == {}
    other = SimpleNamespace(**{**vars(MANIFEST), "multilingual_model": "f"})
    assert read_scope(tmp_path, other, corpus, TOKENIZER, log=said.append) == {}
    assert read_scope(tmp_path, MANIFEST, corpus, SimpleNamespace(user_words=("玩具",)),
                      log=said.append) == {}
    assert len(said) == 3 and all("regqa eval --calibrate" in line for line in said)


@pytest.mark.parametrize("content", [b"not a zip", b"", b"PK\x03\x04truncated"])
def test_a_damaged_scope_file_is_ignored_with_a_reason(tmp_path, content):
    (tmp_path / "scope.npz").write_bytes(content)
    said = []
    assert read_scope(tmp_path, MANIFEST, corpus_with(()), TOKENIZER, log=said.append) == {}
    assert "deciding scope by the rules and the floor alone" in said[0]


def test_without_a_stored_model_nothing_is_said(tmp_path):
    said = []
    assert read_scope(tmp_path, MANIFEST, corpus_with(()), TOKENIZER, log=said.append) == {}
    assert said == []


def test_decide_refuses_what_the_scope_model_judges_outside_in_the_questions_language(fake_qa):
    hits = fake_qa.retrieve("Must sellers refund a broken robot?", k=3)
    english = fake_qa.analyse("Must sellers refund a broken robot?")
    open_floor = Evidence(en=0.0, zh=0.0)
    assert decide(english, hits, fake_qa.corpus, open_floor).status == "grounded"
    assert decide(english, hits, fake_qa.corpus, open_floor, outside=True) == Decision(
        "no_match", OUTSIDE, too_weak=True)
    chinese = fake_qa.analyse("机器人坏了卖家要退款吗？")
    assert decide(chinese, hits, fake_qa.corpus, open_floor, outside=True).reason == OUTSIDE_ZH


def test_a_refused_question_that_names_a_regulation_is_told_the_regulation_does_not_address_it(
        fake_qa):
    # Regression (fifth review): a false premise about the algorithm rules was told that its
    # subject is one these regulations do not govern
    open_floor = Evidence(en=0.0, zh=0.0)
    english = fake_qa.analyse("Do the toy rules set a yearly refund report deadline?")
    chinese = fake_qa.analyse("玩具机器人规定要求每年提交退款报告吗？")
    hits = fake_qa.retrieve(english, k=3)
    assert decide(english, hits, fake_qa.corpus, open_floor, outside=True) == Decision(
        "no_match", "nothing in the Toy Robot Provisions addresses it", too_weak=True)
    assert decide(chinese, hits, fake_qa.corpus, open_floor, outside=True).reason == (
        "《玩具机器人规定》的条文没有涉及这个问题")


def test_the_scope_model_never_refuses_an_article_asked_for_by_number(fake_qa):
    query = fake_qa.analyse("What does Article 3 of the toy rules say?")
    hits = fake_qa.retrieve(query, k=3)
    assert decide(query, hits, fake_qa.corpus, Evidence(), outside=True).status == "grounded"


def test_the_floor_speaks_before_the_scope_model(fake_qa):
    query = fake_qa.analyse("Must sellers refund a broken toy robot?")
    hits = fake_qa.retrieve(query, k=3)
    closed = Evidence(en=1.01, zh=1.01)
    assert decide(query, hits, fake_qa.corpus, closed, outside=True).reason == TOO_WEAK


def refusing(qa):
    """The same loaded corpus and index with a scope model that refuses every question."""
    import regqa

    everything = ScopeModel((), np.array([]), np.zeros(64), 0.0, -1.0)
    return regqa.RegQA(qa.corpus, qa.parts, qa.models, evidence=Evidence(en=0.0, zh=0.0),
                       scope={"en": everything, "zh": everything})


def test_ask_refuses_what_the_scope_model_judges_outside(fake_qa):
    answer = refusing(fake_qa).ask("Must sellers refund a broken robot?")
    assert (answer.status, answer.reason, answer.citations) == ("no_match", OUTSIDE, ())


def test_ask_reads_the_embedding_retrieval_computed_instead_of_embedding_again(fake_qa):
    qa = refusing(fake_qa)
    calls = []
    embedder = qa.parts.minilm._embed_model
    original = type(embedder)._get_query_embedding

    def counting(self, query):
        calls.append(query)
        return original(self, query)

    type(embedder)._get_query_embedding = counting
    try:
        qa.ask("Must sellers refund a broken toy robot?")
    finally:
        type(embedder)._get_query_embedding = original
    assert calls == ["Must sellers refund a broken toy robot?"]


def words_model(weights: dict[str, float], dims: int = 64) -> ScopeModel:
    """A model that reads only words (idf 1): out of scope when their weights sum above 0."""
    return ScopeModel(tuple(weights), np.ones(len(weights)),
                      np.r_[np.zeros(dims), list(weights.values())], 0.0, 0.5)


def with_scope(qa, scope: dict, evidence: Evidence | None = None):
    import regqa

    return regqa.RegQA(qa.corpus, qa.parts, qa.models,
                       evidence=evidence or Evidence(en=0.0, zh=0.0), scope=scope)


REFUND = [{"role": "user", "content": "Must sellers refund customers when a toy robot breaks?"}]


def test_a_follow_up_is_judged_with_the_turn_before_it(fake_qa):
    # "deadline" alone looks out of scope; read with the refund question it does not
    qa = with_scope(fake_qa, {"en": words_model({"deadline": 3.0, "refund": -6.0})})
    question = "And the deadline?"
    assert qa.ask(question).reason == OUTSIDE
    query = qa.analyse(question, REFUND)
    assert query.followup and not qa.outside(query)
    assert qa.ask(question, history=REFUND).status == "grounded"


def test_a_follow_up_in_another_language_is_judged_by_the_model_of_what_it_reads(fake_qa):
    # "What about audio?" after a Chinese question: the text read is mostly Chinese
    refuse_all = ScopeModel((), np.array([]), np.zeros(64), 0.0, -1.0)
    qa = with_scope(fake_qa, {"en": refuse_all})
    history = [{"role": "user", "content": "玩具机器人坏了，卖家必须在多少天内退款？"}]
    query = qa.analyse("And for audio?", history)
    assert query.lang == "en" and query.followup
    assert not qa.outside(query)
    assert qa.outside(qa.analyse("And for audio?"))


def test_each_language_is_judged_by_its_own_model(fake_qa):
    refuse_all = ScopeModel((), np.array([]), np.zeros(64), 0.0, -1.0)
    qa = with_scope(fake_qa, {"en": refuse_all})
    assert qa.ask("Must sellers refund a broken toy robot?").status == "no_match"
    assert qa.ask("机器人坏了卖家要退款吗？").status != "no_match"


def test_english_stop_words_are_not_read():
    words = scope_tokens(lambda text: text.lower().split(), "How many robots are there in 上海")
    assert words == ["robots", "上海"]


@pytest.mark.parametrize("change, reason", [
    (dict(idf=np.ones(3)), "do not fit together"),
    (dict(weights=np.r_[np.zeros(5), 1.0, 1.0]), "reads 5 dimensions, the embedder gives 2"),
    (dict(threshold=float("nan")), "not finite"),
])
def test_a_scope_file_that_does_not_fit_the_embedder_is_ignored_not_a_crash(tmp_path, change,
                                                                             reason):
    corpus = corpus_with(("机器人坏了要退款吗？",))
    fields = dict(words=("robot", "tax"), idf=np.ones(2), weights=np.zeros(4), bias=0.0,
                  threshold=0.5) | change
    write_scope(tmp_path, MANIFEST, corpus, TOKENIZER, {"zh": ScopeModel(
        ("robot", "tax"), np.ones(2), np.zeros(4), 0.0, 0.5)})
    # then damage it, keeping its fingerprint
    arrays = read_arrays(tmp_path / "scope.npz")
    arrays |= {"zh_words": np.array(fields["words"]), "zh_idf": fields["idf"],
               "zh_weights": fields["weights"],
               "zh_bias_threshold": np.array([fields["bias"], fields["threshold"]])}
    write_arrays(tmp_path / "scope.npz", arrays)
    said = []
    assert read_scope(tmp_path, MANIFEST, corpus, TOKENIZER, log=said.append) == {}
    assert reason in said[0] and "deciding scope by the rules and the floor alone" in said[0]


def test_load_reads_the_stored_scope_model(tmp_path):
    import regqa

    from .conftest import FakeModels, write_toy_corpus

    root = write_toy_corpus(tmp_path / "corpus")
    qa = regqa.load(corpus_dir=root, index_dir=tmp_path / "index", progress=False,
                    models=FakeModels())
    assert qa.scope == {}
    manifest = qa.parts.manifest
    model = ScopeModel(("tax",), np.ones(1), np.zeros(manifest.embedding_dims + 1), 0.0, 0.5)
    write_scope(tmp_path / "index", manifest, qa.corpus, qa.parts.bm25_zh.tokenizer,
                {"en": model})
    again = regqa.load(corpus_dir=root, index_dir=tmp_path / "index", progress=False,
                       models=FakeModels())
    assert list(again.scope) == ["en"] and again.scope["en"].words == ("tax",)


def test_the_refusal_reason_reads_without_nested_parentheses(fake_qa):
    # Regression: the Chinese reason carried its own （…）, rendered inside the sentence's
    qa = refusing(fake_qa)
    for question in ("Must sellers refund a broken robot?", "机器人坏了卖家要退款吗？"):
        text = qa.ask(question).text
        reason = OUTSIDE_ZH if "机器人" in question else OUTSIDE
        assert f"（{reason}）" in text or f"({reason})" in text
        assert not any(mark in reason for mark in "（）()")


def test_the_answer_is_built_from_the_reading_in_context_when_the_turn_alone_is_refused(fake_qa):
    # the eval's leading-unit count reads this too: it scored the turn alone, which the
    # answer had set aside. Every word of the turn is one the corpus uses
    qa = with_scope(fake_qa, {"en": words_model({"sellers": 3.0, "refund": -6.0})})
    turn = "Sellers of robots too?"
    query = qa.analyse(turn, REFUND)
    assert query.in_context is not None and fake_qa.parts.unfamiliar(turn) == []
    reading, hits, decision = qa.read(query)
    assert reading == query.in_context and decision.status == "grounded"
    alone = qa.analyse(turn)
    assert qa.read(alone)[0] == alone and qa.read(alone)[2].reason == OUTSIDE


def test_a_turn_refused_alone_in_words_the_corpus_never_uses_is_not_answered_from_context(
        fake_qa):
    # "备案要交钱吗？" after a filing question was answered from the filing article
    qa = with_scope(fake_qa, {"en": words_model({"tax": 3.0, "refund": -6.0})})
    query = qa.analyse("Any tax forms?", REFUND)
    assert query.in_context is not None and qa.off_subject(query)
    reading, hits, decision = qa.read(query)
    assert reading == query and (decision.status, decision.reason) == ("no_match", OUTSIDE)
    assert qa.ask("Any tax forms?", history=REFUND).status == "no_match"
    qa.guard_context = False  # the eval's ablation
    assert qa.ask("Any tax forms?", history=REFUND).status == "grounded"


@pytest.mark.parametrize("weights, turn, off", [
    ({"tax": 3.0}, "Any tax forms?", True),  # leans out, words the corpus never uses
    ({"tax": 0.0}, "Any tax forms?", False),  # even odds: does not lean out
    ({"sellers": 3.0}, "Sellers of robots too?", False),  # leans out, but in the corpus's words
])
def test_off_subject_needs_both_the_lean_out_of_scope_and_an_unfamiliar_word(fake_qa, weights,
                                                                             turn, off):
    qa = with_scope(fake_qa, {"en": words_model(weights)})
    assert qa.off_subject(qa.analyse(turn, REFUND)) is off


def test_a_chinese_turn_is_judged_by_the_chinese_model(fake_qa):
    history = [{"role": "user", "content": "玩具机器人坏了，卖家必须在多少天内退款？"}]
    query = fake_qa.analyse("退款要交钱吗", history)
    assert query.in_context is not None and query.searched_in == "zh"
    assert with_scope(fake_qa, {"zh": words_model({"交钱": 3.0})}).off_subject(query)
    assert not with_scope(fake_qa, {"en": words_model({"交钱": 3.0})}).off_subject(query)


def test_without_a_scope_model_no_turn_is_off_subject(fake_qa):
    assert not fake_qa.off_subject(fake_qa.analyse("Any tax forms?", REFUND))
