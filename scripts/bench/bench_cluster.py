"""Score and time alert clusterers on labelled streams; print the figures as JSON.

    .venv/bin/python scripts/bench/bench_cluster.py            # everything
    .venv/bin/python scripts/bench/bench_cluster.py --quick    # no naive baseline

Clusterers, side by side on the same streams:

- ``appliance``: the appliance's clusterer with semantic wave merging (embedding
  included in the time, cold cache per stream; the model load is not);
- ``appliance_no_semantic``: the same without the embedding model;
- ``host_user_30min``: alerts sharing a host or a user within 30 minutes;
- ``naive``: the usual first idea, description + IP embedded with all-MiniLM-L6-v2
  and DBSCAN (cosine, eps 0.3), as a baseline (slow: on the development stream only
  unless ``--naive-everywhere``).

Streams: the labelled development stream (``--stream``), and streams generated with
other shapes (``appliance.correlate.synthetic``: host counts, noise rates, campaign
mixes, step gaps, reworded rule names). Scores: adjusted Rand index, B-cubed
precision/recall/F1 over campaign alerts, noise precision. Then the streaming
assigner's per-alert latency at 20,000 alerts, and one 100,000-alert batch.

Torch runs on ``--threads`` threads, 1 by default: the texts embedded per run are
few and short, and on a busy 2-core machine two torch threads spin against each other
(measured: 30 names took 2.0-2.8 s on 2 threads, 0.25 s on 1, at load 11).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from harness import Bench, percentiles  # noqa: E402

from appliance.correlate.alerts import Alert, normalize_batch  # noqa: E402
from appliance.correlate.clusterer import cluster_alerts  # noqa: E402
from appliance.correlate.embeddings import EmbeddingCache, MiniLMEncoder  # noqa: E402
from appliance.correlate.scoring import score  # noqa: E402
from appliance.correlate.stream import StreamAssigner  # noqa: E402
from appliance.correlate.suggestions import suggest  # noqa: E402
from appliance.correlate.synthetic import (  # noqa: E402
    StreamShape,
    generate_stream,
    load_techniques,
)

SHARED = REPO.parent / "shared" / "data"
Clusterer = Callable[[list[dict[str, Any]]], dict[str, str | None]]

SHAPES: dict[str, StreamShape] = {
    "default_mix": StreamShape(),
    "few_hosts_25": StreamShape(n_hosts=25, noise_fraction=0.6),
    "noise_80pct": StreamShape(n_hosts=80, noise_fraction=0.8),
    "many_hosts_600_5k": StreamShape(n_alerts=5000, n_hosts=600, days=10),
    "wave_heavy": StreamShape(
        mix={"phishing": 0.4, "mass_exec": 0.3, "spray": 0.3, "host_chain": 0.2},
        rollouts=10,
    ),
    "cloud_heavy": StreamShape(
        mix={"cloud_chain": 0.6, "spray": 0.2, "host_chain": 0.2}
    ),
    "slow_steps_parent_switch": StreamShape(step_gap_minutes=12, parent_switch=0.3),
    "reworded_waves": StreamShape(
        name_variants=0.5,
        mix={"phishing": 0.4, "mass_exec": 0.3, "spray": 0.3, "host_chain": 0.2},
    ),
}


def by_position(
    alerts: Sequence[Alert], groups: list[list[int]]
) -> dict[str, str | None]:
    """Return alert id -> cluster label for groups of positions (singletons: None)."""
    labels: dict[str, str | None] = {a.alert_id: None for a in alerts}
    for n, group in enumerate(groups):
        if len(group) > 1:
            for i in group:
                labels[alerts[i].alert_id] = f"c{n}"

    return labels


def appliance_clusterer(
    cache_factory: Callable[[], EmbeddingCache | None],
) -> Clusterer:
    """Return the appliance's clusterer, suggestions included, fresh cache per call."""

    def run(raws: list[dict[str, Any]]) -> dict[str, str | None]:
        batch = normalize_batch(raws, max_alerts=10**6)
        clustering = cluster_alerts(batch.alerts, embeddings=cache_factory())
        suggest(clustering)
        return by_position(batch.alerts, [c.members for c in clustering.clusters])

    return run


def host_user_clusterer(raws: list[dict[str, Any]]) -> dict[str, str | None]:
    """Link alerts that share a host or a user within 30 minutes (connected parts)."""
    alerts = normalize_batch(raws, max_alerts=10**6).alerts
    parent = list(range(len(alerts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    last: dict[tuple[str, str], int] = {}
    for i, alert in enumerate(alerts):
        for key in (("h", alert.host), ("u", alert.user)):
            if key[1] is None:
                continue
            seen = last.get(key)  # type: ignore[arg-type]
            if seen is not None and alert.ts_ms - alerts[seen].ts_ms <= 30 * 60_000:
                parent[find(i)] = find(seen)
            last[key] = i  # type: ignore[index]
    groups: dict[int, list[int]] = {}
    for i in range(len(alerts)):
        groups.setdefault(find(i), []).append(i)

    return by_position(alerts, list(groups.values()))


def naive_clusterer(encoder: MiniLMEncoder) -> Clusterer:
    """Return the baseline: description + IP embedded, DBSCAN eps 0.3 (cosine)."""
    from sklearn.cluster import DBSCAN

    def run(raws: list[dict[str, Any]]) -> dict[str, str | None]:
        texts = [
            f"{r.get('description', '')} "
            f"{r.get('action_remote_ip') or r.get('host_ip') or ''}"
            for r in raws
        ]
        vectors = encoder.encode(texts)
        labels = DBSCAN(eps=0.3, min_samples=2, metric="cosine").fit_predict(vectors)
        return {
            str(r["alert_id"]): (None if label < 0 else f"c{label}")
            for r, label in zip(raws, labels, strict=True)
        }

    return run


def evaluate(
    clusterer: Clusterer, raws: list[dict[str, Any]], truth: dict[str, str]
) -> dict[str, Any]:
    """Return the scores and the wall time of one clusterer on one stream."""
    start = time.perf_counter()
    predicted = clusterer(raws)
    seconds = time.perf_counter() - start
    figures: dict[str, Any] = dict(score(truth, predicted))
    figures["seconds"] = round(seconds, 3)
    figures["alerts"] = len(raws)

    return figures


def streaming_latency(techniques: list[Any], n_alerts: int) -> dict[str, Any]:
    """Feed a generated stream to the streaming assigner; time each alert."""
    stream = generate_stream(
        StreamShape(n_alerts=n_alerts, n_hosts=800, days=30), techniques, seed=11
    )
    alerts = normalize_batch(stream.alerts, max_alerts=10**6).alerts
    assigner = StreamAssigner()
    samples = []
    warmup = min(2000, n_alerts // 10)
    for n, alert in enumerate(alerts):
        start = time.perf_counter()
        assigner.assign(alert)
        if n >= warmup:
            samples.append(time.perf_counter() - start)
    labels: dict[str, str | None] = {a.alert_id: None for a in alerts}
    clusters = assigner.closed + list(assigner.open_clusters().items())
    for cluster_id, ids in clusters:
        for alert_id in ids:
            labels[alert_id] = cluster_id

    return {
        "alerts": n_alerts,
        "warmup_alerts": warmup,
        **percentiles(samples, (50, 99, 100)),
        "scores": score(stream.labels, labels),
    }


def main() -> None:
    """Run every measurement and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default=str(SHARED / "alerts" / "xdr_stream_2k"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="skip the naive baseline")
    parser.add_argument("--naive-everywhere", action="store_true")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--stream-alerts", type=int, default=20_000)
    parser.add_argument("--big-batch", type=int, default=100_000)
    args = parser.parse_args()

    encoder = MiniLMEncoder(threads=args.threads)
    encoder.encode(["warm up"])
    clusterers: dict[str, Clusterer] = {
        "appliance": appliance_clusterer(lambda: EmbeddingCache(encoder)),
        "appliance_no_semantic": appliance_clusterer(lambda: None),
        "host_user_30min": host_user_clusterer,
    }
    naive = naive_clusterer(encoder)
    bench = Bench("cluster")

    alerts = Path(args.stream + "_alerts.jsonl")
    raws = [json.loads(line) for line in alerts.read_text().splitlines()]
    truth = json.loads(Path(args.stream + "_labels.json").read_text())
    development: dict[str, Any] = {
        name: evaluate(c, raws, truth) for name, c in clusterers.items()
    }
    if not args.quick:
        development["naive"] = evaluate(naive, raws, truth)
    bench.record("development_stream", development)

    techniques_file = SHARED / "attack" / "attack_techniques.jsonl"
    rows = [json.loads(line) for line in techniques_file.read_text().splitlines()]
    techniques = load_techniques(rows)
    generated: dict[str, Any] = {}
    for shape_name, shape in SHAPES.items():
        for seed in range(1, args.seeds + 1):
            stream = generate_stream(shape, techniques, seed=seed)
            entry = {
                name: evaluate(c, stream.alerts, stream.labels)
                for name, c in clusterers.items()
            }
            if args.naive_everywhere and not args.quick:
                entry["naive"] = evaluate(naive, stream.alerts, stream.labels)
            generated[f"{shape_name}/seed{seed}"] = entry
    bench.record("generated_streams", generated)
    dev = development["appliance"]
    worst = {
        key: round(min(g["appliance"][key] for g in generated.values()) - dev[key], 3)
        for key in ("ari", "bcubed_f1", "noise_precision")
    }
    bench.record("generated_worst_minus_development", worst)

    bench.record("streaming", streaming_latency(techniques, args.stream_alerts))
    big = generate_stream(
        StreamShape(n_alerts=args.big_batch, n_hosts=2000, days=60), techniques, seed=5
    )
    bench.record(
        "big_batch",
        {
            name: evaluate(clusterers[name], big.alerts, big.labels)
            for name in ("appliance", "appliance_no_semantic")
        },
    )
    bench.report()


if __name__ == "__main__":
    main()
