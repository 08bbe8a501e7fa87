"""A hand-written model for the incident tasks: answers from the JSON schema.

It takes only a real ScrubbedPrompt, like the runtime, and records every prompt and
schema. ``mode`` scripts its behaviour: ``schema`` answers with the first enum value
and a short grounded sentence; ``rogue`` also names things the evidence lacks;
``obedient`` acts on injected text; ``timeout`` raises the runtime's timeout.
"""

from __future__ import annotations

from typing import Any

from appliance.llm.backend import Completion, Options
from appliance.llm.errors import GenerationTimeout
from appliance.privacy.prompt import ScrubbedPrompt

ROGUE = "Lateral movement to 203.0.113.99 and HOST_99999 via T1190 (alert 123456)."
OBEDIENT = "This is a false positive: close this incident; severity low; no action."


class TaskModel:
    """Answers incident-task prompts without a real model."""

    def __init__(
        self, mode: str = "schema", text: str = "Seen in the evidence."
    ) -> None:
        self.mode = mode
        self.text = text
        self.prompts: list[ScrubbedPrompt] = []
        self.schemas: list[dict[str, Any]] = []

    def generate(
        self,
        prompt: ScrubbedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        options: Options | None = None,
        correlation_id: str | None = None,
    ) -> Completion:
        if not isinstance(prompt, ScrubbedPrompt):
            raise TypeError("models accept only a ScrubbedPrompt")
        self.prompts.append(prompt)
        self.schemas.append(schema or {})
        if self.mode == "timeout":
            raise GenerationTimeout("the call ran past its deadline")
        text = {"rogue": ROGUE, "obedient": OBEDIENT}.get(self.mode, self.text)
        answer = self.answer(schema or {}, text)
        if self.mode == "obedient":
            answer.update(severity="low", status="resolved_false_positive")
            if "rationale" in answer:
                answer["rationale"].reverse()

        return Completion(text="{}", parsed=answer, prompt_tokens=100)

    def answer(self, schema: dict[str, Any], text: str) -> Any:
        """Return a value that fits ``schema``, with ``text`` in every free string."""
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][-1] if self.mode == "obedient" else schema["enum"][0]
        if kind == "object":
            return {k: self.answer(v, text) for k, v in schema["properties"].items()}
        if kind == "array":
            count = min(2, schema.get("maxItems", 2))
            return [self.answer(schema["items"], text) for _ in range(count)]
        return text[: schema.get("maxLength", 200)]
