"""What the scrubber does with each entity type, and how XDR fields are read.

The defaults come from ``conf/scrubber.yaml`` shipped in the package. An admin
overrides the action per entity type with ``APPLIANCE_SCRUB_POLICY``, for example
``HOST_NAME=keep,INTERNAL_IP=redact``.
"""

from __future__ import annotations

import enum
import importlib.util
from dataclasses import dataclass
from importlib import resources

import yaml

from appliance.errors import ConfigError


class Action(enum.StrEnum):
    """What happens to a found entity."""

    PSEUDONYMIZE = "pseudonymize"
    REDACT = "redact"
    KEEP = "keep"


class FieldKind(enum.StrEnum):
    """What an XDR field holds, which decides how it is scrubbed."""

    USER = "user"
    EMAIL = "email"
    HOST = "host"
    IP = "ip"
    FREE_TEXT = "free_text"
    COMMAND_LINE = "command_line"
    KEEP = "keep"
    OTHER = "other"


@dataclass(frozen=True)
class ScrubPolicy:
    """The scrubber's configuration: actions, token prefixes, fields, NLP model."""

    actions: dict[str, Action]
    tokens: dict[str, str]
    keep_values: frozenset[str]
    fields: dict[str, FieldKind]
    nlp_model: str
    nlp_entity_mapping: dict[str, str]
    nlp_min_score: float

    def action(self, entity_type: str) -> Action:
        """Return the action for ``entity_type``; unknown types are pseudonymized."""
        return self.actions.get(entity_type, Action.PSEUDONYMIZE)

    def token_prefix(self, entity_type: str) -> str:
        """Return the pseudonym prefix of ``entity_type`` (``USER`` for USER_NAME)."""
        return self.tokens.get(entity_type, "ENTITY")

    def field_kind(self, name: str) -> FieldKind:
        """Return what the XDR field ``name`` holds."""
        return self.fields.get(name, FieldKind.OTHER)

    def ner_model_installed(self) -> bool:
        """Whether the spaCy package for NER is installed (cheap: nothing loads)."""
        try:
            return importlib.util.find_spec(self.nlp_model) is not None
        except (ImportError, ValueError):
            return False

    def is_kept_value(self, value: str) -> bool:
        """Whether ``value`` is a built-in account or placeholder, not personal."""
        return value.strip().casefold() in self.keep_values


def _parse_overrides(text: str, known: set[str]) -> dict[str, Action]:
    """Parse ``TYPE=action,TYPE=action`` into actions.

    Raises:
        ConfigError: on an unknown entity type or action.
    """
    overrides: dict[str, Action] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        entity_type, _, action = item.partition("=")
        entity_type = entity_type.strip().upper()
        if entity_type not in known:
            raise ConfigError(
                f"unknown entity type {entity_type!r} in APPLIANCE_SCRUB_POLICY; "
                f"known: {', '.join(sorted(known))}"
            )
        try:
            overrides[entity_type] = Action(action.strip().lower())
        except ValueError:
            choices = ", ".join(a.value for a in Action)
            raise ConfigError(
                f"unknown action {action.strip()!r} for {entity_type} in "
                f"APPLIANCE_SCRUB_POLICY; choose one of {choices}"
            ) from None

    return overrides


def load_policy(
    overrides: str | None = None, nlp_model: str | None = None
) -> ScrubPolicy:
    """Build the policy from the packaged YAML and an admin's overrides.

    Args:
        overrides: ``TYPE=action`` pairs separated by commas (the setting's value).
        nlp_model: spaCy package name to use instead of the packaged default.

    Raises:
        ConfigError: the overrides name an unknown entity type or action.
    """
    text = resources.files("appliance.privacy").joinpath("conf/scrubber.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    actions = {k: Action(v) for k, v in data["policy"].items()}
    actions.update(_parse_overrides(overrides or "", set(actions)))
    fields: dict[str, FieldKind] = {}
    for kind, names in data["fields"].items():
        for name in names:
            fields[name] = FieldKind(kind)

    return ScrubPolicy(
        actions=actions,
        tokens=dict(data["tokens"]),
        keep_values=frozenset(v.casefold() for v in data["keep_values"]),
        fields=fields,
        nlp_model=nlp_model or data["nlp"]["model"],
        nlp_entity_mapping=dict(data["nlp"]["entity_mapping"]),
        nlp_min_score=float(data["nlp"]["min_score"]),
    )
