"""Incremental builds: a rebuild embeds only new or edited chunk texts and takes every other
vector from the index it replaces, but only when that index is intact and was built with the
same models, version and chunking. A counting fake embedder records what was embedded."""

import json

import faiss
import numpy as np
import pytest

from regqa.index import build_index, check_index, open_index, read_manifest
from regqa.validate import load_corpus

from .conftest import FakeEmbedding, FakeModels, write_toy_corpus


class CountingEmbedding(FakeEmbedding):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._texts = []

    def _get_text_embedding(self, text: str) -> list[float]:
        self._texts.append(text)
        return super()._get_text_embedding(text)


class CountingModels(FakeModels):
    def __init__(self, dims: int = 64) -> None:
        self.minilm = CountingEmbedding(dims=dims)
        self.e5 = CountingEmbedding(dims=dims)

    def embedded(self) -> tuple[list[str], list[str]]:
        return self.minilm._texts, self.e5._texts


def vectors(index_dir) -> dict:
    """{store: {node id: vector}} as saved."""
    out = {}
    for store in ("minilm", "e5"):
        folder = index_dir / store
        data = json.loads((folder / "index_store.json").read_text())["index_store/data"]
        (entry,) = data.values()
        ids = json.loads(entry["__data__"])["nodes_dict"]
        index = faiss.read_index(str(folder / "default__vector_store.json"))
        stored = index.reconstruct_n(0, index.ntotal)
        out[store] = {node: stored[int(row)] for row, node in ids.items()}
    return out


@pytest.fixture
def built(tmp_path):
    root = write_toy_corpus(tmp_path / "corpus")
    models = CountingModels()
    build_index(load_corpus(root), tmp_path / "index", models, progress=False, log=lambda m: 0)
    minilm, e5 = models.embedded()
    assert len(minilm) == 5 and len(e5) == 4  # 4 articles + commentary; 4 Chinese texts
    return root, tmp_path / "index"


def edit(root, old, new):
    path = root / "regulations" / "toy-2024.md"
    path.write_text(path.read_text().replace(old, new))
    return load_corpus(root)


def test_an_edited_article_is_the_only_text_embedded_again(built):
    root, index_dir = built
    corpus = edit(root, "within fourteen days", "within thirty days")
    models, log = CountingModels(), []
    parts = open_index(corpus, index_dir, models, progress=False, log=log.append)
    changed = next(c.text for c in parts.chunks.values() if "thirty days" in c.text)
    minilm, e5 = models.embedded()
    assert minilm == [changed]  # not the unchanged chunks
    assert e5 == ["玩具机器人规定\n第一条 本规定适用于向公众销售的玩具机器人。"]  # a size probe
    assert parts.manifest.embedded == 1 and parts.manifest.reused == 5 + 4 - 1
    assert "embedded 1 chunk texts with MiniLM and 0 with e5, reused 8 vectors" in log[-1]
    assert check_index(corpus, index_dir) == []
    hits = parts.minilm.as_retriever(similarity_top_k=1).retrieve("refund thirty days")
    assert "thirty days" in hits[0].node.get_content()


def test_an_incremental_build_saves_exactly_the_vectors_of_a_fresh_build(built, tmp_path):
    root, index_dir = built
    corpus = edit(root, "within fourteen days", "within thirty days")
    open_index(corpus, index_dir, CountingModels(), progress=False, log=lambda m: 0)
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh, CountingModels(), progress=False, log=lambda m: 0)
    incremental, full = vectors(index_dir), vectors(fresh)
    for store in ("minilm", "e5"):
        assert incremental[store].keys() == full[store].keys()
        for node, vector in full[store].items():
            np.testing.assert_array_equal(incremental[store][node], vector)


def test_nothing_is_reused_from_an_index_of_other_models(built):
    root, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["multilingual_sha256"] = "0" * 64
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    models, log = CountingModels(), []
    parts = open_index(load_corpus(root), index_dir, models, progress=False, log=log.append)
    assert [len(texts) for texts in models.embedded()] == [5, 4]
    assert parts.manifest.reused == 0
    assert "differs in multilingual_sha256" in log[-1]


def test_nothing_is_reused_from_a_damaged_index(built):
    root, index_dir = built
    store = index_dir / "e5" / "default__vector_store.json"
    store.write_bytes(store.read_bytes()[:-8] + b"\0" * 8)  # same size, other vectors
    corpus = edit(root, "within fourteen days", "within thirty days")
    models, log = CountingModels(), []
    open_index(corpus, index_dir, models, progress=False, log=log.append)
    assert [len(texts) for texts in models.embedded()] == [5, 4]
    assert "the previous index is damaged" in log[-1]
    assert check_index(corpus, index_dir) == []


def test_vectors_of_another_size_are_not_mixed_in(built):
    """A model that lies about its manifest fields still cannot mix its vectors with others."""
    root, index_dir = built
    corpus = edit(root, "within fourteen days", "within thirty days")
    models = CountingModels(dims=32)
    parts = open_index(corpus, index_dir, models, progress=False, log=lambda m: 0)
    # the edited text (or, for e5, which has none, a probe) first, then, on finding the sizes
    # differ, every text
    assert [len(texts) for texts in models.embedded()] == [1 + 5, 1 + 4]
    assert parts.manifest.reused == 0
    assert {len(v) for store in vectors(index_dir).values() for v in store.values()} == {32}


def test_removed_chunks_leave_the_stores(built):
    root, index_dir = built
    (root / "commentary" / "smith.md").unlink()
    models = CountingModels()
    parts = open_index(load_corpus(root), index_dir, models, progress=False, log=lambda m: 0)
    assert [len(texts) for texts in models.embedded()] == [1, 1]  # a probe each, for the size
    assert read_manifest(index_dir).reused == 4 + 4
    for store in vectors(index_dir).values():
        assert store and not any(node.startswith("commentary:") for node in store)
    assert not any(c.kind == "commentary" for c in parts.chunks.values())
