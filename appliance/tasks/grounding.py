"""Check that a model's answer names only what the evidence holds.

The same extractor reads the evidence (as the model saw it, pseudonyms and all) and
the answer: pseudonym tokens (hosts, users, internal IPs), IP addresses, hashes,
domains, technique ids, alert ids and fact ids. A mention in the answer that the
evidence lacks is ungrounded. :func:`drop_ungrounded` removes the claims (list
items) that carry one and blanks the single fields that do, and says what it
dropped, so the caller can fill the gap from the deterministic result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
HASH = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})"
    r"(?![0-9A-Fa-f])"
)
TECHNIQUE = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
FACT = re.compile(r"\b(?:AL|TE|CX|SI)\d{1,3}\b")
ALERT_REF = re.compile(r"\balert(?:\s+id)?\s*#?\s*(\d{3,})\b", re.IGNORECASE)
# Two-letter country codes and the generic top-level domains seen in SOC work;
# a file name (``run.bat``) or a .NET type (``Net.WebClient``) is not a domain.
_GENERIC_TLDS = (
    "com|net|org|info|biz|io|co|xyz|top|online|site|club|app|dev|cloud|live|"
    "shop|store|tech|space|website|link|click|zip|mov|onion|local|corp|internal|"
    "lan|gov|edu|mil|int"
)
DOMAIN = re.compile(
    r"(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:" + _GENERIC_TLDS + r"|[a-z]{2})(?![\w-])",
    re.IGNORECASE,
)
_NOT_DOMAINS = frozenset({"e.g", "i.e", "a.m", "p.m"})


@dataclass(frozen=True)
class Mention:
    """One checkable thing named in a text: its kind and value (lower case)."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def mentions(text: str, token_pattern: re.Pattern[str] | None) -> set[Mention]:
    """Return the hosts, users, IPs, hashes, domains, techniques and ids in ``text``."""
    found: set[Mention] = set()
    if token_pattern is not None:
        found |= {Mention("pseudonym", m.lower()) for m in token_pattern.findall(text)}
    found |= {Mention("ip", m) for m in IPV4.findall(text)}
    found |= {Mention("hash", m.lower()) for m in HASH.findall(text)}
    found |= {Mention("technique", m.upper()) for m in TECHNIQUE.findall(text)}
    found |= {Mention("fact", m.upper()) for m in FACT.findall(text)}
    found |= {Mention("alert", m) for m in ALERT_REF.findall(text)}
    for match in DOMAIN.finditer(text):
        value = match[0].lower().rstrip(".")
        if value not in _NOT_DOMAINS and not IPV4.fullmatch(value):
            found.add(Mention("domain", value))

    return found


@dataclass
class Grounding:
    """What the evidence names; checks answers against it."""

    allowed: frozenset[Mention]
    token_pattern: re.Pattern[str] | None = None

    @classmethod
    def from_evidence(
        cls,
        evidence: Any,
        token_pattern: re.Pattern[str] | None,
        *,
        alert_ids: Iterable[str] = (),
        extra: Iterable[str] = (),
    ) -> Grounding:
        """Build the check from the evidence the model saw (any JSON value).

        ``extra`` holds trusted text the answer may also repeat (the action
        catalogue, the appliance's own instructions).
        """
        text = json.dumps(evidence, ensure_ascii=False) + "\n" + "\n".join(extra)
        allowed = mentions(text, token_pattern)
        allowed |= {Mention("alert", str(a)) for a in alert_ids}
        # A domain of the evidence allows its sub-parts named on their own.
        for item in list(allowed):
            if item.kind == "domain":
                labels = item.value.split(".")
                for start in range(1, len(labels) - 1):
                    allowed.add(Mention("domain", ".".join(labels[start:])))

        return cls(frozenset(allowed), token_pattern)

    def ungrounded(self, text: str) -> list[Mention]:
        """Return the mentions in ``text`` that the evidence does not hold."""
        return sorted(
            mentions(text, self.token_pattern) - self.allowed,
            key=lambda m: (m.kind, m.value),
        )

    def check(self, answer: Any) -> list[Mention]:
        """Return every ungrounded mention anywhere in a JSON answer."""
        return self.ungrounded(json.dumps(answer, ensure_ascii=False))


@dataclass
class Dropped:
    """Claims removed from an answer because they named something not in evidence."""

    paths: list[str] = field(default_factory=list)
    mentions: set[Mention] = field(default_factory=set)

    def note(self) -> str | None:
        """Return the note shown with the result, or None when nothing was dropped."""
        if not self.paths:
            return None
        # The kinds, not the values: an invented value is not repeated anywhere.
        kinds = ", ".join(sorted({m.kind for m in self.mentions}))
        return (
            f"{len(self.paths)} model claim(s) dropped for naming a {kinds} the "
            f"evidence does not hold: {', '.join(self.paths)}"
        )


def drop_ungrounded(answer: Any, grounding: Grounding) -> tuple[Any, Dropped]:
    """Return ``answer`` without its ungrounded claims, and what was dropped.

    A list item that carries an ungrounded mention is removed; any other string
    that does is replaced by None (the caller fills it from deterministic text).
    """
    dropped = Dropped()

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            kept = []
            for index, item in enumerate(value):
                bad = grounding.check(item)
                if bad:
                    dropped.paths.append(f"{path}[{index}]")
                    dropped.mentions.update(bad)
                    continue
                kept.append(walk(item, f"{path}[{index}]"))
            return kept
        if isinstance(value, str):
            bad = grounding.ungrounded(value)
            if bad:
                dropped.paths.append(path)
                dropped.mentions.update(bad)
                return None
        return value

    return walk(answer, ""), dropped
