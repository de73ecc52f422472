"""The fault suite's inputs exercise identity (fault_inputs.py): for the fixed seed 8 and
seed 1 they hold cars sold on and wrong merges split by ops. Quick and not marked `fault`:
it builds the inputs only, runs nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fault_inputs import build_inputs

from laoke.sim.truth import USED_CARS

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("seed", [8, 1])
def test_the_fault_inputs_hold_cars_sold_on_and_splits(seed: int) -> None:
    bought: set[str] = set()
    resold: list[str] = []
    splits = 0
    for item in build_inputs(seed, T0):
        if item.kind != "good":
            continue
        body = json.loads(item.data)
        if body["event_type"] == "VehiclePurchased":
            if body["source"] == USED_CARS and body["vin"] in bought:
                resold.append(body["vin"])  # a car bought before, sold on to someone new
            bought.add(body["vin"])
        elif body["event_type"] == "CustomerSplitRequested":
            splits += 1
    assert resold, f"seed {seed}: no car sold on (VehiclePurchased of a VIN bought before)"
    assert splits, f"seed {seed}: no CustomerSplitRequested"
