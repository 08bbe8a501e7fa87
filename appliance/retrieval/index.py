"""A FAISS index of past-incident vectors, saved in generations and swapped atomically.

Each save writes a new generation (``gen-N.faiss`` and ``gen-N.npz`` for ids, tenants
and closing times) and then replaces the one-line ``CURRENT`` file with
``os.replace``, so a reader sees either the old generation or the new one, never a
half-written file. Writers take a file lock; old generations are removed after a
later save, once readers had time to move on.

Small sets use an exact inner-product index; above ``ann_threshold`` vectors an HNSW
graph. Both figures come from ``scripts/bench/bench_retrieval.py`` on 2 cores: exact
search takes about 6 ms a query at 100,000 vectors, hence the 50,000 default threshold;
at 1,000,000 vectors a graph built with ``efConstruction`` 40 found at most 0.89 of
the true top 10 however broad the search; 80 finds 0.982 at ``efSearch`` 128 (a
5-minute build on 2 cores); 160 finds 0.9999 (p99 0.84 ms) for an 11-minute build.
A full rebuild is rare and each closed incident adds under a millisecond, so recall
wins.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import faiss
import numpy as np

from appliance.retrieval.embedder import DIMENSION

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 160
KEEP_GENERATIONS = 2


class IndexWriteError(OSError):
    """A generation could not be written; the one before it stays current."""


class _SyncedFile:
    """A new file written with plain ``os.write`` calls and synced when closed."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)

    def write(self, data: bytes | memoryview) -> int:
        """Write all of ``data``; return its length."""
        view = memoryview(data).cast("B")
        size = view.nbytes
        while view:
            view = view[os.write(self.fd, view) :]

        return size

    def __enter__(self) -> _SyncedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                os.fsync(self.fd)
        finally:
            os.close(self.fd)


def _sync_folder(folder: Path) -> None:
    """Sync a folder, so that a rename in it survives a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Hit:
    """One search result: the past incident's row id and its cosine similarity."""

    id: int
    similarity: float


def new_index(expected: int, ann_threshold: int, ef_search: int) -> faiss.Index:
    """Return an empty index: exact below ``ann_threshold`` vectors, HNSW above."""
    if expected <= ann_threshold:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
    hnsw = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.hnsw.efSearch = ef_search
    return faiss.IndexIDMap2(hnsw)


class VectorIndex:
    """Vectors with their row ids, tenants and closing times (epoch seconds)."""

    def __init__(
        self,
        index: faiss.Index,
        ids: np.ndarray,
        tenants: np.ndarray,
        closed_at: np.ndarray,
        generation: int = 0,
    ) -> None:
        self.index = index
        self.ids = ids
        self.tenants = tenants
        self.closed_at = closed_at
        self.generation = generation
        self._position = {int(i): n for n, i in enumerate(ids)}

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: np.ndarray,
        tenants: list[str],
        closed_at: np.ndarray,
        *,
        ann_threshold: int,
        ef_search: int,
    ) -> VectorIndex:
        """Return an index of ``vectors`` (unit length, float32) under ``ids``."""
        index = new_index(len(ids), ann_threshold, ef_search)
        if len(ids):
            index.add_with_ids(vectors, ids.astype(np.int64))
        return cls(
            index,
            ids.astype(np.int64),
            np.asarray(tenants, dtype=object),
            closed_at.astype(np.float64),
        )

    @property
    def kind(self) -> str:
        """Return ``exact`` or ``hnsw``."""
        inner = faiss.downcast_index(self.index.index)  # type: ignore[attr-defined]
        return "hnsw" if isinstance(inner, faiss.IndexHNSW) else "exact"

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, row_id: int) -> bool:
        return row_id in self._position

    def add(
        self, vector: np.ndarray, row_id: int, tenant: str, closed_at: float
    ) -> None:
        """Add one vector; an id already present is replaced."""
        if row_id in self._position:
            self.index.remove_ids(
                faiss.IDSelectorBatch(np.array([row_id], dtype=np.int64))
            )
            keep = self.ids != row_id
            self.ids, self.tenants, self.closed_at = (
                self.ids[keep],
                self.tenants[keep],
                self.closed_at[keep],
            )
        self.index.add_with_ids(
            vector.reshape(1, -1), np.array([row_id], dtype=np.int64)
        )
        self.ids = np.append(self.ids, np.int64(row_id))
        self.tenants = np.append(self.tenants, np.asarray([tenant], dtype=object))
        self.closed_at = np.append(self.closed_at, closed_at)
        self._position = {int(i): n for n, i in enumerate(self.ids)}

    def search(
        self,
        vector: np.ndarray,
        k: int,
        *,
        tenant: str | None = None,
        closed_after: float | None = None,
        exclude: set[int] | None = None,
    ) -> list[Hit]:
        """Return the ``k`` most similar vectors that pass the filters, best first.

        Filters are applied to an over-fetched candidate list that widens until ``k``
        hits pass or the whole index was searched.
        """
        if not len(self):
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        fetch = min(len(self), max(k * 4, 16))
        while True:
            scores, found = self.index.search(query, fetch)
            hits = []
            for score, row_id in zip(scores[0], found[0], strict=True):
                if row_id < 0 or (exclude and int(row_id) in exclude):
                    continue
                n = self._position[int(row_id)]
                if tenant is not None and self.tenants[n] != tenant:
                    continue
                if closed_after is not None and self.closed_at[n] < closed_after:
                    continue
                hits.append(Hit(int(row_id), float(score)))
                if len(hits) == k:
                    return hits
            if fetch >= len(self):
                return hits
            fetch = min(len(self), fetch * 4)


class IndexStore:
    """The index generations in one folder, with the ``CURRENT`` pointer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def pointer(self) -> Path:
        """Return the file that names the current generation."""
        return self.folder / "CURRENT"

    def current_generation(self) -> int | None:
        """Return the current generation number, or None when none was saved."""
        try:
            return int(
                self.pointer.read_text(encoding="utf-8").strip().removeprefix("gen-")
            )
        except (OSError, ValueError):
            return None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writers' lock (one writer at a time, across processes)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> VectorIndex | None:
        """Return the current generation, or None when there is none yet.

        A writer may prune the generation a reader was about to open; the reader then
        follows the pointer to the newer one.
        """
        while True:
            generation = self.current_generation()
            if generation is None:
                return None
            try:
                return self._load(generation)
            except (OSError, RuntimeError):
                if self.current_generation() == generation:
                    raise

    def _load(self, generation: int) -> VectorIndex:
        """Read one generation's index and metadata."""
        stem = self.folder / f"gen-{generation}"
        index = faiss.read_index(str(stem.with_suffix(".faiss")))
        with np.load(stem.with_suffix(".npz"), allow_pickle=False) as meta:
            return VectorIndex(
                index,
                meta["ids"],
                meta["tenants"].astype(object),
                meta["closed_at"],
                generation,
            )

    def save(self, vectors: VectorIndex) -> int:
        """Write ``vectors`` as a new generation and make it current (hold the lock).

        Every file is synced to disk before ``CURRENT`` moves, so the pointer never
        names a generation that is not whole.

        Raises:
            IndexWriteError: the generation could not be written (a full disk, a
                read-only volume); its partial files are removed and the current
                generation stays current.
        """
        previous = self.current_generation()
        generation = (previous or 0) + 1
        stem = self.folder / f"gen-{generation}"
        partial = self.folder / "CURRENT.partial"
        written = [stem.with_suffix(".faiss"), stem.with_suffix(".npz"), partial]
        try:
            with _SyncedFile(written[0]) as out:
                writer = faiss.PyCallbackIOWriter(out.write)  # type: ignore[attr-defined]
                faiss.write_index(vectors.index, writer)
            meta = io.BytesIO()
            np.savez(
                meta,
                ids=vectors.ids,
                tenants=vectors.tenants.astype(str),
                closed_at=vectors.closed_at,
            )
            with _SyncedFile(written[1]) as out:
                out.write(meta.getbuffer())
            with _SyncedFile(partial) as out:
                out.write(f"gen-{generation}\n".encode())
            os.replace(partial, self.pointer)
        except (OSError, RuntimeError) as exc:
            for path in written:
                path.unlink(missing_ok=True)
            reason = exc.strerror if isinstance(exc, OSError) else None
            raise IndexWriteError(
                getattr(exc, "errno", None) or errno.EIO,
                f"index generation {generation} was not saved in {self.folder} "
                f"({reason or exc}); generation {previous} stays current",
            ) from exc
        vectors.generation = generation
        _sync_folder(self.folder)
        self._prune(generation)

        return generation

    def _prune(self, current: int) -> None:
        """Remove generations older than the last ``KEEP_GENERATIONS``."""
        for path in self.folder.glob("gen-*.*"):
            try:
                number = int(path.stem.removeprefix("gen-"))
            except ValueError:
                continue
            if number <= current - KEEP_GENERATIONS:
                path.unlink(missing_ok=True)
