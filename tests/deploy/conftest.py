"""Shared knowledge of the deployment files: where they are, which settings exist."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.config import TEST_PREFIX, Settings

REPO = Path(__file__).resolve().parent.parent.parent
DEPLOY = REPO / "deploy"
SETTING_NAMES = {Settings.env_name(f.name) for f in Settings.declared()}
_APPLIANCE_VAR = re.compile(r"\bAPPLIANCE_[A-Z0-9_]+\b")


def undeclared_settings(text: str) -> set[str]:
    """Return the APPLIANCE_* names in ``text`` that are not declared settings."""
    names = set(_APPLIANCE_VAR.findall(text))

    return {n for n in names - SETTING_NAMES if not n.startswith(TEST_PREFIX)}
