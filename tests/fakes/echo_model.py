"""A hand-written model backend that answers by naming every token it was shown."""

from __future__ import annotations

import re

from appliance.privacy.prompt import ScrubbedPrompt

TOKEN = re.compile(r"\b[A-Z]+(?:_[A-Z]+)?_[0-9]+\b")


class EchoModel:
    """Takes only ScrubbedPrompt, like real backends; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[ScrubbedPrompt] = []

    def generate(self, prompt: ScrubbedPrompt) -> str:
        if not isinstance(prompt, ScrubbedPrompt):
            raise TypeError("backends accept only a ScrubbedPrompt")
        self.seen.append(prompt)
        text = "\n".join(m["content"] for m in prompt.as_openai())
        tokens = sorted(set(TOKEN.findall(text)))

        return "Summary: activity involved " + ", ".join(tokens) + "."
