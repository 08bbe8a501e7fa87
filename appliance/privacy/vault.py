"""The pseudonym vault of one incident: which token stands for which value.

Within an incident the same value always gets the same token (``USER_1``), so the
model can reason about who did what; tokens are numbered from a random start per
vault, so the same person gets unrelated tokens in two incidents. The vault restores
tokens in the model's output. It lives in memory while a job runs and is stored
encrypted by :mod:`appliance.privacy.vault_store`.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

# Tokens of one vault are numbered from a random base in this range; two vaults
# give one value the same token with a chance of about one in ten thousand.
BASE_RANGE = (1, 9_000)
FORMAT_VERSION = 1


def token_regex(prefixes: Iterable[str]) -> re.Pattern[str]:
    """Return the regular expression of every token with one of ``prefixes``.

    No word boundary on the left: a token glued to text (``xUSER_1``) is still found.
    The digits are taken whole, so ``USER_1`` never matches inside ``USER_12``.
    """
    alternatives = "|".join(re.escape(p) for p in sorted(set(prefixes), key=len)[::-1])

    return re.compile(r"(?:" + alternatives + r")_[0-9]+(?![0-9])")


class PseudonymVault:
    """Tokens and the values they stand for, for one incident."""

    def __init__(
        self,
        prefixes: Iterable[str],
        *,
        vault_id: str | None = None,
        incident_id: str | None = None,
        base: int | None = None,
    ) -> None:
        self.vault_id = vault_id or str(uuid.uuid4())
        self.incident_id = incident_id
        self.base = (
            base
            if base is not None
            else secrets.randbelow(BASE_RANGE[1] - BASE_RANGE[0]) + BASE_RANGE[0]
        )
        self.prefixes = frozenset(prefixes)
        self.pattern = token_regex(self.prefixes)
        self._tokens: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._known: tuple[int, re.Pattern[str] | None] = (-1, None)
        self.changed = False

    def __len__(self) -> int:
        return len(self._values)

    def token_for(self, prefix: str, value: str) -> str:
        """Return the token of ``value``, allocating the next one the first time."""
        key = (prefix, value)
        token = self._tokens.get(key)
        if token is None:
            number = self.base + self._counts.get(prefix, 0)
            self._counts[prefix] = self._counts.get(prefix, 0) + 1
            token = f"{prefix}_{number}"
            self._tokens[key] = token
            self._values[token] = value
            self.changed = True

        return token

    def value_of(self, token: str) -> str | None:
        """Return the value ``token`` stands for, or None for an unknown token."""
        return self._values.get(token)

    def known_values(self) -> list[tuple[str, str]]:
        """Return ``(prefix, value)`` of every pseudonymized value."""
        return list(self._tokens)

    def prefix_of(self, value: str) -> str | None:
        """Return the prefix under which ``value`` was first pseudonymized."""
        return next((p for p, v in self._tokens if v == value), None)

    def known_pattern(self) -> re.Pattern[str] | None:
        """Return a pattern of the known values worth searching for, or None.

        Values shorter than three characters or purely numeric are left out: they
        would match everywhere. Matches stop at letters and digits, so ``jdoe``
        is not found inside ``jdoe2``.
        """
        size, pattern = self._known
        if size == len(self._tokens):
            return pattern
        values = sorted(
            {v for _, v in self._tokens if len(v.strip()) >= 3 and not v.isdigit()},
            key=len,
            reverse=True,
        )
        pattern = None
        if values:
            pattern = re.compile(
                r"(?<![A-Za-z0-9])(?:"
                + "|".join(re.escape(v) for v in values)
                + r")(?![A-Za-z0-9])"
            )
        self._known = (len(self._tokens), pattern)

        return pattern

    def restore(self, text: str) -> str:
        """Replace every token of this vault in ``text`` with its value.

        Tokens the vault does not know (the model invented ``USER_999``) stay.
        """
        return self.pattern.sub(lambda m: self._values.get(m[0], m[0]), text)

    def to_json(self) -> bytes:
        """Serialize the vault (plain text: encrypt before storing)."""
        data: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "vault_id": self.vault_id,
            "incident_id": self.incident_id,
            "base": self.base,
            "entries": [[p, v, t] for (p, v), t in self._tokens.items()],
            "counts": self._counts,
        }

        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes, prefixes: Iterable[str]) -> PseudonymVault:
        """Rebuild a vault serialized by :meth:`to_json`."""
        data = json.loads(raw)
        if data.get("v") != FORMAT_VERSION:
            raise ValueError("unknown pseudonym vault format")
        vault = cls(
            set(prefixes) | {p for p, _, _ in data["entries"]},
            vault_id=data["vault_id"],
            incident_id=data["incident_id"],
            base=data["base"],
        )
        for prefix, value, token in data["entries"]:
            vault._tokens[(prefix, value)] = token
            vault._values[token] = value
        vault._counts = {k: int(v) for k, v in data["counts"].items()}

        return vault
