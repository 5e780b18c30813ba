import hashlib
import os
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.embeddings import BaseEmbedding

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parents[1]

TOY_REGULATION = """\
---
id: toy-2024
title: Provisions on Toy Robots
short_title: Toy Robot Provisions
title_zh: 玩具机器人规定
issued_by: Test Office
promulgated: 2024-01-01
effective: 2024-02-01
official_url: https://example.org/toy
translation: Test rendering; the Chinese text prevails.
jurisdiction: China
aliases: [toy, toy rules, 玩具机器人规定]
topics: [robot, 机器人]
key_articles:
  scope: [1]
  penalties: [4]
references:
  - from: 4
    regulation: toy-2024
    article: 2
---

# Provisions on Toy Robots

## Chapter 1: General Provisions

### Article 1

These Provisions govern toy robots sold to the public.

### Article 2

Toy robots shall carry a conspicuous label stating the battery type and the age range.

## Chapter 2: Duties

### Article 3

Sellers shall refund customers within fourteen days when a toy robot breaks.

### Article 4

Whoever sells a toy robot without the label required by Article 2 shall be fined.
"""

TOY_ZH = """\
---
title_zh: 玩具机器人规定
---

## 第一章 总则

第一条 本规定适用于向公众销售的玩具机器人。

第二条 玩具机器人应当显著标识电池类型和适用年龄。

## 第二章 义务

第三条 玩具机器人损坏的，销售者应当在十四日内退款。

第四条 违反本规定第二条销售未标识的玩具机器人的，处以罚款。
"""

TOY_COMMENTARY = """\
---
id: smith
author: Jane Smith
affiliation: Toy Institute
source_title: On toys
source_url: https://example.org/smith
published: 2024-03-01
regulations: [toy-2024]
---

# Jane Smith on toy robots

Smith argues that the refund rule for broken toy robots is too generous to customers.
"""

TOY_GLOSSARY = """\
| English | Chinese | Note |
|---|---|---|
| conspicuous label | 显著标识 | |
| refund | 退款 | |
"""


TOY_NOT_COVERED = """\
---
kind: not-covered
patterns:
  - 'Personal Information Protection Law'
  - 'PIPL'
  - '数据出境'
  - '标准合同'
---
"""


def write_toy_corpus(root: Path, regulation: str = TOY_REGULATION, zh: str | None = TOY_ZH,
                     commentary: str | None = TOY_COMMENTARY,
                     not_covered: str | None = TOY_NOT_COVERED) -> Path:
    (root / "regulations").mkdir(parents=True, exist_ok=True)
    (root / "regulations" / "toy-2024.md").write_text(textwrap.dedent(regulation))
    if zh is not None:
        (root / "official-zh").mkdir(exist_ok=True)
        (root / "official-zh" / "toy-2024.md").write_text(zh)
    if commentary is not None:
        (root / "commentary").mkdir(exist_ok=True)
        (root / "commentary" / "smith.md").write_text(commentary)
    (root / "glossary.md").write_text(TOY_GLOSSARY)
    if not_covered is not None:
        (root / "not-covered.md").write_text(not_covered)
    return root


class FakeEmbedding(BaseEmbedding):
    """Deterministic bag-of-words embedding: each word (or Han character) adds a fixed
    pseudo-random vector, so rankings are exact and repeatable and no model is loaded."""

    dims: int = 64

    @classmethod
    def class_name(cls) -> str:
        return "FakeEmbedding"

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.dims)
        for token in re.findall(r"[a-z]{3,}|[\u4e00-\u9fff]", text.lower()):
            seed = int(hashlib.sha256(token[:6].encode()).hexdigest()[:8], 16)
            vector += np.random.default_rng(seed).standard_normal(self.dims)
        norm = np.linalg.norm(vector)
        return (vector / norm if norm else vector).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


class FakeModels:
    """Stands in for regqa.models.Models: the fake embedder for both dense stores and a
    whitespace token count for chunking."""

    def __init__(self) -> None:
        self.minilm = FakeEmbedding()
        self.e5 = FakeEmbedding()

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(scope="session")
def fake_qa(tmp_path_factory):
    """The toy corpus with the fake embedder: fast, exact, no model loaded."""
    import regqa

    root = write_toy_corpus(tmp_path_factory.mktemp("fake") / "corpus")
    return regqa.load(corpus_dir=root, index_dir=root.parent / "index", progress=False,
                      models=FakeModels())


@pytest.fixture(scope="session")
def models():
    from regqa.models import Models

    return Models()


@pytest.fixture(scope="session")
def toy_qa(tmp_path_factory, models):
    import regqa

    root = write_toy_corpus(tmp_path_factory.mktemp("toy") / "corpus")
    return regqa.load(corpus_dir=root, index_dir=root.parent / "index", progress=False,
                      models=models)


@pytest.fixture(scope="session")
def qa(models):
    """The real corpus and model, with the checkout's own index/ (built if needed)."""
    import regqa

    return regqa.load(progress=False, models=models)
