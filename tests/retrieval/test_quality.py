"""Retrieval quality on past incidents built from the labelled alert stream.

For each incident, the index (which holds every other incident, scrubbed summary,
techniques, entities and resolution) must return, among the top five once the
incident's own campaign is set aside, one of the same campaign kind that shares a
technique family. The figure is printed; the bar is 90 %.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.retrieval.document import incident_text
from appliance.retrieval.embedder import Embedder
from appliance.retrieval.service import SimilarIncidents
from tests.retrieval.campaigns import load_incidents


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_top5_holds_same_kind_and_technique_family_in_90_percent(
    db: Database, settings: Settings, embedder: Embedder
) -> None:
    incidents = load_incidents()
    by_id = {i.incident_id: i for i in incidents}
    service = SimilarIncidents(db, settings, embedder)
    with db.session() as session:
        for incident in incidents:
            service.record_closed(
                session,
                {
                    "incident_id": incident.incident_id,
                    "closed_at": dt.datetime(2026, 3, 9, tzinfo=dt.UTC),
                    "summary": incident.summary,
                    "techniques": incident.techniques,
                    "entities": incident.entities,
                    "resolution": "resolved_true_positive",
                },
            )
    service.rebuild()

    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    queries = embedder.embed(
        [incident_text(i.summary, i.techniques, i.entities) for i in incidents]
    )
    for query, vector in zip(incidents, queries, strict=True):
        found = service.similar_to(
            vector, k=7, max_age_days=0, exclude_incident_id=query.incident_id
        )
        others = [by_id[f.incident_id] for f in found]
        top5 = [o for o in others if o.campaign_id != query.campaign_id][:5]
        ok = any(o.kind == query.kind and o.families & query.families for o in top5)
        totals[query.kind] += 1
        hits[query.kind] += ok

    share = sum(hits.values()) / len(incidents)
    print(
        f"\nretrieval quality: {share:.1%} of {len(incidents)} incidents; by kind: "
        + ", ".join(f"{k} {hits[k]}/{totals[k]}" for k in sorted(totals))
    )
    assert len(incidents) >= 200
    assert share >= 0.90
