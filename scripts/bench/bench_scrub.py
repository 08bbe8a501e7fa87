"""Benchmark the scrubber against bare presidio-analyzer on the XDR fixture alerts.

Reports throughput (KB/s, alerts/s) of the appliance's field-by-field scrub and of
Presidio's default recognizers over the same alerts as JSON text, and the recall per
entity type on alerts with planted personal data (the leak suite's set). Presidio's
default NLP model (en_core_web_lg) cannot be downloaded offline, so the baseline
uses the same en_core_web_sm pipeline with Presidio's default recognizers.

    .venv/bin/python scripts/bench/bench_scrub.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from harness import Bench  # noqa: E402
from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402

from appliance.privacy.scrubber import Scrubber  # noqa: E402
from tests.privacy.test_leak import PLANTED, SECRETS, planted_alerts  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "xdr"
TYPES = {
    "host": "HOST_NAME",
    "user": "USER_NAME",
    "domain_user": "USER_NAME",
    "path_user": "USER_NAME",
    "unix_user": "USER_NAME",
    "upn": "USER_NAME",
    "internal_ip": "INTERNAL_IP",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "person": "PERSON",
    "cmd_person": "PERSON",
    "card": "CREDIT_CARD",
    "national_id": "NATIONAL_ID",
}


def fixture_alerts() -> list[dict[str, object]]:
    """Return every alert object of the fixture replies."""
    alerts = []
    for name in [
        "get_extra_data_all_alerts.json",
        "get_multiple_incidents_extra_data.json",
    ]:
        reply = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["reply"]
        for incident in reply.get("incidents", [reply]):
            alerts += incident["alerts"]["data"]
    return alerts


def recall(found: dict[str, list[bool]]) -> dict[str, float]:
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(found.items())}


def main() -> None:
    bench = Bench("scrub")
    scrubber = Scrubber.create()
    bare = AnalyzerEngine(
        nlp_engine=NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [
                    {"lang_code": "en", "model_name": scrubber.policy.nlp_model}
                ],
            }
        ).create_engine()
    )
    alerts = fixture_alerts() * 3
    texts = [json.dumps(a) for a in alerts]
    kb = sum(len(t.encode()) for t in texts) / 1024
    bench.record("alerts", len(alerts))
    bench.record("kb", round(kb, 1))

    def ours() -> None:
        for alert in alerts:
            scrubber.scrub(alert, scrubber.new_vault())

    def presidio() -> None:
        for text in texts:
            bare.analyze(text, language="en")

    for label, func in [("appliance", ours), ("presidio_default", presidio)]:
        stats = bench.measure(
            label, func, repeats=3, units=len(alerts), unit_name="alerts"
        )
        stats["kb_per_s"] = round(kb / stats["median_s"], 1)

    planted = planted_alerts()
    ours_found: dict[str, list[bool]] = {}
    bare_found: dict[str, list[bool]] = {}
    for alert in planted:
        out = json.dumps(scrubber.scrub(alert, scrubber.new_vault()).data)
        text = json.dumps(alert)
        spans = [(r.start, r.end) for r in bare.analyze(text, language="en")]
        values = {
            **{k: (TYPES[k], v) for k, v in PLANTED.items()},
            **{k: ("SECRET", v) for k, v in SECRETS.items()},
        }
        for key, (etype, value) in values.items():
            needle = json.dumps(value)[1:-1]
            if key == "domain_user":
                needle = "lpetrova"
            ours_found.setdefault(etype, []).append(needle not in out)
            hits = []
            start = text.find(needle)
            while start >= 0:
                end = start + len(needle)
                hits.append(any(s <= start and end <= e for s, e in spans))
                start = text.find(needle, end)
            bare_found.setdefault(etype, []).append(bool(hits) and all(hits))
    bench.record("recall_appliance", recall(ours_found))
    bench.record("recall_presidio_default", recall(bare_found))
    bench.report()


if __name__ == "__main__":
    main()
