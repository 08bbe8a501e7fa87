"""Score a clustering of alerts against ground truth.

Three figures, as the alert-stream data documents them:

- the adjusted Rand index over all alerts, each noise alert (true or predicted) its
  own singleton;
- B-cubed precision, recall and F1 over campaign alerts; an alert's predicted cluster
  counts every alert in it, noise included, so gluing noise to a campaign costs
  precision;
- noise precision: the share of true noise alerts left unclustered or alone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from math import comb

NOISE = "noise"


def _partition(labels: Mapping[str, str | None], noise: str | None) -> dict[str, str]:
    """Return labels where every noise item is its own singleton."""
    return {
        k: (f"\x00{k}" if v is None or v == noise else str(v))
        for k, v in labels.items()
    }


def adjusted_rand_index(
    truth: Mapping[str, str], predicted: Mapping[str, str | None]
) -> float:
    """Return the adjusted Rand index of ``predicted`` against ``truth``."""
    keys = list(truth)
    t = _partition(truth, NOISE)
    p = _partition({k: predicted.get(k) for k in keys}, None)
    pairs = Counter((t[k], p[k]) for k in keys)
    index = sum(comb(n, 2) for n in pairs.values())
    rows = sum(comb(n, 2) for n in Counter(t[k] for k in keys).values())
    cols = sum(comb(n, 2) for n in Counter(p[k] for k in keys).values())
    expected = rows * cols / comb(len(keys), 2) if len(keys) > 1 else 0.0
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0

    return (index - expected) / (maximum - expected)


def bcubed(
    truth: Mapping[str, str], predicted: Mapping[str, str | None]
) -> dict[str, float]:
    """Return B-cubed precision, recall and F1 over the campaign alerts of ``truth``."""
    p = _partition({k: predicted.get(k) for k in truth}, None)
    by_pred: dict[str, list[str]] = defaultdict(list)
    for k, c in p.items():
        by_pred[c].append(k)
    by_true: Counter[str] = Counter(v for v in truth.values() if v != NOISE)
    campaign = [k for k, v in truth.items() if v != NOISE]
    if not campaign:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    precision = recall = 0.0
    for k in campaign:
        same_pred = by_pred[p[k]]
        correct = sum(1 for o in same_pred if truth[o] == truth[k])
        precision += correct / len(same_pred)
        recall += correct / by_true[truth[k]]
    precision /= len(campaign)
    recall /= len(campaign)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    return {"precision": precision, "recall": recall, "f1": f1}


def noise_precision(
    truth: Mapping[str, str], predicted: Mapping[str, str | None]
) -> float:
    """Return the share of true noise alerts left unclustered or in singletons."""
    sizes = Counter(v for v in predicted.values() if v is not None)
    noise = [k for k, v in truth.items() if v == NOISE]
    if not noise:
        return 1.0
    alone = 0
    for k in noise:
        cluster = predicted.get(k)
        if cluster is None or sizes[cluster] == 1:
            alone += 1

    return alone / len(noise)


def score(
    truth: Mapping[str, str], predicted: Mapping[str, str | None]
) -> dict[str, float]:
    """Return every figure for one clustering, rounded to three places."""
    b = bcubed(truth, predicted)
    figures = {
        "ari": adjusted_rand_index(truth, predicted),
        "bcubed_precision": b["precision"],
        "bcubed_recall": b["recall"],
        "bcubed_f1": b["f1"],
        "noise_precision": noise_precision(truth, predicted),
    }

    return {k: round(v, 3) for k, v in figures.items()}
