"""Tests of entity links between alerts."""

from __future__ import annotations

from appliance.correlate.alerts import normalize_alert
from appliance.correlate.linking import DisjointSet, Linker
from tests.fakes.xdr_alerts import xdr_alert

GAP_MS = 30 * 60_000


def _links(*raws: dict[str, object]) -> list[tuple[int, int, str]]:
    linker = Linker(gap_ms=GAP_MS, weak_gap_ms=10 * 60_000)
    found = []
    for i, raw in enumerate(raws):
        found += [
            (x.earlier, x.later, x.kind) for x in linker.add(i, normalize_alert(raw))
        ]
    return found


def test_same_host_user_and_parent_within_the_gap_link() -> None:
    links = _links(xdr_alert(0), xdr_alert(20), xdr_alert(45))

    assert (0, 1, "chain") in links
    assert (1, 2, "chain") in links


def test_alerts_further_apart_than_the_gap_do_not_link() -> None:
    assert not [x for x in _links(xdr_alert(0), xdr_alert(31)) if x[2] == "chain"]


def test_a_different_parent_gives_only_a_weak_session_link() -> None:
    links = _links(
        xdr_alert(0), xdr_alert(5, causality_actor_process_image_name="wmiprvse.exe")
    )

    assert [kind for *_, kind in links] == ["session"]


def test_identity_alerts_link_on_account_and_source_ip() -> None:
    cloud = {"host_name": None, "user_name": "bob@corp.example"}
    links = _links(
        xdr_alert(0, action_remote_ip="198.51.100.7", **cloud),
        xdr_alert(9, action_remote_ip="198.51.100.7", **cloud),
        xdr_alert(12, action_remote_ip="203.0.113.1", **cloud),
    )

    assert links == [(0, 1, "identity")]


def test_a_command_line_naming_another_host_links_across_hosts() -> None:
    target = xdr_alert(0, host_name="ws-02", host_ip="10.0.0.2", user_name="CORP\\bob")
    pivot = xdr_alert(5, action_process_image_command_line="psexec \\\\ws-02 -u bob")
    landing = xdr_alert(
        9,
        host_name="ws-02",
        host_ip="10.0.0.2",
        causality_actor_process_image_name="PSEXESVC.exe",
    )

    links = _links(target, pivot, landing)

    assert (1, 2, "lateral") in links


def test_disjoint_set_unions_and_finds() -> None:
    sets = DisjointSet()
    for _ in range(4):
        sets.add()
    sets.union(0, 1)
    sets.union(2, 3)

    assert sets.find(1) == sets.find(0)
    assert sets.find(0) != sets.find(3)
