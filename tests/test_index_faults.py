"""Fault injection on a temporary copy of a built toy index: damaged, missing, unlisted and
foreign files, interrupted swaps, leftover staging folders, concurrent builders, and an index
folder that is a file. The loader and `regqa index` share one check and heal by rebuilding."""

import json
import shutil
import threading

import pytest

from regqa import IndexCorruptError
from regqa.index import (
    MANIFEST,
    STAGING_PREFIX,
    build_index,
    check_index,
    load_index,
    open_index,
    read_manifest,
)
from regqa.models import e5_weights_sha256
from regqa.validate import load_corpus

from .conftest import write_toy_corpus


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, models):
    root = tmp_path_factory.mktemp("faults")
    corpus = load_corpus(write_toy_corpus(root / "corpus"))
    build_index(corpus, root / "index", models, progress=False)
    return corpus, root / "index"


@pytest.fixture
def copy(pristine, tmp_path):
    corpus, index_dir = pristine
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return corpus, target


def heal(corpus, index_dir, models):
    messages = []
    parts = open_index(corpus, index_dir, models, progress=False, log=messages.append)
    assert check_index(corpus, index_dir) == []
    assert parts.manifest.chunks == len(parts.chunks) > 0
    return " | ".join(messages)


def test_manifest_hashes_both_models_and_lists_every_file(copy):
    corpus, index_dir = copy
    manifest = read_manifest(index_dir)
    assert manifest.multilingual_sha256 == e5_weights_sha256() and len(e5_weights_sha256()) == 64
    on_disk = {p.relative_to(index_dir).as_posix() for p in index_dir.rglob("*")
               if p.is_file() and p.name not in (MANIFEST, ".lock")}
    assert set(manifest.files) == on_disk
    assert check_index(corpus, index_dir) == []


def _truncate(index_dir):
    path = index_dir / "e5" / "default__vector_store.json"
    path.write_bytes(path.read_bytes()[:100])


def _delete(index_dir):
    (index_dir / "bm25_zh" / "vocab.index.json").unlink()


def _unlisted(index_dir):
    (index_dir / "minilm" / "extra.json").write_text("{}")


def _incomplete(index_dir):
    manifest = json.loads((index_dir / MANIFEST).read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("bm25_en/")}
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def _foreign_e5(index_dir):
    manifest = json.loads((index_dir / MANIFEST).read_text())
    manifest["multilingual_sha256"] = "0" * 64
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def _old_manifest(index_dir):
    manifest = json.loads((index_dir / MANIFEST).read_text())
    del manifest["multilingual_sha256"]
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def _garbled(index_dir):
    (index_dir / MANIFEST).write_text("{not json")


def _files_not_a_dict(index_dir):
    manifest = json.loads((index_dir / MANIFEST).read_text())
    manifest["files"] = ["chunks.jsonl"]
    (index_dir / MANIFEST).write_text(json.dumps(manifest))


def _chunks_removed(index_dir):
    (index_dir / "chunks.jsonl").unlink()


@pytest.mark.parametrize("damage, reason", [
    (_truncate, "default__vector_store.json is damaged"),
    (_delete, "vocab.index.json is missing"),
    (_unlisted, "extra.json is not in the manifest"),
    (_incomplete, "the manifest lists no files for bm25_en"),
    (_foreign_e5, "multilingual_sha256: index has '0000"),
    (_old_manifest, "multilingual_sha256: index has ''"),
    (_garbled, "manifest.json is not a valid manifest"),
    (_files_not_a_dict, "manifest.json is not a valid manifest"),
    (_chunks_removed, "chunks.jsonl is missing"),
])
def test_damage_is_reported_by_the_check_and_healed_by_open(copy, models, damage, reason):
    corpus, index_dir = copy
    damage(index_dir)
    reasons = check_index(corpus, index_dir)
    assert any(reason in r for r in reasons), reasons
    if damage not in (_garbled, _files_not_a_dict, _foreign_e5, _old_manifest):
        with pytest.raises(IndexCorruptError, match="regqa index --rebuild"):
            load_index(corpus, index_dir, models)
    log = heal(corpus, index_dir, models)
    assert f"rebuilding the index ({reasons[0]}" in log


def _staged(index_dir, pristine_dir, name="999-test"):
    staging = index_dir / f"{STAGING_PREFIX}{name}"
    shutil.copytree(pristine_dir, staging, ignore=shutil.ignore_patterns(".lock"))
    return staging


def test_swap_interrupted_after_the_manifest_went_is_finished_on_start(copy, pristine, models):
    """kill -9 mid-swap: old manifest gone, two stores moved; the complete staged build is
    used, not rebuilt."""
    corpus, index_dir = copy
    staging = _staged(index_dir, pristine[1])
    (index_dir / MANIFEST).unlink()
    for name in ("minilm", "e5"):
        shutil.rmtree(index_dir / name)
        (staging / name).rename(index_dir / name)
    log = heal(corpus, index_dir, models)
    assert "finished an index swap that was interrupted" in log and "rebuilding" not in log
    assert not staging.exists()


def test_unfinished_or_damaged_staging_is_removed(copy, pristine, models):
    corpus, index_dir = copy
    unfinished = _staged(index_dir, pristine[1])
    (unfinished / MANIFEST).unlink()
    damaged = _staged(index_dir, pristine[1], "998-test")
    (damaged / "chunks.jsonl").write_text("")
    log = heal(corpus, index_dir, models)
    assert log.count("removed an unfinished index build") == 2 and "rebuilding" not in log
    assert not list(index_dir.glob(STAGING_PREFIX + "*"))


def test_old_style_building_folder_is_removed(copy, models):
    corpus, index_dir = copy
    leftover = index_dir.with_name(index_dir.name + ".building")
    leftover.mkdir()
    (leftover / "chunks.jsonl").write_text("partial")
    assert "removed an unfinished index build" in heal(corpus, index_dir, models)
    assert not leftover.exists()


def test_concurrent_builders_take_turns(pristine, tmp_path, models):
    corpus = pristine[0]
    index_dir = tmp_path / "index"
    logs, errors = [], []

    def open_it():
        try:
            messages = []
            open_index(corpus, index_dir, models, progress=False, log=messages.append)
            logs.append(messages)
        except Exception as exc:  # the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(any("rebuilding" in m for m in messages) for messages in logs) == 1
    assert check_index(corpus, index_dir) == []
    assert not list(index_dir.glob(STAGING_PREFIX + "*"))


def test_index_dir_that_is_a_file_fails_before_building(pristine, tmp_path):
    corpus = pristine[0]
    path = tmp_path / "index"
    path.write_text("not a folder")
    with pytest.raises(IndexCorruptError, match="is a file, not a folder"):
        check_index(corpus, path)
    with pytest.raises(IndexCorruptError, match="is a file, not a folder"):
        open_index(corpus, path, models=None, progress=False)
    with pytest.raises(IndexCorruptError, match="is a file, not a folder"):
        open_index(corpus, path / "sub", models=None, progress=False)


def test_rebuild_keeps_other_files_in_the_folder(copy, models):
    corpus, index_dir = copy
    (index_dir / "calibration.json").write_text("{}")
    open_index(corpus, index_dir, models, rebuild=True, progress=False, log=lambda m: None)
    assert (index_dir / "calibration.json").read_text() == "{}"
    assert check_index(corpus, index_dir) == []
