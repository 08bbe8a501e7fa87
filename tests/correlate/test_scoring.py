"""Tests of the clustering scores."""

from __future__ import annotations

from appliance.correlate.scoring import adjusted_rand_index, bcubed, noise_precision

TRUTH = {"a": "c1", "b": "c1", "c": "c2", "d": "c2", "e": "noise", "f": "noise"}


def test_a_perfect_clustering_scores_one() -> None:
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y", "e": None, "f": None}

    assert adjusted_rand_index(TRUTH, predicted) == 1.0
    assert bcubed(TRUTH, predicted)["f1"] == 1.0
    assert noise_precision(TRUTH, predicted) == 1.0


def test_glued_noise_costs_precision_and_noise_precision() -> None:
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "x", "f": "z"}

    assert bcubed(TRUTH, predicted)["precision"] < 1.0
    assert noise_precision(TRUTH, predicted) == 0.5


def test_everything_in_one_cluster_scores_badly() -> None:
    predicted = dict.fromkeys(TRUTH, "x")

    assert adjusted_rand_index(TRUTH, predicted) <= 0.0
    assert noise_precision(TRUTH, predicted) == 0.0
