"""A deterministic text encoder for tests: bag of words hashed into a unit vector.

Texts that share words come out alike, texts that share none come out orthogonal,
which is all the correlation code asks of an encoder. It counts what it encodes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from appliance.correlate.embeddings import Vectors

DIMENSIONS = 256


class HashingEncoder:
    """Encode texts as normalized hashed word counts."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Return one unit row per text."""
        self.calls.append(list(texts))
        rows = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for n, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.casefold()):
                digest = hashlib.sha256(word.encode()).digest()
                rows[n, int.from_bytes(digest[:4], "big") % DIMENSIONS] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        norms[norms == 0] = 1.0

        return rows / norms

    @property
    def encoded(self) -> int:
        """Return how many texts were encoded in all."""
        return sum(len(batch) for batch in self.calls)
