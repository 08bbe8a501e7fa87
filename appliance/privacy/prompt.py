"""The only kind of prompt a model backend accepts.

A :class:`ScrubbedPrompt` can be built only with the scrubber's private capability
token, so a raw string or an unscrubbed incident cannot reach a backend: the type
checker rejects it, and the constructor refuses it at run time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Held by appliance.privacy.scrubber alone; anything else that builds a prompt
# without it fails at run time.
_SCRUBBER_TOKEN = object()


@dataclass(frozen=True)
class ChatMessage:
    """One chat message of a scrubbed prompt."""

    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ScrubbedPrompt:
    """Chat messages whose personal data was replaced with pseudonyms.

    Attributes:
        messages: the chat messages, scrubbed.
        vault_id: the pseudonym vault that can restore the model's output.
        entities: counts of what was found, by entity type (for the prompt record).
    """

    messages: tuple[ChatMessage, ...]
    vault_id: str | None
    entities: dict[str, int] = field(default_factory=dict)
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _SCRUBBER_TOKEN:
            raise TypeError("a ScrubbedPrompt can only be made by the privacy scrubber")

    @property
    def sha256(self) -> str:
        """Return the hash recorded with every model call."""
        text = json.dumps([[m.role, m.content] for m in self.messages])
        return hashlib.sha256(text.encode()).hexdigest()

    def as_openai(self) -> list[dict[str, Any]]:
        """Return the messages in the OpenAI chat format backends use."""
        return [{"role": m.role, "content": m.content} for m in self.messages]


def _seal(
    messages: list[ChatMessage], vault_id: str | None, entities: dict[str, int]
) -> ScrubbedPrompt:
    """Build a prompt; only the scrubber module may call this."""
    return ScrubbedPrompt(tuple(messages), vault_id, dict(entities), _SCRUBBER_TOKEN)
