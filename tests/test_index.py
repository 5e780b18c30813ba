import json
import shutil

import numpy as np
import pytest

from regqa import IndexCorruptError, load
from regqa.index import check_index, load_index, read_manifest
from regqa.models import (
    MINILM_SHA256,
    TUNED_MINILM,
    TUNED_SHA256,
    base_minilm_path,
    file_sha256,
    minilm_path,
    minilm_weights_sha256,
)
from regqa.validate import load_corpus

from .conftest import write_toy_corpus


def test_embedding_weights_are_the_expected_file():
    assert file_sha256(base_minilm_path() / "model.safetensors") == MINILM_SHA256 == (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")


def test_english_is_embedded_with_our_fine_tuned_minilm_from_the_checkout(monkeypatch):
    monkeypatch.delenv("REGQA_MODEL_DIR", raising=False)
    assert minilm_path() == TUNED_MINILM
    assert minilm_weights_sha256() == TUNED_SHA256 == (
        "9e930941096bfb7cc45a37b848755bba3f85b85a8a3663e8333bf9b9e3843cc1")


@pytest.fixture
def built(tmp_path, models, toy_qa):
    """A copy of the toy corpus and its built index, safe to damage."""
    source = toy_qa.parts
    corpus = write_toy_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    shutil.copytree(__import__("pathlib").Path(toy_qa.corpus.root).parent / "index", index_dir)
    assert source.manifest.corpus_digest == read_manifest(index_dir).corpus_digest
    return corpus, index_dir


def test_manifest_records_model_dims_chunking_corpus_and_version(built):
    corpus, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["embedding_model"] == "all-MiniLM-L6-v2"
    assert manifest["embedding_sha256"] == TUNED_SHA256
    assert manifest["embedding_dims"] == 384
    assert manifest["chunking"] == {"scheme": "article-aware-v2", "max_tokens": 240,
                                   "search_aids": True, "zh_lexical": "jieba+bigrams"}
    assert manifest["regqa_version"] == "0.1.0"
    assert len(manifest["corpus_digest"]) == 64


def test_edited_corpus_makes_the_index_stale_and_load_rebuilds_it(built, models, capsys):
    corpus, index_dir = built
    path = corpus / "regulations" / "toy-2024.md"
    path.write_text(path.read_text().replace("fourteen days", "thirty days"))
    assert any(r.startswith("corpus_digest") for r in check_index(load_corpus(corpus), index_dir))
    qa = load(corpus_dir=corpus, index_dir=index_dir, progress=False, models=models)
    assert "rebuilding the index (corpus_digest" in capsys.readouterr().err
    assert "thirty days" in qa.retrieve("refund deadline", k=1)[0].text


def test_foreign_model_in_manifest_is_not_used_silently(built, models, capsys):
    corpus, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["embedding_model"] = "some-other-model"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    load(corpus_dir=corpus, index_dir=index_dir, progress=False, models=models)
    assert "embedding_model: index has 'some-other-model'" in capsys.readouterr().err
    assert read_manifest(index_dir).embedding_model == "all-MiniLM-L6-v2"


def test_truncated_faiss_file_names_the_fix_and_load_heals_it(built, models, capsys):
    corpus, index_dir = built
    faiss_file = index_dir / "minilm" / "default__vector_store.json"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match=r"damaged .*regqa index --rebuild"):
        load_index(load_corpus(corpus), index_dir, models)
    load(corpus_dir=corpus, index_dir=index_dir, progress=False, models=models)
    assert "rebuilding the index (index file" in capsys.readouterr().err
    assert check_index(load_corpus(corpus), index_dir) == []


def test_garbled_manifest_names_the_fix_and_load_heals_it(built, models, capsys):
    corpus, index_dir = built
    (index_dir / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="regqa index --rebuild"):
        read_manifest(index_dir)
    load(corpus_dir=corpus, index_dir=index_dir, progress=False, models=models)
    assert "is not a valid manifest" in capsys.readouterr().err


@pytest.mark.parametrize("question", ["玩具坏了多久内退款？", "refund for a broken toy robot"])
def test_a_loaded_index_ranks_exactly_like_the_freshly_built_one(tmp_path, models, question):
    """Every store must reload with the settings it was built with (BM25's tokenizer too)."""
    corpus = write_toy_corpus(tmp_path / "corpus")
    built = load(corpus_dir=corpus, index_dir=tmp_path / "index", progress=False, models=models)
    loaded = load(corpus_dir=corpus, index_dir=tmp_path / "index", progress=False, models=models)
    for retriever in ("bm25_en", "bm25_zh"):
        fresh = [(n.node.node_id, round(n.score, 5))
                 for n in getattr(built.parts, retriever).retrieve(question) if n.score > 0]
        again = [(n.node.node_id, round(n.score, 5))
                 for n in getattr(loaded.parts, retriever).retrieve(question) if n.score > 0]
        assert fresh == again
    assert ([(h.source_id, round(h.score, 6)) for h in built.retrieve(question, k=5)] ==
            [(h.source_id, round(h.score, 6)) for h in loaded.retrieve(question, k=5)])


@pytest.mark.parametrize("text, words", [
    ("Any tax forms for robots?", ["tax", "forms"]),
    ("Refunds for broken robots?", []),  # compared by stem; "for" is a stop word
    ("玩具机器人退款要交钱吗", ["交钱"]),
    ("没备的话", []),  # "没备" is jieba's guess, not a dictionary word; "的话" a filler
    # Regression (fresh-eyes review): polite words and figures made in-scope turns off-subject
    ("请问一下机器人退款", []),
    ("Fine of 10000 yuan? Or ten thousand?", ["yuan"]),
    ("罚款一万元吗", []),
])
def test_unfamiliar_words_are_the_ones_no_chunk_uses(fake_qa, text, words):
    assert fake_qa.parts.unfamiliar(text) == words


def test_chunks_are_embedded_in_batches_of_similar_length_and_come_back_in_their_order():
    from types import SimpleNamespace

    from regqa.index import _embed, by_length

    from .conftest import FakeEmbedding

    batches = []

    class Recording(FakeEmbedding):
        def get_text_embedding_batch(self, texts, **kwargs):
            batches.append([len(t) for t in texts])
            return super().get_text_embedding_batch(texts, **kwargs)

    texts = [f"article {'word ' * n}" for n in (30, 1, 17, 2, 40, 3, 25, 5, 8, 13, 21, 34, 1,
                                                 55, 9, 4, 6, 12)]
    vectors = _embed([SimpleNamespace(text=t) for t in texts], Recording(), "test",
                     progress=False)

    assert by_length(["ccc", "a", "bb", "a"]) == [1, 3, 2, 0]
    assert [len(b) for b in batches] == [16, 2]
    assert batches[0] == sorted(len(t) for t in texts)[:16]
    expected = np.asarray([FakeEmbedding()._vector(t) for t in texts], dtype=np.float32)
    assert np.allclose(vectors, expected, atol=1e-6)
