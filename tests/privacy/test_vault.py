"""Property tests: exact round trips, consistent tokens within an incident only."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.privacy.scrubber import Scrubber
from appliance.privacy.vault import PseudonymVault

NAMES = st.sampled_from(
    ["jdoe", "Maria Garcia", "ACME\\bwayne", "ann@example.com", "10.0.0.7", "USER_3"]
)
FILLER = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
TEXTS = st.lists(st.one_of(NAMES, FILLER), max_size=8).map(" ".join)
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(text=TEXTS)
def test_round_trip_restores_exactly(reversible_scrubber: Scrubber, text: str) -> None:
    vault = reversible_scrubber.new_vault()

    scrubbed = reversible_scrubber.scrub(text, vault).data

    assert reversible_scrubber.restore(scrubbed, vault) == text


@FAST
@given(
    data=st.dictionaries(
        st.sampled_from(["user_name", "host_name", "description", "x"]),
        TEXTS,
        max_size=4,
    )
)
def test_round_trip_of_fields(
    reversible_scrubber: Scrubber, data: dict[str, str]
) -> None:
    vault = reversible_scrubber.new_vault()

    scrubbed = reversible_scrubber.scrub(data, vault).data

    assert {
        k: reversible_scrubber.restore(v, vault) for k, v in scrubbed.items()
    } == data


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=10))
def test_tokens_are_consistent_within_an_incident(values: list[str]) -> None:
    vault = PseudonymVault({"USER"})

    first = [vault.token_for("USER", v) for v in values]
    second = [vault.token_for("USER", v) for v in values]

    assert first == second
    assert len(set(first)) == len(set(values))
    assert [vault.value_of(t) for t in first] == values


@settings(max_examples=50, deadline=None)
@given(value=st.text(min_size=1, max_size=20))
def test_tokens_differ_across_incidents(value: str) -> None:
    tokens = {PseudonymVault({"USER"}).token_for("USER", value) for _ in range(20)}

    assert len(tokens) > 1


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.text(max_size=30), max_size=10))
def test_vault_survives_serialization(values: list[str]) -> None:
    vault = PseudonymVault({"USER", "HOST"})
    tokens = [vault.token_for("USER", v) for v in values]

    again = PseudonymVault.from_json(vault.to_json(), {"USER", "HOST"})

    assert [again.token_for("USER", v) for v in values] == tokens
    assert again.restore(" ".join(tokens)) == " ".join(values)


def test_unknown_tokens_stay() -> None:
    vault = PseudonymVault({"USER"}, base=500)
    vault.token_for("USER", "jdoe")

    assert vault.restore("USER_99999 and xUSER_1") == "USER_99999 and xUSER_1"
