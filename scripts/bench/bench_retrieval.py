"""Benchmark the similar-incident index: exact against HNSW at 10k, 100k and 1M.

Vectors are synthetic 384-d unit vectors drawn around cluster centres (real incident
embeddings cluster by kind; uniform noise would make any graph index look bad).
For each size it reports build time, index memory, single-query p50/p99 latency and
recall@10 against exact search, for the exact index and for HNSW at several search
breadths. The exact index's latency by size is what ``retrieval_ann_threshold``
(the size above which the appliance switches to HNSW) is chosen from.

    .venv/bin/python scripts/bench/bench_retrieval.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness import Bench, percentiles  # noqa: E402

from appliance.retrieval.index import HNSW_EF_CONSTRUCTION, HNSW_M  # noqa: E402

DIM = 384
K = 10


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` unit vectors scattered around random centres."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        picks = centres[rng.integers(0, len(centres), stop - start)]
        block = picks + rng.normal(0, 0.06, (stop - start, DIM)).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def latencies(index: faiss.Index, queries: np.ndarray, threads: int) -> list[float]:
    """Return the time of each single-vector search, as the appliance does them.

    One query runs on one thread: OpenMP's fork and join costs more than the search.
    """
    faiss.omp_set_num_threads(1)
    times = []
    for q in queries:
        start = time.perf_counter()
        index.search(q.reshape(1, -1), K)
        times.append(time.perf_counter() - start)
    faiss.omp_set_num_threads(threads)
    return times


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Return mean recall@K of ``found`` against ``truth``."""
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


def index_bytes(index: faiss.Index) -> int:
    """Return the serialized size of an index (its memory, give or take)."""
    return int(faiss.serialize_index(index).size)


def run_size(
    bench: Bench,
    n: int,
    queries_n: int,
    ef_values: list[int],
    threads: int,
    graph: tuple[int, int],
) -> None:
    """Measure the exact and the HNSW index on ``n`` vectors."""
    rng = np.random.default_rng(n)
    centres = rng.normal(0, 1, (max(100, n // 500), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = clustered(n, centres, rng)
    queries = clustered(queries_n, centres, rng)
    result: dict[str, object] = {"vectors": n, "queries": queries_n}

    start = time.perf_counter()
    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    result["exact_build_s"] = round(time.perf_counter() - start, 3)
    result["exact_bytes"] = n * DIM * 4
    _, truth = exact.search(queries, K)
    result["exact_latency"] = percentiles(
        latencies(exact, queries[:200], threads), (50, 99)
    )
    del exact

    start = time.perf_counter()
    m, ef_construction = graph
    hnsw = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = ef_construction
    hnsw.add(data)
    result["hnsw_build_s"] = round(time.perf_counter() - start, 3)
    result["hnsw_bytes"] = index_bytes(hnsw) if n <= 100_000 else None
    result["hnsw_graph_bytes_estimate"] = n * m * 2 * 4 + n * DIM * 4
    for ef in ef_values:
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(queries, K)
        result[f"hnsw_ef{ef}"] = {
            "recall_at_10": recall(found, truth),
            **percentiles(latencies(hnsw, queries, threads), (50, 99)),
        }
    bench.record(f"n={n}", result)


def main() -> None:
    """Run the benchmark for each size and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", default="64,128,256")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--m", type=int, default=HNSW_M, help="HNSW links per node")
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    bench = Bench("retrieval")
    bench.record(
        "params",
        {
            "M": args.m,
            "efConstruction": args.ef_construction,
            "threads": args.threads,
            "k": K,
        },
    )
    for size in (int(s) for s in args.sizes.split(",")):
        run_size(
            bench,
            size,
            args.queries,
            [int(e) for e in args.ef.split(",")],
            args.threads,
            (args.m, args.ef_construction),
        )
    bench.report()


if __name__ == "__main__":
    main()
