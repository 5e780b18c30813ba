from types import SimpleNamespace

import numpy as np
import pytest

from regqa.devtools.finetune import batch_targets, fine_tune, source_texts, training_pairs


def corpus_with(aids_3, aids_4=()):
    articles = (SimpleNamespace(number=3, text="Sellers refund within fourteen days.",
                                search_aids=aids_3),
                SimpleNamespace(number=4, text="The market regulator fines sellers.",
                                search_aids=aids_4))
    return SimpleNamespace(regulations=(SimpleNamespace(id="toy", short_title="Toy Rules",
                                                        articles=articles),),
                           commentary=(SimpleNamespace(id="c1", title="On refunds", author="A. Writer",
                                                       paragraphs=("One.", "Two."), search_aids=()),))


def test_training_pairs_are_the_english_aid_questions_with_their_source():
    corpus = corpus_with(("How fast must sellers refund?", "退款要多久？"),
                         ("Who fines a seller without labels?",))
    assert training_pairs(corpus) == [("How fast must sellers refund?", "toy#3"),
                                      ("Who fines a seller without labels?", "toy#4")]


def test_each_source_is_trained_on_its_named_english_text():
    assert source_texts(corpus_with(())) == {
        "toy#3": "Toy Rules, Article 3: Sellers refund within fourteen days.",
        "toy#4": "Toy Rules, Article 4: The market regulator fines sellers.",
        "commentary:c1": "On refunds (A. Writer): One. Two."}


def test_questions_about_one_source_share_its_column_in_a_batch():
    batch = [("q1", "toy#4"), ("q2", "toy#3"), ("q3", "toy#4")]
    assert batch_targets(batch) == (["toy#4", "toy#3"], [0, 1, 0])


@pytest.mark.model
def test_fine_tuning_pulls_questions_towards_their_sources_and_replaces_the_model_whole(
        tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer

    from regqa.models import base_minilm_path

    corpus = corpus_with(("How many days do I have to wait for my money back?",
                          "When is the shop obliged to return the payment?"),
                         ("Which agency penalises a shop?", "Who can punish the seller?"))
    texts = source_texts(corpus)
    out = tmp_path / "tuned"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")

    def margins(model):
        """Cosine to its own source minus cosine to the other article, per question."""
        pairs = training_pairs(corpus)
        q = model.encode([question for question, _ in pairs], normalize_embeddings=True)
        d = model.encode([texts["toy#3"], texts["toy#4"]], normalize_embeddings=True)
        own = np.array([0 if source == "toy#3" else 1 for _, source in pairs])
        sims = q @ d.T
        return sims[np.arange(len(own)), own] - sims[np.arange(len(own)), 1 - own]

    before = margins(SentenceTransformer(str(base_minilm_path()), device="cpu"))
    fine_tune(base_minilm_path(), out, corpus, epochs=3, log=lambda _: None)
    tuned = SentenceTransformer(str(out), device="cpu")
    after = margins(tuned)
    assert (after > before).all()
    assert next(tuned.parameters()).dtype == torch.float16  # stored at half the size
    assert not (out / "stale.txt").exists() and not (out / "README.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned"]
