"""Per-dealership settings: every service's numbers have defaults, and any dealership may
override any of them (`LAOKE_<SERVICE>_DEALERSHIPS='{"bj-4s": {"field": value}}'`). A
nested setting is overridden key by key (`{"opening_hours": {"sun": null}}` closes Sundays
and keeps the other days as they are)."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from pydantic import BaseModel, Field, PrivateAttr, model_validator

P = TypeVar("P", bound=BaseModel)


class DealershipOverrides(BaseModel, Generic[P]):
    """Mix into a service's settings class that also inherits its `Policy` model, as
    `class XSettings(Policy, DealershipOverrides[Policy], BaseSettings)`; `policy(id)` is
    then that dealership's `Policy`. A bad override fails at start-up, not mid-stream."""

    policy_class: ClassVar[type[BaseModel]]  # P, found at subclassing

    dealerships: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-dealership overrides of any policy field."
    )
    # Each dealership's policy, built once: services ask for it at every event, and the
    # settings are frozen (the validator below refuses a settings class that is not).
    _policies: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for base in cls.__mro__:
            generic = getattr(base, "__pydantic_generic_metadata__", None) or {}
            if generic.get("origin") is DealershipOverrides and generic.get("args"):
                cls.policy_class = generic["args"][0]
                return

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> Self:
        if not self.model_config.get("frozen"):
            raise TypeError(f"{type(self).__name__} must be frozen: its policies are kept")
        for dealership_id in self.dealerships:
            self.policy(dealership_id)
        return self

    def policy(self, dealership_id: str) -> P:
        """The defaults with `dealership_id`'s overrides applied. A group of settings (a
        nested model) is overridden key by key: a dealership that changes one of its values
        keeps the others."""
        # Through the model's slot of private values: `self._policies` goes through
        # pydantic's `__getattr__` (~3 µs, and services ask at every event).
        policies = cast(dict[str, Any], self.__pydantic_private__)["_policies"]
        found = policies.get(dealership_id)
        if found is None:
            base = self.model_dump(include=set(self.policy_class.model_fields))
            overridden = merged(base, self.dealerships.get(dealership_id, {}))
            found = policies[dealership_id] = self.policy_class.model_validate(overridden)
        return cast(P, found)


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` applied, nested objects key by key; any other value replaces."""
    result = dict(base)
    for key, value in override.items():
        below = result.get(key)
        both_objects = isinstance(below, dict) and isinstance(value, dict)
        result[key] = merged(below, value) if both_objects else value  # type: ignore[arg-type]
    return result
