"""Tests of tactic ordering."""

from __future__ import annotations

from appliance.correlate.attack import progression, tactic_path, tactic_positions


def test_tactic_positions_read_xdr_strings_and_names() -> None:
    assert tactic_positions(["TA0001 - Initial Access", "Impact", "nonsense"]) == (
        2,
        13,
    )
    assert tactic_positions(["TA0112 - Defense Impairment"]) == (6,)


def test_tactic_path_drops_repeats() -> None:
    path = tactic_path([(2,), (3,), (3,), (9,)])

    assert path == ["Initial Access", "Execution", "Lateral Movement"]


def test_progression_rewards_a_forward_chain() -> None:
    assert progression([(2,), (3,), (9,)]) == 1.0
    assert progression([(9,), (2,), (13,), (3,)]) < 0.7
