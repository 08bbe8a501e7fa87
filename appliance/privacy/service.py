"""The scrubber of this process and the incident vaults it works with.

Presidio and spaCy load once per process, on first use, and are shared by every
thread (the engines are read-only after loading). The worker is where they normally
load. ``POST /api/v1/scrub`` also loads them in a web process, on its first call,
because connectors need scrubbed text synchronously and a round trip through the job
queue would hold the request for seconds; other routes never touch them.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from appliance.config import Settings
from appliance.privacy.scrubber import Scrubber
from appliance.privacy.vault import PseudonymVault
from appliance.privacy.vault_store import load_vault, save_vault, vault_cipher

_lock = threading.Lock()
_scrubbers: dict[tuple[str | None, str], Scrubber] = {}


def scrubber_for(settings: Settings) -> Scrubber:
    """Return this process's scrubber for the settings' policy, loading it once."""
    key = (settings.scrub_policy, settings.scrub_nlp_model)
    with _lock:
        scrubber = _scrubbers.get(key)
        if scrubber is None:
            scrubber = Scrubber.create(settings.scrub_policy, settings.scrub_nlp_model)
            _scrubbers[key] = scrubber

    return scrubber


def incident_vault(
    session: Session, settings: Settings, scrubber: Scrubber, incident_id: str
) -> PseudonymVault:
    """Return the incident's stored vault, or a new empty one."""
    cipher = vault_cipher(settings)
    prefixes = set(scrubber.policy.tokens.values())
    vault = load_vault(session, cipher, incident_id, prefixes)

    return vault or scrubber.new_vault(incident_id)


def store_vault(session: Session, settings: Settings, vault: PseudonymVault) -> None:
    """Store the vault encrypted, if it gained tokens since it was loaded."""
    if vault.changed:
        save_vault(session, vault_cipher(settings), vault, settings)
