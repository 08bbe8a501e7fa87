"""Benchmark the XQL validator and the hunt builder.

Validates every query of the shared reference corpus (92 real queries, from a few
lines to 29,000 characters) and builds every hunting template, and reports the
acceptance figure with the rates.

    .venv/bin/python scripts/bench/bench_xql.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench  # noqa: E402

from appliance.xql.hunts import TEMPLATES, build_hunt  # noqa: E402
from appliance.xql.validator import validate  # noqa: E402

CORPUS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "xql"
    / "xql_reference.jsonl"
)
PARAMS = {
    "name": "powershell.exe",
    "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "fragment": "-EncodedCommand",
    "user": "jdoe",
    "parent": "winword.exe",
    "child": "cmd.exe",
    "ip": "203.0.113.7",
    "domain": "evil.example.com",
    "path": "\\AppData\\Roaming\\",
    "key": "\\CurrentVersion\\Run",
    "host": "FIN-WS-042",
}


def main() -> None:
    """Measure validation of the corpus and building of every template."""
    queries = [
        json.loads(line)["xql_query"] for line in CORPUS.read_text().splitlines()
    ]
    characters = sum(len(q) for q in queries)
    bench = Bench("xql")
    accepted = sum(validate(q).valid for q in queries)
    bench.record("corpus_accepted", {"accepted": accepted, "total": len(queries)})
    bench.measure(
        "validate_corpus",
        lambda: [validate(q) for q in queries],
        units=len(queries),
        unit_name="queries",
    )
    bench.record("corpus_characters", characters)

    def build_all() -> None:
        for intent, template in TEMPLATES.items():
            names = template.required + template.optional
            build_hunt(intent, {n: PARAMS[n] for n in names})

    bench.measure(
        "build_every_template", build_all, units=len(TEMPLATES), unit_name="hunts"
    )
    bench.report()


if __name__ == "__main__":
    main()
