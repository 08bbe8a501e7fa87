"""The FAISS index: exact or HNSW by size, filters, generations and atomic swaps."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from appliance.retrieval.embedder import DIMENSION
from appliance.retrieval.index import IndexStore, VectorIndex


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(n: int, threshold: int = 1000) -> tuple[VectorIndex, np.ndarray]:
    vectors = unit_vectors(n)
    index = VectorIndex.build(
        vectors,
        np.arange(100, 100 + n, dtype=np.int64),
        ["acme" if i % 2 else "globex" for i in range(n)],
        np.arange(n, dtype=np.float64),
        ann_threshold=threshold,
        ef_search=64,
    )
    return index, vectors


@pytest.mark.parametrize(
    ("n", "threshold", "kind"), [(50, 100, "exact"), (300, 100, "hnsw")]
)
def test_index_kind_follows_the_threshold(n: int, threshold: int, kind: str) -> None:
    index, vectors = build(n, threshold)

    hits = index.search(vectors[7], 3)

    assert index.kind == kind
    assert hits[0].id == 107
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-4)


def test_tenant_recency_and_exclusion_filters() -> None:
    index, vectors = build(200)

    hits = index.search(
        vectors[10], 5, tenant="acme", closed_after=150.0, exclude={151}
    )

    assert len(hits) == 5
    assert all(h.id % 2 == 1 and h.id - 100 >= 150 and h.id != 151 for h in hits)
    assert [h.similarity for h in hits] == sorted(
        (h.similarity for h in hits), reverse=True
    )


def test_add_replaces_an_existing_id() -> None:
    index, vectors = build(20)

    index.add(vectors[3], 105, "acme", 99.0)

    assert len(index) == 20
    assert index.search(vectors[3], 1)[0].id == 105


def test_save_swaps_generations_and_prunes_old_ones(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "retrieval")
    first, vectors = build(30)
    with store.writing():
        assert store.save(first) == 1
    loaded = store.load()
    assert loaded is not None and len(loaded) == 30

    for _ in range(3):
        loaded.add(
            unit_vectors(1, seed=len(loaded))[0], 1000 + len(loaded), "acme", 1.0
        )
        with store.writing():
            store.save(loaded)

    assert store.current_generation() == 4
    assert sorted(p.name for p in store.folder.glob("gen-*.faiss")) == [
        "gen-3.faiss",
        "gen-4.faiss",
    ]
    latest = store.load()
    assert latest is not None and len(latest) == 33
    assert latest.tenants[0] in {"acme", "globex"}


def test_readers_see_whole_generations_while_a_writer_saves(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "retrieval")
    index, vectors = build(40)
    with store.writing():
        store.save(index)
    sizes: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                current = store.load()
                assert current is not None
                assert current.index.ntotal == len(current)
                sizes.append(len(current))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for n in range(15):
        index.add(unit_vectors(1, seed=500 + n)[0], 5000 + n, "acme", 1.0)
        with store.writing():
            store.save(index)
    done.set()
    for reader in readers:
        reader.join()

    assert errors == []
    assert sizes and set(sizes) <= set(range(40, 56))
