"""What to simulate: how many dealerships, customers and months, from which seed, when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from events.fields import DealershipId
from laoke.sim.rates import SimRates

CHINA = timezone(timedelta(hours=8), "CST")
DEFAULT_START = datetime(2026, 1, 1, tzinfo=CHINA)


class SimConfig(BaseModel):
    """A simulation's size and seed. `customers` is per dealership."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dealerships: int = Field(1, ge=1, le=1000)
    customers: int = Field(500, ge=1, le=10_000_000)
    months: int = Field(12, ge=1, le=120)
    seed: int = 7
    start: AwareDatetime | None = Field(
        None, description="First day of the window; default 2026-01-01 (moved back if late)."
    )
    dealership_ids: list[DealershipId] | None = Field(
        None, description="Explicit ids; default sim-01, sim-02, ..."
    )
    rates: SimRates = Field(default_factory=SimRates)

    @model_validator(mode="after")
    def _ids_match_count(self) -> SimConfig:
        if self.dealership_ids is not None and len(self.dealership_ids) != self.dealerships:
            raise ValueError("dealership_ids must list `dealerships` ids")
        return self

    def ids(self) -> list[str]:
        if self.dealership_ids is not None:
            return list(self.dealership_ids)
        return [f"sim-{n:02d}" for n in range(1, self.dealerships + 1)]


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def window(config: SimConfig, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the simulated activity; the end is never after `now`.

    An explicit `start` is kept (and refused if the window would end after `now`); the
    default start, 2026-01-01, moves back so that the window ends on the first day of
    `now`'s month. The generator never reads the wall clock: `now` is passed in.
    """
    if config.start is not None:
        start = config.start.astimezone(CHINA)
        end = add_months(start, config.months)
        if now is not None and end > now:
            raise ValueError(f"the window ends {end.isoformat()}, after now ({now.isoformat()})")
        return start, end
    start = DEFAULT_START
    end = add_months(start, config.months)
    if now is not None and end > now:
        local = now.astimezone(CHINA)
        end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = add_months(end, -config.months)
    return start, end
