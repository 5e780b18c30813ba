"""Stage 3: chunks -> persisted indexes (two FAISS stores, two BM25 stores) with a manifest.

`open_index` uses a saved index only when its manifest matches the corpus, the models and
this version; it rebuilds a missing or stale one and refuses a corrupt one with the fix.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.faiss import FaissVectorStore
from tqdm import tqdm

from . import __version__
from .chunking import CHUNK_TOKENS, Chunk, chunk_corpus
from .corpus import Corpus
from .errors import IndexCorruptError, IndexStaleError
from .lexical import ChineseBM25Retriever, corpus_tokenizer
from .models import E5_DIMS, E5_NAME, MINILM_DIMS, MINILM_NAME, Models, minilm_weights_sha256

CHUNKING = {"scheme": "article-aware-v2", "max_tokens": CHUNK_TOKENS, "search_aids": True,
            "zh_lexical": "jieba+bigrams"}
MANIFEST = "manifest.json"
REBUILD_HINT = "run `regqa index --rebuild` (or delete the index folder) to build it again"


@dataclass(frozen=True)
class Manifest:
    regqa_version: str
    embedding_model: str
    embedding_sha256: str
    embedding_dims: int
    multilingual_model: str
    multilingual_dims: int
    chunking: dict
    corpus_digest: str
    chunks: int
    built_at: str
    build_seconds: float
    files: dict  # relative path -> sha256, so truncation is caught before FAISS reads it

    def mismatches(self, expected: Manifest) -> list[str]:
        keys = ("regqa_version", "embedding_model", "embedding_sha256", "embedding_dims",
                "multilingual_model", "chunking", "corpus_digest")
        return [f"{key}: index has {getattr(self, key)!r}, expected {getattr(expected, key)!r}"
                for key in keys if getattr(self, key) != getattr(expected, key)]


@dataclass
class IndexParts:
    """What retrieval needs, all loaded: chunk records and the four retrievers' stores."""

    manifest: Manifest
    chunks: dict[str, Chunk]
    minilm: VectorStoreIndex
    e5: VectorStoreIndex
    bm25_en: BM25Retriever
    bm25_zh: ChineseBM25Retriever


def expected_manifest(corpus: Corpus, **extra) -> Manifest:
    return Manifest(regqa_version=__version__, embedding_model=MINILM_NAME,
                    embedding_sha256=minilm_weights_sha256(), embedding_dims=MINILM_DIMS,
                    multilingual_model=E5_NAME, multilingual_dims=E5_DIMS, chunking=CHUNKING,
                    corpus_digest=corpus.digest, chunks=extra.get("chunks", 0),
                    built_at=extra.get("built_at", ""),
                    build_seconds=extra.get("build_seconds", 0.0), files=extra.get("files", {}))


def _embed(chunks: list[Chunk], model, desc: str, progress: bool) -> np.ndarray:
    vectors = []
    batch = 16
    bar = tqdm(total=len(chunks), desc=desc, unit="chunk", disable=not progress, file=sys.stderr)
    for start in range(0, len(chunks), batch):
        texts = [c.text for c in chunks[start:start + batch]]
        vectors.extend(model.get_text_embedding_batch(texts))
        bar.update(len(texts))
    bar.close()
    array = np.asarray(vectors, dtype=np.float32)
    faiss.normalize_L2(array)  # exact inner product on unit vectors = cosine
    return array


def _vector_index(chunks: list[Chunk], vectors: np.ndarray, embed_model) -> VectorStoreIndex:
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(vectors.shape[1]))
    nodes = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        node = chunk.to_node()
        node.embedding = vector.tolist()
        nodes.append(node)
    storage = StorageContext.from_defaults(vector_store=store)
    return VectorStoreIndex(nodes, storage_context=storage, embed_model=embed_model)


def _bm25(chunks: list[Chunk]) -> BM25Retriever:
    nodes = [c.to_node() for c in chunks]
    return BM25Retriever(nodes=nodes, similarity_top_k=min(60, len(nodes)))


def _load_bm25(folder: Path) -> BM25Retriever:
    bm25 = bm25s.BM25.load(str(folder), load_corpus=True)
    return BM25Retriever(existing_bm25=bm25, similarity_top_k=min(60, len(bm25.corpus)))


def _bm25_zh(chunks: list[Chunk], corpus: Corpus) -> ChineseBM25Retriever:
    return ChineseBM25Retriever.build([c.id for c in chunks], [c.text for c in chunks],
                                      corpus_tokenizer(corpus))


def _load_bm25_zh(folder: Path, chunks: dict[str, Chunk], corpus: Corpus) -> ChineseBM25Retriever:
    texts = {c.id: c.text for c in chunks.values() if c.lang == "zh"}
    return ChineseBM25Retriever.load(folder, texts, corpus_tokenizer(corpus))


def build_index(corpus: Corpus, index_dir: str | Path, models: Models,
                progress: bool = True) -> IndexParts:
    """Build every store, write them to a temporary folder, then swap it in whole."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    chunks = chunk_corpus(corpus, models.count_tokens)
    english = [c for c in chunks if c.lang == "en"]
    chinese = [c for c in chunks if c.lang == "zh"]
    minilm = _vector_index(english, _embed(english, models.minilm, "embedding (MiniLM)",
                                           progress), models.minilm)
    e5 = _vector_index(chunks, _embed(chunks, models.e5, "embedding (e5, en+zh)", progress),
                       models.e5)
    bm25_en = _bm25(english)
    bm25_zh = _bm25_zh(chinese, corpus)

    staging = index_dir.with_name(index_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    minilm.storage_context.persist(persist_dir=str(staging / "minilm"))
    e5.storage_context.persist(persist_dir=str(staging / "e5"))
    bm25_en.persist(str(staging / "bm25_en"))
    bm25_zh.persist(str(staging / "bm25_zh"))
    with open(staging / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
    files = {str(p.relative_to(staging)): _sha256(p)
             for p in sorted(staging.rglob("*")) if p.is_file()}
    manifest = expected_manifest(corpus, chunks=len(chunks),
                                 built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 build_seconds=round(time.perf_counter() - started, 2),
                                 files=files)
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    if index_dir.exists():
        _clear(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    for item in staging.iterdir():
        shutil.move(str(item), index_dir / item.name)
    staging.rmdir()
    return IndexParts(manifest, {c.id: c for c in chunks}, minilm, e5, bm25_en, bm25_zh)


def _clear(index_dir: Path) -> None:
    """Remove only what build_index writes, so a user's other files in the folder survive."""
    for name in ("minilm", "e5", "bm25_en", "bm25_zh"):
        shutil.rmtree(index_dir / name, ignore_errors=True)
    for name in ("chunks.jsonl", MANIFEST):
        (index_dir / name).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    from .models import file_sha256

    return file_sha256(path)


def read_manifest(index_dir: str | Path) -> Manifest | None:
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        return Manifest(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(f"{path} is not a valid manifest ({exc}); {REBUILD_HINT}") from exc


def check_index(corpus: Corpus, index_dir: str | Path) -> list[str]:
    """Reasons the saved index cannot be used as is (empty list: it matches)."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return [f"no index at {index_dir}"]
    return manifest.mismatches(expected_manifest(corpus))


def load_index(corpus: Corpus, index_dir: str | Path, models: Models) -> IndexParts:
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexStaleError(f"no index at {index_dir}; run `regqa index`")
    problems = manifest.mismatches(expected_manifest(corpus))
    if problems:
        raise IndexStaleError(f"the index at {index_dir} does not match: {'; '.join(problems)}; "
                              f"{REBUILD_HINT}")
    for relative, digest in manifest.files.items():
        path = index_dir / relative
        if not path.exists():
            raise IndexCorruptError(f"index file {path} is missing; {REBUILD_HINT}")
        if _sha256(path) != digest:
            raise IndexCorruptError(f"index file {path} is damaged (checksum differs from the "
                                    f"manifest); {REBUILD_HINT}")
    try:
        chunks = {}
        with open(index_dir / "chunks.jsonl", encoding="utf-8") as handle:
            for line in handle:
                chunk = Chunk(**json.loads(line))
                chunks[chunk.id] = chunk
        minilm = _load_vector_index(index_dir / "minilm", models.minilm)
        e5 = _load_vector_index(index_dir / "e5", models.e5)
        bm25_en = _load_bm25(index_dir / "bm25_en")
        bm25_zh = _load_bm25_zh(index_dir / "bm25_zh", chunks, corpus)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexCorruptError(f"cannot read the index at {index_dir} ({exc}); "
                                f"{REBUILD_HINT}") from exc
    return IndexParts(manifest, chunks, minilm, e5, bm25_en, bm25_zh)


def _load_vector_index(folder: Path, embed_model) -> VectorStoreIndex:
    store = FaissVectorStore.from_persist_dir(str(folder))
    storage = StorageContext.from_defaults(vector_store=store, persist_dir=str(folder))
    return load_index_from_storage(storage, embed_model=embed_model)


def open_index(corpus: Corpus, index_dir: str | Path, models: Models, rebuild: bool = False,
               progress: bool = True, log=None) -> IndexParts:
    """Load the saved index if it matches; otherwise say why and rebuild it."""
    log = log or (lambda message: print(message, file=sys.stderr))
    if not rebuild:
        reasons = check_index(corpus, index_dir)
        if not reasons:
            return load_index(corpus, index_dir, models)
        log(f"regqa: rebuilding the index ({'; '.join(reasons)})")
    return build_index(corpus, index_dir, models, progress=progress)
