from __future__ import annotations

import pytest

from appliance.privacy.scrubber import Scrubber


@pytest.fixture(scope="session")
def scrubber() -> Scrubber:
    """One real scrubber (Presidio + spaCy en_core_web_sm) for the whole session."""
    return Scrubber.create()


@pytest.fixture(scope="session")
def reversible_scrubber() -> Scrubber:
    """A scrubber that pseudonymizes everything it finds, secrets included."""
    return Scrubber.create("SECRET=pseudonymize,PUBLIC_IP=pseudonymize")
