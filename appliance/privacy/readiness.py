"""The scrubber's readiness check: is person-name detection (NER) available."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.errors import ConfigError
from appliance.privacy.policy import load_policy

if TYPE_CHECKING:
    # Imported when called: appliance.api.readiness lists this check in CHECKS.
    from appliance.api.readiness import Check


def check_scrubber(_db: Database, settings: Settings) -> Check:
    """Report degraded without the NER model (patterns only), failed on a bad policy.

    Only looks for the installed package; loading spaCy is the worker's job.
    """
    from appliance.api.readiness import Check

    try:
        policy = load_policy(settings.scrub_policy, settings.scrub_nlp_model)
    except ConfigError as exc:
        return Check("scrubber", "failed", exc.message)
    if not policy.ner_model_installed():
        return Check(
            "scrubber",
            "degraded",
            f"spaCy package {policy.nlp_model} is missing: pattern recognizers only, "
            "person names in free text are not scrubbed",
            {"ner": False},
        )

    return Check("scrubber", "ok", f"NER {policy.nlp_model}", {"ner": True})
