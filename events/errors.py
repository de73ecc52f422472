"""The one exception the contract code raises for bad input."""

from __future__ import annotations

# Every reason a message can be refused for; each is a valid NATS subject token, so
# intake can dead-letter to `dlq.intake.<reason>`.
REASONS: frozenset[str] = frozenset(
    {
        "oversize",
        "bad_json",
        "bad_subject",
        "unknown_type",
        "type_mismatch",
        "dealership_mismatch",
        "missing_field",
        "wrong_type",
        "bad_timestamp",
        "bad_id",
        "no_identity",
        "bad_enum",
        "bad_value",
        "unsupported_version",
        "forbidden_field",
        "unknown_merge",
        "already_split",
        "customer_erased",
    }
)


class Rejected(Exception):
    """A message that is not a valid event.

    `reason` is a short slug from `REASONS` (usable as a subject token), `message` says what
    is wrong and names the field, `field` is the dotted path of the offending field if any.
    """

    def __init__(self, reason: str, message: str, field: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"Rejected(reason={self.reason!r}, message={self.message!r}, field={self.field!r})"
