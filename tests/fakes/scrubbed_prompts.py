"""Build ScrubbedPrompts in tests without running the privacy scrubber.

Only the privacy scrubber may seal a prompt in the product. Tests of the model
runtime need prompts of known text, so this fake calls the private
``appliance.privacy.prompt._seal`` directly. Nothing but tests may do this.
"""

from __future__ import annotations

from appliance.privacy.prompt import ChatMessage, ScrubbedPrompt, _seal

SYSTEM = (
    "You are a security analyst in a SOC. You read Cortex XDR incidents and answer "
    "in JSON only, briefly and precisely."
)


def scrubbed_prompt(
    user: str,
    *,
    system: str = SYSTEM,
    vault_id: str | None = "vault-test",
    entities: dict[str, int] | None = None,
) -> ScrubbedPrompt:
    """Return a sealed prompt of one system and one user message."""
    messages = [ChatMessage("system", system), ChatMessage("user", user)]
    return _seal(messages, vault_id, entities or {"HOSTNAME": 1})
