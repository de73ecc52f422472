"""Partitions as pure rules: a stable hash, subjects to partitions, and the settings."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from laoke.partitions import (
    DEALER_IN_TOKEN,
    RETENTION_TOKEN,
    Partition,
    owned_partitions,
    partition_of,
)
from laoke.settings import LaokeSettings


def test_a_dealership_always_falls_in_the_same_partition() -> None:
    # Fixed by the algorithm (FNV-1a, 32 bit), not by this process's hash seed.
    assert partition_of("a", 1 << 32) == 0xE40C292C  # the published test vector for "a"
    assert partition_of("foobar", 1 << 32) == 0xBF9CF968


def test_dealerships_spread_over_the_partitions() -> None:
    spread = Counter(partition_of(f"store-{n}", 4) for n in range(4000))
    assert set(spread) == {0, 1, 2, 3}
    assert min(spread.values()) > 800


def test_a_partition_owns_the_subjects_of_its_dealerships_on_both_streams() -> None:
    dealer = "store-1"
    mine = Partition(partition_of(dealer, 2), 2)
    other = Partition(1 - mine.index, 2)
    assert mine.owns(f"retention.{dealer}.c1.CustomerVisited", RETENTION_TOKEN)
    assert mine.owns(f"dealer.in.{dealer}.CustomerVisited", DEALER_IN_TOKEN)
    assert not other.owns(f"retention.{dealer}.c1.CustomerVisited", RETENTION_TOKEN)
    assert not other.owns(f"dealer.in.{dealer}.CustomerVisited", DEALER_IN_TOKEN)


def test_a_subject_naming_no_dealership_goes_to_partition_zero_which_rejects_it() -> None:
    assert Partition(0, 2).owns("dealer.in", DEALER_IN_TOKEN)
    assert not Partition(1, 2).owns("dealer.in", DEALER_IN_TOKEN)


def test_unpartitioned_names_stay_as_they_were() -> None:
    whole = Partition(0, 1)
    assert (whole.durable("intake"), whole.store_name("intake")) == ("intake", "intake")
    assert Partition(3, 4).durable("intake") == "intake-p3"
    assert Partition(3, 4).store_name("intake") == "intake_p3"


def test_owned_partitions_come_from_a_comma_separated_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAOKE_PARTITIONS", "4")
    monkeypatch.setenv("LAOKE_PARTITIONS_OWNED", "3,1")
    assert owned_partitions(LaokeSettings()) == [Partition(1, 4), Partition(3, 4)]
    monkeypatch.delenv("LAOKE_PARTITIONS_OWNED")
    assert [p.index for p in owned_partitions(LaokeSettings())] == [0, 1, 2, 3]


def test_owning_a_partition_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"outside 0\.\.1"):
        LaokeSettings(partitions=2, partitions_owned=[2])
