"""A regulation a user adds works like ours (issue 12, section 3): a fourth, Chinese one with
its official text and search aids and a fifth, foreign one in English only (an excerpt,
Arts. 50-52) are retrieved, looked up by article number and cited; a question about the
foreign jurisdiction is answered, not refused; removing a regulation removes its vectors.
Fake embedder: fast, no model loaded."""

import json
import shutil

import faiss
import pytest

import regqa
from regqa.api import RegQA
from regqa.corpus import read_corpus
from regqa.decision import Evidence
from regqa.index import read_manifest

from .conftest import FakeModels, write_toy_corpus

DRONE = """\
---
id: drone-2025
title: Provisions on Delivery Drones
short_title: Delivery Drone Provisions
title_zh: 无人机配送管理规定
issued_by: Test Aviation Office
promulgated: 2025-01-10
effective: 2025-03-01
official_url: https://example.org/drone
translation: Test rendering; the Chinese text prevails.
jurisdiction: China
aliases: [drone provisions, 无人机配送管理规定]
topics: [drone, 无人机]
key_articles:
  scope: [1]
---

# Provisions on Delivery Drones

### Article 1

These Provisions govern parcel delivery by unmanned aircraft over residential areas.

### Article 2

Operators shall keep every delivery flight below one hundred and twenty metres and away from
schools during school hours.

### Article 3

Operators shall record the route of every flight and keep the records for three years.
"""

DRONE_ZH = """\
---
title_zh: 无人机配送管理规定
---

第一条 本规定适用于在居民区上空以无人驾驶航空器配送包裹的活动。

第二条 运营者应当将每次配送飞行控制在一百二十米以下，并在上课时间避开学校。

第三条 运营者应当记录每次飞行的航线，记录保存三年。
"""

DRONE_AIDS = """\
---
id: drone-2025
kind: search-aids
note: test aids
---

### Article 2

How high may a delivery drone fly, and must it avoid schools?

无人机送快递能飞多高，要不要绕开学校？

### Article 3

How long must drone flight logs be kept?

无人机飞行记录要保存多久？
"""

EU = """\
---
id: eu-ai-act-2024
title: Artificial Intelligence Act (excerpt)
short_title: EU AI Act
title_zh: Artificial Intelligence Act
issued_by: European Parliament and Council
promulgated: 2024-06-13
effective: 2024-08-01
official_url: https://example.org/eu-ai-act
translation: Invented English excerpt for tests; not the text of the Act.
jurisdiction: EU
official_zh: false
aliases: [eu ai act, artificial intelligence act]
topics: [deep fake, deep fakes, general-purpose model]
---

### Article 50

Deployers of an AI system that generates or manipulates image, audio or video content
constituting a deep fake shall disclose that the content has been artificially generated or
manipulated.

### Article 51

A general-purpose AI model shall be classified as having systemic risk where it has high
impact capabilities evaluated on the basis of appropriate technical tools and benchmarks.

### Article 52

Where a general-purpose AI model meets the condition referred to in Article 51, its provider
shall notify the Commission without delay and in any event within two weeks.
"""

EU_AIDS = """\
---
id: eu-ai-act-2024
kind: search-aids
note: test aids
---

### Article 50

Must deep fakes be disclosed as such? Labelling deepfake video and voice clones as fake.
"""

TOY_AIDS = """\
---
id: toy-2024
kind: search-aids
note: test aids
---

### Article 3

Money back for a broken toy robot.
"""


def add(root, eu=True, drone=True):
    (root / "search-aids").mkdir(exist_ok=True)
    (root / "search-aids" / "toy-2024.md").write_text(TOY_AIDS)
    if drone:
        (root / "regulations" / "drone-2025.md").write_text(DRONE)
        (root / "official-zh" / "drone-2025.md").write_text(DRONE_ZH)
        (root / "search-aids" / "drone-2025.md").write_text(DRONE_AIDS)
    if eu:
        (root / "regulations" / "eu-ai-act-2024.md").write_text(EU)
        (root / "search-aids" / "eu-ai-act-2024.md").write_text(EU_AIDS)
    return root


def load(root):
    return regqa.load(corpus_dir=root, index_dir=root.parent / "index", models=FakeModels(),
                      progress=False)


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    """The toy corpus indexed first, then the two regulations added (an incremental build)."""
    root = write_toy_corpus(tmp_path_factory.mktemp("added") / "corpus")
    add(root, eu=False, drone=False)
    load(root)
    qa = load(add(root))
    return root, qa


def test_both_added_regulations_pass_the_check_and_only_their_chunks_were_embedded(five):
    root, qa = five
    assert read_corpus(root).problems == ()
    assert qa.corpus.regulation_ids == ("drone-2025", "eu-ai-act-2024", "toy-2024")
    eu = qa.corpus.regulation("eu-ai-act-2024")
    assert [a.number for a in eu.articles] == [50, 51, 52] and not eu.official_zh
    assert all(a.text_zh == "" for a in eu.articles)
    assert "运营者应当将每次配送飞行" in qa.corpus.article("drone-2025", 2).text_zh
    new = [c for c in qa.parts.chunks.values()
           if c.regulation in ("drone-2025", "eu-ai-act-2024")]
    manifest = qa.parts.manifest
    assert manifest.embedded == len(new)  # MiniLM embeds the English chunks, e5 the Chinese
    vectors = manifest.chunks
    assert manifest.reused == vectors - manifest.embedded > 0  # the toy regulation's


@pytest.mark.parametrize("question, source", [
    ("Must deepfake video be disclosed as artificially generated?", "eu-ai-act-2024#50"),
    ("How long must drone flight route records be kept?", "drone-2025#3"),
    ("无人机配送飞行高度和学校", "drone-2025#2"),
])
def test_retrieval_finds_the_added_articles(five, question, source):
    _, qa = five
    assert qa.retrieve(question, k=3)[0].source_id == source


@pytest.mark.parametrize("question, source", [
    ("Article 51 of the EU AI Act", "eu-ai-act-2024#51"),
    ("What does art. 52 of the artificial intelligence act say?", "eu-ai-act-2024#52"),
    ("Article 3 of the drone provisions", "drone-2025#3"),
    ("无人机配送管理规定第二条", "drone-2025#2"),
])
def test_lookup_by_article_number(five, question, source):
    _, qa = five
    hit = qa.retrieve(question, k=3)[0]
    assert hit.source_id == source
    assert "lookup" in hit.via


def test_citations_carry_the_added_regulations_labels(five):
    _, qa = five
    answer = qa.ask("What does Article 51 of the EU AI Act say?")
    assert answer.status == "grounded", answer.reason
    assert answer.citations[0].label == "EU AI Act, Art. 51"
    assert "systemic risk" in " ".join(answer.citations[0].quotes)
    assert answer.citations[0].hit.text_zh == ""  # no official Chinese text to show
    answer = qa.ask("无人机配送管理规定第三条是怎么规定的？")
    assert answer.citations[0].label == "Delivery Drone Provisions, Art. 3"
    assert "运营者应当记录每次飞行的航线" in answer.citations[0].hit.text_zh


def test_a_question_about_the_foreign_jurisdiction_is_answered(five):
    _, qa = five
    # The no-match floor is fitted to the real models; the fake embedder's cosines are lower.
    qa = RegQA(qa.corpus, qa.parts, qa.models, evidence=Evidence(en=0.3, zh=0.3))
    question = "Must deep fakes be disclosed in the EU?"
    assert qa.analyse(question).out_of_scope is None
    answer = qa.ask(question)
    assert answer.status in ("grounded", "partial"), (answer.status, answer.reason)
    assert answer.citations[0].label == "EU AI Act, Art. 50"
    # ...while a jurisdiction the corpus does not hold is still refused, naming both
    answer = qa.ask("Must deep fakes be disclosed in Japan?")
    assert answer.status == "no_match"
    assert "Japan" in answer.reason and "China, EU" in answer.reason


def test_removing_a_regulation_removes_its_vectors(five, tmp_path):
    root, _ = five
    copy = tmp_path / "corpus"
    shutil.copytree(root, copy)
    shutil.copytree(root.parent / "index", tmp_path / "index")
    (copy / "regulations" / "eu-ai-act-2024.md").unlink()
    (copy / "search-aids" / "eu-ai-act-2024.md").unlink()
    qa = load(copy)
    manifest = read_manifest(tmp_path / "index")
    assert manifest.embedded == 0 and manifest.reused > 0  # nothing new to embed
    assert "eu-ai-act-2024" not in qa.corpus.regulation_ids
    assert not any(c.regulation == "eu-ai-act-2024" for c in qa.parts.chunks.values())
    for store in ("minilm", "e5"):
        folder = tmp_path / "index" / store
        data = json.loads((folder / "index_store.json").read_text())["index_store/data"]
        (entry,) = data.values()
        node_ids = json.loads(entry["__data__"])["nodes_dict"].values()
        assert node_ids and not any(n.startswith("eu-ai-act-2024") for n in node_ids)
        assert faiss.read_index(str(folder / "default__vector_store.json")).ntotal == len(
            node_ids)
    hits = qa.retrieve("Must deepfake video be disclosed as artificially generated?", k=10)
    assert hits and not any(h.regulation == "eu-ai-act-2024" for h in hits)
    assert qa.retrieve("Article 51 of the EU AI Act", k=3)[0].regulation != "eu-ai-act-2024"


def problems(root):
    return [str(p) for p in read_corpus(root).problems]


def test_official_chinese_text_is_required_unless_the_front_matter_says_there_is_none(
        tmp_path):
    root = add(write_toy_corpus(tmp_path / "corpus"))
    assert problems(root) == []
    path = root / "regulations" / "eu-ai-act-2024.md"
    path.write_text(EU.replace("official_zh: false\n", ""))
    assert problems(root) == [f"{root}/official-zh/eu-ai-act-2024.md:1: missing: every "
                              "regulation needs its official Chinese text (eu-ai-act-2024.md "
                              "has none)"]
    path.write_text(EU.replace("official_zh: false", "official_zh: maybe"))
    assert f"{path}:12: front matter 'official_zh' must be true or false, got 'maybe'" in (
        problems(root))
    path.write_text(EU)
    (root / "official-zh" / "eu-ai-act-2024.md").write_text(DRONE_ZH)
    assert problems(root) == [f"{path}:12: front matter says 'official_zh: false' but "
                              f"{root}/official-zh/eu-ai-act-2024.md exists: remove one of them"]


@pytest.mark.parametrize("question", ["Article 3", "第三条说什么"])
def test_retrieve_puts_every_regulations_article_of_a_bare_number_first(five, question):
    # Regression (bug hunt): `retrieve("Art. 17")` left two of the three Art. 17s out of the
    # top five while `ask` cited all three
    _, qa = five
    assert {h.source_id for h in qa.retrieve(question, k=2)} == {"toy-2024#3", "drone-2025#3"}
    assert qa.ask(question).status == "partial"


def test_an_aspect_asked_in_general_is_answered_as_a_row_per_regulation(five):
    _, qa = five
    answer = qa.ask("Who do these rules apply to?")
    assert (answer.status, answer.reason) == (
        "grounded", "no regulation was named, so each regulation's articles on scope follow")
    assert {c.hit.source_id for c in answer.citations} == {"toy-2024#1", "drone-2025#1"}
    assert "| Regulation | Article | Rule |" in answer.text
