"""A period's bounds: a `to` so early that no default period can end there is a 422 with a
message, not a 500 (found by tests/fuzz/test_fuzz_read_api.py)."""

from __future__ import annotations

from projections_helpers import DEALERSHIP, Rig


async def test_a_to_in_the_first_days_of_year_one_is_refused_with_a_message(rig: Rig) -> None:
    error = await rig.get(
        "/v1/metrics/satisfaction", expect=422, dealership_id=DEALERSHIP, to="0001-01-01T00:00:00Z"
    )
    assert error["field"] == "to" and "too early" in error["message"]
