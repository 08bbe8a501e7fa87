"""ATT&CK tactics in kill-chain order, as correlation needs them.

The order is the Enterprise matrix's. ATT&CK v19 split Defense Evasion (TA0005, now
"Stealth") and added Defense Impairment (TA0112); both sit where Defense Evasion was.
XDR writes tactics as ``"TA0002 - Execution"``; names alone are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable

# (tactic id, name, position in the kill chain)
TACTICS: tuple[tuple[str, str, int], ...] = (
    ("TA0043", "Reconnaissance", 0),
    ("TA0042", "Resource Development", 1),
    ("TA0001", "Initial Access", 2),
    ("TA0002", "Execution", 3),
    ("TA0003", "Persistence", 4),
    ("TA0004", "Privilege Escalation", 5),
    ("TA0005", "Defense Evasion", 6),
    ("TA0112", "Defense Impairment", 6),
    ("TA0006", "Credential Access", 7),
    ("TA0007", "Discovery", 8),
    ("TA0008", "Lateral Movement", 9),
    ("TA0009", "Collection", 10),
    ("TA0011", "Command and Control", 11),
    ("TA0010", "Exfiltration", 12),
    ("TA0040", "Impact", 13),
)

_BY_KEY: dict[str, int] = {}
for _id, _name, _position in TACTICS:
    _BY_KEY[_id.casefold()] = _position
    _BY_KEY[_name.casefold()] = _position
_BY_KEY["stealth"] = 6
_BY_KEY["command and control"] = 11

POSITION_NAMES: dict[int, str] = {}
for _id, _name, _position in TACTICS:
    POSITION_NAMES.setdefault(_position, _name)


def tactic_positions(values: Iterable[str]) -> tuple[int, ...]:
    """Return the sorted kill-chain positions of XDR tactic strings (unknown: none)."""
    positions = set()
    for value in values:
        text = value.strip().casefold()
        head, _, tail = text.partition(" - ")
        for key in (head, tail, text):
            if key in _BY_KEY:
                positions.add(_BY_KEY[key])
                break

    return tuple(sorted(positions))


def tactic_path(tactic_sets: Iterable[tuple[int, ...]]) -> list[str]:
    """Return the kill-chain stages a time-ordered run of alerts walks through.

    Each alert contributes its earliest tactic; repeats in a row are dropped, so
    ``Execution, Execution, Lateral Movement`` reads ``Execution -> Lateral Movement``.
    """
    path: list[str] = []
    for tactics in tactic_sets:
        if not tactics:
            continue
        name = POSITION_NAMES[tactics[0]]
        if not path or path[-1] != name:
            path.append(name)

    return path


def progression(tactic_sets: Iterable[tuple[int, ...]]) -> float:
    """Return how well a time-ordered run follows the kill chain, from 0 to 1.

    The share of consecutive steps that stay or move forward; an attack chain mostly
    moves forward, unrelated alerts jump back and forth.
    """
    firsts = [t[0] for t in tactic_sets if t]
    if len(firsts) < 2:
        return 0.5
    forward = sum(1 for a, b in zip(firsts, firsts[1:], strict=False) if b >= a)

    return forward / (len(firsts) - 1)
