"""Fine-tune MiniLM on our search aids: an English question learns to land near its source.

The search aids (`corpus/search-aids/`) pair every article and commentary with questions in
users' words. Each English question and its source's English text make a training pair; the
loss is the in-batch softmax of the question against the batch's sources (contrastive, the
other sources of the batch are the negatives). Nothing else is trained on: the development and
held-out question sets stay unseen. The result replaces the wheel's MiniLM for English
questions and chunks (eval/analysis.md, eleventh session) and is stored in half precision in
`models/regqa-minilm/` (`regqa eval --fine-tune`, about ten minutes on two cores).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ..chunking import article_source_id, commentary_source_id
from ..classifier import aid_questions
from ..corpus import Corpus

EPOCHS = 2
BATCH = 32
LEARNING_RATE = 2e-5
SCALE = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss
SEED = 0
THREADS = 2  # the same result on any machine with the same libraries (float sums' order)


def source_texts(corpus: Corpus) -> dict[str, str]:
    """What a question is trained to land near: each source's English text with its name."""
    texts = {}
    for regulation in corpus.regulations:
        for article in regulation.articles:
            texts[article_source_id(regulation.id, article.number)] = (
                f"{regulation.short_title}, Article {article.number}: {article.text}")
    for doc in corpus.commentary:
        texts[commentary_source_id(doc.id)] = f"{doc.title} ({doc.author}): " + " ".join(
            doc.paragraphs)
    return texts


def training_pairs(corpus: Corpus) -> list[tuple[str, str]]:
    """(English aid question, source id), in corpus order."""
    return [(q, source) for q, source, lang in aid_questions(corpus) if lang == "en"]


def batch_targets(batch: Sequence[tuple[str, str]]) -> tuple[list[str], list[int]]:
    """The batch's distinct sources (first seen first) and, per question, its source's column:
    two questions about one article share a column instead of being each other's negative."""
    sources = list(dict.fromkeys(source for _, source in batch))
    return sources, [sources.index(source) for _, source in batch]


def fine_tune(base: str | Path, out: str | Path, corpus: Corpus, epochs: int = EPOCHS,
              log: Callable[[str], None] = print) -> Path:
    """Train a copy of the model in `base` on the corpus's search aids; save it to `out`."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    shuffle = random.Random(SEED).shuffle
    texts = source_texts(corpus)
    pairs = training_pairs(corpus)
    model = SentenceTransformer(str(base), device="cpu")
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)

    def embed(batch: list[str]):
        features = model.tokenize(batch)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    model.train()
    for epoch in range(epochs):
        shuffle(pairs)
        for start in range(0, len(pairs), BATCH):
            batch = pairs[start:start + BATCH]
            sources, targets = batch_targets(batch)
            logits = embed([q for q, _ in batch]) @ embed([texts[s] for s in sources]).T
            loss = torch.nn.functional.cross_entropy(logits * SCALE, torch.tensor(targets))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        log(f"epoch {epoch + 1} of {epochs}: last batch loss {loss.item():.4f}")
    model.eval()
    model.half()  # half the size in git; models.load_minilm computes in float32
    # written beside, then swapped in: an interrupted run leaves the previous model whole
    out = Path(out)
    staging, old = out.with_name(out.name + ".new"), out.with_name(out.name + ".old")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    (staging / "README.md").unlink(missing_ok=True)  # the library's generated card, not ours
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out
