"""Following merges to the surviving customer (laoke/merges.py), the rule every service uses."""

from __future__ import annotations

from laoke.merges import survivor


def test_an_id_not_merged_stands_for_itself() -> None:
    assert survivor("a", {}.get) == "a"


def test_a_chain_of_merges_is_followed_to_its_end() -> None:
    assert survivor("a", {"a": "b", "b": "c"}.get) == "c"
    assert survivor("b", {"a": "b", "b": "c"}.get) == "c"


def test_a_cycle_stops_instead_of_looping() -> None:
    assert survivor("a", {"a": "b", "b": "a"}.get) == "a"
