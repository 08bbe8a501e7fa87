"""Tests of the batch clusterer on hand-made cases and labelled streams."""

from __future__ import annotations

import json

import pytest

from appliance.correlate.alerts import normalize_batch
from appliance.correlate.clusterer import cluster_alerts
from appliance.correlate.embeddings import EmbeddingCache, MiniLMEncoder
from appliance.correlate.scoring import score
from appliance.correlate.synthetic import StreamShape, generate_stream, load_techniques
from tests.conftest import SHARED
from tests.fakes.xdr_alerts import xdr_alert

STREAM = SHARED / "data" / "alerts" / "xdr_stream_2k"
TECHNIQUES = SHARED / "data" / "attack" / "attack_techniques.jsonl"


def _labels(raws: list[dict[str, object]], **kwargs: object) -> dict[str, str | None]:
    batch = normalize_batch(raws, max_alerts=10**6)
    clustering = cluster_alerts(batch.alerts, **kwargs)  # type: ignore[arg-type]
    labels: dict[str, str | None] = {a.alert_id: None for a in batch.alerts}
    for n, cluster in enumerate(clustering.clusters):
        for i in cluster.members:
            labels[batch.alerts[i].alert_id] = f"c{n}"
    return labels


def test_an_attack_chain_clusters_and_a_lone_alert_stays_noise() -> None:
    chain = [
        xdr_alert(m, mitre_tactic_id_and_name=[t])
        for m, t in [
            (0, "TA0001 - Initial Access"),
            (4, "TA0002 - Execution"),
            (9, "TA0006 - Credential Access"),
        ]
    ]
    lone = xdr_alert(3, host_name="ws-77", user_name="CORP\\carol")

    labels = _labels([*chain, lone])

    assert len({labels[a["alert_id"]] for a in chain}) == 1
    assert labels[chain[0]["alert_id"]] is not None
    assert labels[lone["alert_id"]] is None


def test_a_rollout_stays_noise_while_an_attack_wave_clusters() -> None:
    rollout = [
        xdr_alert(
            n,
            name="Agent Update",
            host_name=f"ws-{n}",
            user_name="CORP\\svc_sccm",
            causality_actor_process_image_name="CcmExec.exe",
        )
        for n in range(10)
    ]
    wave = [
        xdr_alert(
            n,
            name="Malicious Macro",
            host_name=f"pc-{n}",
            user_name=f"CORP\\user{n}",
            causality_actor_process_image_name="OUTLOOK.EXE",
        )
        for n in range(6)
    ]

    labels = _labels(rollout + wave)

    assert all(labels[a["alert_id"]] is None for a in rollout)
    assert len({labels[a["alert_id"]] for a in wave}) == 1


def test_reworded_wave_names_merge_only_with_embeddings() -> None:
    wording = ["Possible {}", "{} activity detected", "Suspicious {}"]
    wave = [
        xdr_alert(
            n * 2,
            name=wording[n % 3].format("Macro Dropper"),
            host_name=f"pc-{n}",
            user_name=f"CORP\\user{n}",
            causality_actor_process_image_name="OUTLOOK.EXE",
        )
        for n in range(9)
    ]

    without = _labels(wave)
    with_embeddings = _labels(wave, embeddings=EmbeddingCache(MiniLMEncoder()))

    assert {without[a["alert_id"]] for a in wave} == {None}
    merged = {with_embeddings[a["alert_id"]] for a in wave}
    assert len(merged) == 1 and None not in merged


def test_a_reworded_wave_keeps_its_follow_up_wave() -> None:
    # Four wordings of one rule on four hosts each: four exact-name waves. A
    # follow-up rule fires on one host of each; against any one wording that is one
    # host in four, against the whole wave all four.
    wording = ["Possible {}", "{} activity detected", "Suspicious {}", "{} observed"]
    phish = [
        xdr_alert(
            n * 3,
            name=wording[n % 4].format("Malicious Macro Dropper"),
            host_name=f"pc-{n}",
            host_ip=f"10.0.1.{n}",
            user_name=f"CORP\\user{n}",
            mitre_tactic_id_and_name=["TA0001 - Initial Access"],
        )
        for n in range(16)
    ]
    follow_ups = [
        xdr_alert(
            n * 3 + 2,
            name="Scheduled Task Created",
            host_name=f"pc-{n}",
            host_ip=f"10.0.1.{n}",
            user_name=f"CORP\\user{n}",
        )
        for n in range(4)
    ]
    unrelated = xdr_alert(
        20, name="Credential Dumping", host_name="pc-99", user_name="CORP\\zed"
    )
    raws = sorted(
        [*phish, *follow_ups, unrelated], key=lambda a: a["detection_timestamp"]
    )

    without = _labels(raws)
    labels = _labels(raws, embeddings=EmbeddingCache(MiniLMEncoder()))

    campaign = [*phish, *follow_ups]
    assert len({without[a["alert_id"]] for a in campaign}) > 1
    merged = {labels[a["alert_id"]] for a in campaign}
    assert len(merged) == 1 and None not in merged
    assert labels[unrelated["alert_id"]] is None


def test_development_stream_meets_the_targets() -> None:
    alerts = STREAM.parent / (STREAM.name + "_alerts.jsonl")
    raws = [json.loads(line) for line in alerts.read_text().splitlines()]
    truth = json.loads((STREAM.parent / (STREAM.name + "_labels.json")).read_text())

    figures = score(truth, _labels(raws))

    assert figures["ari"] >= 0.85
    assert figures["bcubed_f1"] >= 0.92
    assert figures["noise_precision"] >= 0.95


@pytest.mark.parametrize(
    "shape",
    [
        StreamShape(n_alerts=1500, n_hosts=30, noise_fraction=0.65),
        StreamShape(n_alerts=1500, mix={"phishing": 0.5, "spray": 0.5}, rollouts=8),
    ],
    ids=["few-hosts-noisy", "wave-heavy"],
)
def test_generated_streams_of_other_shapes_score_well(shape: StreamShape) -> None:
    rows = [json.loads(line) for line in TECHNIQUES.read_text().splitlines()]
    stream = generate_stream(shape, load_techniques(rows), seed=3)

    figures = score(stream.labels, _labels(stream.alerts))

    assert figures["ari"] >= 0.85
    assert figures["bcubed_f1"] >= 0.9
    assert figures["noise_precision"] >= 0.95
