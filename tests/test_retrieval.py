import numpy as np
import pytest

from regqa.retrieval import SearchSettings, reciprocal_rank_fusion


def test_rrf_matches_hand_computed_scores():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a"]], weights=[1.0, 2.0], k=1)
    # a: 1/(1+1) + 2/(1+2) = 1.1667; b: 1/(1+2) + 2/(1+1) = 1.3333; c: 1/(1+3) = 0.25
    assert [name for name, _ in fused] == ["b", "a", "c"]
    assert [round(score, 4) for _, score in fused] == [1.3333, 1.1667, 0.25]


def test_rrf_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0])


@pytest.mark.parametrize(("question", "expected"), [
    ("Which toy robots do these rules apply to?", "toy-2024#1"),
    ("Must the battery type be shown on a toy robot?", "toy-2024#2"),
    ("How many days does a seller have to give my money back for a broken toy?", "toy-2024#3"),
    ("What is the fine for selling an unlabelled toy robot?", "toy-2024#4"),
    ("玩具坏了多久内退款？", "toy-2024#3"),
])
def test_tiny_corpus_puts_the_answering_article_first(toy_qa, question, expected):
    assert toy_qa.retrieve(question, k=1)[0].source_id == expected


def test_hits_are_distinct_sources_with_full_text(toy_qa):
    hits = toy_qa.retrieve("toy robot label", k=10)
    assert len(hits) == len({h.source_id for h in hits}) == 5  # 4 articles + 1 commentary
    article = next(h for h in hits if h.source_id == "toy-2024#2")
    assert article.text == ("Toy robots shall carry a conspicuous label stating the battery type "
                            "and the age range.")
    assert article.label == "Toy Robot Provisions, Art. 2"
    assert article.chapter == "Chapter 1: General Provisions"


@pytest.mark.parametrize("question", ["toy art. 3", "Article 3 of the toy robot provisions",
                                      "玩具机器人规定第三条", "toy-2024 第3条"])
def test_explicit_article_lookup_comes_first(toy_qa, question):
    hit = toy_qa.retrieve(question, k=3)[0]
    assert (hit.source_id, hit.via[0]) == ("toy-2024#3", "lookup")


def test_commentator_named_in_question_comes_first(toy_qa):
    assert toy_qa.retrieve("What does Smith think?", k=2)[0].source_id == "commentary:smith"


def test_filters_are_exact_and_do_not_shorten_the_list(fake_qa):
    hits = fake_qa.retrieve("zzz unrelated words", k=4, regulations=["toy-2024"], kinds=["article"])
    assert sorted(h.source_id for h in hits) == ["toy-2024#1", "toy-2024#2", "toy-2024#3",
                                                 "toy-2024#4"]


def test_fake_embedder_gives_an_exact_full_ranking(fake_qa):
    hits = fake_qa.retrieve("sellers refund customers within fourteen days", k=5)
    # plain RRF (no fitted ranker here): dense ranks 3, 4, smith, 1, 2 and BM25 ranks 3,
    # smith, so smith (1/63 + 1/62) passes Art. 4 (1/62 alone)
    assert [h.source_id for h in hits] == ["toy-2024#3", "commentary:smith", "toy-2024#4",
                                           "toy-2024#1", "toy-2024#2"]
    assert [round(h.score, 5) for h in hits] == [round(2 / 61, 5), round(1 / 63 + 1 / 62, 5),
                                                 round(1 / 62, 5), round(1 / 64, 5),
                                                 round(1 / 65, 5)]


def test_chinese_bm25_uses_words_and_bigrams():
    from regqa.text import ChineseTokenizer

    tokens = ChineseTokenizer(["服务提供者"])("服务提供者应当备案")
    assert "服务提供者" in tokens and "备案" in tokens and "供者" in tokens


def test_retriever_works_through_llama_index_retrieve(fake_qa):
    nodes = fake_qa.retriever(k=2).retrieve("toy art. 3")
    assert nodes[0].node.node_id == "toy-2024#3"


def test_filters_restrict_kinds(toy_qa):
    assert {h.kind for h in toy_qa.retrieve("refund", k=10, kinds=["commentary"])} == {"commentary"}
    assert {h.kind for h in toy_qa.retrieve("refund", k=10, kinds="article")} == {"article"}


def test_faiss_inner_product_matches_brute_force(toy_qa):
    """The dense retriever's ranking equals a brute-force cosine ranking of the same vectors."""
    index = toy_qa.parts.minilm
    store = index.vector_store
    vectors = store.client.reconstruct_n(0, store.client.ntotal)
    ids = list(index.index_struct.nodes_dict.values())
    query = np.asarray(toy_qa.models.minilm.get_query_embedding("refund for a broken toy"))
    oracle = [ids[i] for i in np.argsort(-(vectors @ query), kind="stable")]
    got = [n.node.node_id for n in index.as_retriever(similarity_top_k=len(ids))
           .retrieve("refund for a broken toy")]
    assert got == oracle
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_baseline_settings_switch_retrievers_off(toy_qa):
    bm25_only = SearchSettings(dense=0, e5=0, bm25_zh=0, lookup=False)
    hits = toy_qa.retrieve("fourteen days refund", k=2, settings=bm25_only)
    assert hits[0].source_id == "toy-2024#3"
    assert all(set(h.via) <= {"bm25"} for h in hits)


@pytest.mark.model
def test_question_about_two_regulations_lifts_the_best_article_of_each(qa):
    hits = qa.retrieve("How do the deep synthesis and algorithmic recommendation rules each "
                       "handle filing?", k=5)
    assert {h.regulation for h in hits[:2]} == {"deep-synthesis-2022",
                                                "algorithmic-recommendation-2021"}


@pytest.mark.model
def test_matched_chunk_is_article_text_not_a_search_aid(qa):
    for hit in qa.retrieve("Can I turn off the personalised feed in an app?", k=5):
        if hit.kind == "article":
            lines = hit.matched.split("\n")[1:]  # after the "label (chapter)" header
            assert lines and all(line in hit.text for line in lines), hit.matched


@pytest.mark.parametrize(("text", "expected"), [
    ("Art. 17 of the deep synthesis rules", [("deep-synthesis-2022", 17)]),
    ("What is article ten of the algorithm recommendation provisions about?",
     [("algorithmic-recommendation-2021", 10)]),
    ("genai article twenty-four", [("genai-2023", 24)]),
    ("生成式人工智能服务管理暂行办法第七条", [("genai-2023", 7)]),
    ("Compare deep synthesis art 16 with genai art 12",
     [("deep-synthesis-2022", 16), ("genai-2023", 12)]),
    ("What does article 3 say?", [(None, 3)]),
])
@pytest.mark.model
def test_article_references_are_parsed(qa, text, expected):
    from regqa.refs import find_article_refs

    assert [(r.regulation, r.article) for r in find_article_refs(text, qa.corpus)] == expected


def test_a_short_turn_in_conversation_fuses_its_ranking_with_its_reading_in_context(fake_qa):
    history = [{"role": "user", "content": "Which label must a toy robot carry?"}]
    alone = fake_qa.retrieve(fake_qa.analyse("Who pays it back?"), k=5)
    in_context = fake_qa.retrieve(fake_qa.analyse("Which label must a toy robot carry? "
                                                  "Who pays it back?"), k=5)
    assert [h.source_id for h in alone] == ["toy-2024#1", "commentary:smith", "toy-2024#3",
                                            "toy-2024#4", "toy-2024#2"]
    assert [h.source_id for h in in_context] == ["toy-2024#2", "toy-2024#1", "toy-2024#4",
                                                 "toy-2024#3", "commentary:smith"]
    hits = fake_qa.retrieve(fake_qa.analyse("Who pays it back?", history), k=5)
    # RRF with the reading in context counted double: Art. 1 is 1/61 + 2/62, Art. 2 1/65 + 2/61
    assert [h.source_id for h in hits] == ["toy-2024#1", "toy-2024#2", "toy-2024#4",
                                           "toy-2024#3", "commentary:smith"]
    assert hits[0].score == pytest.approx(1 / 61 + 2 / 62)
    off = fake_qa.retrieve(fake_qa.analyse("Who pays it back?", history), k=5,
                           settings=SearchSettings(context=False))
    assert [h.source_id for h in off] == [h.source_id for h in alone]


def test_a_longer_list_for_a_short_turn_only_appends(fake_qa):
    history = [{"role": "user", "content": "Which label must a toy robot carry?"}]
    query = fake_qa.analyse("Who pays it back?", history)
    short = [h.source_id for h in fake_qa.retrieve(query, k=2)]
    assert short == [h.source_id for h in fake_qa.retrieve(query, k=5)][:2]


def test_named_sources_become_hits_unless_filtered_out(fake_qa):
    retriever = fake_qa.retriever(k=5)
    (hit,) = retriever.hits_for(["toy-2024#4"])
    assert (hit.source_id, hit.article, hit.via) == ("toy-2024#4", 4, ("reference",))
    assert hit.text.startswith("Whoever sells a toy robot without the label")
    assert fake_qa.retriever(k=5, kinds=["commentary"]).hits_for(["toy-2024#4"]) == []


def test_a_named_regulations_best_article_goes_before_other_regulations_articles():
    from regqa.retrieval import HybridRetriever

    ranked = ["commentary:smith", "kite-2020#4", "toy-2024#2", "kite-2020#1", "toy-2024#4"]
    # only the best article moves: the other regulation keeps its places in the top five
    assert HybridRetriever._named_first(ranked, ["toy-2024"]) == [
        "commentary:smith", "toy-2024#2", "kite-2020#4", "kite-2020#1", "toy-2024#4"]
    assert HybridRetriever._named_first(ranked, ["kite-2020"]) == ranked
    assert HybridRetriever._named_first(ranked, ["drone-2025"]) == ranked


def test_only_a_regulation_named_in_the_turn_itself_counts_as_named(fake_qa):
    history = [{"role": "user", "content": "What must toy robot labels say under the toy rules?"}]
    follow_up = fake_qa.analyse("and the penalties?", history)
    assert (follow_up.regulations, follow_up.named) == (("toy-2024",), ())
    assert fake_qa.analyse("toy rules penalties?").named == ("toy-2024",)


def test_the_source_classifier_ranking_is_one_more_input_and_can_be_switched_off(fake_qa):
    from regqa.classifier import SourceClassifier

    # a classifier sure of Art. 1 whatever the question: its rank 1 joins dense's rank 4
    sure = SourceClassifier(("toy-2024#1", "toy-2024#2"), np.zeros((2, 64)), np.array([5.0, 0.0]))
    question = fake_qa.analyse("sellers refund customers within fourteen days")
    with_it = fake_qa.retriever(k=5)
    with_it.classifiers = {"en": sure}
    hits = {h.source_id: h for h in with_it.search(question)}
    assert hits["toy-2024#1"].via == ("dense", "classifier")
    assert hits["toy-2024#1"].score == pytest.approx(1 / 64 + 1 / 61)
    off = fake_qa.retriever(k=5, settings=SearchSettings(classifier=False))
    off.classifiers = {"en": sure}
    assert all("classifier" not in h.via for h in off.search(question))




def test_the_follow_up_ranker_weighs_the_turn_in_context_against_the_turn_alone(fake_qa):
    from regqa.ranker import Ranker

    history = [{"role": "user", "content": "What is the fine for an unlabelled toy robot?"}]
    query = fake_qa.analyse("And the refund deadline?", history)
    retriever = fake_qa.retriever(k=5)
    in_context = ["toy-2024#4", "commentary:smith", "toy-2024#3", "toy-2024#2", "toy-2024#1"]
    assert [h.source_id for h in retriever.search(query)] == in_context  # the fine, again
    # trusting only English BM25 over the turn alone: the refund article first
    retriever.followups = Ranker((0, 0, 0, 0, 0, 1.0, 0, 0, 0), 0.0)
    hits = retriever.search(query)
    assert [(h.source_id, h.score) for h in hits[:2]] == [("toy-2024#3", 1.0),
                                                         ("commentary:smith", 0.5)]
    # trusting only regqa's ranking in context: that ranking, unchanged
    retriever.followups = Ranker((1.0, 0, 0, 0, 0, 0, 0, 0, 0), 0.0)
    assert [h.source_id for h in retriever.search(query)] == in_context
    # a first turn has no reading alone: the follow-up ranker leaves it alone
    first = fake_qa.analyse("And the refund deadline?")
    assert first.alone is None
    assert retriever.search(first) == fake_qa.retriever(k=5).search(first)
    # switched off (the eval's ablation), the turn keeps regqa's ranking
    retriever.followups = Ranker((0, 0, 0, 0, 0, 1.0, 0, 0, 0), 0.0)
    retriever.settings = SearchSettings(followup=False)
    assert [h.source_id for h in retriever.search(query)] == in_context


def test_the_follow_up_ranker_runs_the_retrievers_once_per_reading(fake_qa, monkeypatch):
    from regqa.ranker import Ranker
    from regqa.retrieval import HybridRetriever

    history = [{"role": "user", "content": "What is the fine for an unlabelled toy robot?"}]
    query = fake_qa.analyse("And the refund deadline?", history)
    retriever = fake_qa.retriever(k=12)  # longer than the candidates: the list is made up
    retriever.followups = Ranker((0, 0, 0, 0, 0, 1.0, 0, 0, 0), 0.0)
    calls, run_all = [], HybridRetriever._run_all
    monkeypatch.setattr(HybridRetriever, "_run_all",
                        lambda self, q: calls.append(q.standalone) or run_all(self, q))
    hits = retriever.search(query)
    assert calls == [query.standalone, query.alone.standalone]
    assert hits[0].source_id == "toy-2024#3" and len(hits) == 5  # every source of the toy
