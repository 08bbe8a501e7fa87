"""Scrub personal data from incidents and build the prompts the model may see.

Structured XDR fields are scrubbed by what they are (``user_name`` is a user,
``host_ip`` an address); recognizers run on the rest, and NER only on free text and
command lines. Every replaced value gets a token from the incident's
:class:`~appliance.privacy.vault.PseudonymVault`, so the model's answer can be
restored. :func:`build_prompt` is the one way to make a
:class:`~appliance.privacy.prompt.ScrubbedPrompt`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from appliance.errors import ValidationFailed
from appliance.privacy.analyzer import Analyzers, build_analyzers
from appliance.privacy.policy import Action, FieldKind, ScrubPolicy, load_policy
from appliance.privacy.prompt import ChatMessage, ScrubbedPrompt, _seal
from appliance.privacy.vault import PseudonymVault

logger = logging.getLogger(__name__)

MAX_DEPTH = 32
MAX_CHARS = 1_000_000
REDACTED = "[REDACTED]"
SCORE_THRESHOLD = 0.4
_ASCII_DIGITS = "0123456789"
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Not in a person's name: path and command-line punctuation, digits.
_NOT_A_NAME = re.compile(r"[\\/_=@:;|<>{}\[\]()0-9$%*#]|\.\w{2,4}\b")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Order matters when spans overlap: a literal token or a known value wins, then a
# secret (so a password is never hidden inside a longer, restorable token).
_PRIORITY = {"literal": 3, "known": 2, "field": 2, "recognizer": 1}


class ScrubInputError(ValidationFailed):
    """The input cannot be scrubbed safely: too large, too deep or not text."""

    code = "scrub_input_invalid"


@dataclass(frozen=True)
class Finding:
    """One entity found and what was done with it (never the value itself)."""

    entity_type: str
    action: Action
    replacement: str
    start: int
    end: int
    field: str | None = None
    score: float = 1.0


@dataclass(frozen=True)
class _Span:
    """A candidate entity in one string."""

    start: int
    end: int
    entity_type: str
    prefix: str
    action: Action
    score: float
    source: str


@dataclass
class ScrubResult:
    """Scrubbed data and what was found in it."""

    data: Any
    findings: list[Finding] = field(default_factory=list)

    @property
    def entities(self) -> dict[str, int]:
        """Return the number of findings per entity type."""
        return dict(Counter(f.entity_type for f in self.findings))


def _ip_type(text: str) -> str | None:
    """Return INTERNAL_IP or PUBLIC_IP for an address, None if it is not one."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if address.is_global:
        return "PUBLIC_IP"

    return "INTERNAL_IP"


def _check_text(text: str) -> None:
    """Refuse text that cannot be processed safely."""
    if len(text) > MAX_CHARS:
        raise ScrubInputError(
            f"text of {len(text)} characters is over the limit of {MAX_CHARS}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ScrubInputError("text holds unpaired surrogates; send UTF-8") from None


class Scrubber:
    """Finds personal data and replaces it according to the policy."""

    def __init__(self, policy: ScrubPolicy, analyzers: Analyzers) -> None:
        self.policy = policy
        self.analyzers = analyzers
        self._prefix_types: dict[str, str] = {}
        for entity_type, prefix in policy.tokens.items():
            self._prefix_types.setdefault(prefix, entity_type)

    @classmethod
    def create(
        cls, policy_overrides: str | None = None, nlp_model: str | None = None
    ) -> Scrubber:
        """Build a scrubber from the packaged YAML (loads Presidio and spaCy)."""
        policy = load_policy(policy_overrides, nlp_model)

        return cls(policy, build_analyzers(policy))

    @property
    def ner_available(self) -> bool:
        """Whether person names in free text can be found (the NER model loaded)."""
        return self.analyzers.ner_available

    def new_vault(self, incident_id: str | None = None) -> PseudonymVault:
        """Return an empty vault using this policy's token prefixes."""
        return PseudonymVault(self._prefix_types, incident_id=incident_id)

    # --- spans ------------------------------------------------------------------

    def _span(
        self, start: int, end: int, entity_type: str, score: float, source: str
    ) -> _Span:
        action = self.policy.action(entity_type)
        if source == "literal":
            action = Action.PSEUDONYMIZE
        return _Span(
            start,
            end,
            entity_type,
            self.policy.token_prefix(entity_type),
            action,
            score,
            source,
        )

    def _literal_spans(self, text: str, vault: PseudonymVault) -> list[_Span]:
        """Find text shaped like a token, so restoring can never misread it."""
        return [
            self._span(
                m.start(),
                m.end(),
                self._prefix_types[m[0].rpartition("_")[0]],
                1.0,
                "literal",
            )
            for m in vault.pattern.finditer(text)
        ]

    def _known_spans(self, text: str, vault: PseudonymVault) -> list[_Span]:
        """Find values this incident already pseudonymized elsewhere."""
        pattern = vault.known_pattern()
        if pattern is None:
            return []
        spans = []
        for match in pattern.finditer(text):
            prefix = vault.prefix_of(match[0])
            entity_type = self._prefix_types.get(prefix or "", "")
            if entity_type:
                spans.append(
                    self._span(match.start(), match.end(), entity_type, 1.0, "known")
                )

        return spans

    def _recognizer_spans(self, text: str, kind: FieldKind) -> list[_Span]:
        """Run Presidio; NER only on free text and command lines."""
        use_ner = kind in (FieldKind.FREE_TEXT, FieldKind.COMMAND_LINE)
        engine = self.analyzers.ner if use_ner else self.analyzers.patterns
        spans = []
        for result in engine.analyze(
            text, language="en", score_threshold=SCORE_THRESHOLD
        ):
            entity_type = result.entity_type
            value = text[result.start : result.end]
            if entity_type == "IP_ADDRESS":
                entity_type = _ip_type(value) or ""
            elif entity_type == "PERSON" and (
                result.score < self.policy.nlp_min_score
                or _NOT_A_NAME.search(value)
                or value.islower()
                or len(value.strip()) < 3
                # On a command line one capitalized word is usually a switch value.
                or (kind is FieldKind.COMMAND_LINE and " " not in value.strip())
            ):
                continue
            if not entity_type or self.policy.is_kept_value(value):
                continue
            spans.append(
                self._span(
                    result.start, result.end, entity_type, result.score, "recognizer"
                )
            )

        return spans

    def _field_spans(self, text: str, kind: FieldKind) -> list[_Span] | None:
        """Scrub a field whose kind says what it is; None: scan it instead."""
        value = text.strip()
        if not value or self.policy.is_kept_value(value):
            return []
        start = text.index(value)
        end = start + len(value)
        if kind is FieldKind.IP:
            ip_type = _ip_type(value)
            if ip_type is None:
                return None
            return [self._span(start, end, ip_type, 1.0, "field")]
        if kind is FieldKind.HOST:
            return [self._span(start, end, "HOST_NAME", 1.0, "field")]
        if kind is FieldKind.USER and "\\" in value:
            domain, _, user = value.rpartition("\\")
            if self.policy.is_kept_value(user) or self.policy.is_kept_value(value):
                return []
            return [self._span(end - len(user), end, "USER_NAME", 1.0, "field")]
        if kind is FieldKind.USER and "@" not in value:
            return [self._span(start, end, "USER_NAME", 1.0, "field")]

        return None

    @staticmethod
    def _resolve(text: str, spans: list[_Span]) -> list[_Span]:
        """Keep the best non-overlapping spans that change the text, in order."""
        acting = []
        for span in spans:
            if span.action is Action.KEEP:
                continue
            end = span.end
            # A token followed by a digit would read as another token.
            while end < len(text) and text[end] in _ASCII_DIGITS:
                end += 1
            acting.append(
                _Span(
                    span.start,
                    end,
                    span.entity_type,
                    span.prefix,
                    span.action,
                    span.score,
                    span.source,
                )
            )
        acting.sort(
            key=lambda s: (
                -_PRIORITY[s.source],
                s.entity_type != "SECRET",
                -(s.end - s.start),
                -s.score,
                s.start,
            )
        )
        taken: list[_Span] = []
        for span in acting:
            if all(span.end <= t.start or span.start >= t.end for t in taken):
                taken.append(span)

        return sorted(taken, key=lambda s: s.start)

    # --- text and documents -------------------------------------------------------

    def scrub_text(
        self,
        text: str,
        vault: PseudonymVault,
        *,
        kind: FieldKind = FieldKind.FREE_TEXT,
        field_name: str | None = None,
        findings: list[Finding] | None = None,
    ) -> str:
        """Return ``text`` with its entities replaced; record what was found."""
        _check_text(text)
        if not text.strip():
            return text
        spans = self._literal_spans(text, vault)
        field_spans = None
        if kind in (FieldKind.IP, FieldKind.HOST, FieldKind.USER, FieldKind.EMAIL):
            field_spans = self._field_spans(text, kind)
        if field_spans is not None:
            spans += field_spans
        else:
            spans += self._known_spans(text, vault)
            spans += self._recognizer_spans(text, kind)
        parts = []
        position = 0
        for span in self._resolve(text, spans):
            value = text[span.start : span.end]
            if span.action is Action.PSEUDONYMIZE:
                replacement = vault.token_for(span.prefix, value)
            else:
                replacement = REDACTED
            parts += [text[position : span.start], replacement]
            position = span.end
            if findings is not None:
                findings.append(
                    Finding(
                        span.entity_type,
                        span.action,
                        replacement,
                        span.start,
                        span.end,
                        field_name,
                        round(span.score, 2),
                    )
                )
        parts.append(text[position:])

        return "".join(parts)

    def _walk(
        self,
        data: Any,
        vault: PseudonymVault,
        findings: list[Finding] | None,
        name: str | None,
        depth: int,
        only: frozenset[FieldKind] | None,
    ) -> Any:
        """Scrub a JSON value field by field; ``only`` limits the kinds handled."""
        if depth > MAX_DEPTH:
            raise ScrubInputError(f"data is nested deeper than {MAX_DEPTH} levels")
        if isinstance(data, Mapping):
            out = {}
            for key, value in data.items():
                if not isinstance(key, str):
                    raise ScrubInputError("object keys must be strings")
                if _FIELD_NAME.match(key) or only is not None:
                    safe_key = key
                else:
                    safe_key = self.scrub_text(
                        key, vault, kind=FieldKind.OTHER, findings=findings
                    )
                out[safe_key] = self._walk(value, vault, findings, key, depth + 1, only)
            return out
        if isinstance(data, list | tuple):
            return [self._walk(v, vault, findings, name, depth + 1, only) for v in data]
        if isinstance(data, str):
            kind = self.policy.field_kind(name) if name else FieldKind.FREE_TEXT
            if kind is FieldKind.KEEP or (only is not None and kind not in only):
                return data
            return self.scrub_text(
                data, vault, kind=kind, field_name=name, findings=findings
            )
        if data is None or isinstance(data, bool | int | float):
            return data
        raise ScrubInputError(f"cannot scrub a value of type {type(data).__name__}")

    def scrub(self, data: Any, vault: PseudonymVault) -> ScrubResult:
        """Scrub text, an alert, an incident or any JSON value.

        Structured fields go first, so a host name from ``host_name`` is also
        replaced where it appears in a description.

        Raises:
            ScrubInputError: the data is too large, too deep or not JSON.
        """
        if isinstance(data, str):
            findings: list[Finding] = []
            return ScrubResult(
                self.scrub_text(data, vault, findings=findings), findings
            )
        structured = frozenset(
            {FieldKind.USER, FieldKind.HOST, FieldKind.IP, FieldKind.EMAIL}
        )
        self._walk(data, vault, None, None, 0, structured)
        findings = []
        scrubbed = self._walk(data, vault, findings, None, 0, None)

        return ScrubResult(scrubbed, findings)

    def restore(self, text: str, vault: PseudonymVault) -> str:
        """Put the real values back in the model's output."""
        return vault.restore(text)


def build_prompt(
    scrubber: Scrubber,
    vault: PseudonymVault,
    messages: Sequence[tuple[str, str]],
    data: Mapping[str, Any],
) -> ScrubbedPrompt:
    """Build the prompt the model sees: trusted templates filled with scrubbed data.

    Args:
        scrubber: the scrubber that replaces personal data.
        vault: the incident's vault; the prompt refers to it for restoring.
        messages: ``(role, template)`` pairs; ``{{ name }}`` marks where ``data``
            goes. Templates are the appliance's own text and are not scrubbed.
        data: values by placeholder name: text, alerts, incidents, any JSON.

    Raises:
        ScrubInputError: a template names a placeholder that ``data`` lacks, or the
            data cannot be scrubbed.
    """
    rendered: dict[str, str] = {}
    entities: Counter[str] = Counter()
    for name, value in data.items():
        result = scrubber.scrub(value, vault)
        entities.update(result.entities)
        rendered[name] = (
            result.data
            if isinstance(result.data, str)
            else json.dumps(result.data, ensure_ascii=False, indent=1)
        )

    def fill(match: re.Match[str]) -> str:
        if match[1] not in rendered:
            raise ScrubInputError(f"prompt template needs {match[1]!r}, not given")
        return rendered[match[1]]

    chat = [
        ChatMessage(role, _PLACEHOLDER.sub(fill, template))
        for role, template in messages
    ]
    logger.debug(
        "prompt built",
        extra={"vault_id": vault.vault_id, "entities": dict(entities)},
    )

    return _seal(chat, vault.vault_id, dict(entities))
