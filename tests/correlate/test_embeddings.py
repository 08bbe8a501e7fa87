"""Tests of the embedding cache and its nearest-neighbour search."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.correlate import embeddings
from appliance.correlate.embeddings import EmbeddingCache, MiniLMEncoder
from tests.fakes.text_encoder import HashingEncoder


def test_each_distinct_text_is_encoded_once() -> None:
    encoder = HashingEncoder()
    cache = EmbeddingCache(encoder)

    first = cache.vectors(["a b", "c d", "a b"])
    second = cache.vectors(["c d", "e f"])

    assert encoder.calls == [["a b", "c d"], ["e f"]]
    assert np.allclose(first[1], second[0])
    assert len(cache) == 3


def test_similar_pairs_agree_between_faiss_and_matrix_product(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [f"rule {n % 7} on host {n}" for n in range(40)]
    cache = EmbeddingCache(HashingEncoder())
    exact = {(i, j) for i, j, _ in cache.similar_pairs(texts, 0.7)}

    monkeypatch.setattr(embeddings, "FAISS_MIN_VECTORS", 2)
    indexed = {(i, j) for i, j, _ in cache.similar_pairs(texts, 0.7)}

    assert exact and indexed == exact


@pytest.mark.slow
def test_minilm_finds_rewordings_of_one_rule_alike() -> None:
    cache = EmbeddingCache(MiniLMEncoder())
    texts = [
        "Suspicious Spearphishing Attachment",
        "Spearphishing Attachment activity detected",
        "Account Lockout",
    ]

    pairs = {(i, j) for i, j, _ in cache.similar_pairs(texts, 0.75)}

    assert pairs == {(0, 1)}
