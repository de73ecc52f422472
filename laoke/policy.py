"""Per-dealership settings: every service's numbers have defaults, and any dealership may
override any of them (`LAOKE_<SERVICE>_DEALERSHIPS='{"bj-4s": {"field": value}}'`)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, Field, model_validator


class DealershipOverrides(BaseModel):
    """Mix into a service's settings class that also inherits its `Policy` model; set
    `policy_class` to that model. A bad override fails at start-up, not mid-stream."""

    policy_class: ClassVar[type[BaseModel]]

    dealerships: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-dealership overrides of any policy field."
    )

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> Self:
        for dealership_id in self.dealerships:
            self.resolved_policy(dealership_id)
        return self

    def resolved_policy(self, dealership_id: str) -> Any:
        """The defaults with `dealership_id`'s overrides applied, as a `policy_class`."""
        base = self.model_dump(include=set(self.policy_class.model_fields))
        return self.policy_class.model_validate(base | self.dealerships.get(dealership_id, {}))
